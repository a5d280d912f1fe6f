"""The applied-mutation ledger (`sync.applied_mutations`) and the audit hook point.

Every applied mutation's outcome is written here in the same transaction as its effects, so a retried
push answers the original outcome. The audit context (issue 3) registers a hook with `add_audit_hook`;
hooks run inside the push transaction, after the effects (record versions) and before the tenant head is
taken (so they never lengthen the tenant-wide lock, docs/decisions.md D15), so an audit entry commits exactly
when the mutation does. The outcomes hooks see carry no event `seq` yet; the ledger rows get theirs in the
head statement (`hub.sync.records.append_events`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import asyncpg
import orjson

from hub.auth.principal import Principal
from hub.errors import Conflict
from hub.sync.records import LedgerRow, Write
from shared.envelopes import Mutation, Outcome, OutcomeStatus

AuditHook = Callable[[asyncpg.Connection, Principal, Sequence[Mutation], dict[str, Outcome], datetime], Awaitable[None]]

_audit_hooks: list[AuditHook] = []


def add_audit_hook(hook: AuditHook) -> None:
    """Register a hook called once per push transaction with the applied mutations and their outcomes."""
    if hook not in _audit_hooks:
        _audit_hooks.append(hook)


def remove_audit_hook(hook: AuditHook) -> None:
    if hook in _audit_hooks:
        _audit_hooks.remove(hook)


async def audit_applied(conn: asyncpg.Connection, principal: Principal, run: Sequence[Mutation],
                        outcomes: dict[str, Outcome], now: datetime) -> None:
    """The audit hook point: called inside the push transaction; a failing hook aborts the push."""
    if not run:
        return
    for hook in list(_audit_hooks):
        await hook(conn, principal, run, outcomes, now)


REUSED_ID = "mutation_id_reused"
"""The rejection of a mutation whose id the ledger already holds under another device_seq."""


def ledger_id(m: Mutation, outcome: Outcome) -> str:
    """The ledger key of a mutation's row. The key is the mutation id (the idempotency key), so a refused copy of
    an already-applied id gets its own key: its device_seq is consumed and its outcome replayed like any other,
    while its `outcome.mutation_id` still names the id the device sent (what `replay_duplicates` compares)."""
    return f"{m.id}:reused:{m.device_id}:{m.device_seq}" if outcome.code == REUSED_ID else m.id


async def reused_ids(conn: asyncpg.Connection, tenant: str, run: Sequence[Mutation]) -> dict[str, Outcome]:
    """A `rejected` outcome for each mutation of the run whose id the ledger already holds (one index probe per id).
    Applying it again would break the ledger's key: a permanent refusal, never a retry (it was a 503 forever)."""
    if not run:
        return {}
    rows = await conn.fetch(
        "SELECT mutation_id, device_id, device_seq FROM sync.applied_mutations "
        "WHERE tenant_id = $1 AND mutation_id = ANY($2::text[])", tenant, [m.id for m in run])
    first = {r["mutation_id"]: r for r in rows}
    out: dict[str, Outcome] = {}
    for m in run:
        r = first.get(m.id)
        if r is not None:
            out[m.id] = Outcome(
                mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED, code=REUSED_ID,
                message=f"mutation {m.id} was already applied as device_seq {r['device_seq']} of device "
                        f"{r['device_id']}; this copy at device_seq {m.device_seq} changes nothing (a mutation is "
                        "sent under one device_seq only)")
    return out


async def replay_duplicates(conn: asyncpg.Connection, tenant: str, device: str, muts: Sequence[Mutation],
                            outcomes: dict[str, Outcome]) -> None:
    """Fill `outcomes` with the original outcome of each already-applied mutation (one query)."""
    rows = await conn.fetch(
        "SELECT device_seq, mutation_id, outcome FROM sync.applied_mutations "
        "WHERE tenant_id = $1 AND device_id = $2 AND device_seq = ANY($3::bigint[])",
        tenant, device, [m.device_seq for m in muts],
    )
    ledger = {r["device_seq"]: r for r in rows}
    for m in muts:
        row = ledger.get(m.device_seq)
        if row is None:
            raise Conflict(f"device_seq {m.device_seq} is behind the device's cursor but not in the ledger",
                           code="ledger_missing")
        original = Outcome.model_validate(row["outcome"])
        if original.mutation_id != m.id:  # the outcome names the id sent (the row's key may not: see ledger_id)
            raise Conflict(
                f"device_seq {m.device_seq} was already used by mutation {original.mutation_id}: a device that lost "
                "its store must enroll again", code="seq_reused",
            )
        outcomes[m.id] = Outcome(
            mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.DUPLICATE, version=original.version,
            seq=original.seq, conflict_id=original.conflict_id, original=original,
        )


async def write_ledger(conn: asyncpg.Connection, tenant: str, run: Sequence[Mutation],
                       outcomes: dict[str, Outcome], now: datetime) -> None:
    """Record the outcome of every applied mutation of the batch in one statement."""
    if not run:
        return
    await conn.execute(
        """INSERT INTO sync.applied_mutations
             (tenant_id, mutation_id, device_id, device_seq, entity, entity_id, actor, outcome, applied_at)
           SELECT $1, m, d, q, e, i, a, o, $9
           FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
             AS t(m, d, q, e, i, a, o)""",
        tenant, [ledger_id(m, outcomes[m.id]) for m in run], [m.device_id for m in run], [m.device_seq for m in run],
        [m.entity for m in run], [m.entity_id for m in run], [m.actor for m in run],
        [orjson.loads(outcomes[m.id].model_dump_json(exclude_none=True)) for m in run], now,
    )


def ledger_rows(run: Sequence[Mutation], outcomes: dict[str, Outcome], writes: Sequence[Write]) -> list[LedgerRow]:
    """The ledger rows of a run, to be written with the events once the head is known: each outcome (no seq
    yet) and the 1-based position of the mutation's first write, from which the head statement derives its seq."""
    first: dict[str, int] = {}
    for i, w in enumerate(writes, start=1):
        if w.mutation_id is not None and w.mutation_id not in first:
            first[w.mutation_id] = i
    return [{"m": ledger_id(m, outcomes[m.id]), "d": m.device_id, "q": m.device_seq, "e": m.entity,
             "i": m.entity_id, "a": m.actor, "o": outcomes[m.id].model_dump(mode="json", exclude_none=True),
             "w": first.get(m.id)} for m in run]
