"""A leave request's approval rows at the hub (D52, D68), called from `hub.people.rules`:

- `follow(ctx, m, cur)`: the `approvals.request` (`leave:<leave id>`) and `approvals.decision` rows of a leave
  request refused for an overlap and never booked wait in the refusal (its `dependents`, as consume-once does for
  the rows that follow a refused principal) instead of being booked beside a leave that does not exist. After a
  person kept the hub's version they are refused, naming why.
  Rows of a leave the hub rejected for another rule are rejected with the leave's reason; rows that come before
  their leave wait in `leave_waiting:<leave id>` (D92).
- `settle_waiting(ctx, m, ...)`: the leave arrived: its waiting rows are booked with it, stay out with it, or move
  into its overlap refusal (D92).
- `book_followers(ctx, conflict, ...)`: a person booking the refused request after all (`client`) books them too.
- `check_approved(ctx, leave_id, leave, site_id)`: a leave request marked approved has an approval request its
  chain approved, by the same chain and decisions every desktop folds (`leave_approval.check_approved`)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hub.people import reads
from hub.sync.records import RecordState
from shared.domain.leave_approval import approval_request_id, leave_of_request, levels_for
from shared.domain.leave_approval import check_approved as check_chain
from shared.domain.ops_views import chains_from, decisions_from, delegations_from
from shared.envelopes import Mutation, Op, Outcome, OutcomeStatus, event_type
from shared.errors import ValidationError

if TYPE_CHECKING:
    from hub.sync.apply import ApplyContext

LEAVE = "hr.leave_request"
REQUEST, DECISION = "approvals.request", "approvals.decision"
ROWS = frozenset({REQUEST, DECISION})
CONFLICT_ENTITY = "sync.conflict"
OVERLAP_PREFIX = "leave_overlap:"
WAITING_PREFIX = "leave_waiting:"  # D92: rows of a leave not (yet) at the hub
MAX_WAITING = 20  # a chain is a few levels: more rows than this for one missing leave is not a leave's approval


def leave_of(m: Mutation, cur: RecordState) -> str | None:
    """The leave request an approval row belongs to (None: not a leave's)."""
    if m.entity == REQUEST:
        data = {**(cur.data or {}), **m.payload}
        if data.get("document_type") not in (None, "leave"):
            return None
        return leave_of_request(m.entity_id)
    if m.entity == DECISION:
        return leave_of_request(str(m.payload.get("request_id") or ""))
    return None


def leave_named(m: Mutation) -> str | None:
    """The leave a mutation writes or whose approval row it is (the request's document type unread: for a lock)."""
    if m.entity == LEAVE:
        return m.entity_id
    if m.entity == REQUEST:
        return leave_of_request(m.entity_id)
    if m.entity == DECISION:
        return leave_of_request(str(m.payload.get("request_id") or ""))
    return None


async def follow(ctx: ApplyContext, m: Mutation, cur: RecordState) -> Outcome | None:
    """The outcome of an approval row whose leave the hub does not hold; None for every other row."""
    if m.entity not in ROWS or cur.exists:
        return None
    leave_id = leave_of(m, cur)
    if leave_id is None or await reads.one(ctx, LEAVE, leave_id) is not None:
        return None
    key = (CONFLICT_ENTITY, f"{OVERLAP_PREFIX}{leave_id}")
    refusal = await ctx.state_of(key)
    if not refusal.exists or refusal.data is None:
        return await _wait_for_leave(ctx, m, leave_id)  # D92: refused with it, or waiting for it to arrive
    c = dict(refusal.data)
    if c.get("status") != "open":
        if await reads.one(ctx, LEAVE, leave_id) is not None:
            return None  # booked by a resolution that committed while this push waited for the refusal's lock
        return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED, code="follows_refused",
                       message=f"leave {leave_id} was not booked (a person kept the hub's version: "
                               f"{c.get('reason', '')}); its {m.entity} {m.entity_id} is not booked either")
    if not _join(c, m):
        return None  # an update of a row that never existed anywhere: the generic not_found
    ctx.write(key, c, deleted=False, site_id=refusal.site_id, device_id=None, mutation_id=m.id,
              type_="sync.conflict.updated", correlation_id=m.id)
    return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.CONFLICT, version=0,
                   conflict_id=key[1], code="follows_refused", resolution="not booked: waits with its leave request",
                   message=f"{m.entity} {m.entity_id} belongs to leave {leave_id}, which was not booked "
                           f"({c.get('reason', '')}); it waits with it")


def _join(c: dict[str, Any], m: Mutation) -> bool:
    """Add `m` to the rows waiting in record `c` (a later change to a waiting row merges into it). False: an
    update of a row that waits nowhere."""
    dependents = [dict(d) for d in c.get("dependents", [])]
    mine = next((d for d in dependents if (d["entity"], d["entity_id"]) == (m.entity, m.entity_id)), None)
    if mine is not None:  # a later change to a row that waits here: it waits as last changed
        mine["payload"] = {**mine["payload"], **m.payload}
        mine.setdefault("followed_by", []).append(m.id)
    elif m.op is Op.CREATE:
        dependents.append({"mutation_id": m.id, "entity": m.entity, "entity_id": m.entity_id, "op": str(m.op),
                           "payload": m.payload, "actor": m.actor, "site_id": m.site_id})
    else:
        return False
    c["dependents"] = dependents
    return True


async def _wait_for_leave(ctx: ApplyContext, m: Mutation, leave_id: str) -> Outcome | None:
    """D92: an approval row of a leave the hub refused for another rule than an overlap is refused with the leave's
    reason; one whose leave has not arrived waits in `leave_waiting:<leave id>` (at most MAX_WAITING rows) and is
    booked with the leave, or stays out with it."""
    key = (CONFLICT_ENTITY, f"{WAITING_PREFIX}{leave_id}")
    state = await ctx.state_of(key)
    c = dict(state.data) if state.exists and state.data is not None else {
        "kind": "leave_waiting", "entity": LEAVE, "entity_id": leave_id, "status": "waiting", "needs_person": False,
        "strategy": "server_wins", "reason": f"leave {leave_id} has not reached the hub", "dependents": [],
        "resolution": "not booked: waits for its leave request", "created_at": ctx.now.isoformat()}
    if c.get("status") == "refused":
        return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED, code="follows_refused",
                       message=f"leave {leave_id} was refused by the hub ({c.get('reason', '')}); its {m.entity} "
                               f"{m.entity_id} is not booked either")
    if c.get("status") != "waiting":
        return None  # the leave was booked and is gone since: the generic rules decide, as for any row
    if len(c["dependents"]) >= MAX_WAITING and m.op is Op.CREATE:
        return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED, code="follows_refused",
                       message=f"leave {leave_id} has not reached the hub and {MAX_WAITING} rows already wait for it; "
                               f"{m.entity} {m.entity_id} is not booked")
    if not _join(c, m):
        return None
    ctx.write(key, c, deleted=False, site_id=state.site_id if state.exists else m.site_id, device_id=None,
              mutation_id=m.id, type_="sync.conflict.updated" if state.exists else "sync.conflict.opened",
              correlation_id=m.id)
    return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.CONFLICT, version=0,
                   conflict_id=key[1], code="waits_for_leave", resolution="not booked: waits for its leave request",
                   message=f"{m.entity} {m.entity_id} belongs to leave {leave_id}, which has not reached the hub; "
                           "it is booked when the leave is")


async def waiting(ctx: ApplyContext, leave_id: str) -> list[dict[str, Any]]:
    """The approval rows waiting for leave `leave_id` (D92), as last changed."""
    state = await ctx.state_of((CONFLICT_ENTITY, f"{WAITING_PREFIX}{leave_id}"))
    if not state.exists or state.data is None or state.data.get("status") == "booked":
        return []
    return [dict(d) for d in state.data.get("dependents", [])]


async def settle_waiting(ctx: ApplyContext, m: Mutation, *, booked: bool, reason: str = "",
                         moved_to: str | None = None) -> list[dict[str, Any]]:
    """The leave `m` created was booked (its waiting rows are booked now, before it in this transaction, once),
    refused (`reason`: they stay out, later ones are refused with it), or refused for an overlap (`moved_to`: they
    move to that conflict's dependents, returned). Records the refusal even when nothing waits."""
    key = (CONFLICT_ENTITY, f"{WAITING_PREFIX}{m.entity_id}")
    state = await ctx.state_of(key)
    if not state.exists and (booked or moved_to is not None):
        return []  # nothing waits: only a refusal is recorded, for the rows that may still come
    rows = await waiting(ctx, m.entity_id)
    c = dict(state.data) if state.exists and state.data is not None else {
        "kind": "leave_waiting", "entity": LEAVE, "entity_id": m.entity_id, "needs_person": False,
        "strategy": "server_wins", "dependents": [], "created_at": ctx.now.isoformat()}
    if booked:
        for row in rows:
            row_key = (str(row["entity"]), str(row["entity_id"]))
            if not (await ctx.state_of(row_key)).exists:  # never twice
                ctx.write(row_key, dict(row["payload"]), deleted=False, site_id=row.get("site_id"), device_id=None,
                          mutation_id=None, type_=event_type(row_key[0], Op.CREATE), correlation_id=m.id)
        c.update(status="booked", resolution="booked with its leave request")
    elif moved_to is not None:
        c.update(status="moved", moved_to=moved_to, dependents=[],
                 resolution=f"waits in {moved_to}")
    else:
        c.update(status="refused", reason=reason, resolution="not booked: its leave request was refused")
    ctx.write(key, c, deleted=False, site_id=state.site_id if state.exists else m.site_id, device_id=None,
              mutation_id=m.id, type_="sync.conflict.updated" if state.exists else "sync.conflict.opened",
              correlation_id=m.id)
    return rows


async def book_followers(ctx: ApplyContext, conflict: dict[str, Any], correlation_id: str) -> None:
    """After a resolution: book the approval rows that waited with a refused leave request, once it is booked
    (`client`, or a `custom` that created it); with `server` they stay out with it."""
    if conflict.get("kind") != "leave_overlap" or not conflict.get("dependents"):
        return
    if not (await ctx.state_of((LEAVE, str(conflict["entity_id"])))).exists:
        return
    for row in conflict["dependents"]:
        key = (str(row["entity"]), str(row["entity_id"]))
        if (await ctx.state_of(key)).exists:
            continue  # booked meanwhile: never twice
        ctx.write(key, dict(row["payload"]), deleted=False, site_id=row.get("site_id"), device_id=None,
                  mutation_id=None, type_=event_type(key[0], Op.CREATE), correlation_id=correlation_id)


async def check_approved(ctx: ApplyContext, leave_id: str, leave: dict[str, Any], site_id: str | None) -> None:
    """ValidationError unless the leave's approval request is approved by its chain as the hub holds it."""
    request_id = str(leave.get("approval_request_id") or approval_request_id(leave_id))
    held = await waiting(ctx, leave_id)  # D92: rows that came before the leave count as they are booked with it
    request = await reads.one(ctx, REQUEST, request_id) or next(
        (dict(r["payload"]) for r in held if (r["entity"], r["entity_id"]) == (REQUEST, request_id)), None)
    days = Decimal(str((request or {}).get("amount") or leave.get("days") or 0))
    try:
        levels = levels_for(chains_from((await reads.all_of(ctx, "approvals.chain")).items()), days, site_id)
    except ValidationError as exc:
        raise ValidationError(f"leave {leave_id} cannot be routed: {exc}", {"status": str(exc)}) from None
    rows = dict(await reads.where_field(ctx, DECISION, "request_id", request_id))
    rows.update({str(r["entity_id"]): dict(r["payload"]) for r in held
                 if r["entity"] == DECISION and r["payload"].get("request_id") == request_id})
    decisions = decisions_from(rows.items())
    delegations = delegations_from((await reads.all_of(ctx, "approvals.delegation")).items())
    check_chain(leave_id, request_id, request, levels, decisions, delegations)
