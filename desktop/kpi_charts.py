"""The KPI dashboard's charts (QtCharts, from PySide6-Addons): availability and utilisation as grouped bars
in percent, and MTBS / MTTR in hours, one group per equipment, class or site. A KPI without a basis (no
hours in the period) is drawn as an empty bar, never as a zero that would read as "never available"."""

from __future__ import annotations

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QHBoxLayout, QWidget

from shared.domain.kpi import KPI_LABELS, KpiRow

PERCENT = ("mechanical_availability", "physical_availability", "use_of_availability", "effective_utilisation")
HOURS = ("mtbs", "mttr")
SHORT = {"mechanical_availability": "Mech. availability", "physical_availability": "Phys. availability",
         "use_of_availability": "Use of availability", "effective_utilisation": "Utilisation"}
COLOURS = {"mechanical_availability": "#1f77b4", "physical_availability": "#2ca02c", "use_of_availability": "#ff7f0e",
           "effective_utilisation": "#9467bd", "mtbs": "#17becf", "mttr": "#d62728"}


class ChartPanel(QChartView):
    """One bar chart whose series and axes live as long as the chart; a refresh replaces the bars only."""

    def __init__(self, title: str, names: tuple[str, ...], *, percent: bool) -> None:
        chart = QChart()
        chart.setTitle(title)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        font = QFont(chart.legend().font())
        font.setPointSizeF(max(6.0, font.pointSizeF() - 1))
        chart.legend().setFont(font)
        super().__init__(chart)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(240)
        self.names, self.percent = names, percent
        self.series = QBarSeries()
        self.groups = QBarCategoryAxis()
        self.values = QValueAxis()
        self.values.setLabelFormat("%.0f%%" if percent else "%.0f h")
        self.values.setTickCount(5)
        chart.addSeries(self.series)
        chart.addAxis(self.groups, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.values, Qt.AlignmentFlag.AlignLeft)
        self.series.attachAxis(self.groups)
        self.series.attachAxis(self.values)

    def fill(self, rows: list[KpiRow]) -> None:
        self.series.clear()
        top = 0.0
        for name in self.names:
            bars = QBarSet(SHORT.get(name, KPI_LABELS[name]))
            bars.setColor(QColor(COLOURS[name]))
            for row in rows:
                value = row.values.get(name)
                shown = 0.0 if value is None else value * 100 if self.percent else value
                top = max(top, shown)
                bars.append(shown)
            self.series.append(bars)
        self.groups.clear()
        self.groups.append([row.group for row in rows])
        self.values.setRange(0, 100 if self.percent else max(4.0, top * 1.1))


class KpiCharts(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[KpiRow] = []
        self.percent = ChartPanel("Availability and utilisation", PERCENT, percent=True)
        self.hours = ChartPanel("Mean time between stoppages and to repair", HOURS, percent=False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.percent, 3)
        layout.addWidget(self.hours, 2)

    def set_rows(self, rows: list[KpiRow]) -> None:
        self.rows = rows
        self.percent.fill(rows)
        self.hours.fill(rows)

    def paint(self, painter: QPainter, area: QRectF) -> None:
        """Both charts into `area` (for the PDF export): rendered by QtCharts itself at the target size."""
        gap = 10.0
        left = QRectF(area.left(), area.top(), area.width() * 0.6 - gap / 2, area.height())
        right = QRectF(left.right() + gap, area.top(), area.width() - left.width() - gap, area.height())
        for view, target in ((self.percent, left), (self.hours, right)):
            scene = view.scene()
            chart = view.chart()
            old = chart.size()
            chart.resize(target.size())
            scene.render(painter, target, chart.sceneBoundingRect())
            chart.resize(old)
