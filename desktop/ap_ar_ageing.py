"""AP and AR ageing from the local replica, by the shared rule the hub's ageing routes run (so the figures agree
offline and online): per party and bucket at a day, with unapplied cash, and a CSV or PDF export of what is
shown (the PDF by desktop/report_export.py: title, column header and page n of m on every page, totals last)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from desktop import ap_replica
from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.ops_screen import OpsScreen, table_view
from desktop.report_export import Column, Report, write_pdf
from shared.domain.open_items import BUCKETS, Ageing, ageing_csv_rows
from shared.store import LocalStore

HEADERS = ["Party", *BUCKETS, "Unapplied", "Total"]
KINDS = {"Payables (AP)": "ap", "Receivables (AR)": "ar"}
TITLES = {"ap": "Accounts payable ageing", "ar": "Accounts receivable ageing"}


def ageing_report(report: Ageing, kind: str) -> Report:
    """What the screen shows as a report: a row per party, the totals row, amounts as written on screen."""
    party = "Vendor" if kind == "ap" else "Customer"
    columns = (Column(party), *(Column(b, numeric=True) for b in BUCKETS), Column("Unapplied", numeric=True),
               Column("Total", numeric=True))
    rows = tuple((r.party, *(str(r.buckets[b]) for b in BUCKETS), str(r.unapplied), str(r.total))
                 for r in report.rows)
    totals = ("TOTAL", *(str(report.totals[b]) for b in BUCKETS), str(report.unapplied), str(report.total))
    return Report(TITLES[kind], columns, rows, totals, subtitle=f"as of {report.as_of.isoformat()}, days past due")


def ageing_csv(report: Ageing) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(ageing_csv_rows(report))
    return out.getvalue()


class AgeingScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.kind = QComboBox()
        self.kind.setObjectName("ageing_kind")
        self.kind.addItems(list(KINDS))
        self.as_of = QLineEdit(datetime.now(UTC).date().isoformat())
        self.as_of.setObjectName("as_of")
        self.as_of_error = QLabel("")
        self.as_of_error.setStyleSheet("color: #b00020")
        self.model = ComputedTableModel(HEADERS, sync_column=False)
        self.view = table_view(self.model, "table:ageing")
        self.export_folder = Path.home() / "Pitline exports"
        self.export_button = QPushButton("Export CSV")
        self.pdf_button = QPushButton("Export PDF")
        self.export_status = QLabel("")
        self.export_status.setWordWrap(True)
        self.report: Ageing | None = None
        bar = QHBoxLayout()
        for widget in (QLabel("Ageing of"), self.kind, QLabel("as of"), self.as_of, self.export_button,
                       self.pdf_button):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.as_of_error)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.export_status)
        self.kind.currentIndexChanged.connect(lambda _i: self.refresh())
        self.as_of.textChanged.connect(lambda _t: self.refresh())
        self.export_button.clicked.connect(self.export)
        self.pdf_button.clicked.connect(self.export_pdf)
        self.refresh()

    def _kind(self) -> str:
        return KINDS[self.kind.currentText()]

    def refresh(self) -> None:
        try:
            day = date.fromisoformat(self.as_of.text().strip())
        except ValueError:
            self.as_of_error.setText("type the day as YYYY-MM-DD")
            self.export_button.setEnabled(False)
            self.pdf_button.setEnabled(False)
            return
        self.as_of_error.setText("")
        self.export_button.setEnabled(True)
        self.pdf_button.setEnabled(True)
        report = (ap_replica.ap_ageing if self._kind() == "ap" else ap_replica.ar_ageing)(self.store, day)
        self.report = report
        rows = [ComputedRow(r.party, [r.party, *(str(r.buckets[b]) for b in BUCKETS), str(r.unapplied),
                                      str(r.total)], needs_review=r.buckets["90+"] > 0) for r in report.rows]
        totals = report.totals
        rows.append(ComputedRow("TOTAL", ["TOTAL", *(str(totals[b]) for b in BUCKETS), str(report.unapplied),
                                          str(report.total)], bold=True))
        self.model.set_rows(rows)

    def export(self) -> Path | None:
        """Write what is shown as `<ap|ar>-ageing-<day>.csv` in the export folder (replaced whole)."""
        if self.report is None:
            return None
        path = self.export_folder / f"{self._kind()}-ageing-{self.report.as_of.isoformat()}.csv"
        try:
            self.export_folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".csv.partial")
            partial.write_text(ageing_csv(self.report), encoding="utf-8", newline="")
            partial.replace(path)  # never a half-written file
        except OSError as exc:
            self.export_status.setText(f"Not exported: cannot write to {self.export_folder}: {exc.strerror}")
            self.export_status.setStyleSheet("color: #b00020")
            return None
        self.export_status.setStyleSheet("")
        self.export_status.setText(f"Exported to {path}")
        return path

    def export_pdf(self) -> Path | None:
        """Write what is shown as `<ap|ar>-ageing-<day>.pdf` in the export folder (replaced whole)."""
        if self.report is None:
            return None
        path = self.export_folder / f"{self._kind()}-ageing-{self.report.as_of.isoformat()}.pdf"
        try:
            self.export_folder.mkdir(parents=True, exist_ok=True)
            pages = write_pdf(ageing_report(self.report, self._kind()), path)
        except OSError as exc:
            self.export_status.setText(f"Not exported: cannot write to {self.export_folder}: {exc.strerror}")
            self.export_status.setStyleSheet("color: #b00020")
            return None
        self.export_status.setStyleSheet("")
        self.export_status.setText(f"Exported to {path} ({pages} page{'s' if pages > 1 else ''})")
        return path
