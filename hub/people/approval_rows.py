"""A leave request's approval rows at the hub (D52, D68), called from `hub.people.rules`:

- `follow(ctx, m, cur)`: the `approvals.request` (`leave:<leave id>`) and `approvals.decision` rows of a leave
  request refused for an overlap and never booked wait in the refusal (its `dependents`, as consume-once does for
  the rows that follow a refused principal) instead of being booked beside a leave that does not exist. After a
  person kept the hub's version they are refused, naming why.
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


async def follow(ctx: ApplyContext, m: Mutation, cur: RecordState) -> Outcome | None:
    """The outcome of an approval row whose leave was refused and never booked; None for every other row."""
    if m.entity not in ROWS or cur.exists:
        return None
    leave_id = leave_of(m, cur)
    if leave_id is None or await reads.one(ctx, LEAVE, leave_id) is not None:
        return None
    key = (CONFLICT_ENTITY, f"{OVERLAP_PREFIX}{leave_id}")
    refusal = await ctx.state_of(key)
    if not refusal.exists or refusal.data is None:
        return None  # the leave was never sent, or is still to come in this order: the generic rules decide
    c = dict(refusal.data)
    if c.get("status") != "open":
        if await reads.one(ctx, LEAVE, leave_id) is not None:
            return None  # booked by a resolution that committed while this push waited for the refusal's lock
        return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED, code="follows_refused",
                       message=f"leave {leave_id} was not booked (a person kept the hub's version: "
                               f"{c.get('reason', '')}); its {m.entity} {m.entity_id} is not booked either")
    dependents = [dict(d) for d in c.get("dependents", [])]
    mine = next((d for d in dependents if (d["entity"], d["entity_id"]) == (m.entity, m.entity_id)), None)
    if mine is not None:  # a later change to a row that waits here: it waits as last changed
        mine["payload"] = {**mine["payload"], **m.payload}
        mine.setdefault("followed_by", []).append(m.id)
    elif m.op is Op.CREATE:
        dependents.append({"mutation_id": m.id, "entity": m.entity, "entity_id": m.entity_id, "op": str(m.op),
                           "payload": m.payload, "actor": m.actor, "site_id": m.site_id})
    else:
        return None  # an update of a row that never existed anywhere: the generic not_found
    c["dependents"] = dependents
    ctx.write(key, c, deleted=False, site_id=refusal.site_id, device_id=None, mutation_id=m.id,
              type_="sync.conflict.updated", correlation_id=m.id)
    return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.CONFLICT, version=0,
                   conflict_id=key[1], code="follows_refused", resolution="not booked: waits with its leave request",
                   message=f"{m.entity} {m.entity_id} belongs to leave {leave_id}, which was not booked "
                           f"({c.get('reason', '')}); it waits with it")


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
    request = await reads.one(ctx, REQUEST, request_id)
    days = Decimal(str((request or {}).get("amount") or leave.get("days") or 0))
    try:
        levels = levels_for(chains_from((await reads.all_of(ctx, "approvals.chain")).items()), days, site_id)
    except ValidationError as exc:
        raise ValidationError(f"leave {leave_id} cannot be routed: {exc}", {"status": str(exc)}) from None
    decisions = decisions_from((await reads.where_field(ctx, DECISION, "request_id", request_id)).items())
    delegations = delegations_from((await reads.all_of(ctx, "approvals.delegation")).items())
    check_chain(leave_id, request_id, request, levels, decisions, delegations)
