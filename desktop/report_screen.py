"""What every HQ report screen shares (trial balance, general ledger, stock valuation): fields with their
error next to them, a Show button that fetches from the hub off the UI thread, the person's hub sign-in when
there is no session yet, a table of the report with flagged rows in red, and Export CSV / Export PDF of what
is shown (written off the UI thread too). When the hub cannot be reached the screen says so and stays usable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.report_client import HubSession, ReportError
from desktop.report_export import Report, write_csv, write_pdf
from desktop.report_worker import Fetcher

RED = "#b00020"


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def parse_day(text: str, field: str, required: bool = False) -> date | None:
    text = text.strip()
    if not text:
        if required:
            raise FieldError(field, "a date is needed (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise FieldError(field, f"{text!r} is not a date: write it as YYYY-MM-DD") from exc


class ReportScreen(QWidget):
    """Subclasses add fields with `add_field`, build the request in `params()` (raising FieldError), fetch in
    `load()` (a worker thread: network only, no widgets) and fill the table in `show_body()`."""

    title = "Report"

    def __init__(self, session: HubSession, export_folder: Path | None = None,
                 names: Callable[[], Mapping[str, str]] | None = None) -> None:
        super().__init__()
        self.session = session
        self.names = names or dict  # account code -> name, read on the GUI thread (the local chart)
        self.export_folder = export_folder or Path.home() / "Pitline exports"
        self.fetcher, self.exporter = Fetcher(self), Fetcher(self)  # an export never drops a pending answer
        self.last_export: Path | None = None
        self.current: Report | None = None
        self.flagged: set[int] = set()
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        heading = QLabel(f"<b>{self.title}</b> — read from the hub (HQ, online)")
        layout.addWidget(heading)
        self.fields = QGridLayout()
        layout.addLayout(self.fields)
        self.show_button = QPushButton("Show")
        self.show_button.clicked.connect(self.fetch)
        self.signin_row = QWidget()
        row = QHBoxLayout(self.signin_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(f"{session.username}'s hub password")
        self.password.returnPressed.connect(self.sign_in)
        self.signin_button = QPushButton("Sign in to the hub")
        self.signin_button.clicked.connect(self.sign_in)
        self.password_error = QLabel("")
        self.password_error.setStyleSheet(f"color: {RED}")
        for w in (QLabel("HQ reports need your own hub sign-in:"), self.password, self.signin_button,
                  self.password_error):
            row.addWidget(w)
        self.signin_row.setVisible(False)
        layout.addWidget(self.signin_row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.table = QTableWidget()
        self.table.setObjectName(f"report:{self.title}")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        layout.addWidget(self.table, 1)
        self.extra = QHBoxLayout()  # a screen's own buttons (paging) go here
        layout.addLayout(self.extra)
        exports = QHBoxLayout()
        self.csv_button, self.pdf_button = QPushButton("Export CSV"), QPushButton("Export PDF")
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.pdf_button.clicked.connect(lambda: self.export("pdf"))
        self.export_status = QLabel("")
        self.export_status.setWordWrap(True)
        for w in (self.csv_button, self.pdf_button):
            w.setEnabled(False)
            exports.addWidget(w)
        exports.addWidget(self.export_status, 1)
        layout.addLayout(exports)

    # --- fields ---------------------------------------------------------------------------------------------
    def add_field(self, name: str, label: str, widget: QWidget) -> QWidget:
        n = self.fields.rowCount()
        error = QLabel("")
        error.setStyleSheet(f"color: {RED}")
        self.fields.addWidget(QLabel(label), n, 0)
        self.fields.addWidget(widget, n, 1)
        self.fields.addWidget(error, n, 2)
        self.inputs[name], self.errors[name] = widget, error
        return widget

    def finish_fields(self) -> None:
        self.fields.addWidget(self.show_button, self.fields.rowCount(), 1)

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.setText("")
        self.password_error.setText("")

    def say(self, text: str, bad: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {RED}; font-weight: bold" if bad else "")

    # --- for subclasses -------------------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    def load(self, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def show_body(self, params: dict[str, Any], body: Any) -> None:
        raise NotImplementedError

    def export_report(self) -> Callable[[], Report]:
        """What to export, as work for the worker thread (the ledger fetches every page of its range)."""
        report = self.current
        assert report is not None
        return lambda: report

    def file_stem(self) -> str:
        assert self.current is not None
        words = f"{self.current.title} {self.current.subtitle}".lower()
        return re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:120] or "report"

    # --- fetching -------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.fetcher.busy or self.exporter.busy

    def fetch(self) -> None:
        self.clear_errors()
        try:
            params = self.params()
        except FieldError as exc:
            self.show_field_error(exc.field, exc.message)
            return
        if not self.session.signed_in:
            self.ask_sign_in("Sign in to the hub to read this report.")
            return
        self.say("Loading from the hub…")
        self.show_button.setEnabled(False)
        self.fetcher.run(lambda: self.load(params), lambda body: self._loaded(params, body), self.failed)

    def _loaded(self, params: dict[str, Any], body: Any) -> None:
        self.show_button.setEnabled(True)
        self.say("")
        self.show_body(params, body)

    def failed(self, err: ReportError) -> None:
        self.show_button.setEnabled(True)
        if err.kind == "signin":
            self.ask_sign_in(err.message)
        elif err.kind == "bad" and err.field and self.errors.get(err.field) is not None:
            self.show_field_error(err.field, err.message.split(":", 1)[-1].strip())
            self.say("The hub refused a field: see the message next to it.", bad=True)
        elif err.kind == "unreachable":
            self.say(f"Not shown: {err.message}.", bad=True)
        else:
            self.say(f"Not shown: {err.message}", bad=True)

    def show_field_error(self, field: str, message: str) -> None:
        label = self.errors.get(field)
        if label is None:
            self.say(f"{field}: {message}", bad=True)
        else:
            label.setText(message)

    def ask_sign_in(self, message: str) -> None:
        self.signin_row.setVisible(True)
        self.password.setFocus()
        self.say(message, bad=True)

    def sign_in(self) -> None:
        password = self.password.text()
        if not password:
            self.password_error.setText("type your password")
            return
        self.password.clear()
        self.signin_button.setEnabled(False)
        self.say("Signing in to the hub…")
        self.fetcher.run(lambda: self.session.sign_in(password), lambda _: self._signed_in(), self._signin_failed)

    def _signed_in(self) -> None:
        self.signin_button.setEnabled(True)
        self.signin_row.setVisible(False)
        self.fetch()

    def _signin_failed(self, err: ReportError) -> None:
        self.signin_button.setEnabled(True)
        if err.kind == "signin":
            self.password_error.setText(err.message)
            self.say("Not signed in.", bad=True)
        else:
            self.failed(err)

    # --- the table and the files ----------------------------------------------------------------------------
    def show_report(self, report: Report, flagged: set[int] | None = None) -> None:
        self.current, self.flagged = report, flagged or set()
        rows = [*report.rows, *([report.totals] if report.totals else [])]
        self.table.clear()
        self.table.setColumnCount(len(report.columns))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([c.label for c in report.columns])
        red = QBrush(QColor(RED))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if report.columns[c].numeric:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r in self.flagged:
                    item.setForeground(red)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        for w in (self.csv_button, self.pdf_button):
            w.setEnabled(True)

    def export(self, kind: str) -> None:
        if self.current is None:
            self.export_status.setText("Show the report first.")
            return
        path = self.export_folder / f"{self.file_stem()}.{kind}"
        build = self.export_report()
        writer = write_csv if kind == "csv" else write_pdf

        def work() -> Path:
            report = build()
            self.export_folder.mkdir(parents=True, exist_ok=True)
            writer(report, path)
            return path

        self.export_status.setText(f"Writing {path.name}…")
        self.export_status.setStyleSheet("")
        self.exporter.run(work, self._exported, self._export_failed)

    def _exported(self, path: Path) -> None:
        self.last_export = path
        self.export_status.setText(f"Exported to {path}")

    def _export_failed(self, err: ReportError) -> None:
        self.export_status.setText(f"Not exported: {err.message}")
        self.export_status.setStyleSheet(f"color: {RED}")
