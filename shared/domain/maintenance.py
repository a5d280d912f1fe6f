"""Maintenance: work orders and their lifecycle, labour, parts consumed, and the PM plan entity (its
due calculation is in `shared.domain.pm`).

Strategies:
- `maintenance.work_order` is field_merge: a planner moving the planned date and a technician adding
  notes offline both keep their edit. Its `status` is a cached copy; the lifecycle's source of truth is
  `maintenance.work_order_transition`, create-only: each step (who, when, from, to) is a row, two offline
  steps are both kept, and `replay()` decides which were valid in time order, so an invalid one is
  reported to a person instead of silently winning or vanishing.
- `maintenance.labour_entry` is field_merge: one row per person per job, corrected field by field.
- `maintenance.part_consumption` is create-only: it pairs with the `inventory.movement` issue that took
  the part from the store; two technicians consuming the same part offline both count.
- `maintenance.pm_plan` is field_merge (master data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared.conflicts import Strategy
from shared.domain.finance import money
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError


class WorkOrderStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


S = WorkOrderStatus
ALLOWED: Mapping[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.CANCELLED}),
    S.APPROVED: frozenset({S.PLANNED, S.CANCELLED}),
    S.PLANNED: frozenset({S.IN_PROGRESS, S.APPROVED, S.CANCELLED}),  # back to approved = unplanned
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.PLANNED}),  # back to planned = on hold, waiting for parts
    S.COMPLETED: frozenset({S.CLOSED, S.IN_PROGRESS}),  # back to in progress = reopened after a failed check
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Who may move a work order into each status (any of these roles).
SUPERVISORS = frozenset({"maintenance_supervisor", "maintenance_manager", "admin"})
ROLES_FOR: Mapping[WorkOrderStatus, frozenset[str]] = {
    S.APPROVED: SUPERVISORS,
    S.PLANNED: SUPERVISORS | {"planner"},
    S.IN_PROGRESS: SUPERVISORS | {"planner", "technician"},
    S.COMPLETED: SUPERVISORS | {"technician"},
    S.CLOSED: SUPERVISORS,
    S.CANCELLED: SUPERVISORS,
}
# Back steps whose people differ from the forward step into the same status.
ROLES_FOR_BACK_STEP: Mapping[tuple[WorkOrderStatus, WorkOrderStatus], frozenset[str]] = {
    (S.IN_PROGRESS, S.PLANNED): SUPERVISORS | {"planner", "technician"},  # on hold: the technician knows
    (S.PLANNED, S.APPROVED): SUPERVISORS | {"planner"},  # unplanned
    (S.COMPLETED, S.IN_PROGRESS): SUPERVISORS,  # reopened after a failed check
}


class TransitionError(ValidationError):
    """A lifecycle step that is not allowed (wrong order, wrong person, wrong time)."""


@dataclass(frozen=True)
class Actor:
    user_id: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Transition:
    id: str
    work_order_id: str
    from_status: WorkOrderStatus
    to_status: WorkOrderStatus
    by: str
    at: datetime
    roles: frozenset[str] = frozenset()
    note: str = ""

    def as_payload(self) -> dict[str, object]:
        return {
            "work_order_id": self.work_order_id,
            "from_status": self.from_status.value,
            "to_status": self.to_status.value,
            "by": self.by,
            "roles": sorted(self.roles),
            "at": self.at.isoformat(),
            "note": self.note,
        }


@dataclass(frozen=True)
class WorkOrderState:
    id: str
    status: WorkOrderStatus
    requested_by: str
    last_change_at: datetime


def check_transition(state: WorkOrderState, to: WorkOrderStatus, actor: Actor, at: datetime) -> None:
    """Raise TransitionError with a sentence a person understands when the step is not allowed."""
    if at.tzinfo is None:
        raise TransitionError("the time of a step must carry a time zone", {"at": "must carry a time zone"})
    allowed = ALLOWED[state.status]
    if to not in allowed:
        nxt = ", ".join(sorted(s.value for s in allowed)) or "nothing (it is final)"
        raise TransitionError(
            f"work order {state.id} cannot go from {state.status} to {to}; from {state.status} it can go to {nxt}",
            {"status": f"cannot go from {state.status} to {to}"},
        )
    needed = ROLES_FOR_BACK_STEP.get((state.status, to)) or ROLES_FOR.get(to, frozenset())
    if needed and not (actor.roles & needed):
        raise TransitionError(
            f"{actor.user_id} may not move a work order to {to}: needs one of {', '.join(sorted(needed))}",
            {"status": "not allowed for your role"},
        )
    if to is S.APPROVED and actor.user_id == state.requested_by:
        raise TransitionError(
            f"{actor.user_id} requested work order {state.id} and cannot also approve it",
            {"status": "a requester cannot approve their own request"},
        )
    if at < state.last_change_at:
        raise TransitionError(
            f"this step ({at.isoformat()}) is dated before the work order's last change "
            f"({state.last_change_at.isoformat()})",
            {"at": "is before the last change"},
        )


def transition(
    state: WorkOrderState, to: WorkOrderStatus, actor: Actor, at: datetime, *, transition_id: str, note: str = ""
) -> tuple[WorkOrderState, Transition]:
    """Take one lifecycle step: the new state and the transition row to record."""
    check_transition(state, to, actor, at)
    step = Transition(transition_id, state.id, state.status, to, actor.user_id, at, actor.roles, note)
    return WorkOrderState(state.id, to, state.requested_by, at), step


@dataclass(frozen=True)
class Replay:
    state: WorkOrderState
    applied: tuple[Transition, ...]
    rejected: tuple[tuple[Transition, str], ...]  # (step, why) for a person to review


def replay(initial: WorkOrderState, steps: Iterable[Transition]) -> Replay:
    """Fold transition rows (from any devices, in any arrival order) into the current state.

    Steps are taken in time order (ties by id). A step whose `from_status` is not the status at that
    point (two people approved the same request offline) or that breaks the rules is not applied and
    is returned with the reason, so the hub and every desktop agree on the same state and nobody's
    action disappears without a trace."""
    state = initial
    applied: list[Transition] = []
    rejected: list[tuple[Transition, str]] = []
    for step in sorted(steps, key=lambda t: (t.at, t.id)):
        if step.from_status is not state.status:
            rejected.append((step, f"made from {step.from_status}, but the work order was already {state.status}"))
            continue
        try:
            state, _ = transition(state, step.to_status, Actor(step.by, step.roles), step.at, transition_id=step.id)
        except TransitionError as exc:
            rejected.append((step, str(exc)))
            continue
        applied.append(step)
    return Replay(state, tuple(applied), tuple(rejected))


def part_consumption_payloads(
    *,
    work_order_id: str,
    movement_id: str,
    store_id: str,
    item_id: str,
    quantity: float,
    occurred_at: str,
    by: str,
) -> tuple[dict[str, object], dict[str, object]]:
    """The two rows one consumed part writes: the `inventory.movement` issue (which moves the stock)
    and the `maintenance.part_consumption` that links it to the job (the issue is costed by the ledger)."""
    if quantity <= 0:
        raise ValidationError("a consumed quantity must be positive", {"quantity": "must be positive"})
    movement = {
        "kind": "issue",
        "store_id": store_id,
        "item_id": item_id,
        "quantity": quantity,
        "occurred_at": occurred_at,
        "work_order_id": work_order_id,
        "by": by,
    }
    consumption = {
        "work_order_id": work_order_id,
        "movement_id": movement_id,
        "store_id": store_id,
        "item_id": item_id,
        "quantity": quantity,
        "consumed_at": occurred_at,
        "by": by,
    }
    return movement, consumption


@dataclass(frozen=True)
class WorkOrderCost:
    labour_hours: Decimal
    labour: Decimal
    parts: Decimal

    @property
    def total(self) -> Decimal:
        return self.labour + self.parts


def work_order_cost(
    labour: Iterable[tuple[str, Decimal]],
    rates: Mapping[str, Decimal],
    parts: Iterable[tuple[Decimal, Decimal]],
) -> WorkOrderCost:
    """Cost of a job: labour (trade, hours) at each trade's rate, parts (quantity, unit cost at the
    moving average when issued). A trade without a rate is an error, not a free hour."""
    hours = Decimal(0)
    labour_cost = Decimal(0)
    missing: set[str] = set()
    for trade, h in labour:
        hours += h
        rate = rates.get(trade)
        if rate is None:
            missing.add(trade)
        else:
            labour_cost += h * rate
    if missing:
        raise ValidationError("no labour rate for " + ", ".join(sorted(missing)), {"trade": "has no rate"})
    parts_cost = sum((q * c for q, c in parts), Decimal(0))
    return WorkOrderCost(hours, money(labour_cost), money(parts_cost))


# --- entities -------------------------------------------------------------------------------------
STATUSES = tuple(s.value for s in WorkOrderStatus)

WORK_ORDER = register(
    EntitySpec(
        name="maintenance.work_order",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "number": FieldSpec("str", max_length=32, label="Number"),
            "equipment_id": FieldSpec("str", required=True, label="Equipment"),
            "title": FieldSpec("str", required=True, max_length=200, label="Title"),
            "description": FieldSpec("str", max_length=4000, label="Description"),
            "kind": FieldSpec("str", choices=("corrective", "preventive", "inspection", "modification"), label="Kind"),
            "priority": FieldSpec("str", choices=("low", "medium", "high", "emergency"), label="Priority"),
            "status": FieldSpec("str", choices=STATUSES, label="Status"),
            "requested_by": FieldSpec("str", max_length=128, label="Requested by"),
            "requested_at": FieldSpec("datetime", label="Requested at"),
            "planned_start": FieldSpec("datetime", label="Planned start"),
            "planned_hours": FieldSpec("number", min=0, label="Planned hours"),
            "assigned_to": FieldSpec("str", max_length=128, label="Assigned to"),
            "pm_plan_id": FieldSpec("str", label="PM plan"),
            "due_hours": FieldSpec("number", min=0, label="Due at engine hours"),
            "due_date": FieldSpec("date", label="Due date"),
            "completed_at": FieldSpec("datetime", label="Completed at"),
            "completed_hours": FieldSpec("number", min=0, label="Engine hours at completion"),
            "notes": FieldSpec("str", max_length=4000, label="Notes"),
        },
    )
)

WORK_ORDER_TRANSITION = register(
    EntitySpec(
        name="maintenance.work_order_transition",
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        fields={
            "work_order_id": FieldSpec("str", required=True),
            "from_status": FieldSpec("str", required=True, choices=STATUSES),
            "to_status": FieldSpec("str", required=True, choices=STATUSES),
            "by": FieldSpec("str", required=True, max_length=128),
            "roles": FieldSpec("list"),
            "at": FieldSpec("datetime", required=True),
            "note": FieldSpec("str", max_length=2000),
        },
    )
)

LABOUR_ENTRY = register(
    EntitySpec(
        name="maintenance.labour_entry",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "work_order_id": FieldSpec("str", required=True, label="Work order"),
            "person": FieldSpec("str", required=True, max_length=128, label="Person"),
            "work_date": FieldSpec("date", required=True, label="Date"),
            "hours": FieldSpec("number", required=True, min=0, max=24, label="Hours"),
            "trade": FieldSpec("str", max_length=64, label="Trade"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)

PART_CONSUMPTION = register(
    EntitySpec(
        name="maintenance.part_consumption",
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        fields={
            "work_order_id": FieldSpec("str", required=True, label="Work order"),
            "movement_id": FieldSpec("str", required=True, label="Stock issue"),
            "store_id": FieldSpec("str", required=True, label="Store"),
            "item_id": FieldSpec("str", required=True, label="Item"),
            "quantity": FieldSpec("number", required=True, min=0, label="Quantity"),
            "consumed_at": FieldSpec("datetime", required=True, label="When"),
            "by": FieldSpec("str", max_length=128, label="By"),
        },
    )
)

PM_PLAN = register(
    EntitySpec(
        name="maintenance.pm_plan",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "equipment_id": FieldSpec("str", required=True, label="Equipment"),
            "title": FieldSpec("str", required=True, max_length=200, label="Title"),
            "trigger": FieldSpec("str", required=True, choices=("hours", "calendar", "either"), label="Trigger"),
            "schedule": FieldSpec("str", required=True, choices=("fixed", "floating"), label="Schedule"),
            "interval_hours": FieldSpec("number", min=1, label="Every (engine hours)"),
            "interval_days": FieldSpec("int", min=1, label="Every (days)"),
            "lead_hours": FieldSpec("number", min=0, label="Raise ahead by (hours)"),
            "lead_days": FieldSpec("int", min=0, label="Raise ahead by (days)"),
            "start_hours": FieldSpec("number", min=0, label="Start at engine hours"),
            "start_date": FieldSpec("date", label="Start date"),
            "last_done_hours": FieldSpec("number", min=0, label="Last done at hours"),
            "last_done_date": FieldSpec("date", label="Last done on"),
            "last_due_hours": FieldSpec("number", min=0, label="Last due satisfied (hours)"),
            "last_due_date": FieldSpec("date", label="Last due satisfied (date)"),
            "task_list": FieldSpec("list", label="Tasks"),
            "active": FieldSpec("bool", label="Active"),
        },
    )
)
