"""A person's leave balance from the local replica, by the shared leave rules: every year since the hire
date is accrued and capped at its end (`leave.year_end`), less the live requests of that leave type, so the
balance carried into this year is derived, not typed. Requests are priced by calendar days (the roster-priced
variant needs the roster generated for the whole year, which the desktop does not hold yet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shared.domain.approvals import ApprovalError, ApprovalState, Level, Verdict, evaluate
from shared.domain.leave import LeaveRequest, LeaveType, accrued
from shared.domain.leave_approval import (
    Employment,
    after_decision,
    approval_payload,
    approval_request_id,
    balance_check,
    booked,
    cancel,
    carried_into,
    levels_for,
    request_from,
)
from shared.domain.ops_views import (
    RequestView,
    chains_from,
    decision_payload,
    decisions_from,
    delegations_from,
    may_decide,
)
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft


@dataclass(frozen=True)
class Balance:
    carried_in: Decimal
    accrued: Decimal
    booked: Decimal  # live requests of the type in the year, this one excluded

    @property
    def available(self) -> Decimal:
        return self.carried_in + self.accrued - self.booked


def leave_type(store: LocalStore, code: str) -> LeaveType | None:
    wanted = code.strip().upper()
    for record in store.query("hr.leave_type"):
        state = record.state or {}
        if str(state.get("code", "")).strip().upper() == wanted:
            cap = state.get("carry_over_cap")
            return LeaveType(str(state["code"]), Decimal(str(state["days_per_month"])),
                             None if cap is None else Decimal(str(cap)))
    return None


def requests_of(store: LocalStore, employee_id: str) -> list[LeaveRequest]:
    """The person's requests; an `approved_negative` flag counts only as the shared rule says (an approver's)."""
    employee = (r.state or {}) if (r := store.get("hr.employee", employee_id)) else {}
    user = str(employee["user_id"]) if employee.get("user_id") else None
    return [request_from(record.entity_id, {**(record.state or {}), "employee_id": employee_id}, user)
            for record in store.query("hr.leave_request", where={"employee_id": employee_id})]


def balance_on(rule: LeaveType, employee: dict[str, Any], requests: list[LeaveRequest], as_of: date,
               skip: str | None = None) -> Balance:
    hire = date.fromisoformat(str(employee["hire_date"]))
    end = date.fromisoformat(str(employee["end_date"])) if employee.get("end_date") else None
    return Balance(carried_into(rule, as_of.year, hire, requests, end), accrued(rule, as_of.year, hire, as_of, end),
                   booked(rule, requests, as_of.year, skip))


# --- approval, rejection and cancellation (through the approval chains: shared.domain.leave_approval) ----------
def _rows(store: LocalStore, entity: str) -> list[tuple[str, dict[str, Any]]]:
    return [(r.entity_id, r.state or {}) for r in store.query(entity)]


def leave_approval_state(store: LocalStore, leave_id: str) -> tuple[str, dict[str, Any], tuple[Level, ...],
                                                                      ApprovalState]:
    """The leave's approval request (id, data), its levels and its state folded from the local decisions."""
    leave = _leave(store, leave_id)
    request_id = str(leave.get("approval_request_id") or approval_request_id(leave_id))
    found = store.get("approvals.request", request_id)
    if found is not None:
        request = found.state or {}
    else:  # typed before leave went through the chains: the person asked for it (their sign-in, else their id)
        employee = (r.state or {}) if (r := store.get("hr.employee", str(leave.get("employee_id")))) else {}
        asker = str(employee.get("user_id") or leave.get("employee_id"))
        request = approval_payload(leave_id, leave, asker, datetime.now(UTC))
    days = Decimal(str(request.get("amount") or leave.get("days") or 0))
    try:
        levels = levels_for(chains_from(_rows(store, "approvals.chain")), days, store.identity.site_id
                            if store.identity else None)
    except ApprovalError as exc:
        raise ValidationError(str(exc), {"decision": str(exc)}) from None
    decisions = decisions_from([(i, d) for i, d in _rows(store, "approvals.decision")
                                if d.get("request_id") == request_id])
    delegated = delegations_from(_rows(store, "approvals.delegation"))
    state = evaluate(document_type="leave", amount=days, requested_by=str(request.get("requested_by") or ""),
                     levels=levels, decisions=decisions, delegations=delegated)
    return request_id, request, levels, state


def _leave(store: LocalStore, leave_id: str) -> dict[str, Any]:
    found = store.get("hr.leave_request", leave_id)
    if found is None or found.state is None:
        raise ValidationError(f"no leave request {leave_id}", {"decision": "choose a leave request"})
    return dict(found.state)


def decide_leave(store: LocalStore, leave_id: str, verdict: Verdict, user: str, roles: frozenset[str], *,
                 below_zero: bool = False, comment: str = "") -> dict[str, Any]:
    """Record this person's decision on the level the leave waits for and move the leave's status as the chain's
    state says, in one transaction; returns the leave's changes. Refused (nothing written): nothing to decide, not
    this person's level, or an approval over the balance without the below-zero flag (beside `below_zero`)."""
    leave = _leave(store, leave_id)
    request_id, request, levels, state = leave_approval_state(store, leave_id)
    delegated = delegations_from(_rows(store, "approvals.delegation"))
    now = datetime.now(UTC)
    if state.current_level is None:
        return _follow_chain(store, leave_id, leave, state, verdict, user, below_zero)
    view = RequestView(request_id, "leave", leave_id, Decimal(str(request.get("amount") or 0)),
                       str(request.get("requested_by") or ""), str(request.get("title") or ""), levels, state)
    if not may_decide(view, user, roles, delegated, now.date()):
        raise ValidationError(f"{user} cannot decide level {state.current_level + 1} of this leave",
                              {"decision": "not your level to decide (or your own request)"})
    decision = decision_payload(view, verdict, user, roles, now, comment)
    decision_id = new_ulid()
    after = evaluate(document_type="leave", amount=view.amount, requested_by=view.requested_by, levels=levels,
                     decisions=[*decisions_from([(i, d) for i, d in _rows(store, "approvals.decision")
                                                 if d.get("request_id") == request_id]),
                                *decisions_from([(decision_id, decision)])], delegations=delegated)
    changes = after_decision(leave, after, approver=user, below_zero=below_zero)
    if changes.get("status") == "approved":
        _check_balance(store, leave_id, {**leave, **changes}, below_zero)
    drafts = []
    if store.get("approvals.request", request_id) is None:  # a request typed before chains were routed
        drafts.append(MutationDraft("approvals.request", request_id, Op.CREATE, request, user))
        changes.setdefault("approval_request_id", request_id)
    drafts.append(MutationDraft("approvals.decision", decision_id, Op.CREATE, decision, user))
    if changes:
        drafts.append(MutationDraft("hr.leave_request", leave_id, Op.UPDATE, changes, user))
    store.enqueue_many(drafts)
    return changes


def _follow_chain(store: LocalStore, leave_id: str, leave: dict[str, Any], state: ApprovalState, verdict: Verdict,
                  user: str, below_zero: bool) -> dict[str, Any]:
    """The chain was decided elsewhere (the approvals inbox writes only the decision): bring the leave's status to
    what it says, naming the person whose decision counted last. Nothing to decide when it already agrees."""
    counted = [h.decision.by for h in state.history if h.counted]
    if str(leave.get("status") or "requested") != "requested" or not counted:
        raise ValidationError(f"leave {leave_id} waits for no decision", {"decision": "nothing to decide"})
    changes = after_decision(leave, state, approver=counted[-1], below_zero=below_zero)
    if changes.get("status") != {Verdict.APPROVE: "approved", Verdict.REJECT: "rejected"}[verdict]:
        raise ValidationError(f"the approval chain already {changes.get('status')} leave {leave_id}",
                              {"decision": f"the chain {changes.get('status')} it: press "
                                           f"{'Approve' if changes.get('status') == 'approved' else 'Reject'}"})
    if changes.get("status") == "approved":
        _check_balance(store, leave_id, {**leave, **changes}, below_zero)
    store.enqueue("hr.leave_request", leave_id, Op.UPDATE, changes, actor=user)
    return changes


def _check_balance(store: LocalStore, leave_id: str, leave: dict[str, Any], below_zero: bool) -> None:
    employee_id = str(leave.get("employee_id"))
    employee = (r.state or {}) if (r := store.get("hr.employee", employee_id)) else {}
    rule = leave_type(store, str(leave.get("leave_type") or ""))
    if rule is None or not employee:
        raise ValidationError("the leave's person or leave type is not on this PC", {"decision": "sync first"})
    others = [(r.entity_id, {**(r.state or {}), "employee_id": employee_id})
              for r in store.query("hr.leave_request", where={"employee_id": employee_id})]
    try:
        balance_check(leave_id, leave, rule, Employment.from_record(employee), others)
    except ValidationError as exc:
        field = "below_zero" if "end_date" in exc.field_errors and not below_zero else "decision"
        raise ValidationError(str(exc), {field: exc.field_errors.get("end_date") or str(exc)}) from None


def cancel_leave(store: LocalStore, leave_id: str, user: str) -> dict[str, Any]:
    """Cancel a waiting or approved request (its days come back to the balance)."""
    changes = cancel(_leave(store, leave_id))
    store.enqueue("hr.leave_request", leave_id, Op.UPDATE, changes, actor=user)
    return changes
