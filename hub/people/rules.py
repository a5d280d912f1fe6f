"""The people rules the hub runs on what it applies (D50), called from `hub.sync.apply` at two points:

- `lock(ctx, run)` before any record is locked: one transaction-scoped advisory lock per person whose leave the
  push writes, so two pushes booking leave for one person queue and the second sees the first's request.
- `judge(ctx, m, spec, cur, decision)` once the conflict strategy has decided a mutation, before anything is
  written: an `Outcome` replaces the generic one, None lets it go on.

Rules, per where they belong:
- A whole `hr.*` record after an update passes its entity's record check (clock-out after clock-in on the merged
  attendance row: the device checks a create, only the hub knows the merged record): else `rejected`.
- A leave request's status moves only forward (`leave_approval.check_transition`): else `rejected`.
- A live leave request overlapping another live one of the same person (two offices approving offline) is not
  booked: `conflict`, code `leave_overlap`, an open conflict record a person resolves (`client` books it after all);
  later changes to a request never booked wait in that record (`follows_refused`) rather than being lost.
- A decided reconciliation review is complete (a reason; paid hours for a correction): else `rejected`.
- A live leave request over the balance without an approver's flag, across the year end or before the hire date
  is `rejected` with the rule's message (`leave_approval.balance_check`).
- A payroll result (or import) created again with other figures than the hub holds (two offices importing two
  different files for one period offline) is an open conflict (`payroll_result_differs`); the same figures again
  are acknowledged without a new version, so two offices importing one file converge quietly.
- An employee's `reports_to` that would close a reporting loop (`org_tree.check_reports_to`; two offline offices
  each booking one half of A↔B) is not booked: `conflict`, code `org_cycle`, an open conflict record holding the
  whole change for a person (D82). Pushes touching employees queue on one tenant lock so two halves cannot race.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hub.people import approval_rows, reads
from hub.sync.consume import lock_documents
from hub.sync.records import RecordState
from shared.conflicts import Decision, DecisionKind
from shared.domain.attendance_checks import ClockOverlap, check_row, neighbour_dates
from shared.domain.leave import LeaveType
from shared.domain.leave_approval import Employment, Overlap, balance_check, check_transition
from shared.domain.org_tree import ReportingCycle, check_reports_to
from shared.domain.payroll_import import same_figures
from shared.domain.reconciliation import Decision as ReviewDecision
from shared.domain.reconciliation import Line, check_decision
from shared.entities import EntitySpec
from shared.envelopes import Mutation, Op, Outcome, OutcomeStatus
from shared.errors import ValidationError

if TYPE_CHECKING:
    from hub.sync.apply import ApplyContext

LEAVE = "hr.leave_request"
ATTENDANCE = "hr.attendance"
REVIEW = "hr.reconciliation_review"
DECIDED = {"accepted": "accept", "corrected": "correct", "rejected": "reject"}  # as recorded -> the rule's words
PAYROLL = frozenset({"hr.payroll_result", "hr.payroll_import"})
CONFLICT_ENTITY = "sync.conflict"
OVERLAP_PREFIX = "leave_overlap:"
# A refused row never booked is named by its id under its entity's prefix, so its later changes wait with it.
REFUSAL_PREFIX = {LEAVE: OVERLAP_PREFIX, ATTENDANCE: "attendance_overlap:"}
# A change to any of these re-runs the leave rules; an edit of the reason alone does not re-price the request.
LEAVE_RULE_FIELDS = ("employee_id", "leave_type", "start_date", "end_date", "status", "approved_negative",
                     "approved_by")
ATTENDANCE_RULE_FIELDS = ("employee_id", "shift_date", "clock_in", "clock_out", "status")
EMPLOYEE = "hr.employee"
ORG_LOCK = "hr.org"  # one per tenant: a loop needs two edits, so every reports_to change is judged in turn


async def lock(ctx: ApplyContext, run: list[Mutation]) -> None:
    """Lock every person whose leave requests this run writes (after consume-once documents, before records)."""
    keys: set[str] = set()
    for entity, name in ((LEAVE, "hr.leave"), (ATTENDANCE, "hr.attendance")):
        rows = [m for m in run if m.entity == entity]
        if not rows:
            continue
        people = {str(m.payload["employee_id"]) for m in rows if isinstance(m.payload.get("employee_id"), str)}
        people |= set((await reads.employees_of(ctx, entity, sorted({m.entity_id for m in rows}))).values())
        keys |= {f"{name}:{p}" for p in people}
    # A leave and the approval rows that may wait for it (D92) queue on one lock per leave: an approval row judged
    # while its leave is being booked in another push would otherwise wait for a leave that is already there.
    keys |= {f"{approval_rows.WAITING_PREFIX}{leave}" for leave in map(approval_rows.leave_named, run) if leave}
    if any(m.entity == EMPLOYEE and "reports_to" in m.payload for m in run):
        keys.add(ORG_LOCK)
    await lock_documents(ctx.conn, ctx.principal.tenant_id, keys)


async def judge(ctx: ApplyContext, m: Mutation, spec: EntitySpec, cur: RecordState,
                decision: Decision) -> Outcome | None:
    """The people rules' outcome for `m`, or None to let the generic apply go on."""
    if m.entity in approval_rows.ROWS:
        return await approval_rows.follow(ctx, m, cur)  # a refused leave's approval rows wait with it (D68)
    if not m.entity.startswith("hr."):
        return None
    if m.entity in PAYROLL:
        return _payroll(ctx, m, cur, decision)
    if m.entity in REFUSAL_PREFIX and m.op is Op.UPDATE and not cur.exists and decision.kind is DecisionKind.REJECT:
        return await _follow_refused(ctx, m)
    if decision.kind not in (DecisionKind.APPLY, DecisionKind.MERGE) or decision.delete or decision.new_state is None:
        return None
    after = decision.new_state

    def rejected(exc: ValidationError) -> Outcome:
        return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED,
                       code="validation_failed", message=str(exc))

    try:
        if m.op is not Op.CREATE and spec.record_check is not None:
            spec.record_check(after)
        if m.entity == LEAVE:
            before = cur.data if cur.exists else None
            if before is not None and all(before.get(f) == after.get(f) for f in LEAVE_RULE_FIELDS):
                return None
            check_transition(None if before is None else str(before.get("status")), str(after.get("status")))
            await _leave(ctx, m.entity_id, after)
            if after.get("status") == "approved" and (before is None or before.get("status") != "approved"):
                site = cur.site_id if cur.in_db and cur.site_id is not None else m.site_id
                await approval_rows.check_approved(ctx, m.entity_id, after, site)  # D52, D68
            if before is None:
                await approval_rows.settle_waiting(ctx, m, booked=True)  # rows that came first are booked (D92)
        if m.entity == ATTENDANCE:
            before = cur.data if cur.exists else None
            if before is None or any(before.get(f) != after.get(f) for f in ATTENDANCE_RULE_FIELDS):
                await _attendance(ctx, m, after)
        if m.entity == REVIEW:
            _review(after)
        if m.entity == EMPLOYEE:
            await _reports_to(ctx, m, cur, after)
    except ReportingCycle as exc:
        return _open_conflict(ctx, m, cur, conflict_id=f"org_cycle:{m.id}", kind="org_cycle", reason=str(exc),
                              server_data=cur.data if cur.exists else None, code="org_cycle")
    except Overlap as exc:
        return await _overlap(ctx, m, cur, exc)
    except ClockOverlap as exc:  # the booked row it overlaps, in the row's own fields, for the conflicts screen
        server = {"overlaps": exc.other.row_id, **(await reads.one(ctx, ATTENDANCE, exc.other.row_id) or {})}
        return _open_conflict(ctx, m, cur, conflict_id=await _overlap_id(ctx, m, cur), kind="attendance_overlap",
                              reason=str(exc), server_data=server, code="attendance_overlap")
    except ValidationError as exc:
        if m.entity == LEAVE and not cur.exists:  # its approval rows stay out with it, later ones refused (D92)
            await approval_rows.settle_waiting(ctx, m, booked=False, reason=str(exc))
        return rejected(exc)
    return None


async def _leave(ctx: ApplyContext, leave_id: str, leave: dict[str, Any]) -> None:
    employee_id = str(leave.get("employee_id"))
    employee = await reads.one(ctx, "hr.employee", employee_id)
    if employee is None:
        raise ValidationError(f"no employee {employee_id} at the hub", {"employee_id": "unknown employee"})
    code = str(leave.get("leave_type") or "")
    types = await reads.where_field(ctx, "hr.leave_type", "code", code)
    if not types:
        raise ValidationError(f"no leave type {code} at the hub", {"leave_type": f"no leave type {code}"})
    t = types[min(types)]
    cap = t.get("carry_over_cap")
    rule = LeaveType(str(t["code"]), Decimal(str(t["days_per_month"])), None if cap is None else Decimal(str(cap)))
    others = await reads.where_field(ctx, LEAVE, "employee_id", employee_id)
    balance_check(leave_id, leave, rule, Employment.from_record(employee), others.items())


async def _attendance(ctx: ApplyContext, m: Mutation, row: dict[str, Any]) -> None:
    """One person cannot be clocked on two overlapping intervals, nor clock in while clocked in elsewhere
    (`attendance_checks`, the desktop's rule): two offline offices clocking one person is for a person to sort out,
    so the second is not booked and waits in a conflict, nothing lost (D69)."""
    employee_id, shift_date = str(row.get("employee_id") or ""), str(row.get("shift_date") or "")
    try:
        others = await reads.attendance_near(ctx, employee_id, neighbour_dates(shift_date))
    except ValueError:
        raise ValidationError("an attendance row needs its shift date", {"shift_date": "must be a date"}) from None
    check_row(m.entity_id, row, others.items())


async def _reports_to(ctx: ApplyContext, m: Mutation, cur: RecordState, after: dict[str, Any]) -> None:
    """A changed reports_to must not close a loop (D82): walk up from the new manager, one keyed read a level (a
    company is a few levels deep; an import of thousands of people must not read the register once per person),
    as committed plus this push's own writes, until the top, a missing manager, a loop above, or the person."""
    before = cur.data if cur.exists and cur.data is not None else {}
    new = after.get("reports_to")
    if not new or before.get("reports_to") == new:
        return
    managers: dict[str, str | None] = {}
    current: str | None = str(new)
    while current is not None and current not in managers and current != m.entity_id:
        row = await reads.one(ctx, EMPLOYEE, current)
        boss = None if row is None else row.get("reports_to")
        managers[current] = None if not boss else str(boss)
        current = managers[current]
    check_reports_to(m.entity_id, str(new), managers)


def _review(review: dict[str, Any]) -> None:
    """A decided review is complete (`reconciliation.check_decision`): a reason, and paid hours for a correction.
    Hours left from an earlier correction do not make a later accept or reject incomplete."""
    word = DECIDED.get(str(review.get("decision")))
    if word is None:
        return  # still open
    try:
        line = Line(str(review["employee_id"]), date.fromisoformat(str(review["shift_date"])), str(review["shift"]),
                    None, None, None)
    except (KeyError, ValueError):
        raise ValidationError("a review names its operator and shift", {"shift_date": "must be a date"}) from None

    def hours(name: str) -> Decimal | None:
        value = review.get(name)
        return None if value is None or word != "correct" else Decimal(str(value))

    check_decision(line, ReviewDecision(line.key, word, str(review.get("reason") or ""), hours("paid_hours"),
                                        hours("machine_hours")))


def _open_conflict(ctx: ApplyContext, m: Mutation, cur: RecordState, *, conflict_id: str, kind: str, reason: str,
                   server_data: dict[str, Any] | None, code: str, extra: dict[str, Any] | None = None) -> Outcome:
    record = {
        "kind": kind, "reason": reason, "entity": m.entity, "entity_id": m.entity_id, "mutation_id": m.id,
        "device_id": m.device_id, "actor": m.actor, "strategy": "manual", "status": "open", "needs_person": True,
        "base_version": m.base_version, "server_version": cur.version, "server_data": server_data,
        "client_op": str(m.op), "client_payload": m.payload, "fields": sorted(m.payload),
        "resolution": "not booked: a person decides", "created_at": ctx.now.isoformat(), **(extra or {}),
    }
    site_id = cur.site_id if cur.in_db and cur.site_id is not None else m.site_id
    ctx.write((CONFLICT_ENTITY, conflict_id), record, deleted=False, site_id=site_id, device_id=None,
              mutation_id=m.id, type_="sync.conflict.opened", correlation_id=m.id)
    return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.CONFLICT, version=cur.version,
                   conflict_id=conflict_id, code=code, resolution="not booked: a person decides", message=reason)


async def _overlap(ctx: ApplyContext, m: Mutation, cur: RecordState, exc: Overlap) -> Outcome:
    """Not booked: the other request stands until a person decides (`server` keeps it out, `client` books it)."""
    other = exc.other
    # The booked request it overlaps, in the leave request's own fields, so a conflicts screen showing the hub's side
    # beside this office's shows the two requests' dates side by side.
    server = {"overlaps": other.id, "employee_id": other.employee_id, "leave_type": other.leave_type,
              "start_date": other.start.isoformat(), "end_date": other.end.isoformat(), "status": other.status}
    conflict_id = await _overlap_id(ctx, m, cur)
    moved = [] if cur.exists else await approval_rows.settle_waiting(ctx, m, booked=False, moved_to=conflict_id)
    return _open_conflict(ctx, m, cur, conflict_id=conflict_id, kind="leave_overlap", reason=str(exc),
                          server_data=server, code="leave_overlap", extra={"dependents": moved} if moved else None)


async def _overlap_id(ctx: ApplyContext, m: Mutation, cur: RecordState) -> str:
    """A row never booked is named by its own id, so its later changes find the conflict (`_follow_refused`);
    a change to a booked row (or a second refusal of the same id) by the mutation's."""
    prefix = REFUSAL_PREFIX[m.entity]
    if not cur.exists:
        by_request = f"{prefix}{m.entity_id}"
        if not (await ctx.state_of((CONFLICT_ENTITY, by_request))).exists:
            return by_request
    return f"{prefix}{m.id}"


async def _follow_refused(ctx: ApplyContext, m: Mutation) -> Outcome | None:
    """A change to a leave request that was refused for an overlap and never booked (its approval, made at the
    same office before it synced) waits in the refusal: a person booking it after all books it as last changed."""
    key = (CONFLICT_ENTITY, f"{REFUSAL_PREFIX[m.entity]}{m.entity_id}")
    refusal = await ctx.state_of(key)
    if not refusal.exists or refusal.data is None or refusal.data.get("status") != "open":
        return None
    c = dict(refusal.data)
    c["client_payload"] = {**c["client_payload"], **m.payload}
    c["fields"] = sorted(c["client_payload"])
    c["followed_by"] = [*c.get("followed_by", []), m.id]
    ctx.write(key, c, deleted=False, site_id=refusal.site_id, device_id=None, mutation_id=m.id,
              type_="sync.conflict.updated", correlation_id=m.id)
    return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.CONFLICT, version=0,
                   conflict_id=key[1], code="follows_refused", resolution="not booked: waits with the request",
                   message=f"{m.entity} {m.entity_id} was not booked ({c.get('reason', '')}); this change waits "
                           "with it")


def _payroll(ctx: ApplyContext, m: Mutation, cur: RecordState, decision: Decision) -> Outcome | None:
    if m.op is not Op.CREATE or decision.kind is not DecisionKind.CONFLICT or not cur.exists:
        return None
    if same_figures(cur.data, m.payload):  # the same file imported at another office: nothing to change, nothing to ask
        return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.APPLIED, version=cur.version,
                       resolution="the hub already holds the same figures")
    reason = (f"{m.entity} {m.entity_id} was already imported from another file "
              f"({(cur.data or {}).get('file_sha256', '?')[:12]}); this one ({str(m.payload.get('file_sha256'))[:12]}) "
              "differs: a person decides which stands")
    return _open_conflict(ctx, m, cur, conflict_id=f"payroll_differs:{m.id}", kind="payroll_result_differs",
                          reason=reason, server_data=cur.data, code="payroll_result_differs")


async def resolved(ctx: ApplyContext, conflict: dict[str, Any], correlation_id: str) -> None:
    """After a person resolved a conflict: a refused leave request booked after all brings the approval rows that
    waited with it (D68); kept out, they stay out with it."""
    await approval_rows.book_followers(ctx, conflict, correlation_id)
