"""Apply one push: per-device order, the ledger, held gaps, conflict decisions, the event log.

One push is one transaction (the caller retries it whole on deadlock/serialization failures). Outcomes
are committed in `sync.applied_mutations` together with their effects, so a retry of any batch, in any
split, answers the original outcome and changes nothing (docs/contract.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from hub.auth.principal import Principal
from hub.errors import Conflict
from hub.finance.posting import PostingWrite, collect, has_poster, post_collected
from hub.identity.enforce import forbidden_mutations
from hub.people import rules as people_rules
from hub.sync.consume import judge, lock_documents, refused_conflict_id
from hub.sync.context import ApplyContext, Facts
from hub.sync.derived import add_to_stock, booked_movement, stock_key
from hub.sync.ledger import REUSED_ID, audit_applied, ledger_rows, replay_duplicates, reused_ids, write_ledger
from hub.sync.records import (
    History,
    Key,
    RecordState,
    Write,
    append_events,
    load_history,
    lock_records,
    save_writes,
)
from shared.conflicts import DecisionKind, Record, apply_op, decide, is_own_lineage
from shared.domain.consume_once import MOVEMENT, Claim, Verdict, can_book_anyway, claim_of, principal_of
from shared.domain.inventory import Movement, MovementError
from shared.entities import EntitySpec, validate_mutation
from shared.envelopes import Mutation, Op, Outcome, OutcomeStatus, PushRequest, PushResponse, event_type
from shared.errors import UnknownEntityError, ValidationError
from shared.ids import new_ulid

CONFLICT_ENTITY = "sync.conflict"
RESOLUTION_ENTITY = "sync.conflict_resolution"
# ApplyContext lives in hub/sync/context.py; callers keep importing it from here.
__all__ = ["CONFLICT_ENTITY", "RESOLUTION_ENTITY", "ApplyContext", "push", "resolve_conflict"]


def _facts(m: Mutation) -> Facts | str:
    """The facts of a create, or why a movement is not a ledger row the shared rule accepts."""
    movement = None
    if m.entity == MOVEMENT:
        try:  # the hub books it into the stock balance
            movement = Movement.from_payload(m.entity_id, m.payload)
        except (MovementError, KeyError, ValueError) as exc:
            return f"not a stock movement: {exc}"
    return Facts(movement, claim_of(m.entity, m.payload), principal_of(m.entity, m.payload))


async def push(conn: asyncpg.Connection, principal: Principal, request: PushRequest) -> PushResponse:
    """Apply a push in one transaction and return one outcome per mutation, in request order."""
    tenant, device = principal.tenant_id, request.device_id
    now = datetime.now(UTC)
    by_id: dict[str, Mutation] = {}
    by_seq: dict[int, Mutation] = {}
    for m in request.mutations:
        other = by_seq.get(m.device_seq)
        if other is not None and other.id != m.id:
            raise Conflict(f"device_seq {m.device_seq} appears twice with different ids", code="seq_reused")
        twin = by_id.get(m.id)
        if twin is not None and twin.device_seq != m.device_seq:
            raise Conflict(f"mutation {m.id} appears with two device_seqs", code="seq_reused")
        by_seq[m.device_seq] = m
        by_id[m.id] = m

    outcomes: dict[str, Outcome] = {}
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO sync.device_cursors (tenant_id, device_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            tenant, device,
        )
        last_seq: int = await conn.fetchval(
            "SELECT last_seq FROM sync.device_cursors WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
            tenant, device,
        )
        seen = sorted(s for s in by_seq if s <= last_seq)
        if seen:
            await replay_duplicates(conn, tenant, device, [by_seq[s] for s in seen], outcomes)

        held_rows = await conn.fetch(
            "SELECT device_seq, mutation_id, body FROM sync.held_mutations "
            "WHERE tenant_id = $1 AND device_id = $2 AND device_seq > $3",
            tenant, device, last_seq,
        )
        candidates: dict[int, Mutation] = {r["device_seq"]: Mutation.model_validate(r["body"]) for r in held_rows}
        for s, m in by_seq.items():
            if s <= last_seq:
                continue
            if s in candidates and candidates[s].id != m.id:
                raise Conflict(f"device_seq {s} was already received with another mutation id", code="seq_reused")
            candidates[s] = m

        run: list[Mutation] = []
        nxt = last_seq + 1
        at_seq: dict[str, int] = {}
        while nxt in candidates:
            m = candidates[nxt]
            if at_seq.setdefault(m.id, nxt) != nxt:  # a held copy and this push's: outcomes are kept by id
                raise Conflict(f"mutation {m.id} arrived at device_seq {at_seq[m.id]} and {nxt}; a mutation is "
                               "sent under one device_seq only", code=REUSED_ID)
            run.append(m)
            nxt += 1
        to_hold = [m for s, m in sorted(by_seq.items()) if s >= nxt]
        if to_hold:
            await conn.executemany(
                """INSERT INTO sync.held_mutations (tenant_id, device_id, device_seq, mutation_id, body, received_at)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
                [(tenant, device, m.device_seq, m.id, m.model_dump(mode="json"), now) for m in to_hold],
            )
            for m in to_hold:
                outcomes[m.id] = Outcome(
                    mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.HELD, code="sequence_gap",
                    message=f"held until device_seq {nxt} arrives; it will be applied in order",
                )
        if held_rows and run:
            await conn.execute(
                "DELETE FROM sync.held_mutations WHERE tenant_id = $1 AND device_id = $2 AND device_seq < $3",
                tenant, device, nxt,
            )

        ctx = ApplyContext(conn=conn, principal=principal, now=now)
        run_outcomes = await _apply_run(ctx, run)
        # The device's own cursor row is already locked (FOR UPDATE above): advancing it before the tenant head
        # changes nothing for other devices and keeps it out of the head-to-COMMIT window (D2, D15).
        await conn.execute(
            """UPDATE sync.device_cursors SET last_seq = $3, last_seen_at = $4,
                 reported_outbox_depth = COALESCE($5, reported_outbox_depth)
               WHERE tenant_id = $1 AND device_id = $2""",
            tenant, device, nxt - 1, now, request.outbox_depth,
        )
        head = await _commit_writes(ctx, run, run_outcomes)  # the tenant head: the last statement
        for m in run:
            if m.id in by_id:
                outcomes[m.id] = run_outcomes[m.id]
    return PushResponse(outcomes=[outcomes[m.id] for m in request.mutations], head_seq=head)


async def _apply_run(ctx: ApplyContext, run: list[Mutation]) -> dict[str, Outcome]:
    """Decide every mutation of a consecutive run, in device order, against the locked records."""
    specs: dict[str, EntitySpec | Outcome] = dict(await reused_ids(ctx.conn, ctx.principal.tenant_id, run))
    fresh = [m for m in run if m.id not in specs]
    refused = await forbidden_mutations(ctx.conn, ctx.principal, fresh)  # roles (shared/permissions.py)
    for m in fresh:
        specs[m.id] = _validate(ctx.principal, m)
        if m.id in refused and isinstance(specs[m.id], EntitySpec):
            specs[m.id] = Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED,
                                  code="forbidden", message=refused[m.id])
    claims: list[Claim] = []
    for m in run:
        if not isinstance(specs[m.id], EntitySpec) or m.op is not Op.CREATE:
            continue
        facts = _facts(m)
        if isinstance(facts, str):
            specs[m.id] = Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED,
                                  code="validation_failed", message=facts)
            continue
        ctx.facts[m.id] = facts
        if facts.claim is not None:
            claims.append(facts.claim)
    keys = {(m.entity, m.entity_id) for m in run if isinstance(specs[m.id], EntitySpec)}
    for f in ctx.facts.values():
        keys |= _related_keys(f)
    # Documents first, then records, each in a fixed order: pushes claiming the same document queue (D27).
    await lock_documents(ctx.conn, ctx.principal.tenant_id, {c.document for c in claims})
    await people_rules.lock(ctx, run)  # a person's leave requests, judged one push at a time (hub/people, D50)
    ctx.states.update(await lock_records(ctx.conn, ctx.principal.tenant_id, sorted(keys)))
    await ctx.bookings.load(ctx, claims)
    wanted: set[tuple[Key, int, str]] = set()
    for m in run:
        key = (m.entity, m.entity_id)
        st = ctx.states.get(key)
        if st is not None and st.version > m.base_version:
            wanted.add((key, m.base_version, m.device_id))
    history = await load_history(ctx.conn, ctx.principal.tenant_id, wanted)

    results: dict[str, Outcome] = {}
    for m in run:
        spec = specs[m.id]
        if isinstance(spec, Outcome):
            results[m.id] = spec
            continue
        results[m.id] = await _apply_one(ctx, m, spec, history)
    return results


def _related_keys(f: Facts) -> set[Key]:
    """The records a create may also read or write besides its own: the stock balance a movement moves, the PO a
    receipt is checked against, the principal a dependent row follows and that principal's refusal record."""
    keys: set[Key] = set()
    if f.movement is not None:
        keys.add(stock_key(f.movement))
    if f.claim is not None and f.claim.po_id:
        keys.add(("procurement.purchase_order", f.claim.po_id))
    if f.principal is not None:
        keys |= {f.principal, (CONFLICT_ENTITY, refused_conflict_id(f.principal))}
    return keys


def _validate(principal: Principal, m: Mutation) -> EntitySpec | Outcome:
    def rejected(code: str, message: str) -> Outcome:
        return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED, code=code,
                       message=message)

    try:
        spec = validate_mutation(m.entity, m.op, m.payload)
    except ValidationError as exc:
        code = "unknown_entity" if isinstance(exc, UnknownEntityError) else "validation_failed"
        return rejected(code, str(exc))
    if not principal.sees_site(m.site_id):
        return rejected("forbidden_site", f"this device may not write to site {m.site_id!r}")
    return spec


async def _apply_one(ctx: ApplyContext, m: Mutation, spec: EntitySpec, history: History) -> Outcome:
    key = (m.entity, m.entity_id)
    cur = await ctx.state_of(key)

    def outcome(status: OutcomeStatus, **kw: Any) -> Outcome:
        return Outcome(mutation_id=m.id, device_seq=m.device_seq, status=status, **kw)

    if cur.in_db and spec.site_scoped and not ctx.principal.sees_site(cur.site_id):
        return outcome(OutcomeStatus.REJECTED, code="forbidden_site",
                       message=f"the record belongs to site {cur.site_id!r}, which this device may not write")
    if m.base_version > cur.version:
        return outcome(OutcomeStatus.REJECTED, code="unknown_base_version",
                       message=f"base_version {m.base_version} is newer than the record's version {cur.version}")
    if m.op is Op.CREATE and not cur.exists:
        held = await _consume_once(ctx, m, outcome)
        if held is not None:
            return held
    stale = False
    base_state = cur.data if not cur.deleted else None
    if cur.version > m.base_version:
        writers = [r.writer or "" for r in history.since(key, m.base_version)]
        writers += [w.device_id or "" for w in _batch_versions(ctx, key) if w.version > m.base_version]
        stale = not is_own_lineage(writers, m.device_id)
        base_state = history.at(key, m.base_version) if m.base_version > 0 else {}

    decision = decide(spec.strategy, m.op, m.payload, Record(cur.version, cur.data, cur.deleted),
                      stale=stale, base_state=base_state)
    if decision.kind is DecisionKind.UNCHANGED:  # created again as it stands: no version, no conflict record (D61)
        return outcome(OutcomeStatus.APPLIED, version=cur.version, resolution=decision.resolution)
    site_id = _site_of(spec, cur, m)

    judged = await people_rules.judge(ctx, m, spec, cur, decision)  # hr rules across records (hub/people, D50)
    if judged is not None:
        return judged
    if decision.kind is DecisionKind.REJECT:
        return outcome(OutcomeStatus.REJECTED, code=decision.code, message=decision.message)

    if decision.kind in (DecisionKind.APPLY, DecisionKind.MERGE):
        # What a resolution or a poster may still refuse is recorded so it can be taken back whole (D38).
        mark = ctx.begin() if m.entity == RESOLUTION_ENTITY or has_poster(m.entity) else None
        w = ctx.write(key, decision.new_state, deleted=decision.delete, site_id=site_id, device_id=m.device_id,
                      mutation_id=m.id, type_=event_type(m.entity, Op.UPDATE if decision.kind is DecisionKind.MERGE
                                                         else m.op), correlation_id=m.id)
        refused = await _effects(ctx, m, cur, w, site_id, deleted=decision.delete)
        if mark is not None:
            ctx.end(mark, undo=refused is not None)
        if refused is not None:
            return outcome(OutcomeStatus.REJECTED, code=refused[0], message=refused[1])
        status = OutcomeStatus.MERGED if decision.kind is DecisionKind.MERGE else OutcomeStatus.APPLIED
        return outcome(status, version=w.version, resolution=decision.resolution)

    # A conflict: keep both versions in a conflict record (itself a replicated record).
    written = None
    if decision.new_state is not None:
        mark = ctx.begin() if has_poster(m.entity) else None
        written = ctx.write(key, decision.new_state, deleted=False, site_id=site_id, device_id=m.device_id,
                            mutation_id=m.id, type_=event_type(m.entity, Op.UPDATE), correlation_id=m.id)
        if mark is not None:
            problem = await collect(ctx, PostingWrite(m.entity, m.entity_id, written.data, cur.data, site_id, m.id,
                                                      m.id))
            ctx.end(mark, undo=problem is not None)
            if problem is not None:
                return outcome(OutcomeStatus.REJECTED, code="posting_refused", message=problem)
    conflict_id = new_ulid()
    record = {
        "entity": m.entity, "entity_id": m.entity_id, "mutation_id": m.id, "device_id": m.device_id,
        "actor": m.actor, "strategy": str(spec.strategy),
        "status": "open" if decision.needs_person else "auto_resolved", "needs_person": decision.needs_person,
        "base_version": m.base_version, "server_version": cur.version, "server_data": cur.data,
        "client_op": str(m.op), "client_payload": m.payload, "fields": list(decision.conflicting_fields),
        "resolution": decision.resolution, "created_at": ctx.now.isoformat(),
    }
    ctx.write((CONFLICT_ENTITY, conflict_id), record, deleted=False, site_id=site_id, device_id=None,
              mutation_id=m.id, type_="sync.conflict.opened", correlation_id=m.id)
    return outcome(OutcomeStatus.CONFLICT, version=written.version if written else cur.version,
                   resolution=decision.resolution, conflict_id=conflict_id)


async def _effects(ctx: ApplyContext, m: Mutation, cur: RecordState, w: Write, site_id: str | None, *,
                   deleted: bool) -> tuple[str, str] | None:
    """What an applied write also does: resolve the conflict a resolution names, move the stock balance a movement
    moves, post what the entity's poster posts. (code, message) of the first that refuses, else None."""
    if m.entity == RESOLUTION_ENTITY:
        problem = await resolve_conflict(ctx, str(m.payload["conflict_id"]), str(m.payload["choice"]),
                                         m.payload.get("data"), actor=m.actor, correlation_id=m.id)
        if problem is not None:
            return "conflict_not_resolvable", problem
    if m.entity == MOVEMENT and m.op is Op.CREATE and not deleted:
        replaced = booked_movement(m.entity_id, cur.data) if cur.exists else None
        if replaced is not None:  # the device re-created its own row: it replaces, never adds
            await add_to_stock(ctx, replaced, site_id=site_id, mutation_id=m.id, correlation_id=m.id, sign=-1)
        movement = ctx.facts[m.id].movement
        assert movement is not None  # a movement create that is not a ledger row was rejected in _apply_run
        await add_to_stock(ctx, movement, site_id=site_id, mutation_id=m.id, correlation_id=m.id)
    problem = await collect(ctx, PostingWrite(m.entity, m.entity_id, None if deleted else w.data,
                                              cur.data if cur.exists else None, site_id, m.id, m.id))
    return None if problem is None else ("posting_refused", problem)


async def _consume_once(ctx: ApplyContext, m: Mutation, outcome: Any) -> Outcome | None:
    """Hold a create that claims a document already consumed, or that follows a held one (D27). None: go on."""
    facts = ctx.facts.get(m.id, Facts())
    principal = facts.principal
    if principal is not None and not (await ctx.state_of(principal)).exists:
        ckey = (CONFLICT_ENTITY, refused_conflict_id(principal))
        conflict = await ctx.state_of(ckey)
        if conflict.exists and conflict.data is not None:
            c = dict(conflict.data)
            c["dependents"] = [*c.get("dependents", []), {
                "mutation_id": m.id, "entity": m.entity, "entity_id": m.entity_id, "op": str(m.op),
                "payload": m.payload, "actor": m.actor, "site_id": m.site_id}]
            ctx.write(ckey, c, deleted=False, site_id=conflict.site_id, device_id=None, mutation_id=m.id,
                      type_="sync.conflict.updated", correlation_id=m.id)
            return outcome(OutcomeStatus.CONFLICT, version=0, conflict_id=ckey[1], code="follows_refused",
                           resolution="not booked: it belongs to a row that was not booked",
                           message=f"{m.entity} {m.entity_id} belongs to {principal[0]} {principal[1]}, which was "
                                   f"not booked: {c.get('reason', '')}")
    claim = facts.claim
    if claim is None:
        return None
    verdict, booked = await judge(ctx, claim)
    if verdict.accepted:
        return None
    return _refuse(ctx, m, claim, verdict, booked, outcome)


def _refuse(ctx: ApplyContext, m: Mutation, claim: Claim, verdict: Verdict, booked: dict[str, Any],
            outcome: Any) -> Outcome:
    ckey = (CONFLICT_ENTITY, refused_conflict_id((m.entity, m.entity_id)))
    record = {
        "kind": "consume_once", "claim": str(claim.kind), "document": claim.document, "reason": verdict.reason,
        "entity": m.entity, "entity_id": m.entity_id, "mutation_id": m.id, "device_id": m.device_id,
        "actor": m.actor, "strategy": "manual", "status": "open", "needs_person": True,
        "base_version": m.base_version, "server_version": 0, "server_data": booked, "client_op": str(m.op),
        "client_payload": m.payload, "fields": [], "dependents": [],
        "can_book_anyway": can_book_anyway(claim.kind),
        "resolution": "not booked: a person decides", "created_at": ctx.now.isoformat(),
    }
    ctx.write(ckey, record, deleted=False, site_id=m.site_id, device_id=None, mutation_id=m.id,
              type_="sync.conflict.opened", correlation_id=m.id)
    return outcome(OutcomeStatus.CONFLICT, version=0, conflict_id=ckey[1], code="consumed_once",
                   resolution="not booked: a person decides", message=verdict.reason)


def _site_of(spec: EntitySpec, cur: RecordState, m: Mutation) -> str | None:
    """The site a write is stored under: a record keeps its site; a tenant-wide entity has none, whichever
    device wrote it, so every site reads and may update it (D91). A conflict resolution is no master data: it
    stays at its writer's site, as the values it carries may be a site's."""
    if not spec.site_scoped and m.entity != RESOLUTION_ENTITY:
        return None
    return cur.site_id if cur.in_db and cur.site_id is not None else m.site_id


def _batch_versions(ctx: ApplyContext, key: Key) -> list[Write]:
    return [w for w in ctx.writes if w.key == key]


async def resolve_conflict(ctx: ApplyContext, conflict_id: str, choice: str, data: Any, *, actor: str,
                           correlation_id: str) -> str | None:
    """Resolve an open conflict: 'server' keeps the hub's version, 'client' applies the device's change,
    'custom' writes `data`. Returns a problem sentence, or None when resolved."""
    ckey = (CONFLICT_ENTITY, conflict_id)
    conflict = await ctx.state_of(ckey)
    if not conflict.exists or conflict.data is None:
        return f"no conflict {conflict_id!r}"
    c = dict(conflict.data)
    if c.get("status") != "open":
        return f"conflict {conflict_id} is {c.get('status')}, not open"
    if not ctx.principal.sees_site(conflict.site_id):
        return "this device may not resolve conflicts of that site"
    if c.get("kind") == "consume_once":
        problem = await _resolve_refusal(ctx, c, choice, correlation_id, site_id=conflict.site_id)
        if problem is not None:
            return problem
        c.update(status="resolved", choice=choice, resolved_by=actor, resolved_at=ctx.now.isoformat())
        ctx.write(ckey, c, deleted=False, site_id=conflict.site_id, device_id=None, mutation_id=None,
                  type_="sync.conflict.resolved", correlation_id=correlation_id)
        return None
    key = (str(c["entity"]), str(c["entity_id"]))
    target = await ctx.state_of(key)
    new_state: dict[str, Any] | None = None
    delete = False
    if choice == "client":
        op = Op(c["client_op"])
        base = target.data if op is not Op.CREATE else None
        new_state = apply_op(base, op, c["client_payload"])
        delete = new_state is None
    elif choice == "custom":
        if not isinstance(data, dict) or not data:
            return "a custom resolution needs the resolved values in 'data'"
        try:
            validate_mutation(key[0], Op.UPDATE, data)
        except ValidationError as exc:
            return f"the resolved values are not valid: {exc}"
        new_state = {**(target.data or {}), **data}
    elif choice != "server":
        return f"unknown choice {choice!r}"
    if new_state is not None or delete:
        ctx.write(key, new_state, deleted=delete, site_id=target.site_id, device_id=None, mutation_id=None,
                  type_=f"{key[0]}.resolved", correlation_id=correlation_id)
        problem = await collect(ctx, PostingWrite(key[0], key[1], new_state, target.data if target.exists else None,
                                                  target.site_id, None, correlation_id))
        if problem is not None:
            return problem
    await people_rules.resolved(ctx, c, correlation_id)  # a refused leave's approval rows follow it (hub/people)
    c.update(status="resolved", choice=choice, resolved_by=actor, resolved_at=ctx.now.isoformat())
    ctx.write(ckey, c, deleted=False, site_id=conflict.site_id, device_id=None, mutation_id=None,
              type_="sync.conflict.resolved", correlation_id=correlation_id)
    return None


async def _resolve_refusal(ctx: ApplyContext, c: dict[str, Any], choice: str, correlation_id: str, *,
                           site_id: str | None) -> str | None:
    """'server' leaves the refused rows unbooked; 'client' books them after all (where the rule allows a person
    to), the principal first and then the rows that followed it, each into the stock balance if a movement."""
    if choice == "server":
        return None
    if choice != "client":
        return "a refused receipt or order is kept out ('server') or booked after all ('client'), never edited"
    if not c.get("can_book_anyway"):
        return f"{c.get('reason', 'refused')}; this cannot be booked twice: record extra goods as a stock count"
    if c.get("document"):  # booking against it: hold its lock like any claim (D27)
        await lock_documents(ctx.conn, ctx.principal.tenant_id, {str(c["document"])})
    rows = [{"entity": c["entity"], "entity_id": c["entity_id"], "payload": c["client_payload"],
             "site_id": None}, *c.get("dependents", [])]
    for row in rows:
        key = (str(row["entity"]), str(row["entity_id"]))
        if (await ctx.state_of(key)).exists:
            continue  # booked meanwhile: never twice
        payload, site = dict(row["payload"]), row.get("site_id") or site_id
        ctx.write(key, payload, deleted=False, site_id=site, device_id=None, mutation_id=None,
                  type_=event_type(key[0], Op.CREATE), correlation_id=correlation_id)
        if key[0] == MOVEMENT:
            await add_to_stock(ctx, Movement.from_payload(key[1], payload), site_id=site, mutation_id=None,
                               correlation_id=correlation_id)
        problem = await collect(ctx, PostingWrite(key[0], key[1], payload, None, site, None, correlation_id))
        if problem is not None:
            return f"{key[0]} {key[1]} cannot be booked: {problem}"
    return None


async def _commit_writes(ctx: ApplyContext, run: list[Mutation], outcomes: dict[str, Outcome]) -> int:
    """Save versions and the audit rows, then take the head last: one statement appends the events and the
    ledger rows with their seqs (D2, D15: the head's lock is held only by that statement and COMMIT)."""
    tenant = ctx.principal.tenant_id
    await post_collected(ctx)  # the ledger entries of what was applied, in the same transaction
    await save_writes(ctx.conn, tenant, ctx.writes, ctx.now)
    await audit_applied(ctx.conn, ctx.principal, run, outcomes, ctx.now)
    if not ctx.writes:  # nothing to number (every mutation rejected): no head taken, ledger rows as they are
        await write_ledger(ctx.conn, tenant, run, outcomes, ctx.now)
        return await append_events(ctx.conn, tenant, ctx.writes, ctx.now)
    head = await append_events(ctx.conn, tenant, ctx.writes, ctx.now, ledger_rows(run, outcomes, ctx.writes))
    first_seq: dict[str, int] = {}
    for w in ctx.writes:
        if w.mutation_id is not None and w.mutation_id not in first_seq:
            first_seq[w.mutation_id] = w.seq
    for m in run:
        if m.id in first_seq:
            outcomes[m.id] = outcomes[m.id].model_copy(update={"seq": first_seq[m.id]})
    return head
