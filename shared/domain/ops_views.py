"""From replicated record data to the operations rules' inputs and answers, for screens that work offline.

The desktop keeps every record as plain JSON (`entity_id`, state); these pure functions turn them into the
domain objects of `inventory`, `maintenance`, `procurement`, `approvals` and `pm` and ask those modules'
rules: stock on hand and its review flags from the ledger, a work order's status by replaying its steps and
which steps the signed-in person may take next, a PO's progress, what an approval request waits for and
whether this person may decide it, when a PM plan is due from the hour meters. A record the rules cannot
read is reported, never dropped silently. (The hub's read models in `hub/projections` apply the same rules.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain import pm
from shared.domain.approvals import (
    ApprovalError,
    ApprovalState,
    Chain,
    Decision,
    Delegation,
    Level,
    Verdict,
    evaluate,
    route,
    waiting_on,
)
from shared.domain.inventory import Movement, MovementKind, transfers, value_ledger
from shared.domain.maintenance import (
    Actor,
    Replay,
    Transition,
    TransitionError,
    WorkOrderState,
    WorkOrderStatus,
    check_transition,
    replay,
)
from shared.domain.procurement import (
    PoLine,
    PoProgress,
    ProcurementError,
    Receipt,
    RequisitionLine,
    StockItem,
    po_lines_from_payload,
    po_progress,
    reorder_lines,
)
from shared.errors import ValidationError

Rec = tuple[str, Mapping[str, Any]]  # (entity_id, record state)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_dt(value: object) -> datetime | None:
    """An ISO 8601 time with its zone (a zone-less one is taken as UTC); None when unreadable."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


# --- inventory ------------------------------------------------------------------------------------
def movements_from(rows: Iterable[Rec]) -> tuple[list[Movement], list[str]]:
    """Ledger rows as movements, and the ids of rows that are not readable movements."""
    movements: list[Movement] = []
    bad: list[str] = []
    for entity_id, data in rows:
        try:
            movements.append(Movement.from_payload(entity_id, data))
        except (ValidationError, ValueError, KeyError, ArithmeticError):
            bad.append(entity_id)
    return movements, bad


@dataclass(frozen=True)
class StockLine:
    store_id: str
    item_id: str
    quantity: Decimal
    average_cost: Decimal
    movements: int
    needs_review: bool
    reason: str

    @property
    def value(self) -> Decimal:
        return self.quantity * self.average_cost


def stock_lines(rows: Iterable[Rec]) -> list[StockLine]:
    """Stock on hand per (store, item), derived from the ledger with moving-average valuation. A line
    needs review when its balance is negative now or went below zero on the way (issued offline ahead
    of a receipt), or when one of its rows could not be read."""
    movements, bad = movements_from(rows)
    valuation = value_ledger(movements)
    counts: dict[tuple[str, str], int] = {}
    for m in movements:
        counts[m.key] = counts.get(m.key, 0) + 1
    dipped: dict[tuple[str, str], int] = {}
    for flag in valuation.flags:
        key = (flag.store_id, flag.item_id)
        dipped[key] = dipped.get(key, 0) + 1
    lines = []
    for key, position in sorted(valuation.positions.items()):
        reasons = []
        if position.quantity < 0:
            reasons.append("negative balance")
        elif key in dipped:
            reasons.append(f"went below zero {dipped[key]} time(s)")
        lines.append(StockLine(key[0], key[1], position.quantity, position.average_cost, counts[key],
                               bool(reasons), "; ".join(reasons)))
    if bad:
        lines.append(StockLine("?", "?", Decimal(0), Decimal(0), 0, True,
                               f"{len(bad)} unreadable movement(s): {', '.join(bad[:5])}"))
    return lines


@dataclass(frozen=True)
class TransferLine:
    """One transfer between stores as the ledger tells it: what was shipped, what was booked in."""

    transfer_id: str
    item_id: str
    from_store: str
    to_store: str  # "" when the shipping row does not name it (cannot be received here)
    shipped: Decimal
    received: Decimal
    unit_cost: Decimal
    shipped_at: str
    pending: bool = False  # a row of it is not yet confirmed by the hub

    @property
    def in_transit(self) -> Decimal:
        return max(self.shipped - self.received, Decimal(0))


def transfer_lines(rows: Iterable[Rec], pending_ids: Iterable[str] = ()) -> list[TransferLine]:
    """Every transfer in the ledger, matched by transfer id (transfer_out rows against transfer_in
    rows, from any device, in any arrival order), oldest shipment first. A transfer_in whose shipping
    row has not arrived yet is left out: there is nothing to receive against until it does."""
    row_list = list(rows)
    movements, _bad = movements_from(row_list)
    pending = set(pending_ids)
    shipped_rows: dict[str, Mapping[str, Any]] = {}
    pending_transfers: set[str] = set()
    for entity_id, data in row_list:
        tid = data.get("transfer_id")
        if tid is None or data.get("kind") not in (MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN):
            continue
        if data.get("kind") == MovementKind.TRANSFER_OUT:
            shipped_rows.setdefault(str(tid), data)
        if entity_id in pending:
            pending_transfers.add(str(tid))
    lines = []
    for tid, t in transfers(movements).items():
        out = shipped_rows.get(tid)
        if out is None or t.from_store is None:
            continue
        lines.append(TransferLine(tid, t.item_id, t.from_store, str(out.get("to_store_id") or ""), t.shipped,
                                  t.received, as_decimal(out.get("unit_cost")) or Decimal(0),
                                  str(out.get("occurred_at") or ""), tid in pending_transfers))
    return sorted(lines, key=lambda ln: (ln.shipped_at, ln.transfer_id))


def in_transit_lines(rows: Iterable[Rec], pending_ids: Iterable[str] = ()) -> list[TransferLine]:
    """Transfers shipped and not (fully) booked in at the receiving store."""
    return [ln for ln in transfer_lines(rows, pending_ids) if ln.in_transit > 0]


# --- maintenance ----------------------------------------------------------------------------------
LIFECYCLE = tuple(WorkOrderStatus)


def transitions_from(work_order_id: str, rows: Iterable[Rec]) -> tuple[list[Transition], int]:
    steps: list[Transition] = []
    unreadable = 0
    for entity_id, data in rows:
        at = parse_dt(data.get("at"))
        try:
            if at is None:
                raise ValueError("a step without a time")
            steps.append(Transition(entity_id, work_order_id, WorkOrderStatus(str(data.get("from_status"))),
                                    WorkOrderStatus(str(data.get("to_status"))), str(data.get("by")), at,
                                    frozenset(data.get("roles") or ()), str(data.get("note") or "")))
        except ValueError:
            unreadable += 1
    return steps, unreadable


def work_order_replay(work_order_id: str, data: Mapping[str, Any], transitions: Iterable[Rec]) -> Replay:
    """The work order's state from its recorded steps (any device, any arrival order), as the hub does:
    it starts `requested` at its request time (or its first step, whichever is earlier)."""
    steps, _ = transitions_from(work_order_id, transitions)
    requested_at = parse_dt(data.get("requested_at"))
    times = [t for t in (requested_at, min((s.at for s in steps), default=None)) if t is not None]
    start = min(times) if times else EPOCH
    initial = WorkOrderState(work_order_id, WorkOrderStatus.REQUESTED, str(data.get("requested_by") or ""), start)
    return replay(initial, steps)


def legal_steps(state: WorkOrderState, actor: Actor, at: datetime) -> list[WorkOrderStatus]:
    """The statuses this person may move the work order to now, in lifecycle order."""
    allowed = []
    for to in LIFECYCLE:
        try:
            check_transition(state, to, actor, at)
        except TransitionError:
            continue
        allowed.append(to)
    return allowed


# --- procurement ----------------------------------------------------------------------------------
def po_progress_from(data: Mapping[str, Any], receipts: Iterable[Rec]) -> tuple[list[PoLine], PoProgress]:
    """A PO's lines and its progress from its goods receipts (raises ProcurementError for unreadable lines)."""
    lines = po_lines_from_payload(data.get("lines"))
    parsed = []
    for entity_id, r in receipts:
        qty = as_decimal(r.get("quantity"))
        if qty is not None:
            parsed.append(Receipt(entity_id, str(r.get("line_id")), qty))
    return lines, po_progress(lines, parsed, closed=bool(data.get("closed")), cancelled=bool(data.get("cancelled")))


# --- approvals ------------------------------------------------------------------------------------
def chains_from(rows: Iterable[Rec]) -> list[Chain]:
    chains = []
    for _id, data in rows:
        try:
            levels = tuple(
                Level(Decimal(str(lv.get("min_amount", 0))), lv.get("approver_user"), lv.get("approver_role"),
                      str(lv.get("name") or ""))
                for lv in data.get("levels") or ()
            )
        except (ApprovalError, ArithmeticError, AttributeError):
            continue
        scope = data.get("site_id")
        chains.append(Chain(str(data.get("document_type")), levels, bool(data.get("active", True)),
                            None if scope is None else str(scope)))
    return chains


def delegations_from(rows: Iterable[Rec]) -> list[Delegation]:
    result = []
    for _id, d in rows:
        try:
            result.append(Delegation(str(d["delegator"]), str(d["delegate"]), date.fromisoformat(str(d["starts_on"])),
                                     date.fromisoformat(str(d["ends_on"])), frozenset(d.get("document_types") or ()),
                                     bool(d.get("active", True))))
        except (KeyError, ValueError):
            continue
    return result


def decisions_from(rows: Iterable[Rec]) -> list[Decision]:
    parsed = []
    for entity_id, d in rows:
        at, seen = parse_dt(d.get("at")), as_decimal(d.get("amount"))
        if at is None or seen is None or d.get("verdict") not in ("approve", "reject"):
            continue
        parsed.append(Decision(entity_id, int(d.get("level", -1)), Verdict(str(d["verdict"])), str(d.get("by")),
                               frozenset(d.get("roles") or ()), at, seen, str(d.get("comment") or "")))
    return parsed


@dataclass(frozen=True)
class RequestView:
    request_id: str
    document_type: str
    document_id: str
    amount: Decimal
    requested_by: str
    title: str
    levels: tuple[Level, ...]
    state: ApprovalState | None  # None when the request cannot be routed (see problem)
    problem: str = ""


def request_view(request_id: str, data: Mapping[str, Any], decisions: Iterable[Rec], chains: Sequence[Chain],
                 delegations: Sequence[Delegation], site_id: str | None = None) -> RequestView:
    """Route a request by its chain (the site's own chain first) and fold its decisions into its state."""
    doc_type = str(data.get("document_type"))
    amount = as_decimal(data.get("amount")) or Decimal(0)
    requested_by = str(data.get("requested_by") or "")
    document_id, title = str(data.get("document_id") or ""), str(data.get("title") or "")
    try:
        levels = route(chains, doc_type, amount, site_id)
    except ApprovalError as exc:
        return RequestView(request_id, doc_type, document_id, amount, requested_by, title, (), None, str(exc))
    state = evaluate(document_type=doc_type, amount=amount, requested_by=requested_by, levels=levels,
                     decisions=decisions_from(decisions), delegations=delegations)
    return RequestView(request_id, doc_type, document_id, amount, requested_by, title, levels, state)


def may_decide(view: RequestView, user: str, roles: frozenset[str], delegations: Sequence[Delegation],
               on: date) -> bool:
    """Whether this person can decide the level the request waits for now (never the requester)."""
    if view.state is None or view.state.current_level is None or user == view.requested_by:
        return False
    level = view.levels[view.state.current_level]
    if level.approver_role is not None:
        return level.approver_role in roles
    return user in waiting_on(view.state, view.levels, delegations, on, view.document_type)


def decision_payload(view: RequestView, verdict: Verdict, user: str, roles: frozenset[str], at: datetime,
                     comment: str = "") -> dict[str, Any]:
    """The `approvals.decision` row for deciding the waiting level (refused when nothing waits)."""
    if view.state is None or view.state.current_level is None:
        raise ApprovalError(f"request {view.request_id} waits for no decision", {"request_id": "nothing to decide"})
    payload: dict[str, Any] = {"request_id": view.request_id, "level": view.state.current_level,
                               "verdict": verdict.value, "by": user, "roles": sorted(roles), "at": at.isoformat(),
                               "amount": float(view.amount)}
    if comment:
        payload["comment"] = comment
    return payload


# --- preventive maintenance -------------------------------------------------------------------------
def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _float(value: object) -> float | None:
    number = as_decimal(value)
    return None if number is None else float(number)


def pm_plan_from(plan_id: str, data: Mapping[str, Any]) -> pm.PmPlan:
    """A plan record as a PmPlan (raises PmPlanError, with field messages, when it cannot be scheduled)."""
    interval_days = data.get("interval_days")
    return pm.PmPlan(plan_id, pm.Trigger(str(data.get("trigger") or "hours")),
                     pm.Schedule(str(data.get("schedule") or "fixed")),
                     interval_hours=_float(data.get("interval_hours")),
                     interval_days=int(interval_days) if isinstance(interval_days, int | float) else None,
                     lead_hours=_float(data.get("lead_hours")) or 0.0, lead_days=int(data.get("lead_days") or 0),
                     start_hours=_float(data.get("start_hours")) or 0.0, start_date=_date(data.get("start_date")))


def last_done_from(data: Mapping[str, Any]) -> pm.LastDone | None:
    done_hours, done_date = _float(data.get("last_done_hours")), _date(data.get("last_done_date"))
    if done_hours is None and done_date is None:
        return None
    return pm.LastDone(done_hours, done_date, _float(data.get("last_due_hours")), _date(data.get("last_due_date")))


def _reading_at(shift_date: date, shift: object) -> datetime:
    # Day shifts end 18:00, night shifts 06:00 the next morning; UTC, as the site's zone is not known here.
    return datetime.combine(shift_date, time(23, 59) if shift == "night" else time(18), UTC)


def meter_changes(corrections: Iterable[Mapping[str, Any]]) -> dict[str, list[pm.MeterChange]]:
    """`equipment.meter_correction` records per machine, placed at their shift's reading so that the end
    reading of the shift a meter was replaced in is already on the new meter (unreadable records skipped)."""
    result: dict[str, list[pm.MeterChange]] = {}
    for c in corrections:
        before, after, day = _float(c.get("before")), _float(c.get("after")), _date(c.get("shift_date"))
        if before is None or after is None or day is None:
            continue
        result.setdefault(str(c.get("equipment_id")), []).append(
            pm.MeterChange(_reading_at(day, c.get("shift")), before, after))
    return result


def meter_readings(usage_logs: Iterable[Mapping[str, Any]],
                   corrections: Iterable[Mapping[str, Any]] = ()) -> dict[str, list[pm.MeterReading]]:
    """Hour-meter readings per machine from shift logs (gateways' and people's): the end reading at the
    end of the shift, on one scale across the machine's meter corrections (pm.corrected_readings)."""
    result: dict[str, list[pm.MeterReading]] = {}
    for log in usage_logs:
        hours, day = _float(log.get("hour_meter_end")), _date(log.get("shift_date"))
        if hours is None or day is None:
            continue
        result.setdefault(str(log.get("equipment_id")), []).append(
            pm.MeterReading(_reading_at(day, log.get("shift")), hours, str(log.get("source") or "manual")))
    changes = meter_changes(corrections)
    return {eq: pm.corrected_readings(readings, changes.get(eq, ())) for eq, readings in result.items()}


def current_meter_reading(usage_logs: Iterable[Mapping[str, Any]],
                          corrections: Iterable[Mapping[str, Any]] = ()) -> float | None:
    """The highest reading of one machine's meter as fitted now, on its own scale (what a person reads off the
    dial): after the latest correction only the new meter's readings count, starting from its `after`."""
    changes = [change for per_machine in meter_changes(corrections).values() for change in per_machine]
    since = max(changes, key=lambda change: change.at, default=None)
    best = None if since is None else since.after
    for log in usage_logs:
        hours, day = _float(log.get("hour_meter_end")), _date(log.get("shift_date"))
        if hours is None or day is None:
            continue
        if since is not None and _reading_at(day, log.get("shift")) < since.at:
            continue  # read off the old meter
        best = hours if best is None else max(best, hours)
    return best


def pm_due(plan_id: str, data: Mapping[str, Any], readings: Sequence[pm.MeterReading], today: date) -> pm.DueStatus:
    """Where one plan stands today from the machine's hour meter (raises PmPlanError for a broken plan)."""
    plan = pm_plan_from(plan_id, data)
    return pm.due_status(plan, last_done_from(data), current_hours=pm.meter_now(readings), today=today,
                         daily_hours=pm.daily_rate(readings, today=today))


# --- reorder points -----------------------------------------------------------------------------------
OPEN_REQUISITION = ("draft", "submitted", "approved")


def stock_items_from(items: Iterable[Rec], stores: Iterable[str]) -> list[StockItem]:
    """Every active item with a reorder point, in every store given (the catalogue is the tenant's)."""
    store_list = sorted(set(stores))
    result = []
    for item_id, data in items:
        point = as_decimal(data.get("reorder_point"))
        if point is None or data.get("active") is False:
            continue
        top = as_decimal(data.get("max_qty"))
        vendor = data.get("preferred_vendor_id")
        result += [StockItem(item_id, store, point, top, as_decimal(data.get("min_qty")) or Decimal(0),
                             None if vendor is None else str(vendor)) for store in store_list]
    return result


def requisition_lines_from(data: Mapping[str, Any]) -> list[RequisitionLine]:
    """A requisition's lines (unreadable lines are skipped: they order nothing)."""
    result = []
    for raw in data.get("lines") or ():
        if not isinstance(raw, Mapping):
            continue
        quantity = as_decimal(raw.get("quantity"))
        if quantity is None or quantity <= 0 or not raw.get("item_id") or not raw.get("store_id"):
            continue
        vendor = raw.get("vendor_id")
        result.append(RequisitionLine(str(raw["item_id"]), str(raw["store_id"]), quantity,
                                      None if vendor is None else str(vendor), str(raw.get("note") or "")))
    return result


def on_order(requisitions: Iterable[Rec], purchase_orders: Iterable[Rec],
             receipts: Iterable[Rec]) -> dict[tuple[str, str], Decimal]:
    """What is already coming per (store, item): open requisitions' lines, and what open POs (not
    rejected, closed or cancelled) still have outstanding after their receipts."""
    result: dict[tuple[str, str], Decimal] = {}

    def add(store: str, item: str, quantity: Decimal) -> None:
        result[(store, item)] = result.get((store, item), Decimal(0)) + quantity

    for _id, data in requisitions:
        if str(data.get("status") or "submitted") in OPEN_REQUISITION:
            for ln in requisition_lines_from(data):
                add(ln.store_id, ln.item_id, ln.quantity)
    by_po: dict[str, list[Rec]] = {}
    for entity_id, r in receipts:
        by_po.setdefault(str(r.get("po_id")), []).append((entity_id, r))
    for po_id, data in purchase_orders:
        if data.get("approval") == "rejected" or data.get("closed") or data.get("cancelled"):
            continue
        try:
            lines, progress = po_progress_from(data, by_po.get(po_id, []))
        except ProcurementError:
            continue
        for line in lines:
            add(line.store_id, line.item_id, progress.outstanding.get(line.line_id, Decimal(0)))
    return result


def reorder_requisitions(items: Iterable[Rec], movements: Iterable[Rec], requisitions: Iterable[Rec],
                         purchase_orders: Iterable[Rec], receipts: Iterable[Rec],
                         stores: Iterable[str] = ()) -> list[RequisitionLine]:
    """What the reorder rule raises now from the local replica: every item at or below its reorder point
    in every store that holds or moved stock (or is named in `stores`), counting stock on hand from the
    ledger and what is already on order, so raising twice raises nothing new."""
    lines = stock_lines(movements)
    known = {ln.store_id for ln in lines if ln.store_id != "?"} | set(stores)
    balance = {(ln.store_id, ln.item_id): ln.quantity for ln in lines}
    return reorder_lines(stock_items_from(items, known), balance, on_order(requisitions, purchase_orders, receipts))


def reorder_requisition_id(line: RequisitionLine, requisitions: Iterable[Rec]) -> str:
    """The entity id of the requisition the reorder rule raises for `line`'s (store, item).

    Two offices offline at one site see the same item fall below its reorder point and would each raise a
    requisition: two random ids reach the hub as two requisitions and the item is ordered twice. The id is
    therefore the same wherever it is computed from the same history: the (store, item) and its reorder
    generation, one more than the reorder requisitions for that pair already known (any status, so a closed
    one moves the next raise to a new id). The second office's create then meets the first's at the hub and
    the hub keeps one (field_merge cannot merge a create: a recorded conflict, nothing for a person to do)."""
    known = 0
    for _id, data in requisitions:
        if data.get("source") != "reorder":
            continue
        if any(ln.store_id == line.store_id and ln.item_id == line.item_id for ln in requisition_lines_from(data)):
            known += 1
    return f"reorder:{line.store_id}:{line.item_id}:{known + 1}"
