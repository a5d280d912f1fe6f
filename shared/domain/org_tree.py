"""The org tree from `hr.employee.reports_to` (issue 14): who reports to whom, who has no manager and why, and the
one rule on an edit, that a reporting line never loops (A reports to B who reports to A, or someone to
themselves). Pure: the desktop's form and tree and the hub's apply run these same functions.

Left people: a `terminated` employee, or one whose last day is before `today`, is not in the tree; the people who
still report to them are listed under "No manager" with that reason, as are those whose manager is not in the
register at all. A loop that got into the data anyway (a person booked one half through a conflict) is not
followed round: its members are listed under "No manager" too, named as in a loop."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.errors import ValidationError

FIELD = "reports_to"


class ReportingCycle(ValidationError):
    """A reports_to that would close a loop; `path` is the loop from the person round to them again."""

    def __init__(self, employee_id: str, path: list[str], names: Mapping[str, str] | None = None) -> None:
        self.employee_id, self.path = employee_id, path
        shown = " → ".join((names or {}).get(p, p) for p in path)
        if len(path) <= 2:
            message = "a person cannot report to themselves"
        else:
            message = f"that would make a reporting loop ({shown}): choose a manager outside it"
        super().__init__(message, {FIELD: message})


def _text(value: Any) -> str | None:
    return str(value).strip() if value is not None and str(value).strip() else None


def cycle_path(employee_id: str, reports_to: str | None, managers: Mapping[str, str | None]) -> list[str] | None:
    """The loop `employee_id` reporting to `reports_to` would close (person, their manager, …, person), else None.
    `managers` is everyone's current reports_to (employee id -> manager id or None); the person's own entry is
    replaced by the new value. A loop elsewhere higher up that does not come back to the person is not theirs."""
    if reports_to is None:
        return None
    path, seen = [employee_id], {employee_id}
    current: str | None = reports_to
    while current is not None:
        path.append(current)
        if current == employee_id:
            return path
        if current in seen:
            return None  # an older loop above, not through this person: not this edit's doing
        seen.add(current)
        current = _text(managers.get(current))
    return None


def check_reports_to(employee_id: str, reports_to: str | None, managers: Mapping[str, str | None],
                     names: Mapping[str, str] | None = None) -> None:
    """Raise `ReportingCycle` (field `reports_to`) when the edit would make a loop."""
    path = cycle_path(employee_id, reports_to, managers)
    if path is not None:
        raise ReportingCycle(employee_id, path, names)


def managers_of(employees: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]:
    return {eid: _text(e.get(FIELD)) for eid, e in employees.items()}


def has_left(employee: Mapping[str, Any], today: date) -> bool:
    if employee.get("status") == "terminated":
        return True
    end = employee.get("end_date")
    try:
        return end is not None and date.fromisoformat(str(end)) < today
    except ValueError:
        return False


@dataclass
class Node:
    employee_id: str
    children: list[Node] = field(default_factory=list)
    reason: str | None = None  # set on those listed under "No manager": why


@dataclass
class OrgTree:
    roots: list[Node]  # people with no manager set: the top of the company
    no_manager: list[Node]  # people whose manager is missing, has left, or who are in a loop, with the reason

    def count(self) -> int:
        return sum(1 for _ in walk([*self.roots, *self.no_manager]))


def walk(nodes: Iterable[Node]) -> Iterator[tuple[Node, int]]:
    """Every node with its depth, depth first in order; iterative, so a 5,000-deep chain is fine."""
    stack = [(n, 0) for n in reversed(list(nodes))]
    while stack:
        n, depth = stack.pop()
        yield n, depth
        stack.extend((c, depth + 1) for c in reversed(n.children))


def build(employees: Mapping[str, Mapping[str, Any]], today: date,
          sort_key: Any = None, names: Mapping[str, str] | None = None) -> OrgTree:
    """The tree of the people still employed on `today`. Children are ordered by `sort_key(employee_id)`
    (default: the id), so the same register always gives the same tree; reasons name people by `names`."""
    key = sort_key or (lambda eid: eid)
    label = names or {}
    present = {eid: e for eid, e in employees.items() if not has_left(e, today)}
    managers = managers_of(present)
    in_loop: set[str] = set()
    for eid in present:
        if eid not in in_loop and cycle_path(eid, managers[eid], managers) is not None:
            in_loop |= set(cycle_path(eid, managers[eid], managers) or [])
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    orphans: list[tuple[str, str]] = []
    for eid in sorted(present, key=key):
        boss = managers[eid]
        if eid in in_loop:
            loop = cycle_path(eid, boss, managers) or []
            orphans.append((eid, "in a reporting loop: " + " → ".join(label.get(p, p) for p in loop)))
        elif boss is None:
            roots.append(eid)
        elif boss in present:
            children.setdefault(boss, []).append(eid)
        elif boss in employees:
            orphans.append((eid, f"manager {label.get(boss, boss)} has left"))
        else:
            orphans.append((eid, f"manager {boss} is not in the register"))

    def node(eid: str, reason: str | None = None) -> Node:
        # Iterative: a 5,000-deep chain must not hit Python's recursion limit.
        top = Node(eid, reason=reason)
        stack = [top]
        while stack:
            n = stack.pop()
            n.children = [Node(c) for c in children.get(n.employee_id, []) if c not in in_loop]
            stack.extend(n.children)
        return top

    return OrgTree([node(r) for r in roots], [node(e, why) for e, why in orphans])
