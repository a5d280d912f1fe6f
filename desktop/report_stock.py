"""Finance → Stock valuation: `GET /v1/finance/stock-valuation`, per site the value of the stock the hub keeps
against the inventory account (1400); a site whose figures differ is shown in red, and so is one with stock
records that carry no value yet. With "per store × item", each balance under its site."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QLineEdit

from desktop.report_export import Column, Report
from desktop.report_screen import ReportScreen, parse_day

COLUMNS = (Column("Site"), Column("Store"), Column("Item"), Column("On hand", True), Column("Stock value", True),
           Column("Ledger 1400", True), Column("Difference", True), Column("Status"))


def _status(site: dict[str, Any]) -> str:
    words = ["reconciled" if site["reconciled"] else "DIFFERENCE"]
    if site["unvalued_records"]:
        words.append(f"{site['unvalued_records']} balance(s) without a value")
    return "; ".join(words)


class StockValuationScreen(ReportScreen):
    title = "Stock valuation"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.as_of = self.add_field("as_of", "As of (YYYY-MM-DD, empty: now)", QLineEdit())
        self.detail = self.add_field("detail", "Detail", QCheckBox("per store × item"))
        self.finish_fields()

    def params(self) -> dict[str, Any]:
        assert isinstance(self.as_of, QLineEdit) and isinstance(self.detail, QCheckBox)
        day = parse_day(self.as_of.text(), "as_of")
        return {"as_of": day.isoformat() if day else None, "detail": "true" if self.detail.isChecked() else None}

    def load(self, params: dict[str, Any]) -> Any:
        return self.session.get("/v1/finance/stock-valuation", params)

    def show_body(self, params: dict[str, Any], body: Any) -> None:
        rows: list[tuple[str, ...]] = []
        flagged: set[int] = set()
        for site in body["sites"]:
            if not site["reconciled"] or site["unvalued_records"]:
                flagged.add(len(rows))
            rows.append((site["site"] or "(no site)", "", "", "", site["stock_value"], site["ledger_balance"],
                         site["difference"], _status(site)))
            for item in site.get("items", []):
                rows.append(("", item["store_id"], item["item_id"], item["on_hand"],
                             item["value"] if item["value"] is not None else "no value", "", "", ""))
        t = body["total"]
        totals = ("Total", "", "", "", t["stock_value"], t["ledger_balance"], t["difference"],
                  "reconciled" if t["reconciled"] else "DIFFERENCE")
        if not t["reconciled"]:
            flagged.add(len(rows))
        covers = f"as of {params['as_of']}" if params["as_of"] else "now"
        self.show_report(Report(self.title, COLUMNS, tuple(rows), totals,
                                subtitle=f"{covers}, against account {body['account']}"), flagged)
        if t["reconciled"]:
            self.say(f"Stock and account {body['account']} agree at every site.")
        else:
            self.say(f"Stock and account {body['account']} differ by {t['difference']}: the red rows.", bad=True)
