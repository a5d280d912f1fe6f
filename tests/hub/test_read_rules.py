"""Reads follow the permission matrix: a token with roles sees only the entities one of its roles may read
(conflict records as their entity), a device token without roles sees every entity of its sites, and a
filtered event still moves the reader's cursor (no gap, no re-read)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from hub.auth.principal import Principal
from hub.sync.read_rules import read_rule
from pitline.harness import HubProcess, provision_device, run_sync
from shared.ids import new_ulid
from shared.permissions import event_visible, readable

# (entity, site, about): what the tenant's log holds, in seq order
ROWS = [
    ("equipment.unit", "s1", None),
    ("finance.journal_entry", None, None),
    ("inventory.item", "s1", None),
    ("sync.conflict", "s1", "finance.vendor_invoice"),
    ("equipment.breakdown", "s2", None),  # another site
    ("sync.conflict", "s1", "equipment.unit"),
    ("forms.submission", "s1", None),
    ("finance.vendor_invoice", "s1", None),
]


@pytest.mark.parametrize(("roles", "entity", "about", "visible"), [
    ((), "finance.journal_entry", None, True),  # no roles: the device acting as itself
    (("viewer",), "equipment.unit", None, True),
    (("viewer",), "finance.journal_entry", None, False),  # `none` overrides viewer's `*`
    (("viewer", "finance"), "finance.journal_entry", None, True),  # any role that may read
    (("operator",), "inventory.item", None, False),
    (("operator",), "equipment.unit", None, True),
    (("operator",), "sync.conflict", "equipment.unit", True),  # a conflict is as readable as its record
    (("operator",), "sync.conflict", "finance.vendor_invoice", False),
    (("operator",), "sync.conflict", None, False),
    (("administrator",), "sync.conflict", "finance.vendor_invoice", True),
])
def test_the_rule_as_a_table(roles: tuple[str, ...], entity: str, about: str | None, visible: bool) -> None:
    rule = read_rule(Principal("t", None, "ann", None, frozenset(roles)))
    assert rule.visible("s1", entity, about) is visible
    # the pure form the stream's fan-out calls gives the same answer
    allowed = None if not roles else readable(roles, [entity, about or "none.such"])
    assert event_visible(allowed, entity, about) is visible


def test_the_site_rule_still_applies() -> None:
    rule = read_rule(Principal("t", "d", None, frozenset({"s1"}), frozenset({"administrator"})))
    assert rule.visible("s1", "equipment.unit") and rule.visible(None, "equipment.unit")
    assert not rule.visible("s2", "equipment.unit")


def _fill(dsn: str, tenant: str) -> None:
    from hub.db import connect

    async def run() -> None:
        conn = await connect(dsn)
        try:
            for seq, (entity, site, about) in enumerate(ROWS, start=1):
                data = {"entity": about, "status": "open"} if about else {"n": seq}
                await conn.execute(
                    """INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version, ts,
                                                payload)
                       VALUES ($1, $2, $3, $4, $5 || '.created', $5, $6, 1, now(), $7)""",
                    tenant, seq, new_ulid(), site, entity, f"E{seq}", data)
                await conn.execute(
                    """INSERT INTO sync.records (tenant_id, entity, entity_id, site_id, version, data, updated_at)
                       VALUES ($1, $2, $3, $4, 1, $5, now())""", tenant, entity, f"E{seq}", site, data)
            await conn.execute("UPDATE sync.tenant_heads SET head = $2 WHERE tenant_id = $1", tenant, len(ROWS))
        finally:
            await conn.close()

    run_sync(run())


def _token(dsn: str, tenant: str, roles: list[str]) -> str:
    from hub.auth.tokens import issue_access_token
    from hub.db import connect

    async def run() -> str:
        conn = await connect(dsn)
        try:
            return await issue_access_token(conn, tenant_id=tenant, user_id="ann", roles=roles, site_ids=["s1"],
                                            ttl=timedelta(minutes=10))
        finally:
            await conn.close()

    return run_sync(run())


@pytest.fixture(scope="module")
def tenant(hub_server: HubProcess) -> str:
    name = f"rr-{new_ulid()[-8:].lower()}"
    provision_device(hub_server.dsn, name, "s1", "dev")  # the tenant and its sites
    provision_device(hub_server.dsn, name, "s2", "dev2")
    _fill(hub_server.dsn, name)
    return name


def _walk(url: str, token: str, limit: int) -> tuple[list[str], int, int]:
    """Follow /changes to the end: (entity ids seen, final cursor, pages)."""
    seen, after, pages = [], 0, 0
    while True:
        page = httpx.get(f"{url}/v1/sync/changes", params={"after": after, "limit": limit},
                         headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        pages += 1
        seen += [e["entity_id"] for e in page["events"]]
        assert page["next_after"] >= after
        after = page["next_after"]
        if not page["has_more"]:
            return seen, after, pages


@pytest.mark.parametrize("limit", [1, 2, 1000])
def test_changes_show_what_the_roles_may_read_and_the_cursor_still_reaches_the_head(
        live_hub: HubProcess, tenant: str, limit: int) -> None:
    operator = _token(live_hub.dsn, tenant, ["operator"])
    seen, cursor, _ = _walk(live_hub.url, operator, limit)
    # equipment.unit, the conflict about equipment.unit, forms.submission; not finance, inventory, site s2
    assert seen == ["E1", "E6", "E7"]
    assert cursor == len(ROWS)  # the filtered events moved it too


def test_a_device_without_roles_reads_every_entity_of_its_sites(live_hub: HubProcess, tenant: str) -> None:
    token = provision_device(live_hub.dsn, tenant, "s1", "dev")
    seen, cursor, _ = _walk(live_hub.url, token, 1000)
    assert seen == ["E1", "E2", "E3", "E4", "E6", "E7", "E8"] and cursor == len(ROWS)


def test_the_stream_backlog_follows_the_same_rule(live_hub: HubProcess, tenant: str) -> None:
    operator = _token(live_hub.dsn, tenant, ["operator"])
    ids: list[str] = []
    with httpx.Client(timeout=httpx.Timeout(5, read=10)) as c, c.stream(
            "GET", f"{live_hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {operator}"}) as r:
        for line in r.iter_lines():
            if line.startswith("id: "):
                ids.append(line[4:])
            if line.startswith(": heartbeat"):
                break
    assert ids == ["1", "6", "7"]


def test_snapshot_and_conflicts_show_what_the_roles_may_read(live_hub: HubProcess, tenant: str) -> None:
    headers = {"Authorization": f"Bearer {_token(live_hub.dsn, tenant, ['operator'])}"}
    snap = httpx.get(f"{live_hub.url}/v1/sync/snapshot", headers=headers, timeout=5).json()
    assert sorted(r["entity_id"] for r in snap["records"]) == ["E1", "E6", "E7"]
    assert snap["seq"] == len(ROWS)
    conflicts = httpx.get(f"{live_hub.url}/v1/conflicts", params={"status": "all"}, headers=headers,
                          timeout=5).json()["conflicts"]
    assert [c["id"] for c in conflicts] == ["E6"]
    finance = {"Authorization": f"Bearer {_token(live_hub.dsn, tenant, ['finance'])}"}
    snap = httpx.get(f"{live_hub.url}/v1/sync/snapshot", headers=finance, timeout=5).json()
    assert sorted(r["entity_id"] for r in snap["records"]) == ["E1", "E2", "E3", "E4", "E6", "E7", "E8"]


def _append_live(dsn: str, tenant: str, rows: list[tuple[str, str | None, str | None]]) -> None:
    """Commit events the way a push does (rows and head in one transaction, NOTIFY at commit)."""
    from hub.db import connect

    async def run() -> None:
        conn = await connect(dsn)
        try:
            async with conn.transaction():
                for seq, (entity, site, about) in enumerate(rows, start=1):
                    data = {"entity": about, "status": "open"} if about else {"n": seq}
                    await conn.execute(
                        """INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version,
                                                    ts, payload)
                           VALUES ($1, $2, $3, $4, $5 || '.created', $5, $6, 1, now(), $7)""",
                        tenant, seq, new_ulid(), site, entity, f"L{seq}", data)
                await conn.execute("UPDATE sync.tenant_heads SET head = $2 WHERE tenant_id = $1", tenant, len(rows))
                await conn.execute("SELECT pg_notify('pitline_events', $1)", tenant)
        finally:
            await conn.close()

    run_sync(run())


def test_live_events_follow_the_same_rule(live_hub: HubProcess) -> None:
    tenant = f"rr-live-{new_ulid()[-8:].lower()}"
    provision_device(live_hub.dsn, tenant, "s1", "dev")
    provision_device(live_hub.dsn, tenant, "s2", "dev2")
    operator = _token(live_hub.dsn, tenant, ["operator"])
    sentinel = ("equipment.unit", "s1", None)  # visible: the stream has seen everything once it arrives
    ids: list[str] = []
    with httpx.Client(timeout=httpx.Timeout(5, read=20)) as c, c.stream(
            "GET", f"{live_hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {operator}"}) as r:
        lines = r.iter_lines()
        assert next(lines) == "retry: 2000"  # the first bytes: the subscription was made before them
        _append_live(live_hub.dsn, tenant, [*ROWS, sentinel])
        for line in lines:
            if line.startswith("id: "):
                ids.append(line[4:])
                if line == f"id: {len(ROWS) + 1}":
                    break
    assert ids == ["1", "6", "7", str(len(ROWS) + 1)]  # as /changes: no finance, inventory or site s2
