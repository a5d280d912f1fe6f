"""Operations read models projected from sync.records, against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from hub.db import connect
from hub.projections import project, rebuild
from pitline.harness import create_database, drop_database
from shared.domain.inventory import Movement, on_hand
from shared.domain.seed import SiteSpec, generate
from shared.ids import new_ulid


@pytest.fixture(scope="module")
def own_dsn(pg_server_url: str) -> Iterator[str]:
    """A database no hub process serves: the session hub's projection worker projects any tenant whose head
    moved, so on the shared database it could project these tenants first and `project` here found nothing
    left to do (seen under load: 0 events instead of 3)."""
    url = create_database(pg_server_url, "pitline_proj")
    try:
        yield url
    finally:
        drop_database(pg_server_url, url)


@pytest.fixture
async def db(own_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(own_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def tenant() -> str:
    return f"t-proj-{new_ulid()}"


async def write(conn: asyncpg.Connection, tenant: str, entity: str, entity_id: str, data: dict[str, Any],
                *, deleted: bool = False, site: str = "site-1") -> None:
    """Write a record and its event the way the hub's push does (record, then the head, then the event)."""
    async with conn.transaction():
        version = await conn.fetchval(
            "INSERT INTO sync.records (tenant_id, entity, entity_id, site_id, version, data, deleted, updated_at) "
            "VALUES ($1, $2, $3, $4, 1, $5, $6, now()) ON CONFLICT (tenant_id, entity, entity_id) DO UPDATE "
            "SET version = sync.records.version + 1, data = EXCLUDED.data, deleted = EXCLUDED.deleted "
            "RETURNING version", tenant, entity, entity_id, site, data, deleted)
        seq = await conn.fetchval(
            "INSERT INTO sync.tenant_heads (tenant_id, head) VALUES ($1, 1) ON CONFLICT (tenant_id) "
            "DO UPDATE SET head = sync.tenant_heads.head + 1 RETURNING head", tenant)
        await conn.execute(
            "INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version, ts, payload) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9)", tenant, seq, new_ulid(), site,
            f"{entity}.{'deleted' if deleted else 'updated'}", entity, entity_id, version, {} if deleted else data)


def at(hour: int, minute: int = 0) -> str:
    return datetime(2026, 6, 1, hour, minute, tzinfo=UTC).isoformat()


def movement(kind: str, qty: float, when: str, cost: float | None = None, item: str = "I1") -> dict[str, Any]:
    m: dict[str, Any] = {"kind": kind, "store_id": "S1", "item_id": item, "quantity": qty, "occurred_at": when}
    if cost is not None:
        m["unit_cost"] = cost
    return m


async def stock(conn: asyncpg.Connection, tenant: str, item: str = "I1") -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT * FROM inventory.stock_on_hand WHERE tenant_id = $1 AND store_id = 'S1' AND item_id = $2", tenant, item)


async def test_stock_on_hand_and_moving_average(db: asyncpg.Connection, tenant: str) -> None:
    await write(db, tenant, "inventory.movement", "M1", movement("receipt", 10, at(8), 5))
    await write(db, tenant, "inventory.movement", "M2", movement("receipt", 10, at(9), 7))
    await write(db, tenant, "inventory.movement", "M3", movement("issue", 5, at(10)))
    report = await project(db, tenant)
    assert (report.events, report.rebuilt) == (3, False)
    row = await stock(db, tenant)
    assert (row["quantity"], row["average_cost"], row["value"], row["movements"]) == (15, 6, 90, 3)
    assert not row["needs_review"]
    # two offline issues both count; a late one dated before the second receipt re-values the item
    await write(db, tenant, "inventory.movement", "M4", movement("issue", 2, at(11)))
    await write(db, tenant, "inventory.movement", "M5", movement("issue", 10, at(8, 30)))
    await project(db, tenant)
    row = await stock(db, tenant)
    assert row["quantity"] == 3
    assert row["average_cost"] == 7  # 10@5 all issued before the 10@7 receipt arrived
    assert (await project(db, tenant)).events == 0  # idempotent


async def test_negative_stock_is_kept_and_flagged(db: asyncpg.Connection, tenant: str) -> None:
    await write(db, tenant, "inventory.movement", "M1", movement("issue", 3, at(8)))
    await project(db, tenant)
    row = await stock(db, tenant)
    assert row["quantity"] == -3 and row["needs_review"] and "below zero" in row["review_reason"]


async def test_purchase_order_status_follows_receipts(db: asyncpg.Connection, tenant: str) -> None:
    lines = [{"line_id": "1", "item_id": "I1", "store_id": "S1", "quantity": 10, "unit_price": 2},
             {"line_id": "2", "item_id": "I2", "store_id": "S1", "quantity": 4, "unit_price": 1}]
    await write(db, tenant, "procurement.purchase_order", "PO1", {"vendor_id": "V1", "number": "PO1", "lines": lines})
    await project(db, tenant)

    async def status() -> asyncpg.Record:
        return await db.fetchrow("SELECT * FROM procurement.po_status WHERE tenant_id = $1 AND po_id = 'PO1'", tenant)

    assert (await status())["status"] == "open"
    receipt = {"po_id": "PO1", "item_id": "I1", "store_id": "S1", "received_at": at(9)}
    await write(db, tenant, "procurement.goods_receipt", "GR1", receipt | {"line_id": "1", "quantity": 6})
    await project(db, tenant)
    assert ((await status())["status"], (await status())["outstanding_lines"]) == ("partially_received", 2)
    await write(db, tenant, "procurement.goods_receipt", "GR2", receipt | {"line_id": "1", "quantity": 6})
    await write(db, tenant, "procurement.goods_receipt", "GR3", receipt | {"line_id": "2", "quantity": 4})
    await project(db, tenant)
    row = await status()
    assert (row["status"], row["outstanding_lines"], row["needs_review"]) == ("received", 0, True)  # over-received
    await write(db, tenant, "procurement.purchase_order", "PO1", {}, deleted=True)
    await project(db, tenant)
    assert await status() is None


async def test_work_order_status_from_offline_transitions(db: asyncpg.Connection, tenant: str) -> None:
    await write(db, tenant, "maintenance.work_order", "WO1", {
        "equipment_id": "EX1", "title": "leak", "requested_by": "op", "requested_at": at(6)})
    sup = ["maintenance_supervisor"]
    for tid, by, when in (("T1", "sue", at(7)), ("T2", "sam", at(8))):
        await write(db, tenant, "maintenance.work_order_transition", tid, {
            "work_order_id": "WO1", "from_status": "requested", "to_status": "approved", "by": by, "roles": sup,
            "at": when})
    await project(db, tenant)
    row = await db.fetchrow("SELECT * FROM maintenance.work_order_status WHERE tenant_id = $1", tenant)
    assert (row["status"], row["rejected_steps"], row["equipment_id"]) == ("approved", 1, "EX1")


async def test_approval_status_and_who_it_waits_on(db: asyncpg.Connection, tenant: str) -> None:
    await write(db, tenant, "approvals.request", "R1", {
        "document_type": "procurement.purchase_order", "document_id": "PO1", "amount": 20_000, "requested_by": "buyer"})
    await project(db, tenant)
    row = await db.fetchrow("SELECT * FROM approvals.request_status WHERE tenant_id = $1", tenant)
    assert row["status"] == "pending" and "no approval chain" in row["problem"]
    await write(db, tenant, "approvals.chain", "C1", {"document_type": "procurement.purchase_order", "levels": [
        {"min_amount": 0, "approver_user": "sup"}, {"min_amount": 10_000, "approver_user": "mgr"}]}, site="")
    today = datetime.now(UTC).date().isoformat()
    await write(db, tenant, "approvals.delegation", "D1", {
        "delegator": "mgr", "delegate": "deputy", "starts_on": today, "ends_on": today})
    await write(db, tenant, "approvals.decision", "X1", {
        "request_id": "R1", "level": 0, "verdict": "approve", "by": "sup", "at": at(9), "amount": 20_000})
    await project(db, tenant)
    row = await db.fetchrow("SELECT * FROM approvals.request_status WHERE tenant_id = $1", tenant)
    assert (row["status"], row["current_level"], row["waiting_on"], row["problem"]) == (
        "pending", 1, ["deputy", "mgr"], None)
    await write(db, tenant, "approvals.decision", "X2", {
        "request_id": "R1", "level": 1, "verdict": "approve", "by": "mgr", "at": at(10), "amount": 20_000})
    await project(db, tenant)
    row = await db.fetchrow("SELECT * FROM approvals.request_status WHERE tenant_id = $1", tenant)
    assert (row["status"], row["waiting_on"]) == ("approved", [])


async def test_a_cursor_behind_retention_rebuilds(db: asyncpg.Connection, tenant: str) -> None:
    await write(db, tenant, "inventory.movement", "M1", movement("receipt", 4, at(8), 2))
    await write(db, tenant, "inventory.movement", "M2", movement("receipt", 4, at(9), 2, item="I2"))
    await db.execute("DELETE FROM sync.events WHERE tenant_id = $1", tenant)
    await db.execute("UPDATE sync.tenant_heads SET floor = head WHERE tenant_id = $1", tenant)
    report = await project(db, tenant)
    assert report.rebuilt and report.cursor == 2
    assert (await stock(db, tenant, "I2"))["quantity"] == 4


async def test_seeded_site_projects_to_the_ledger(db: asyncpg.Connection, tenant: str) -> None:
    spec = SiteSpec(seed=3, machines=4, items=60, vendors=4, days=40, issues_per_day=8)
    drafts = [d for d in generate(spec) if d.entity.split(".")[0] in ("inventory", "procurement", "maintenance",
                                                                       "approvals")]
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for d in drafts:
        latest[(d.entity, d.entity_id)] = {**latest.get((d.entity, d.entity_id), {}), **d.payload}
    await db.executemany(
        "INSERT INTO sync.records (tenant_id, entity, entity_id, site_id, version, data, updated_at) "
        "VALUES ($1, $2, $3, 'site-1', 1, $4, now())",
        [(tenant, e, i, data) for (e, i), data in latest.items()])
    await rebuild(db, tenant)
    movements = [Movement.from_payload(i, data) for (e, i), data in latest.items() if e == "inventory.movement"]
    expected = {k: v for k, v in on_hand(movements).items()}
    rows = await db.fetch("SELECT store_id, item_id, quantity, needs_review FROM inventory.stock_on_hand "
                          "WHERE tenant_id = $1", tenant)
    assert {(r["store_id"], r["item_id"]): r["quantity"] for r in rows} == expected
    assert not any(r["needs_review"] for r in rows)
    statuses = {r[0] for r in await db.fetch(
        "SELECT DISTINCT status FROM maintenance.work_order_status WHERE tenant_id = $1", tenant)}
    assert "closed" in statuses and statuses <= {"closed", "planned"}
    pos = await db.fetch("SELECT status FROM procurement.po_status WHERE tenant_id = $1", tenant)
    assert pos and {r[0] for r in pos} <= {"open", "partially_received", "received"}
    approved = await db.fetchval(
        "SELECT count(*) FILTER (WHERE status = 'approved') = count(*) FROM approvals.request_status "
        "WHERE tenant_id = $1", tenant)
    assert approved
    assert Decimal(0) <= min(r["quantity"] for r in rows)


async def test_the_worker_projects_on_notification_and_by_sweep(db: asyncpg.Connection, tenant: str,
                                                               own_dsn: str) -> None:
    import asyncio

    from hub.projections.worker import ProjectionWorker

    worker = ProjectionWorker(own_dsn, sweep_seconds=3600, settle_seconds=0.05)
    await write(db, tenant, "inventory.movement", "M0", movement("receipt", 1, at(7), 1))  # before the worker: sweep
    await worker.start()
    try:
        async def quantity() -> Decimal | None:
            row = await stock(db, tenant)
            return None if row is None else Decimal(row["quantity"])

        for _ in range(100):
            if await quantity() == 1:
                break
            await asyncio.sleep(0.05)
        assert await quantity() == 1
        await write(db, tenant, "inventory.movement", "M1", movement("receipt", 4, at(8), 2))
        await db.execute("SELECT pg_notify('pitline_events', $1)", tenant)
        for _ in range(100):
            if await quantity() == 5:
                break
            await asyncio.sleep(0.05)
        assert await quantity() == 5
    finally:
        await worker.stop()


async def test_a_rebuild_beside_a_running_projection_never_collides(own_dsn: str, tenant: str) -> None:
    """`pitline seed` rebuilds while a serving hub's worker projects the same tenant: both rewrite the same rows
    by delete-then-insert, so without the cursor lock both found nothing to delete and one hit the primary key."""
    import asyncio

    conns = [await connect(own_dsn) for _ in range(3)]
    try:
        for n in range(40):
            await write(conns[0], tenant, "inventory.movement", f"M{n}", movement("receipt", 1, at(8), 2,
                                                                                  item=f"I{n % 8}"))
        for _ in range(5):
            await conns[0].execute("DELETE FROM inventory.stock_on_hand WHERE tenant_id = $1", tenant)
            await conns[0].execute("DELETE FROM sync.projection_cursors WHERE tenant_id = $1", tenant)
            await asyncio.gather(rebuild(conns[0], tenant), rebuild(conns[1], tenant), project(conns[2], tenant))
        rows = await conns[0].fetch("SELECT quantity FROM inventory.stock_on_hand WHERE tenant_id = $1", tenant)
        assert sorted(r["quantity"] for r in rows) == [5] * 8
    finally:
        for c in conns:
            await c.close()


async def test_advancing_a_stock_row_equals_re_valuing_its_ledger(db: asyncpg.Connection, tenant: str) -> None:
    """Rows whose new movements all came later advance from the stored row (O(new)); late and below-zero rows
    re-value the ledger. Either way each row equals a rebuild from the records."""
    import random
    from datetime import timedelta

    rnd = random.Random(5)
    t0, minute = datetime(2026, 6, 1, 6, tzinfo=UTC), 500
    for n in range(240):
        minute += rnd.randint(1, 5)
        late = rnd.random() < 0.1  # typed offline, arriving after later rows
        when = (t0 + timedelta(minutes=minute - (rnd.randint(100, 400) if late else 0))).isoformat()
        kind = rnd.choice(("receipt", "receipt", "issue"))
        await write(db, tenant, "inventory.movement", f"M{n}", movement(
            kind, rnd.randint(1, 4), when, float(rnd.randint(1, 9)) if kind == "receipt" else None, item=f"I{n % 3}"))
        if n % 7 == 0:
            await project(db, tenant)
    await project(db, tenant)
    advanced = {r["item_id"]: dict(r) for r in await db.fetch(
        "SELECT * FROM inventory.stock_on_hand WHERE tenant_id = $1", tenant)}
    await rebuild(db, tenant)
    rebuilt = {r["item_id"]: dict(r) for r in await db.fetch(
        "SELECT * FROM inventory.stock_on_hand WHERE tenant_id = $1", tenant)}
    assert advanced == rebuilt and len(rebuilt) == 3


async def test_a_later_movement_advances_the_row_without_re_reading_the_ledger(db: asyncpg.Connection,
                                                                              tenant: str) -> None:
    await write(db, tenant, "inventory.movement", "M1", movement("receipt", 4, at(8), 2))
    await write(db, tenant, "inventory.movement", "M2", movement("receipt", 6, at(9), 3))
    await project(db, tenant)
    # Take M2 out of the records behind the projection's back: only a re-read of the ledger would notice.
    await db.execute("DELETE FROM sync.records WHERE tenant_id = $1 AND entity_id = 'M2'", tenant)
    await write(db, tenant, "inventory.movement", "M3", movement("issue", 1, at(10)))
    await project(db, tenant)
    assert (await stock(db, tenant))["quantity"] == 9  # advanced from the stored 10: M3 alone was read
    await write(db, tenant, "inventory.movement", "M4", movement("issue", 1, at(7)))  # late: re-values the ledger
    await project(db, tenant)
    assert (await stock(db, tenant))["quantity"] == 2  # M1 4, M3 -1, M4 -1 (M2 is gone from the records)
