"""Finance → General ledger: `GET /v1/finance/ledger` for one account in a date range, optionally only the
lines carrying one dimension value; the hub's keyset pages, Next / Previous, the opening balance above the
first line and the running balance on each. Export writes the whole range (every page, fetched off the UI
thread), with the opening balance first and the range's totals last."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton

from desktop.report_client import ReportError
from desktop.report_export import Column, Report
from desktop.report_screen import FieldError, ReportScreen, parse_day
from desktop.report_trial_balance import DIMENSIONS

COLUMNS = (Column("Date"), Column("Entry"), Column("Line", True), Column("Description"), Column("Memo"),
           Column("Dimensions"), Column("Debit", True), Column("Credit", True), Column("Balance", True))
EXPORT_PAGE = 1000  # the hub's largest page


def _row(ln: dict[str, Any]) -> tuple[str, ...]:
    dims = ", ".join(f"{k}={v}" for k, v in sorted(ln["dimensions"].items()))
    return (ln["date"], ln["entry_key"], str(ln["line_no"]), ln["description"], ln["memo"], dims, ln["debit"],
            ln["credit"], ln["balance"])


class LedgerScreen(ReportScreen):
    title = "General ledger"
    page_size = 200

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.account = self.add_field("account", "Account", QLineEdit())
        self.start = self.add_field("from", "From (YYYY-MM-DD)", QLineEdit())
        self.end = self.add_field("to", "To (YYYY-MM-DD)", QLineEdit())
        dimension = QComboBox()
        for value, label in DIMENSIONS:
            dimension.addItem(label, value)
        self.dimension = self.add_field("dimension", "Only lines with", dimension)
        self.value = self.add_field("value", "Dimension value", QLineEdit())
        self.finish_fields()
        self.previous_button, self.next_button = QPushButton("Previous page"), QPushButton("Next page")
        self.page_label = QLabel("")
        for w in (self.previous_button, self.next_button, self.page_label):
            self.extra.addWidget(w)
        self.previous_button.clicked.connect(lambda: self.turn(-1))
        self.next_button.clicked.connect(lambda: self.turn(1))
        self.cursors: list[str | None] = [None]  # cursors[i]: where page i starts
        self.page = self._shown = 0
        self.first: dict[str, Any] | None = None  # the first page's opening balance and totals
        self._query: dict[str, Any] = {}
        self._paging()

    def params(self) -> dict[str, Any]:
        assert isinstance(self.account, QLineEdit) and isinstance(self.start, QLineEdit)
        assert isinstance(self.end, QLineEdit) and isinstance(self.dimension, QComboBox)
        assert isinstance(self.value, QLineEdit)
        account = self.account.text().strip()
        if not account:
            raise FieldError("account", "which account? e.g. 1400")
        start, end = parse_day(self.start.text(), "from"), parse_day(self.end.text(), "to")
        if start and end and start > end:
            raise FieldError("to", f"{end} is before the first day ({start})")
        q: dict[str, Any] = {"account": account, "from": start.isoformat() if start else None,
                             "to": end.isoformat() if end else None}
        dim, value = self.dimension.currentData(), self.value.text().strip()
        if dim and not value:
            raise FieldError("value", f"which {dim.replace('_', ' ')}?")
        if value and not dim:
            raise FieldError("dimension", "choose the dimension this value is of")
        if dim:
            q[dim] = value
        if q != self._query:  # another query: back to its first page
            self._query, self.cursors, self.page, self._shown, self.first = q, [None], 0, 0, None
        return {**q, "limit": self.page_size, "cursor": self.cursors[self.page]}

    def load(self, params: dict[str, Any]) -> Any:
        return self.session.get("/v1/finance/ledger", params)

    def show_body(self, params: dict[str, Any], body: Any) -> None:
        if body["opening_balance"] is not None:
            self.first = {"opening": body["opening_balance"], **body["totals"]}
        if len(self.cursors) == self.page + 1 and body["next_cursor"]:
            self.cursors.append(body["next_cursor"])
        self._shown = self.page
        self.show_report(self._report([_row(ln) for ln in body["lines"]], body["page_opening_balance"]))
        self._paging(more=bool(body["next_cursor"]))

    def _subtitle(self, q: dict[str, Any], names: Mapping[str, str]) -> str:
        name = names.get(q["account"])
        words = [f"account {q['account']}" + (f" {name}" if name else ""),
                 f"{q['from'] or 'the first line'} to {q['to'] or 'the last line'}"]
        words += [f"{k.replace('_', ' ')} {v}" for k, v in q.items() if k not in ("account", "from", "to")]
        return ", ".join(words)

    def _report(self, rows: list[tuple[str, ...]], opening: str) -> Report:
        head = ("", "", "", "Opening balance" if self.page == 0 else "Brought forward", "", "", "", "", opening)
        totals = None
        if self.first is not None:
            totals = ("", "", "", "Totals for the range, closing balance", "", "", self.first["debit"],
                      self.first["credit"], self.first["closing_balance"])
        return Report(self.title, COLUMNS, (head, *rows), totals, subtitle=self._subtitle(self._query, self.names()))

    def _paging(self, more: bool = False) -> None:
        self.previous_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(more)
        self.page_label.setText(f"page {self.page + 1}" if self.current else "")

    def turn(self, step: int) -> None:
        target = self.page + step
        if self.fetcher.busy or not 0 <= target < len(self.cursors):
            return  # one page at a time: a second click before the answer would skip a page
        self.page = target
        self.fetch()

    def failed(self, err: ReportError) -> None:
        self.page = self._shown  # the page on screen is still the one shown
        super().failed(err)

    def export_report(self) -> Callable[[], Report]:
        """The whole range, page by page in the worker (the table shows one page)."""
        q, session, names = dict(self._query), self.session, dict(self.names())  # names read here, GUI thread

        def build() -> Report:
            body = session.get("/v1/finance/ledger", {**q, "limit": EXPORT_PAGE})
            opening, totals = body["opening_balance"], body["totals"]
            rows = [_row(ln) for ln in body["lines"]]
            while body["next_cursor"]:
                body = session.get("/v1/finance/ledger", {**q, "limit": EXPORT_PAGE, "cursor": body["next_cursor"]})
                rows += [_row(ln) for ln in body["lines"]]
            head = ("", "", "", "Opening balance", "", "", "", "", opening)
            tail = ("", "", "", "Totals for the range, closing balance", "", "", totals["debit"], totals["credit"],
                    totals["closing_balance"])
            return Report(self.title, COLUMNS, (head, *rows), tail, subtitle=self._subtitle(q, names))

        return build
