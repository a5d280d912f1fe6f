"""Equipment KPIs from hours, as pure functions shared by the desktop (offline) and the hub.

With W operating, S standby, R repair (down) hours and T = W + S + R (DESIGN.md):
- mechanical availability  MA  = W / (W + R)
- physical availability    PA  = (W + S) / T
- use of availability      UoA = W / (W + S)
- effective utilisation    EU  = W / T
- mean time between stoppages MTBS = W / stoppages
- mean time to repair         MTTR = R / stoppages
A ratio whose denominator is zero is None ("no basis"), never 0 and never an error. A site may count idle
time (engine on, not working) as operating or as standby: `KpiSettings.idle_counts_as`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class KpiSettings:
    idle_counts_as: Literal["operating", "standby"] = "standby"


@dataclass(frozen=True)
class Hours:
    operating: float = 0.0
    standby: float = 0.0
    repair: float = 0.0
    stoppages: int = 0

    def __add__(self, other: Hours) -> Hours:
        return Hours(self.operating + other.operating, self.standby + other.standby, self.repair + other.repair,
                     self.stoppages + other.stoppages)

    @property
    def total(self) -> float:
        return self.operating + self.standby + self.repair


@dataclass(frozen=True)
class Kpis:
    hours: Hours
    mechanical_availability: float | None
    physical_availability: float | None
    use_of_availability: float | None
    effective_utilisation: float | None
    mtbs_hours: float | None
    mttr_hours: float | None


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def kpis(h: Hours) -> Kpis:
    w, s, r = h.operating, h.standby, h.repair
    return Kpis(
        hours=h,
        mechanical_availability=_ratio(w, w + r),
        physical_availability=_ratio(w + s, h.total),
        use_of_availability=_ratio(w, w + s),
        effective_utilisation=_ratio(w, h.total),
        mtbs_hours=_ratio(w, h.stoppages),
        mttr_hours=_ratio(r, h.stoppages),
    )


def hours_from_usage_log(log: Mapping[str, Any], settings: KpiSettings = KpiSettings()) -> Hours:
    """One `equipment.usage_log` as W/S/R hours (unknown time counts nowhere: it has no basis)."""
    idle = float(log.get("idle_hours") or 0)
    operating = float(log.get("operating_hours") or 0) + (idle if settings.idle_counts_as == "operating" else 0)
    standby = float(log.get("standby_hours") or 0) + (idle if settings.idle_counts_as == "standby" else 0)
    return Hours(operating, standby, float(log.get("repair_hours") or 0))


def kpis_by(logs: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], str],
            stoppages: Mapping[str, int] | None = None, settings: KpiSettings = KpiSettings()) -> dict[str, Kpis]:
    """KPIs per group (equipment, class, site…): hours summed from usage logs, stoppages counted per group
    (breakdowns), then the ratios, so a group's KPI is never an average of ratios."""
    totals: dict[str, Hours] = defaultdict(Hours)
    for log in logs:
        totals[key(log)] = totals[key(log)] + hours_from_usage_log(log, settings)
    for group, count in (stoppages or {}).items():
        totals[group] = totals[group] + Hours(stoppages=count)
    return {group: kpis(h) for group, h in totals.items()}
