"""The rules finance's dimension lists are kept by (`finance.dimension_value`, D35, D78), shared by the desktop's
Dimension values screen and `pitline hub finance dimension-import`, so both refuse the same lists.

Finance keeps the lists of cost centres and projects: those exist nowhere else. Sites and machines already have
their registers (the site a store belongs to, the equipment a work order names), so those two dimensions stay open
at the hub and neither tool adds values to them (D78); a value listed for them by an earlier version still counts
and can be deactivated.

- A value is added once: the same value again, or one differing only in case ("maint" beside "MAINT"), is refused;
  re-adding a deactivated value reactivates it.
- A listed dimension never goes back to open by accident: deactivating its last active value would make the hub
  accept any value again, so it is refused (add the replacement first).
- A value still charged by changes this office has not sent yet is not deactivated: the hub would refuse them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.domain.accounts import Dimension
from shared.domain.finance_entities import dimension_value_id

MANAGED = (Dimension.COST_CENTRE, Dimension.PROJECT)
LABELS = {Dimension.COST_CENTRE: "cost centre", Dimension.PROJECT: "project", Dimension.SITE: "site",
          Dimension.EQUIPMENT: "machine"}


@dataclass(frozen=True)
class ListedValue:
    dimension: str
    value: str
    name: str
    active: bool

    @property
    def record_id(self) -> str:
        return dimension_value_id(self.dimension, self.value)


def listed(states: Iterable[Mapping[str, Any]]) -> dict[str, ListedValue]:
    """Record id → value, from `finance.dimension_value` states."""
    out: dict[str, ListedValue] = {}
    for st in states:
        v = ListedValue(str(st.get("dimension", "")), str(st.get("value", "")).strip(), str(st.get("name") or ""),
                        st.get("active", True) is not False)
        out[v.record_id] = v
    return out


def dimension_problem(dimension: str) -> str | None:
    """Why values cannot be added to `dimension` here, or None."""
    try:
        dim = Dimension(dimension)
    except ValueError:
        return (f"'{dimension}' is not a dimension; finance lists values for "
                + ", ".join(d.value for d in MANAGED))
    if dim not in MANAGED:
        return (f"{dim.value} values come from the {'site' if dim is Dimension.SITE else 'equipment'} register and "
                "are not listed here (the dimension stays open, D78); finance lists cost_centre and project")
    return None


def add_problems(values: Mapping[str, ListedValue], dimension: str, value: str) -> dict[str, str]:
    """Field → message for adding `value` to `dimension`; {} when it may be added (or reactivated)."""
    problem = dimension_problem(dimension)
    if problem:
        return {"dimension": problem}
    value = value.strip()
    if not value:
        return {"value": "is required"}
    label = LABELS[Dimension(dimension)]
    same = values.get(dimension_value_id(dimension, value))
    if same is not None and same.active:
        return {"value": f"{label} {value} is listed already" + (f" ({same.name})" if same.name else "")}
    for v in values.values():
        if v.dimension == dimension and v.value != value and v.value.casefold() == value.casefold():
            return {"value": f"{label} {v.value} is listed already; {value} differs only in case"}
    return {}


def deactivate_problem(values: Mapping[str, ListedValue], record_id: str, pending_uses: int = 0) -> str | None:
    """Why the value `record_id` cannot be deactivated, or None. `pending_uses`: changes not sent yet that carry it."""
    v = values.get(record_id)
    if v is None:
        return f"no listed value {record_id}"
    if not v.active:
        return f"{v.value} is inactive already"
    dim = Dimension(v.dimension)  # the entity's choices: a stored value names a dimension
    label = LABELS[dim]
    if pending_uses:
        return (f"{pending_uses} change(s) not sent to the hub yet charge {label} {v.value}: the hub would refuse "
                "them; sync first")
    others = [o for o in values.values() if o.dimension == v.dimension and o.active and o.record_id != record_id]
    if not others and dim in MANAGED:
        return (f"{v.value} is the last active {label}: without it the list is empty and the hub would accept any "
                f"{label}; add the value that replaces it first")
    return None


def pending_uses(payloads: Iterable[Mapping[str, Any]], dimension: str, value: str) -> int:
    """How many unsent payloads carry `value` for `dimension` (a movement's cost_centre, a line's project…)."""
    return sum(1 for p in payloads if str(p.get(dimension, "")).strip() == value)


def check_import(values: Mapping[str, ListedValue], rows: list[tuple[int, dict[str, Any]]]) -> list[str]:
    """Problems with importing `rows` ((line, {dimension, value, name?, active}) over the listed `values`), each
    naming its line; [] when the whole file may be written."""
    problems: list[str] = []
    after = dict(values)
    seen: dict[tuple[str, str], int] = {}
    for line, rec in rows:
        dim, value = str(rec["dimension"]), str(rec["value"]).strip()
        problem = dimension_problem(dim)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        folded = (dim, value.casefold())
        if folded in seen:
            problems.append(f"line {line}: {dim} {value} appears already on line {seen[folded]}")
            continue
        seen[folded] = line
        clash = [v for v in after.values() if v.dimension == dim and v.value != value
                 and v.value.casefold() == value.casefold()]
        if clash:
            problems.append(f"line {line}: {dim} {clash[0].value} is listed already; {value} differs only in case")
            continue
        new = ListedValue(dim, value, str(rec.get("name") or ""), rec.get("active", True) is not False)
        after[new.record_id] = new
    if problems:
        return problems
    for dim in MANAGED:
        before = any(v.dimension == dim.value and v.active for v in values.values())
        now = any(v.dimension == dim.value and v.active for v in after.values())
        if before and not now:
            last = max(line for line, rec in rows if rec["dimension"] == dim.value)
            problems.append(f"line {last}: this deactivates the last active {LABELS[dim]}: the hub would accept any "
                            f"{LABELS[dim]}; keep or add one")
    return problems
