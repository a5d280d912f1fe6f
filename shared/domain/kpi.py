"""Equipment KPIs from hours, as pure functions shared by the desktop (offline) and the hub.

With W operating, S standby, R repair (down) hours and T = W + S + R (DESIGN.md):
- mechanical availability  MA  = W / (W + R)
- physical availability    PA  = (W + S) / T
- use of availability      UoA = W / (W + S)
- effective utilisation    EU  = W / T
- mean time between stoppages MTBS = W / stoppages
- mean time to repair         MTTR = R / stoppages
A ratio whose denominator is zero is None ("no basis"), never 0 and never an error. Sites differ on two
points, so both are configurable per site (`KpiConfig`): whether idle time (engine on, not working) counts as
operating or as standby, and whether unknown hours (no data) count as standby or are left out of T.
A group's KPI is computed from summed hours, never as an average of ratios."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

KPI_NAMES = ("mechanical_availability", "physical_availability", "use_of_availability", "effective_utilisation",
             "mtbs", "mttr")
KPI_LABELS = {
    "mechanical_availability": "Mechanical availability", "physical_availability": "Physical availability",
    "use_of_availability": "Use of availability", "effective_utilisation": "Effective utilisation",
    "mtbs": "MTBS (h)", "mttr": "MTTR (h)",
}
PERCENT_KPIS = frozenset(KPI_NAMES[:4])


@dataclass(frozen=True)
class KpiConfig:
    """Per-site choices on how logged hours map to W, S, R."""

    idle_counts_as: Literal["operating", "standby"] = "standby"
    unknown_counts_as: Literal["excluded", "standby"] = "excluded"


KpiSettings = KpiConfig  # the earlier name


@dataclass(frozen=True)
class Hours:
    operating: float = 0.0
    standby: float = 0.0
    repair: float = 0.0
    stoppages: int = 0

    @property
    def total(self) -> float:
        return self.operating + self.standby + self.repair

    def __add__(self, other: Hours) -> Hours:
        return Hours(self.operating + other.operating, self.standby + other.standby, self.repair + other.repair,
                     self.stoppages + other.stoppages)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def mechanical_availability(h: Hours) -> float | None:
    """W / (W + R)."""
    return _ratio(h.operating, h.operating + h.repair)


def physical_availability(h: Hours) -> float | None:
    """(W + S) / T."""
    return _ratio(h.operating + h.standby, h.total)


def use_of_availability(h: Hours) -> float | None:
    """W / (W + S)."""
    return _ratio(h.operating, h.operating + h.standby)


def effective_utilisation(h: Hours) -> float | None:
    """W / T."""
    return _ratio(h.operating, h.total)


def mtbs(h: Hours) -> float | None:
    """W / stoppages (hours)."""
    return _ratio(h.operating, h.stoppages)


def mttr(h: Hours) -> float | None:
    """R / stoppages (hours)."""
    return _ratio(h.repair, h.stoppages)


def compute(h: Hours) -> dict[str, float | None]:
    """All six KPIs keyed by `KPI_NAMES`."""
    return {"mechanical_availability": mechanical_availability(h), "physical_availability": physical_availability(h),
            "use_of_availability": use_of_availability(h), "effective_utilisation": effective_utilisation(h),
            "mtbs": mtbs(h), "mttr": mttr(h)}


@dataclass(frozen=True)
class Kpis:
    hours: Hours
    mechanical_availability: float | None
    physical_availability: float | None
    use_of_availability: float | None
    effective_utilisation: float | None
    mtbs_hours: float | None
    mttr_hours: float | None


def kpis(h: Hours) -> Kpis:
    k = compute(h)
    return Kpis(h, k["mechanical_availability"], k["physical_availability"], k["use_of_availability"],
                k["effective_utilisation"], k["mtbs"], k["mttr"])


def _num(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def hours_from_log(log: Mapping[str, Any], config: KpiConfig = KpiConfig()) -> Hours:
    """One `equipment.usage_log` (one shift) as W, S, R under the site's configuration."""
    operating, standby = _num(log.get("operating_hours")), _num(log.get("standby_hours"))
    idle, unknown = _num(log.get("idle_hours")), _num(log.get("unknown_hours"))
    if config.idle_counts_as == "operating":
        operating += idle
    else:
        standby += idle
    if config.unknown_counts_as == "standby":
        standby += unknown
    return Hours(operating, standby, _num(log.get("repair_hours")))


hours_from_usage_log = hours_from_log  # the earlier name


def kpis_by(logs: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], str],
            stoppages: Mapping[str, int] | None = None, settings: KpiConfig = KpiConfig()) -> dict[str, Kpis]:
    """KPIs per group (equipment, class, site…): hours summed from usage logs, stoppages counted per group."""
    totals: dict[str, Hours] = defaultdict(Hours)
    for log in logs:
        totals[key(log)] = totals[key(log)] + hours_from_log(log, settings)
    for group, count in (stoppages or {}).items():
        totals[group] = totals[group] + Hours(stoppages=count)
    return {group: kpis(h) for group, h in totals.items()}


@dataclass
class KpiRow:
    group: str
    hours: Hours
    values: dict[str, float | None] = field(default_factory=dict)


def _in_period(day: Any, start: date | None, end: date | None) -> bool:
    if not day:
        return False
    d = str(day)[:10]
    return (start is None or d >= start.isoformat()) and (end is None or d <= end.isoformat())


def aggregate(
    usage_logs: Iterable[Mapping[str, Any]],
    breakdowns: Iterable[Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]],
    *,
    by: str = "equipment",
    start: date | None = None,
    end: date | None = None,
    config_for_site: Callable[[str | None], KpiConfig] | None = None,
    source: str | None = "manual",
) -> list[KpiRow]:
    """KPIs per equipment, class or site over [start, end] (inclusive dates), sorted by group.

    `units` maps equipment id -> unit state (for its class and site). Only usage logs of one `source` count
    (default the logged "manual" hours, so gateway-measured hours for the same shift are not counted twice;
    None takes all). Each breakdown that starts in the period is one stoppage.
    """
    if by not in ("equipment", "class", "site"):
        raise ValueError(f"group by equipment, class or site, not {by!r}")

    def unit(equipment_id: str) -> Mapping[str, Any]:
        return units.get(equipment_id) or {}

    def group_of(equipment_id: str) -> str:
        if by == "class":
            return str(unit(equipment_id).get("equipment_class") or "unknown")
        if by == "site":
            return str(unit(equipment_id).get("site_id") or unit(equipment_id).get("site") or "unknown")
        return equipment_id

    def config(equipment_id: str) -> KpiConfig:
        if config_for_site is None:
            return KpiConfig()
        return config_for_site(unit(equipment_id).get("site_id") or unit(equipment_id).get("site"))

    totals: dict[str, Hours] = defaultdict(Hours)
    for log in usage_logs:
        if source is not None and (log.get("source") or "manual") != source:
            continue
        if _in_period(log.get("shift_date"), start, end):
            eq = str(log.get("equipment_id"))
            totals[group_of(eq)] = totals[group_of(eq)] + hours_from_log(log, config(eq))
    for stop in breakdowns:
        if _in_period(stop.get("started_at"), start, end):
            g = group_of(str(stop.get("equipment_id")))
            totals[g] = totals[g] + Hours(stoppages=1)
    return [KpiRow(g, h, compute(h)) for g, h in sorted(totals.items())]


def format_value(name: str, value: float | None) -> str:
    """A KPI for people: percentages with one decimal, hours with one decimal, '—' where there is no basis."""
    if value is None:
        return "—"
    return f"{value * 100:.1f} %" if name in PERCENT_KPIS else f"{value:.1f}"
