"""KPIs computed by hand for small fleets, and the zero-denominator cases."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain.kpi import Hours, KpiConfig, aggregate, compute, format_value, hours_from_log


def test_the_six_kpis_by_hand() -> None:
    # 8 h operating, 2 h standby, 2 h repair, 2 stoppages: T = 12
    k = compute(Hours(8, 2, 2, 2))
    assert k["mechanical_availability"] == pytest.approx(8 / 10)
    assert k["physical_availability"] == pytest.approx(10 / 12)
    assert k["use_of_availability"] == pytest.approx(8 / 10)
    assert k["effective_utilisation"] == pytest.approx(8 / 12)
    assert k["mtbs"] == pytest.approx(4.0)
    assert k["mttr"] == pytest.approx(1.0)


def test_zero_denominators_are_none_not_a_crash() -> None:
    assert all(v is None for v in compute(Hours()).values())
    k = compute(Hours(0, 5, 0, 0))
    assert k["physical_availability"] == 1.0 and k["use_of_availability"] == 0.0
    assert k["mechanical_availability"] is None and k["mtbs"] is None and k["mttr"] is None
    assert format_value("mtbs", None) == "—"


def test_site_configuration_moves_idle_and_unknown_hours() -> None:
    log = {"operating_hours": 6, "idle_hours": 2, "unknown_hours": 4}
    assert hours_from_log(log) == Hours(6, 2, 0)
    assert hours_from_log(log, KpiConfig(idle_counts_as="operating", unknown_counts_as="standby")) == Hours(8, 4, 0)


UNITS = {"DT01": {"equipment_class": "truck", "site_id": "north"},
         "DT02": {"equipment_class": "truck", "site_id": "south"},
         "EX01": {"equipment_class": "excavator", "site_id": "north"}}
LOGS = [
    {"equipment_id": "DT01", "shift_date": "2026-11-01", "operating_hours": 10, "standby_hours": 1, "repair_hours": 1},
    {"equipment_id": "DT02", "shift_date": "2026-11-01", "operating_hours": 6, "standby_hours": 6},
    {"equipment_id": "EX01", "shift_date": "2026-11-02", "operating_hours": 4, "repair_hours": 8},
    {"equipment_id": "EX01", "shift_date": "2026-12-01", "operating_hours": 12},  # outside the period
    {"equipment_id": "DT01", "shift_date": "2026-11-01", "operating_hours": 11, "source": "telematics"},
]
STOPS = [{"equipment_id": "EX01", "started_at": "2026-11-02T03:00:00Z"},
         {"equipment_id": "DT01", "started_at": "2026-11-01T05:00:00Z"}]


def test_aggregation_per_equipment_class_and_site_over_a_period() -> None:
    period = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
    per_eq = {r.group: r for r in aggregate(LOGS, STOPS, UNITS, **period)}
    assert per_eq["DT01"].hours == Hours(10, 1, 1, 1)  # the telematics row is not counted twice
    assert per_eq["EX01"].values["mechanical_availability"] == pytest.approx(4 / 12)
    assert per_eq["DT02"].values["mtbs"] is None
    per_class = {r.group: r for r in aggregate(LOGS, STOPS, UNITS, by="class", **period)}
    assert per_class["truck"].hours == Hours(16, 7, 1, 1)
    per_site = {r.group: r for r in aggregate(LOGS, STOPS, UNITS, by="site", **period)}
    assert per_site["north"].values["effective_utilisation"] == pytest.approx(14 / 24)
    per_site_cfg = aggregate(LOGS, STOPS, UNITS, by="site", config_for_site=lambda s: KpiConfig(), **period)
    assert [r.group for r in per_site_cfg] == ["north", "south"]
    with pytest.raises(ValueError):
        aggregate(LOGS, STOPS, UNITS, by="operator")


def test_the_earlier_names_still_work() -> None:
    from shared.domain.kpi import KpiSettings, kpis, kpis_by

    assert kpis(Hours(8, 2, 2, 2)).mttr_hours == pytest.approx(1.0)
    per = kpis_by(LOGS[:3], key=lambda log: str(log["equipment_id"]), stoppages={"EX01": 1},
                  settings=KpiSettings(idle_counts_as="operating"))
    assert per["EX01"].mtbs_hours == pytest.approx(4.0)
