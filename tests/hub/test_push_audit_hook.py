"""The audit hook point: hooks run inside the push transaction (in-process, against real PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
import pytest

from hub.auth.principal import Principal
from hub.db import connect
from hub.sync.apply import push
from hub.sync.ledger import add_audit_hook, remove_audit_hook
from shared.envelopes import Mutation, Op, Outcome, OutcomeStatus, PushRequest
from shared.ids import new_ulid


def form(tenant: str, device: str, seq: int) -> Mutation:
    return Mutation(id=new_ulid(), device_id=device, device_seq=seq, tenant_id=tenant, site_id="s1", actor="u1",
                    entity="forms.submission", entity_id=f"F{seq}", op=Op.CREATE, base_version=0,
                    payload={"form": "pre-start", "title": f"check {seq}"}, created_at=datetime.now(UTC))


def principal(tenant: str, device: str) -> Principal:
    return Principal(tenant_id=tenant, device_id=device, user_id=None, site_ids=None, roles=frozenset())


def test_hooks_see_applied_mutations_and_a_failing_hook_rolls_the_push_back(pg_dsn: str) -> None:
    seen: list[tuple[str, OutcomeStatus]] = []

    async def record(conn: asyncpg.Connection, who: Principal, run: Sequence[Mutation],
                     outcomes: dict[str, Outcome], now: datetime) -> None:
        assert conn.is_in_transaction()
        seen.extend((m.id, outcomes[m.id].status) for m in run)

    async def fail(*_: object) -> None:
        raise RuntimeError("audit store unavailable")

    async def run() -> None:
        conn = await connect(pg_dsn)
        try:
            tenant, device = f"t-audit-{new_ulid()[-6:]}", "d-audit"
            muts = [form(tenant, device, s) for s in (1, 2)]
            add_audit_hook(record)
            try:
                await push(conn, principal(tenant, device), PushRequest(device_id=device, mutations=muts))
                # A replay applies nothing, so nothing new is audited.
                await push(conn, principal(tenant, device), PushRequest(device_id=device, mutations=muts))
            finally:
                remove_audit_hook(record)
            assert seen == [(m.id, OutcomeStatus.APPLIED) for m in muts]

            add_audit_hook(fail)
            try:
                with pytest.raises(RuntimeError):
                    await push(conn, principal(tenant, device),
                               PushRequest(device_id=device, mutations=[form(tenant, device, 3)]))
            finally:
                remove_audit_hook(fail)
            applied = await conn.fetchval(
                "SELECT count(*) FROM sync.applied_mutations WHERE tenant_id = $1", tenant)
            assert applied == 2
        finally:
            await conn.close()

    asyncio.run(run())
