"""The KPI dashboard: computed by `shared.domain.kpi` from the local replica, so it works with no network.

Charts are QtCharts (`desktop.kpi_charts`; PySide6-Addons) beside the table; the PDF export renders the same
charts and the table through QPdfWriter. `paint_bars` is the plain-QPainter chart the dashboard used before
QtCharts was installed, kept as the fallback when the Addons package is missing."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from PySide6.QtCore import QDate, QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.hours_views import logs_in_period
from desktop.ops_screen import table_view
from shared.domain.kpi import KPI_LABELS, KPI_NAMES, KpiConfig, KpiRow, aggregate, format_value
from shared.store import LocalStore

if TYPE_CHECKING:
    from desktop.kpi_charts import KpiCharts

BAR_KPIS = ("mechanical_availability", "physical_availability", "use_of_availability", "effective_utilisation")
COLOURS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd")
CONFIG_KEY = "desktop.kpi_config"  # {site_id: {"idle_counts_as": ..., "unknown_counts_as": ...}}


def site_configs(store: LocalStore) -> dict[str, KpiConfig]:
    raw = store.get_meta(CONFIG_KEY)
    return {site: KpiConfig(**values) for site, values in (orjson.loads(raw) if raw else {}).items()}


def set_site_config(store: LocalStore, site_id: str, config: KpiConfig) -> None:
    raw = store.get_meta(CONFIG_KEY)
    configs = dict(orjson.loads(raw)) if raw else {}
    configs[site_id] = {"idle_counts_as": config.idle_counts_as, "unknown_counts_as": config.unknown_counts_as}
    store.set_meta(CONFIG_KEY, orjson.dumps(configs).decode())


def paint_bars(painter: QPainter, area: QRectF, rows: list[KpiRow]) -> None:
    """Grouped bars (one group per row, one bar per percentage KPI) with a legend; missing values are gaps."""
    painter.save()
    painter.fillRect(area, QColor("white"))
    legend_h, label_h, left = 22.0, 20.0, 40.0
    plot = QRectF(area.left() + left, area.top() + legend_h, area.width() - left - 10,
                  area.height() - legend_h - label_h - 4)
    painter.setPen(QColor("#999"))
    for pct in (0, 25, 50, 75, 100):
        y = plot.bottom() - plot.height() * pct / 100
        painter.drawLine(int(plot.left()), int(y), int(plot.right()), int(y))
        painter.drawText(QRectF(area.left(), y - 8, left - 4, 16), Qt.AlignmentFlag.AlignRight, f"{pct}%")
    for i, name in enumerate(BAR_KPIS):
        x = area.left() + left + i * 170
        painter.fillRect(QRectF(x, area.top() + 5, 12, 12), QColor(COLOURS[i]))
        painter.setPen(QColor("black"))
        painter.drawText(QRectF(x + 16, area.top() + 2, 150, 18), Qt.AlignmentFlag.AlignLeft, KPI_LABELS[name])
    if rows:
        slot = plot.width() / len(rows)
        bar = max(1.0, slot * 0.8 / len(BAR_KPIS))
        for g, row in enumerate(rows):
            for i, name in enumerate(BAR_KPIS):
                value = row.values.get(name)
                if value is None:
                    continue
                h = plot.height() * min(max(value, 0.0), 1.0)
                painter.fillRect(QRectF(plot.left() + g * slot + slot * 0.1 + i * bar, plot.bottom() - h, bar, h),
                                 QColor(COLOURS[i]))
            painter.setPen(QColor("black"))
            painter.drawText(QRectF(plot.left() + g * slot, plot.bottom() + 2, slot, label_h),
                             Qt.AlignmentFlag.AlignHCenter, row.group)
    painter.restore()


def _day(edit: QDateEdit) -> date:
    value = edit.date().toPython()
    assert isinstance(value, date)
    return value


class BarChart(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[KpiRow] = []
        self.setMinimumHeight(240)

    def set_rows(self, rows: list[KpiRow]) -> None:
        self.rows = rows
        self.update()

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        paint_bars(painter, QRectF(self.rect()), self.rows)
        painter.end()


def make_chart() -> BarChart | KpiCharts:
    """QtCharts when PySide6-Addons is installed, else the QPainter bars."""
    try:
        from desktop.kpi_charts import KpiCharts
    except ImportError:
        return BarChart()
    return KpiCharts()


class KpiDashboard(QWidget):
    def __init__(self, store: LocalStore) -> None:
        super().__init__()
        self.store = store
        self.rows: list[KpiRow] = []
        self.group_by = QComboBox()
        self.group_by.addItems(["equipment", "class", "site"])
        today = date.today()
        self.start = QDateEdit(QDate(today - timedelta(days=30)))
        self.end = QDateEdit(QDate(today))
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self.refresh)
        self.group_by.currentIndexChanged.connect(self.refresh)
        self.site = store.identity.site_id if store.identity else None
        self.idle_as = QComboBox()
        self.idle_as.addItems(["standby", "operating"])
        mine = site_configs(store).get(self.site or "", KpiConfig())
        self.idle_as.setCurrentText(mine.idle_counts_as)
        self.idle_as.currentTextChanged.connect(self._idle_changed)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self._ask_and_export("CSV (*.csv)", self.export_csv))
        self.pdf_button = QPushButton("Export PDF…")
        self.pdf_button.clicked.connect(lambda: self._ask_and_export("PDF (*.pdf)", self.export_pdf))
        bar = QHBoxLayout()
        for widget in (QLabel("Per"), self.group_by, QLabel("from"), self.start, QLabel("to"), self.end,
                       QLabel("  idle time counts as"), self.idle_as):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.pdf_button)
        self.chart = make_chart()
        self.model = ComputedTableModel(["Group", "Operating h", "Standby h", "Repair h"]
                                        + [KPI_LABELS[n] for n in KPI_NAMES], sync_column=False)
        self.table = table_view(self.model, "table:kpis")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.table, 1)
        self.refresh()

    def _idle_changed(self, text: str) -> None:
        if self.site:
            current = site_configs(self.store).get(self.site, KpiConfig())
            set_site_config(self.store, self.site, KpiConfig(text, current.unknown_counts_as))  # type: ignore[arg-type]
        self.refresh()

    def set_period(self, start: date, end: date) -> None:
        self.start.setDate(QDate(start))
        self.end.setDate(QDate(end))

    def refresh(self) -> None:
        units = {r.entity_id: {**(r.state or {}), "site_id": r.site_id or (r.state or {}).get("site_id")}
                 for r in self.store.query("equipment.unit")}
        start, end = _day(self.start), _day(self.end)
        logs = [r.state or {} for r in logs_in_period(self.store, start, end)]  # the period's, not two years'
        stops = [r.state or {} for r in self.store.query("equipment.breakdown")]
        configs = site_configs(self.store)
        self.rows = aggregate(logs, stops, units, by=self.group_by.currentText(), start=start, end=end,
                              config_for_site=lambda site: configs.get(site or "", KpiConfig()))
        self.chart.set_rows(self.rows)
        table_rows = []
        for row in self.rows:
            cells = [row.group, f"{row.hours.operating:.1f}", f"{row.hours.standby:.1f}", f"{row.hours.repair:.1f}"]
            cells += [format_value(n, row.values[n]) for n in KPI_NAMES]
            table_rows.append(ComputedRow(row.group, cells))
        self.model.set_rows(table_rows)
        self.table.resizeColumnsToContents()

    def _ask_and_export(self, kind: str, export: object) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", "", kind)
        if path and callable(export):
            export(Path(path))

    def export_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["group", "operating_hours", "standby_hours", "repair_hours", "stoppages", *KPI_NAMES])
            for row in self.rows:
                h = row.hours
                out.writerow([row.group, h.operating, h.standby, h.repair, h.stoppages,
                              *["" if row.values[n] is None else f"{row.values[n]:.4f}" for n in KPI_NAMES]])

    def export_pdf(self, path: Path) -> None:
        writer = QPdfWriter(str(path))
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(QMarginsF(12, 12, 12, 12))
        writer.setResolution(96)
        painter = QPainter(writer)
        width = writer.width()
        period = f"{self.start.date().toString('yyyy-MM-dd')} to {self.end.date().toString('yyyy-MM-dd')}"
        painter.drawText(QRectF(0, 0, width, 24), Qt.AlignmentFlag.AlignLeft,
                         f"Equipment KPIs per {self.group_by.currentText()}, {period}")
        area = QRectF(0, 30, width, 300)
        paint_chart = getattr(self.chart, "paint", None)
        if callable(paint_chart):
            paint_chart(painter, area)
        else:
            paint_bars(painter, area, self.rows)
        y = 350.0
        headers = ["Group"] + [KPI_LABELS[n] for n in KPI_NAMES]
        col = width / len(headers)
        for j, text in enumerate(headers):
            painter.drawText(QRectF(j * col, y, col, 40), Qt.TextFlag.TextWordWrap, text)
        y += 44
        for row in self.rows:
            cells = [row.group] + [format_value(n, row.values[n]) for n in KPI_NAMES]
            for j, text in enumerate(cells):
                painter.drawText(QRectF(j * col, y, col, 20), Qt.AlignmentFlag.AlignLeft, text)
            y += 20
            if y > writer.height() - 30:
                writer.newPage()
                y = 0
        painter.end()
