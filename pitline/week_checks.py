"""The checks at the end of the offline week: what an operator would verify, against the hub's database.

Each check returns rows for the report table and whether it passed; nothing here trusts the hub's own
counters: expectations come from the stores (what devices numbered) and from `week_work.Expected`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from pitline.harness import run_sync
from pitline.week_work import Expected, Office
from shared.store import KeyProvider, LocalStore


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Device:
    """Any device whose store the checks read: an office or a gateway."""

    name: str
    site: str
    path: Any
    key: KeyProvider


async def _fetch(dsn: str, sql: str, *args: object) -> list[Any]:
    from hub.db import connect

    conn = await connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def fetch(dsn: str, sql: str, *args: object) -> list[Any]:
    return run_sync(_fetch(dsn, sql, *args))


def exactly_once(dsn: str, tenant: str, devices: Sequence[Device]) -> Check:
    """Per device: the hub's ledger holds seqs 1..N once each, N = what the device numbered."""
    rows = {r["device_id"]: r for r in fetch(dsn, """
        SELECT device_id, count(*) AS n, count(DISTINCT mutation_id) AS distinct_ids, max(device_seq) AS top
        FROM sync.applied_mutations WHERE tenant_id = $1 GROUP BY device_id""", tenant)}
    bad = []
    total = 0
    for dev in devices:
        store = LocalStore.open(dev.path, dev.key)
        try:
            numbered = store.mutations_numbered
            left = store.outbox_depth()
        finally:
            store.close()
        r = rows.get(dev.name)
        got = (r["n"], r["distinct_ids"], r["top"]) if r else (0, 0, None)
        total += numbered
        if got != (numbered, numbered, numbered or None) or left:
            bad.append(f"{dev.name}: numbered {numbered}, hub {got}, outbox {left}")
    return Check("every mutation applied exactly once", not bad,
                 "; ".join(bad) or f"{total:,} mutations from {len(devices)} devices, each once")


def nothing_rejected(devices: Sequence[Device]) -> Check:
    """No device holds a rejection: nothing anyone typed or measured was refused by the hub."""
    bad = []
    for dev in devices:
        store = LocalStore.open(dev.path, dev.key)
        try:
            rows = store.connection.execute("SELECT code, count(*) FROM rejections GROUP BY code").fetchall()
        finally:
            store.close()
        if rows:
            bad.append(f"{dev.name}: " + ", ".join(f"{n} {code}" for code, n in rows))
    return Check("nothing rejected", not bad, "; ".join(bad) or "no device holds a rejection")


def stock_and_hours(dsn: str, tenant: str, expected: Expected) -> list[Check]:
    records = fetch(dsn, "SELECT entity, entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 "
                         "AND NOT deleted AND entity = ANY($2)", tenant,
                    ["inventory.stock", "equipment.usage_log", "equipment.breakdown", "inventory.movement"])
    stock = {r["entity_id"]: Decimal(str(r["data"]["on_hand"])) for r in records if r["entity"] == "inventory.stock"}
    wrong = {k: (v, stock.get(k)) for k, v in expected.stock.items() if stock.get(k) != v}
    hours: dict[str, Decimal] = {}
    logs: dict[str, int] = {}
    breakdowns: dict[str, int] = {}
    movements: dict[str, int] = {}
    for r in records:
        data, site = r["data"], r["site_id"]
        if r["entity"] == "equipment.usage_log" and data.get("source") == "manual":
            hours[site] = hours.get(site, Decimal(0)) + Decimal(str(data["operating_hours"]))
            logs[site] = logs.get(site, 0) + 1
        elif r["entity"] == "equipment.breakdown" and data.get("source") == "manual":
            breakdowns[site] = breakdowns.get(site, 0) + 1
        elif r["entity"] == "inventory.movement":
            movements[site] = movements.get(site, 0) + 1
    want_hours = sum((Decimal(str(v)) for v in expected.hours.values()), Decimal(0))
    hours_ok = all(hours.get(s, Decimal(0)) == Decimal(str(v)) for s, v in expected.hours.items())
    return [
        Check("stock balances = serial replay", not wrong,
              f"{len(expected.stock)} bins exact" if not wrong else f"{len(wrong)} wrong: {list(wrong.items())[:3]}"),
        Check("stock ledger rows = movements typed", movements == dict(expected.movements),
              f"{sum(movements.values()):,} movements (expected {sum(expected.movements.values()):,})"),
        Check("logged hours = serial replay", hours_ok and logs == dict(expected.usage_logs),
              f"{sum(logs.values()):,} usage logs, {sum(hours.values()):,} operating hours "
              f"(expected {sum(expected.usage_logs.values()):,}, {want_hours:,})"),
        Check("breakdowns captured", breakdowns == dict(expected.breakdowns),
              f"{sum(breakdowns.values())} breakdowns"),
    ]


def second_receipts_held(dsn: str, tenant: str, expected: Expected) -> Check:
    """Each site's second booking of the same transfer and PO delivery waits for a person, with its goods receipt."""
    rows = fetch(dsn, "SELECT site_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'sync.conflict' "
                      "AND data->>'kind' = 'consume_once' AND data->>'status' = 'open'", tenant)
    held: dict[str, int] = {}
    followers = 0
    for r in rows:
        held[r["site_id"]] = held.get(r["site_id"], 0) + 1
        followers += len(r["data"].get("dependents") or [])
    want = dict(expected.held)
    return Check("a delivery booked at two offices counts once", held == want and followers == sum(want.values()) // 2,
                 f"{sum(held.values())} second receipts held for a person, {followers} goods receipts with them "
                 f"(expected {sum(want.values())}, {sum(want.values()) // 2})")


def read_models(dsn: str, tenant: str, expected: Expected) -> list[Check]:
    """The hub's read models (projected with the shared domain rules) agree with the serial replay."""
    from hub.db import connect
    from hub.projections import project

    async def run() -> tuple[list[Any], list[Any], list[Any]]:
        conn = await connect(dsn)
        try:
            await project(conn, tenant)
            return (list(await conn.fetch("SELECT * FROM inventory.stock_on_hand WHERE tenant_id = $1", tenant)),
                    list(await conn.fetch("SELECT * FROM approvals.request_status WHERE tenant_id = $1", tenant)),
                    list(await conn.fetch("SELECT * FROM procurement.po_status WHERE tenant_id = $1", tenant)))
        finally:
            await conn.close()

    stock, requests, pos = run_sync(run())
    on_hand = {f"{r['store_id']}:{r['item_id']}": Decimal(r["quantity"]) for r in stock}
    wrong = {k: (v, on_hand.get(k)) for k, v in expected.stock.items() if on_hand.get(k) != v}
    approved = {r["request_id"] for r in requests if r["status"] == "approved"} if requests else set()
    review = [r for r in pos if r["needs_review"]]
    return [
        Check("stock on hand (ledger read model) = serial replay", not wrong,
              f"{len(on_hand)} positions" if not wrong else f"{len(wrong)} wrong, e.g. {list(wrong.items())[:3]}"),
        Check("purchase orders approved offline", approved >= expected.approved_requests,
              f"{len(approved)} approved of {len(expected.approved_requests)}; {len(review)} POs need review"),
    ]


def replicas_equal_hub(dsn: str, tenant: str, devices: Sequence[Device]) -> Check:
    """Every store's replica equals the hub's records for what its site may see."""
    rows = fetch(dsn, "SELECT site_id, entity, entity_id, version, data FROM sync.records "
                      "WHERE tenant_id = $1 AND NOT deleted", tenant)
    bad = []
    for dev in devices:
        mine = {(r["entity"], r["entity_id"]): (r["version"], r["data"]) for r in rows
                if r["site_id"] in (dev.site, None)}
        store = LocalStore.open(dev.path, dev.key)
        try:
            local = {(e, i): (v, orjson.loads(s)) for e, i, v, s in store.connection.execute(
                "SELECT entity, entity_id, server_version, local_state FROM records WHERE deleted = 0")}
        finally:
            store.close()
        if local != mine:
            missing = len(mine.keys() - local.keys())
            extra = len(local.keys() - mine.keys())
            differ = sum(1 for k in mine.keys() & local.keys() if mine[k] != local[k])
            bad.append(f"{dev.name}: {missing} missing, {extra} extra, {differ} differ")
    return Check("every replica = hub for its site", not bad, "; ".join(bad) or f"{len(devices)} replicas equal")


def gateway_records(dsn: str, tenant: str, gateways: Sequence[Device]) -> Check:
    """Every shift a gateway derived from telemetry is a usage log at the hub, once; its breakdowns too."""
    rows = fetch(dsn, "SELECT site_id, entity, entity_id FROM sync.records WHERE tenant_id = $1 AND NOT deleted "
                      "AND entity IN ('equipment.usage_log', 'equipment.breakdown') "
                      "AND data->>'source' = 'telematics'", tenant)
    bad = []
    total = 0
    for gw in gateways:
        store = LocalStore.open(gw.path, gw.key)
        try:
            derived = {("equipment.usage_log", key.removeprefix("usage:")) for (key,) in store.connection.execute(
                "SELECT key FROM derived WHERE key LIKE 'usage:%'")}
            derived |= {(e, i) for e, i in store.connection.execute(
                "SELECT entity, entity_id FROM records WHERE entity = 'equipment.breakdown' AND deleted = 0 "
                "AND json_extract(local_state, '$.source') = 'telematics'")}
        finally:
            store.close()
        hub = {(r["entity"], r["entity_id"]) for r in rows if r["site_id"] == gw.site}
        total += len(hub)
        if derived != hub or not derived:
            odd = sorted(i for _e, i in derived ^ hub)[:3]
            bad.append(f"{gw.name}: {len(derived)} derived, {len(hub)} at hub (e.g. {', '.join(odd)})")
    return Check("gateway-derived hours and breakdowns at the hub", not bad,
                 "; ".join(bad) or f"{total:,} telematics usage logs and breakdowns from {len(gateways)} gateways")


def telemetry_at_hub(dsn: str, tenant: str, gateways: Sequence[Device]) -> Check:
    """Every sample each gateway stored reached the hub's telemetry store as its points, exactly once."""
    from shared.telemetry import TelemetrySample, sample_points

    at_hub = {r["site_id"]: r["n"] for r in fetch(
        dsn, "SELECT site_id, count(*) AS n FROM telemetry.samples WHERE tenant_id = $1 GROUP BY site_id", tenant)}
    bad = []
    samples = points = 0
    for gw in gateways:
        store = LocalStore.open(gw.path, gw.key)
        try:
            expected = 0
            for equipment_id, body in store.connection.execute("SELECT equipment_id, body FROM samples"):
                expected += len(sample_points(equipment_id, TelemetrySample.model_validate_json(body)))
                samples += 1
            unsent = store.connection.execute("SELECT count(*) FROM samples WHERE uplink_batch IS NULL").fetchone()[0]
        finally:
            store.close()
        points += expected
        if at_hub.get(gw.site, 0) != expected or unsent:
            bad.append(f"{gw.name}: {expected:,} points stored, {at_hub.get(gw.site, 0):,} at hub, {unsent} unsent")
    return Check("telemetry at the hub, once", not bad,
                 "; ".join(bad) or f"{samples:,} samples = {points:,} points from {len(gateways)} gateways")


def offices_as_devices(offices: Sequence[Office]) -> list[Device]:
    return [Device(o.name, o.site, o.path, o.key) for o in offices]
