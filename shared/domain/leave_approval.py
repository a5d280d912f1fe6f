"""Leave through the approval chains (issue 14): a leave request opens an `approvals.request` of document type
`leave` (amount = the days it costs, so a chain can ask a manager from a number of days on), and the chain's state
moves the request's status. The balance a request is checked against is derived the same way on every desktop and
at the hub (`balance_check`), so both refuse the same requests with the same words.

Rules (D51, D52):
- Status moves only forward: requested → approved / rejected / cancelled, approved → cancelled. A rejected or
  cancelled request is never revived (a new request is made instead), an approved one is not put back to
  requested.
- A request may take the balance below zero only when an approver said so explicitly: `approved_negative` counts
  when the request is `approved` and `approved_by` names someone other than the employee's own sign-in user. A
  request still waiting (or flagged by the person themselves) is checked against the balance like any other.
- With no active `leave` chain for the site, one level decided by the `hr` role is used, so leave can still be
  approved before a tenant configures a chain.
Pure: no clock, no I/O (callers pass `at`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.domain.approvals import ApprovalState, ApprovalStatus, Chain, Decision, Delegation, Level, evaluate, route
from shared.domain.leave import LIVE_STATUSES, LeaveRequest, LeaveType, accrued, check_request, request_days, year_end
from shared.errors import ValidationError

DOCUMENT_TYPE = "leave"
DEFAULT_LEVELS = (Level(Decimal(0), approver_role="hr", name="HR"),)
NEXT_STATUSES: dict[str, frozenset[str]] = {
    "requested": frozenset({"requested", "approved", "rejected", "cancelled"}),
    "approved": frozenset({"approved", "cancelled"}),
    "rejected": frozenset({"rejected"}),
    "cancelled": frozenset({"cancelled"}),
}


def approval_request_id(leave_id: str) -> str:
    """The `approvals.request` of a leave request: one per request, the same id on every desktop."""
    return f"leave:{leave_id}"


def approval_payload(leave_id: str, leave: Mapping[str, Any], requested_by: str, at: datetime) -> dict[str, Any]:
    """The `approvals.request` a new leave request opens."""
    days = leave.get("days")
    if days is None:
        raise ValidationError("a leave request needs its days before it is sent for approval", {"days": "missing"})
    return {"document_type": DOCUMENT_TYPE, "document_id": leave_id, "amount": float(days),
            "requested_by": requested_by, "requested_at": at.isoformat(),
            "title": f"{leave.get('leave_type')} leave {leave.get('start_date')} to {leave.get('end_date')}"}


def levels_for(chains: Iterable[Chain], days: Decimal, site_id: str | None) -> tuple[Level, ...]:
    """The levels a request of `days` passes: the site's (or tenant's) `leave` chain, else one `hr` level."""
    chains = list(chains)
    if not any(c.active and c.document_type == DOCUMENT_TYPE for c in chains):
        return DEFAULT_LEVELS
    return route(chains, DOCUMENT_TYPE, days, site_id)


def check_transition(before: str | None, after: str) -> None:
    """Refuse a status move the lifecycle does not allow (beside `status`)."""
    if before is None:
        if after not in ("requested", "approved"):
            raise ValidationError(f"a new leave request is requested or approved, not {after}",
                                  {"status": "must be requested"})
        return
    allowed = NEXT_STATUSES.get(before, frozenset())
    if after not in allowed:
        raise ValidationError(f"a {before} leave request cannot become {after}",
                              {"status": f"a {before} request is final" if len(allowed) == 1
                               else f"may become {', '.join(sorted(allowed - {before}))}"})


def status_after(state: ApprovalState) -> str:
    """The leave status the approval's state means."""
    return {ApprovalStatus.APPROVED: "approved", ApprovalStatus.REJECTED: "rejected"}.get(state.status, "requested")


def after_decision(leave: Mapping[str, Any], state: ApprovalState, *, approver: str,
                   below_zero: bool = False) -> dict[str, Any]:
    """The fields to update on the leave request once a decision is folded into `state` (empty: nothing moves,
    e.g. a first level approved and a second one waiting). `below_zero` is the approver's explicit flag."""
    current = str(leave.get("status") or "requested")
    if current != "requested":
        raise ValidationError(f"this leave request is {current}: nothing to decide",
                              {"status": f"already {current}"})
    new = status_after(state)
    if new == "requested":
        return {}
    changes: dict[str, Any] = {"status": new, "approved_by": approver}
    if new == "approved" and below_zero:
        changes["approved_negative"] = True
    return changes


def cancel(leave: Mapping[str, Any]) -> dict[str, Any]:
    """The update that cancels a request (a waiting or an approved one)."""
    current = str(leave.get("status") or "requested")
    check_transition(current, "cancelled")
    if current == "cancelled":
        raise ValidationError("this leave request is already cancelled", {"status": "already cancelled"})
    return {"status": "cancelled"}


def honours_negative(leave: Mapping[str, Any], employee_user: str | None) -> bool:
    """Whether the request's `approved_negative` counts: set on an approved request by someone else (D51)."""
    approver = str(leave.get("approved_by") or "").strip()
    return (bool(leave.get("approved_negative")) and leave.get("status") == "approved" and bool(approver)
            and approver != (employee_user or "").strip())


def request_from(leave_id: str, leave: Mapping[str, Any], employee_user: str | None = None) -> LeaveRequest:
    """A leave request record as the leave rules read it (its flag only if it counts)."""
    try:
        start, end = date.fromisoformat(str(leave["start_date"])), date.fromisoformat(str(leave["end_date"]))
    except (KeyError, ValueError):
        raise ValidationError("a leave request needs its first and last day",
                              {"start_date": "must be a date (YYYY-MM-DD)"}) from None
    return LeaveRequest(leave_id, str(leave.get("employee_id")), str(leave.get("leave_type")), start, end,
                        str(leave.get("status") or "requested"), honours_negative(leave, employee_user))


def booked(rule: LeaveType, requests: Iterable[LeaveRequest], year: int, skip: str | None = None) -> Decimal:
    """Days of the live requests of this type starting in `year` (calendar-priced), `skip` left out."""
    return sum((request_days(r.start, r.end) for r in requests if r.leave_type == rule.code and r.id != skip
                and r.status in LIVE_STATUSES and r.start.year == year), Decimal(0))


def carried_into(rule: LeaveType, year: int, hire: date, requests: Iterable[LeaveRequest],
                 end: date | None = None) -> Decimal:
    """The balance carried into `year`: every year since the hire accrued, less its live requests, capped."""
    requests = list(requests)
    carried = Decimal(0)
    for y in range(hire.year, year):
        closing = carried + accrued(rule, y, hire, date(y, 12, 31), end) - booked(rule, requests, y)
        carried = year_end(rule, closing).carried
    return carried


@dataclass(frozen=True)
class Employment:
    hire_date: date
    end_date: date | None = None
    user_id: str | None = None

    @classmethod
    def from_record(cls, employee: Mapping[str, Any]) -> Employment:
        try:
            hire = date.fromisoformat(str(employee["hire_date"]))
            end = date.fromisoformat(str(employee["end_date"])) if employee.get("end_date") else None
        except (KeyError, ValueError):
            raise ValidationError("the employee has no readable hire date", {"employee_id": "no hire date"}) from None
        return cls(hire, end, str(employee["user_id"]) if employee.get("user_id") else None)


class Overlap(ValidationError):
    """The request overlaps another live request of the same person (`other` names it)."""

    def __init__(self, message: str, other: LeaveRequest) -> None:
        super().__init__(message, {"start_date": message})
        self.other = other


def overlapping(request: LeaveRequest, others: Iterable[LeaveRequest]) -> LeaveRequest | None:
    """The first live request of the same person whose dates meet this live one's (None: no overlap)."""
    if request.status not in LIVE_STATUSES:
        return None
    live = [o for o in others if o.id != request.id and o.employee_id == request.employee_id
            and o.status in LIVE_STATUSES and o.start <= request.end and request.start <= o.end]
    return min(live, key=lambda o: (o.start, o.id), default=None)


def balance_check(leave_id: str, leave: Mapping[str, Any], rule: LeaveType, employment: Employment,
                  others: Iterable[tuple[str, Mapping[str, Any]]]) -> Decimal:
    """`leave.check_request` for a stored request against the person's other stored requests: `Overlap` (beside
    `start_date`, naming the other request), over the balance without an approver's flag (beside `end_date`), the
    year end, the hire date. A request that is no longer live (rejected, cancelled) costs nothing and passes."""
    request = request_from(leave_id, leave, employment.user_id)
    parsed = [request_from(i, o, employment.user_id) for i, o in others if i != leave_id]
    if request.status not in LIVE_STATUSES:
        return Decimal(0)
    other = overlapping(request, parsed)
    if other is not None:
        raise Overlap(f"overlaps leave {other.id} ({other.leave_type}, {other.start} to {other.end}, "
                      f"{other.status})", other)
    return check_request(request, rule, employment.hire_date,
                         carried_into(rule, request.start.year, employment.hire_date, parsed, employment.end_date),
                         parsed, end_date=employment.end_date)


def leave_of_request(request_id: str) -> str | None:
    """The leave request an `approvals.request` id belongs to (`approval_request_id`'s inverse), else None."""
    prefix = approval_request_id("")
    if not request_id.startswith(prefix):
        return None
    return request_id[len(prefix):] or None


def check_approved(leave_id: str, request_id: str, request: Mapping[str, Any] | None, levels: Sequence[Level],
                   decisions: Iterable[Decision], delegations: Sequence[Delegation] = ()) -> None:
    """A leave marked approved has an approval request the chain approved (D52, D68): else ValidationError beside
    `status`, saying what the chain still waits for, so the office that sent it sees why it did not move."""
    if request is None:
        raise ValidationError(f"leave {leave_id} is marked approved but there is no approval request {request_id}: "
                              "decide it through the approval chain", {"status": "no approval request"})
    try:
        amount = Decimal(str(request.get("amount")))
    except ArithmeticError:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"approval request {request_id} has no readable amount", {"status": "no amount"})
    state = evaluate(document_type=DOCUMENT_TYPE, amount=amount, requested_by=str(request.get("requested_by") or ""),
                     levels=levels, decisions=decisions, delegations=delegations)
    if state.status is ApprovalStatus.APPROVED:
        return
    if state.status is ApprovalStatus.REJECTED:
        why = "the chain rejected it"
    else:
        assert state.current_level is not None
        level = levels[state.current_level]
        who = level.approver_user or f"the {level.approver_role} role"
        why = f"level {state.current_level + 1} of {len(levels)} ({who}) has not approved it"
    raise ValidationError(f"leave {leave_id} is marked approved but its approval request {request_id} is not "
                          f"approved: {why}", {"status": why})
