"""From replicated records to read-model rows: pure functions over record data, using the same domain
rules as the desktop (moving average, PO progress, work-order replay, approval evaluation). A record
the rules cannot read is not dropped: its read-model row says it needs review and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.domain.approvals import (
    ApprovalError,
    Chain,
    Decision,
    Delegation,
    Level,
    Verdict,
    evaluate,
    route,
    waiting_on,
)
from shared.domain.inventory import Movement, Position, value_ledger, value_movement
from shared.domain.maintenance import Transition, WorkOrderState, WorkOrderStatus, replay
from shared.domain.procurement import ProcurementError, Receipt, po_lines_from_payload, po_progress
from shared.errors import ValidationError


@dataclass(frozen=True)
class Row:
    """One replicated record as the projections read it."""

    entity_id: str
    site_id: str | None
    data: Mapping[str, Any]


def _dt(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def stock_row(store_id: str, item_id: str, rows: Sequence[Row]) -> dict[str, Any]:
    movements: list[Movement] = []
    bad: list[str] = []
    for r in rows:
        try:
            movements.append(Movement.from_payload(r.entity_id, r.data))
        except (ValidationError, ValueError, KeyError, ArithmeticError):
            bad.append(r.entity_id)
    valuation = value_ledger(movements)
    position = valuation.positions.get((store_id, item_id))
    quantity = position.quantity if position else Decimal(0)
    average = position.average_cost if position else Decimal(0)
    reasons = []
    if bad:
        reasons.append(f"{len(bad)} unreadable movement(s): {', '.join(bad[:5])}")
    if valuation.flags:
        reasons.append(f"went below zero {len(valuation.flags)} time(s), last at {valuation.flags[-1].movement_id}")
    return {
        "store_id": store_id, "item_id": item_id, "site_id": rows[0].site_id if rows else None,
        "quantity": quantity, "average_cost": average, "value": quantity * average, "movements": len(movements),
        "last_movement_at": max((_dt(m.occurred_at) for m in movements), default=None, key=_sort_dt),
        "needs_review": bool(reasons) or quantity < 0, "review_reason": "; ".join(reasons) or None,
    }


def stock_row_appended(current: Mapping[str, Any], rows: Sequence[Row]) -> dict[str, Any] | None:
    """The stock row after movements that all happened after everything it holds, from the row alone (O(new)
    instead of re-valuing the item's whole ledger). None when that does not give what `stock_row` would: a
    movement at or before the row's last one (a late offline row re-values the item; one already counted
    cannot be later than itself), an unreadable row, a balance below zero, or a row already under review."""
    last = current.get("last_movement_at")
    if current.get("needs_review") or not isinstance(last, datetime) or not rows:
        return None
    movements: list[Movement] = []
    for r in rows:
        try:
            m = Movement.from_payload(r.entity_id, r.data)
        except (ValidationError, ValueError, KeyError, ArithmeticError):
            return None
        at = _dt(m.occurred_at)
        if at is None or at.tzinfo is None or at <= last:
            return None
        movements.append(m)
    position = Position(Decimal(current["quantity"]), Decimal(current["average_cost"]))
    newest = last
    for m in sorted(movements, key=lambda m: (_dt(m.occurred_at) or last, m.id)):
        position = value_movement(position, m)
        if position.quantity < 0:
            return None
        newest = max(newest, _dt(m.occurred_at) or newest)
    return {
        "store_id": current["store_id"], "item_id": current["item_id"], "site_id": current["site_id"],
        "quantity": position.quantity, "average_cost": position.average_cost, "value": position.value,
        "movements": int(current["movements"]) + len(movements), "last_movement_at": newest,
        "needs_review": False, "review_reason": None,
    }


def _sort_dt(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("-inf")


def po_row(po: Row, receipts: Iterable[Row]) -> dict[str, Any]:
    data = po.data
    base = {"po_id": po.entity_id, "site_id": po.site_id, "vendor_id": data.get("vendor_id"),
            "number": data.get("number"), "total": _decimal(data.get("total"))}
    try:
        lines = po_lines_from_payload(data.get("lines"))
    except ProcurementError:
        return base | {"status": "open", "outstanding_lines": 0, "needs_review": True}
    parsed: list[Receipt] = []
    for r in receipts:
        qty = _decimal(r.data.get("quantity"))
        if qty is not None:
            parsed.append(Receipt(r.entity_id, str(r.data.get("line_id")), qty))
    progress = po_progress(lines, parsed, closed=bool(data.get("closed")), cancelled=bool(data.get("cancelled")))
    return base | {
        "status": progress.status.value,
        "outstanding_lines": sum(1 for q in progress.outstanding.values() if q > 0),
        "needs_review": bool(progress.over_received or progress.unknown_lines),
    }


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def work_order_row(wo: Row, transitions: Iterable[Row]) -> dict[str, Any]:
    steps: list[Transition] = []
    unreadable = 0
    for r in transitions:
        d = r.data
        at = _dt(d.get("at"))
        try:
            if at is None:
                raise ValueError("a transition without a time")
            steps.append(Transition(r.entity_id, wo.entity_id, WorkOrderStatus(str(d.get("from_status"))),
                                    WorkOrderStatus(str(d.get("to_status"))), str(d.get("by")), at,
                                    frozenset(d.get("roles") or ())))
        except ValueError:
            unreadable += 1
    requested_at = _dt(wo.data.get("requested_at"))
    first = min((s.at for s in steps), default=None)
    start = min(t for t in (requested_at, first) if t is not None) if (requested_at or first) else None
    if start is None:
        status, last, rejected = str(wo.data.get("status") or "requested"), None, unreadable
    else:
        initial = WorkOrderState(wo.entity_id, WorkOrderStatus.REQUESTED, str(wo.data.get("requested_by") or ""), start)
        result = replay(initial, steps)
        status, last = result.state.status.value, result.state.last_change_at
        rejected = len(result.rejected) + unreadable
    return {"work_order_id": wo.entity_id, "site_id": wo.site_id, "equipment_id": wo.data.get("equipment_id"),
            "status": status, "last_change_at": last, "rejected_steps": rejected}


def chains_from(rows: Iterable[Row]) -> list[Chain]:
    chains = []
    for r in rows:
        try:
            levels = tuple(
                Level(Decimal(str(lv.get("min_amount", 0))), lv.get("approver_user"), lv.get("approver_role"))
                for lv in r.data.get("levels") or ()
            )
        except (ApprovalError, ArithmeticError, AttributeError):
            continue
        chains.append(Chain(str(r.data.get("document_type")), levels, bool(r.data.get("active", True)),
                            None if r.data.get("site_id") is None else str(r.data["site_id"])))
    return chains


def delegations_from(rows: Iterable[Row]) -> list[Delegation]:
    result = []
    for r in rows:
        d = r.data
        try:
            result.append(Delegation(str(d["delegator"]), str(d["delegate"]),
                                     datetime.fromisoformat(str(d["starts_on"])).date(),
                                     datetime.fromisoformat(str(d["ends_on"])).date(),
                                     frozenset(d.get("document_types") or ()), bool(d.get("active", True))))
        except (KeyError, ValueError):
            continue
    return result


def request_row(req: Row, decisions: Iterable[Row], chains: Sequence[Chain],
                delegations: Sequence[Delegation]) -> dict[str, Any]:
    data = req.data
    doc_type = str(data.get("document_type"))
    amount = _decimal(data.get("amount")) or Decimal(0)
    base = {"request_id": req.entity_id, "site_id": req.site_id, "document_type": doc_type,
            "document_id": data.get("document_id"), "amount": amount}
    try:
        levels = route(chains, doc_type, amount, req.site_id)
    except ApprovalError as exc:
        return base | {"status": "pending", "current_level": None, "waiting_on": [], "problem": str(exc)}
    parsed: list[Decision] = []
    for r in decisions:
        d = r.data
        at = _dt(d.get("at"))
        seen = _decimal(d.get("amount"))
        if at is None or seen is None or d.get("verdict") not in ("approve", "reject"):
            continue
        parsed.append(Decision(r.entity_id, int(d.get("level", -1)), Verdict(d["verdict"]), str(d.get("by")),
                               frozenset(d.get("roles") or ()), at, seen))
    state = evaluate(document_type=doc_type, amount=amount, requested_by=str(data.get("requested_by")),
                     levels=levels, decisions=parsed, delegations=delegations)
    # Who can act depends on today's delegations: the row is as of its last refresh (a change to a
    # delegation refreshes every request; a delegation that merely expires shows until the next event).
    today = datetime.now().astimezone().date()
    return base | {"status": state.status.value, "current_level": state.current_level,
                   "waiting_on": sorted(waiting_on(state, levels, delegations, today, doc_type)), "problem": None}
