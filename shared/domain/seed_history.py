"""One day of a seeded site's history (see `shared.domain.seed`): shifts logged per machine, breakdowns
and PM work orders through their lifecycle with labour and parts, stock issues, deliveries and invoices,
the weekly reorder run, monthly cycle counts and transfers to the workshop store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.domain import inventory as inv
from shared.domain import pm
from shared.domain.maintenance import Actor, WorkOrderState, WorkOrderStatus, transition
from shared.domain.seed_catalogue import BREAKDOWN_CAUSES

if TYPE_CHECKING:
    from shared.domain.seed import SeedDraft, _Machine, _Site

S = WorkOrderStatus
SUPERVISOR = Actor("supervisor", frozenset({"maintenance_supervisor"}))
PLANNER = Actor("planner", frozenset({"planner"}))


def day_of_history(site: _Site, today: date) -> Iterator[SeedDraft]:
    for machine in site.machines:
        yield from _shifts(site, machine, today)
    for machine in site.machines:
        for plan in machine.plans:
            yield from _preventive(site, machine, plan, today)
    yield from _breakdowns(site, today)
    yield from _issues(site, today)
    yield from site.receive(today)
    yield from site.invoice(today)
    yield from _transfers(site, today)
    if today.weekday() == 0:
        yield from site.reorder(today)
    if today.day == 1:
        yield from _cycle_count(site, today)


def _shifts(site: _Site, machine: _Machine, today: date) -> Iterator[SeedDraft]:
    rng = site.rng
    for shift in ("day", "night"):
        operating = round(min(11.5, max(0.0, rng.gauss(machine.daily_hours / 2, 1.2))), 1)
        standby = round(min(12 - operating, rng.uniform(0, 1.5)), 1)
        start = round(machine.hours, 1)
        machine.hours = start + operating
        yield site.draft("equipment.usage_log", f"{machine.id}:{today.isoformat()}:{shift}", {
            "equipment_id": machine.id, "shift_date": today.isoformat(), "shift": shift,
            "operator": site.person(), "operating_hours": operating, "standby_hours": standby,
            "hour_meter_start": start, "hour_meter_end": round(machine.hours, 1),
            "source": "telematics" if rng.random() < 0.7 else "manual"}, "operator")


def _lifecycle(
    site: _Site, wo_id: str, requested_by: str, steps: list[tuple[WorkOrderStatus, Actor]], at: datetime,
    state: WorkOrderState | None = None,
) -> Iterator[SeedDraft]:
    state = state or WorkOrderState(wo_id, S.REQUESTED, requested_by, at)
    for n, (to, actor) in enumerate(steps, start=1):
        step_at = max(at + timedelta(minutes=20 * n), state.last_change_at)
        state, step = transition(state, to, actor, step_at, transition_id=site.id(step_at))
        yield site.draft("maintenance.work_order_transition", step.id, step.as_payload(), actor.user_id)


def _work(site: _Site, wo_id: str, at: datetime, parts: int) -> Iterator[SeedDraft]:
    """Labour and the parts the job consumed (only what the shelf holds: the seed stays non-negative)."""
    rng = site.rng
    tech = site.person()
    yield site.draft("maintenance.labour_entry", site.id(at), {
        "work_order_id": wo_id, "person": tech, "work_date": at.date().isoformat(),
        "hours": round(rng.uniform(1, 10), 1), "trade": rng.choice(("fitter", "auto_electrician", "boilermaker"))},
        tech)
    main = site.stores["main"]
    for _ in range(parts):
        at = site.tick()
        item_id = site.pick_item()
        qty = Decimal(rng.randint(1, 3))
        if site.positions.get((main, item_id), inv.Position()).quantity < qty:
            continue
        mv = site.movement(inv.MovementKind.ISSUE, main, item_id, qty, at, by=tech, work_order_id=wo_id)
        yield mv
        yield site.draft("maintenance.part_consumption", site.id(at), {
            "work_order_id": wo_id, "movement_id": mv.entity_id, "store_id": main, "item_id": item_id,
            "quantity": float(qty), "consumed_at": at.isoformat(), "by": tech}, tech)


def _new_work_order(site: _Site, wo_id: str, machine: _Machine, at: datetime, **fields: Any) -> SeedDraft:
    site.wo_count += 1
    payload = {"number": f"WO{site.wo_count:06d}", "equipment_id": machine.id, "status": "requested",
               "requested_at": at.isoformat(), **fields}
    return site.draft("maintenance.work_order", wo_id, payload, str(fields.get("requested_by", "planner")))


def _preventive(site: _Site, machine: _Machine, plan: pm.PmPlan, today: date) -> Iterator[SeedDraft]:
    status = pm.due_status(plan, site.last_done.get(plan.id), current_hours=machine.hours, today=today,
                           daily_hours=machine.daily_hours)
    at = datetime.combine(today, time(8), UTC)
    if plan.id not in site.open_pm:
        raised = pm.work_order_to_raise(plan, status, equipment_id=machine.id, title=f"{machine.fleet_no} PM")
        if raised is None:
            return
        wo_id, payload = raised
        yield _new_work_order(site, wo_id, machine, at, **payload, requested_by="planner")
        yield from _lifecycle(site, wo_id, "planner", [(S.APPROVED, SUPERVISOR), (S.PLANNED, PLANNER)], at)
        site.open_pm[plan.id] = (wo_id, f"{status.due.hours}:{status.due.on}")
    if not status.is_due:
        return
    wo_id, _ = site.open_pm.pop(plan.id)
    tech = Actor(site.person(), frozenset({"technician"}))
    planned = WorkOrderState(wo_id, S.PLANNED, "planner", at)
    yield from _lifecycle(site, wo_id, "planner", [(S.IN_PROGRESS, tech), (S.COMPLETED, tech), (S.CLOSED, SUPERVISOR)],
                          at + timedelta(hours=1), planned)
    yield from _work(site, wo_id, at + timedelta(hours=2), parts=3)
    done = pm.LastDone(done_hours=round(machine.hours, 1), done_date=today, due_hours=status.due.hours,
                       due_date=status.due.on)
    site.last_done[plan.id] = done
    yield site.draft("maintenance.work_order", wo_id, {
        "status": "closed", "completed_at": (at + timedelta(hours=3)).isoformat(),
        "completed_hours": done.done_hours}, "supervisor", op="update")
    update: dict[str, Any] = {"last_done_hours": done.done_hours, "last_done_date": today.isoformat()}
    if status.due.hours is not None:
        update["last_due_hours"] = status.due.hours
    if status.due.on is not None:
        update["last_due_date"] = status.due.on.isoformat()
    yield site.draft("maintenance.pm_plan", plan.id, update, "planner", op="update")


def _breakdowns(site: _Site, today: date) -> Iterator[SeedDraft]:
    rng = site.rng
    rate = site.spec.breakdowns_per_day * len(site.machines) / 120  # the rate is per 120 machines
    count = sum(1 for _ in range(4) if rng.random() < rate / 4)
    for _ in range(count):
        machine = rng.choice(site.machines)
        at = site.tick()
        cause = rng.choice(BREAKDOWN_CAUSES)
        operator = site.person()
        yield site.draft("equipment.breakdown", site.id(at), {
            "equipment_id": machine.id, "started_at": at.isoformat(),
            "ended_at": (at + timedelta(hours=rng.randint(1, 30))).isoformat(), "cause": cause,
            "severity": rng.choice(("low", "medium", "high", "critical")), "source": "manual"}, operator)
        wo_id = site.id(at)
        yield _new_work_order(site, wo_id, machine, at, title=f"{machine.fleet_no}: {cause}", kind="corrective",
                              priority=rng.choice(("medium", "high", "emergency")), requested_by=operator)
        tech = Actor(site.person(), frozenset({"technician"}))
        yield from _lifecycle(site, wo_id, operator, [
            (S.APPROVED, SUPERVISOR), (S.PLANNED, PLANNER), (S.IN_PROGRESS, tech), (S.COMPLETED, tech),
            (S.CLOSED, SUPERVISOR)], at)
        yield from _work(site, wo_id, at + timedelta(hours=2), parts=rng.randint(0, 4))
        yield site.draft("maintenance.work_order", wo_id, {"status": "closed"}, "supervisor", op="update")


def _issues(site: _Site, today: date) -> Iterator[SeedDraft]:
    rng = site.rng
    main = site.stores["main"]
    for _ in range(site.spec.issues_per_day):
        item_id = site.pick_item()
        qty = Decimal(rng.randint(1, 5))
        if site.positions.get((main, item_id), inv.Position()).quantity < qty:
            continue  # the storeman cannot hand out what is not on the shelf
        at = site.tick()
        yield site.movement(inv.MovementKind.ISSUE, main, item_id, qty, at, by="storeman",
                            cost_centre=rng.choice(("MINING", "PROCESSING", "SITE_SERVICES", "HSE")))


def _transfers(site: _Site, today: date) -> Iterator[SeedDraft]:
    main, workshop = site.stores["main"], site.stores["workshop"]
    for transfer_id, item_id, qty, cost in site.transfers.pop(today, []):
        at = site.tick()
        yield site.movement(inv.MovementKind.TRANSFER_IN, workshop, item_id, qty, at, unit_cost=cost,
                            by="workshop", transfer_id=transfer_id)
    if today.toordinal() % 3:
        return
    item_id = site.pick_item()
    position = site.positions.get((main, item_id), inv.Position())
    qty = Decimal(2)
    at = site.tick()
    if position.quantity < qty:
        return
    transfer_id = site.id(at)
    yield site.movement(inv.MovementKind.TRANSFER_OUT, main, item_id, qty, at, unit_cost=position.average_cost,
                        by="storeman", transfer_id=transfer_id, to_store_id=workshop)
    site.transfers.setdefault(today + timedelta(days=1), []).append((transfer_id, item_id, qty, position.average_cost))


def _cycle_count(site: _Site, today: date) -> Iterator[SeedDraft]:
    rng = site.rng
    main = site.stores["main"]
    for item_id in rng.sample(site.item_ids, min(50, len(site.item_ids))):
        system = site.positions.get((main, item_id), inv.Position()).quantity
        counted = max(Decimal(0), system + rng.choice((0, 0, 0, 0, -1, 1, -2)))
        delta = inv.count_adjustment_quantity(system, counted)
        if delta:
            yield site.movement(inv.MovementKind.COUNT_ADJUSTMENT, main, item_id, delta, site.tick(), by="storeman",
                                counted_qty=float(counted))
