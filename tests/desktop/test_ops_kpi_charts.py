"""The KPI dashboard's QtCharts charts, from the local replica, and the exports that carry them."""

from __future__ import annotations

import csv
import os
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.first_run import add_demo_data
from desktop.kpi_charts import KpiCharts
from tests.desktop.test_ops_maintenance import open_ops


def test_kpi_charts_follow_the_table_and_export_to_csv_and_pdf(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    add_demo_data(desk.store, actor="sam", days=7)
    desk.window.show()
    desk.window.show_module("KPI dashboard")
    kpis = desk.window.kpis
    kpis.set_period(date.today() - timedelta(days=30), date.today())
    assert isinstance(kpis.chart, KpiCharts)
    [percent] = kpis.chart.percent.chart().series()
    assert [s.label() for s in percent.barSets()] == ["Mech. availability", "Phys. availability",
                                                      "Use of availability", "Utilisation"]
    assert all(s.count() == len(kpis.rows) == 4 for s in percent.barSets())
    mech = percent.barSets()[0]
    for i, row in enumerate(kpis.rows):
        assert abs(mech.at(i) - 100 * (row.values["mechanical_availability"] or 0)) < 1e-9
    [hours] = kpis.chart.hours.chart().series()
    assert [s.label() for s in hours.barSets()] == ["MTBS (h)", "MTTR (h)"]
    kpis.group_by.setCurrentText("class")
    [percent] = kpis.chart.percent.chart().series()
    assert percent.barSets()[0].count() == 3  # dozer, excavator, truck
    assert list(kpis.chart.percent.groups.categories()) == ["dozer", "excavator", "truck"]
    assert len(kpis.chart.percent.chart().axes()) == 2  # a refresh replaces the bars, never stacks axes
    kpis.export_csv(tmp_path / "k.csv")
    assert len(list(csv.DictReader((tmp_path / "k.csv").open()))) == 3
    kpis.export_pdf(tmp_path / "k.pdf")
    pdf = (tmp_path / "k.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 5_000  # the charts are drawn into it, not only the table
    desk.close()
