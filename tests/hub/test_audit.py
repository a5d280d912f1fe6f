"""The audit log: every applied mutation with who, device, when, before and after; append-only; readable
by administrators, by entity and by user."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from pitline.harness import run_sync
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import make_device


def admin_token(dsn: str, tenant: str) -> str:
    from hub.auth.tokens import issue_access_token
    from hub.db import connect

    async def run() -> str:
        conn = await connect(dsn)
        try:
            return await issue_access_token(conn, tenant_id=tenant, user_id="hq-admin", roles=["administrator"])
        finally:
            await conn.close()

    return run_sync(run())


def test_every_applied_mutation_is_audited_with_before_and_after(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-audit", "s1", "desk-1")
    dev.push_ok([dev.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"})])
    dev.push_ok([dev.mutation("equipment.unit", "DT01", "update", {"status": "down"}, 1)])
    dev.push_ok([dev.mutation("equipment.unit", "DT09", "update", {"status": "down"}, 1)])  # rejected: audited too
    assert dev.client.get("/v1/audit").status_code == 403  # a device does not read the audit log
    admin = httpx.Client(
        base_url=live_hub.url, headers={"Authorization": f"Bearer {admin_token(live_hub.dsn, 't-audit')}"}
    )
    entries = admin.get("/v1/audit", params={"entity_id": "DT01", "order": "oldest"}).json()["entries"]
    assert [(e["action"], e["outcome"], e["version"]) for e in entries] == [
        ("mutation.create", "applied", 1),
        ("mutation.update", "applied", 2),
    ]
    assert entries[0]["before"] is None and entries[0]["after"]["fleet_no"] == "DT01"
    assert entries[1]["before"].get("status") is None and entries[1]["after"]["status"] == "down"
    assert all(e["actor"] == "user-of-desk-1" and e["device_id"] == "desk-1" and e["at"] for e in entries)
    by_user = admin.get("/v1/audit", params={"actor": "user-of-desk-1"}).json()["entries"]
    assert len(by_user) == 3 and by_user[0]["outcome"] == "rejected"
    other_tenant = httpx.get(
        f"{live_hub.url}/v1/audit", headers={"Authorization": f"Bearer {admin_token(live_hub.dsn, 't-audit-other')}"}
    ).json()["entries"]
    assert other_tenant == []


def test_the_audit_log_is_append_only(live_hub: HubProcess) -> None:
    from hub.db import connect

    async def tamper(sql: str) -> None:
        conn = await connect(live_hub.dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    for sql in ("UPDATE audit.log SET actor = 'someone else'", "DELETE FROM audit.log", "TRUNCATE audit.log"):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            run_sync(tamper(sql))
