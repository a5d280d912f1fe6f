"""Finance → Trial balance: `GET /v1/finance/trial-balance` as of a day, optionally by one dimension (each
account's total, then its rows per value of the dimension, "(none)" for lines without it)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QLineEdit

from desktop.report_export import Column, Report
from desktop.report_screen import ReportScreen, parse_day

DIMENSIONS = [("", "no dimension"), ("site", "site"), ("cost_centre", "cost centre"), ("equipment", "equipment"),
              ("project", "project")]


class TrialBalanceScreen(ReportScreen):
    title = "Trial balance"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.as_of = self.add_field("as_of", "As of (YYYY-MM-DD, empty: every line)", QLineEdit())
        by = QComboBox()
        for value, label in DIMENSIONS:
            by.addItem(label, value)
        self.by = self.add_field("by", "By dimension", by)
        self.finish_fields()

    def params(self) -> dict[str, Any]:
        assert isinstance(self.as_of, QLineEdit) and isinstance(self.by, QComboBox)
        day = parse_day(self.as_of.text(), "as_of")
        return {"as_of": day.isoformat() if day else None, "by": self.by.currentData() or None}

    def load(self, params: dict[str, Any]) -> Any:
        return self.session.get("/v1/finance/trial-balance", params)

    def show_body(self, params: dict[str, Any], body: Any) -> None:
        by = params["by"]
        dims: dict[str, list[dict[str, Any]]] = {}
        for row in body["by_dimension"]:
            dims.setdefault(row["account"], []).append(row)
        names = self.names()
        columns = [Column("Account"), Column("Name")] + ([Column(by.replace("_", " ").capitalize())] if by else [])
        columns += [Column("Debit", True), Column("Credit", True), Column("Balance", True)]
        rows: list[tuple[str, ...]] = []
        for a in body["accounts"]:
            figures = (a["debit"], a["credit"], a["balance"])
            rows.append((a["account"], names.get(a["account"], ""), *([""] if by else []), *figures))
            for d in dims.get(a["account"], []):
                rows.append(("", "", d["value"] if d["value"] is not None else "(none)", d["debit"], d["credit"],
                             d["balance"]))
        t = body["total"]
        totals = ("Total", "", *([""] if by else []), t["debit"], t["credit"], t["balance"])
        covers = f"as of {params['as_of']}" if params["as_of"] else "every line posted"
        report = Report(self.title, tuple(columns), tuple(rows), totals,
                        subtitle=covers + (f", by {by.replace('_', ' ')}" if by else ""))
        self.show_report(report, set() if body["balanced"] else {len(rows)})
        if body["balanced"]:
            self.say(f"Balanced: debits {t['debit']} = credits {t['credit']}.")
        else:
            self.say(f"NOT balanced: debits {t['debit']}, credits {t['credit']}, difference {t['balance']}.", bad=True)
