"""Stock postings under contention and through the conflict paths, against a real hub and PostgreSQL: devices
pushing to the same store×item at the same moment never double-count a position or an entry; a period closed
while pushes are posting leaves every movement posted once, none of them in the closed month after the close; a
receipt the hub refused (consume-once) posts only when a person books it, and once."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from shared.ids import new_ulid
from tests.e2e.test_finance_ledger import replay
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient, person_client
from tests.hub.test_consume_once import records
from tests.hub.test_finance_posting import balances, lines, movement, setup_po, stock_value
from tests.hub.test_push import db_fetch, make_device


def race(devices: list[DeviceClient], batches: dict[str, list[list[dict[str, Any]]]]) -> dict[str, list[str]]:
    """Each device pushes its batches one after another, all devices at once; the statuses per device."""
    start = threading.Barrier(len(devices))
    statuses: dict[str, list[str]] = {d.device_id: [] for d in devices}
    errors: list[BaseException] = []

    def run(dev: DeviceClient) -> None:
        try:
            start.wait()
            for batch in batches[dev.device_id]:
                statuses[dev.device_id] += [o["status"] for o in dev.push_ok(batch)]
        except BaseException as exc:  # reported on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return statuses


def entries_per_movement(hub: HubProcess, tenant: str) -> Counter[str]:
    rows = db_fetch(hub.dsn, "SELECT key FROM finance.journal_entries WHERE tenant_id = $1", tenant)
    return Counter(r["key"].split(":", 1)[1] for r in rows)


def test_devices_pushing_the_same_items_at_once_never_double_count(live_hub: HubProcess) -> None:
    tenant = f"t-glf-{new_ulid()[-6:].lower()}"
    hq = make_device(live_hub, tenant, "s1", "hq")
    setup_po(hq)
    devices = [make_device(live_hub, tenant, "s1", f"desk-{n}") for n in "abc"]
    rnd = random.Random(7)
    batches: dict[str, list[list[dict[str, Any]]]] = {}
    for dev in devices:
        batches[dev.device_id] = []
        for _ in range(12):
            batch = []
            for _ in range(rnd.randint(1, 6)):
                if rnd.random() < 0.45:
                    batch.append(movement(dev, "receipt", rnd.randint(1, 4), unit_cost=rnd.choice([2.5, 3.1, 4.45])))
                else:
                    batch.append(movement(dev, "issue", rnd.randint(1, 3), cost_centre="CC"))
            batches[dev.device_id].append(batch)
    statuses = race(devices, batches)
    assert all(set(s) == {"applied"} for s in statuses.values()), statuses
    # Every batch again, all devices at once: answered from the ledger of outcomes, nothing posted again.
    before = balances(live_hub, tenant)
    again = race(devices, batches)
    assert all(set(s) == {"duplicate"} for s in again.values()), again
    assert balances(live_hub, tenant) == before

    moved = records(live_hub, tenant, "inventory.movement")
    per = entries_per_movement(live_hub, tenant)
    assert set(per.values()) <= {1} and set(per) <= set(moved)  # one entry per movement at most
    [stock] = records(live_hub, tenant, "inventory.stock").values()
    on_hand = sum(Decimal(str(m["quantity"])) * (1 if m["kind"] == "receipt" else -1) for m in moved.values())
    assert Decimal(str(stock["on_hand"])) == on_hand
    assert before["1400"] == stock_value(live_hub, tenant)
    # The same movements folded serially, in the order the hub applied them, give the same ledger to the cent.
    expected = replay(live_hub, tenant)
    got = lines(live_hub, tenant)
    assert {e.key: [(ln.account, f"{ln.debit:.2f}", f"{ln.credit:.2f}") for ln in e.lines] for e in expected} == {
        k: [(a, d, c) for a, d, c, _ in v] for k, v in got.items()}


def test_a_period_closed_while_pushes_post_leaves_every_movement_posted_once(live_hub: HubProcess) -> None:
    tenant = f"t-glf-{new_ulid()[-6:].lower()}"
    devices = [make_device(live_hub, tenant, "s1", f"desk-{n}") for n in "ab"]
    fin = person_client(live_hub.url, live_hub.dsn, tenant, roles=("finance",), user_id="fin")
    batches = {d.device_id: [[movement(d, "receipt", 2, unit_cost=3, occurred_at="2026-06-30T10:00:00+00:00"),
                              movement(d, "issue", 1, cost_centre="CC", occurred_at="2026-06-30T11:00:00+00:00")]
                             for _ in range(15)] for d in devices}
    closer = threading.Thread(target=lambda: fin.post("/v1/finance/periods/2026-06/close"))
    closer.start()
    statuses = race(devices, batches)
    closer.join(60)
    assert all(set(s) == {"applied"} for s in statuses.values()), statuses
    assert fin.get("/v1/finance/periods").json()["closed"][0]["period"] == "2026-06"
    per = entries_per_movement(live_hub, tenant)
    assert len(per) == 60 and set(per.values()) == {1}
    dates = db_fetch(live_hub.dsn, "SELECT posting_date, count(*) AS n FROM finance.journal_entries WHERE "
                                   "tenant_id = $1 GROUP BY posting_date", tenant)
    assert {r["posting_date"] for r in dates} <= {date(2026, 6, 30), date(2026, 7, 1)}
    assert balances(live_hub, tenant)["1400"] == stock_value(live_hub, tenant) == Decimal("90.00")
    # After the close nothing more lands in June: a late June movement posts on 1 July.
    late = new_ulid()
    devices[0].push_ok([movement(devices[0], "receipt", 1, movement_id=late, unit_cost=3,
                                 occurred_at="2026-06-30T23:00:00+00:00")])
    [row] = db_fetch(live_hub.dsn, "SELECT posting_date FROM finance.journal_entries WHERE tenant_id = $1 AND "
                                   "key = $2", tenant, f"goods_receipt:{late}")
    assert row["posting_date"] == date(2026, 7, 1)


def test_a_refused_receipt_posts_only_when_a_person_books_it_and_once(live_hub: HubProcess) -> None:
    tenant = f"t-glf-{new_ulid()[-6:].lower()}"
    hq, a, b = (make_device(live_hub, tenant, "s1", n) for n in ("hq", "desk-a", "desk-b"))
    setup_po(hq)  # line 1: 10 at 12.50
    first, second = new_ulid(), new_ulid()
    assert a.push_ok([movement(a, "receipt", 10, movement_id=first, po_id="PO1", po_line_id="1")])[0][
        "status"] == "applied"
    [refused] = b.push_ok([movement(b, "receipt", 10, movement_id=second, po_id="PO1", po_line_id="1")])
    assert (refused["status"], refused["code"]) == ("conflict", "consumed_once")
    assert f"goods_receipt:{second}" not in lines(live_hub, tenant)  # not booked: nothing posted
    buyer = person_client(live_hub.url, live_hub.dsn, tenant)
    r = buyer.post(f"/v1/conflicts/{refused['conflict_id']}/resolve", json={"choice": "client"})
    assert r.status_code == 200, r.text
    assert lines(live_hub, tenant)[f"goods_receipt:{second}"] == [
        ("1400", "125.00", "0.00", {"site": "s1"}), ("2150", "0.00", "125.00", {"site": "s1"})]
    assert buyer.post(f"/v1/conflicts/{refused['conflict_id']}/resolve", json={"choice": "client"}).status_code == 409
    assert balances(live_hub, tenant)["1400"] == Decimal("250.00") == stock_value(live_hub, tenant)


def test_a_push_that_loses_a_deadlock_is_retried_whole_and_posts_once(live_hub: HubProcess) -> None:
    """Another transaction holds the stock balance the push needs and then asks for the device cursor the push
    holds: PostgreSQL aborts the push (the other side waits longer before it checks), the hub retries it whole,
    and the retry posts the issue once, its first attempt's entries gone with its transaction."""
    import asyncio

    import asyncpg

    from hub.db import connect
    from pitline.harness import run_sync

    tenant = f"t-glf-{new_ulid()[-6:].lower()}"
    dev = make_device(live_hub, tenant, "s1", "desk-a")
    dev.push_ok([movement(dev, "receipt", 10, unit_cost=2)])  # the balance MAIN:FILTER now exists
    holding, seen = threading.Event(), {}

    async def other_side() -> None:
        conn = await connect(live_hub.dsn)
        try:
            tx = conn.transaction()
            await tx.start()
            await conn.execute("SET LOCAL deadlock_timeout = '30s'")  # the push's side detects the cycle first
            await conn.execute("SELECT 1 FROM sync.records WHERE tenant_id = $1 AND entity = 'inventory.stock' "
                               "AND entity_id = 'MAIN:FILTER' FOR UPDATE", tenant)
            holding.set()
            await asyncio.sleep(0.7)  # the push now holds its cursor row and waits for the balance
            started = time.monotonic()
            try:
                await conn.execute("SELECT 1 FROM sync.device_cursors WHERE tenant_id = $1 AND device_id = $2 "
                                   "FOR UPDATE", tenant, dev.device_id)
                # Granted after a wait: the push held it and let go without committing (it needs the balance
                # this side holds), so it was aborted.
                seen["cursor"] = time.monotonic() - started > 0.1
            except asyncpg.DeadlockDetectedError:
                seen["cursor"] = False
            await tx.rollback()
        finally:
            await conn.close()

    side = threading.Thread(target=lambda: run_sync(other_side()))
    side.start()
    assert holding.wait(10)
    issue = new_ulid()
    out = dev.push_ok([movement(dev, "issue", 3, movement_id=issue, cost_centre="CC")])
    side.join(60)
    assert seen == {"cursor": True}, seen
    assert out[0]["status"] == "applied", out
    assert entries_per_movement(live_hub, tenant)[issue] == 1
    assert lines(live_hub, tenant)[f"goods_issue:{issue}"][1][2] == "6.00"  # 3 of 10 at 2.00
    assert balances(live_hub, tenant)["1400"] == Decimal("14.00") == stock_value(live_hub, tenant)


def test_booking_a_refused_receipt_that_cannot_be_posted_books_nothing(live_hub: HubProcess) -> None:
    """The person's 'book it after all' runs the poster too: when the ledger refuses, the answer says why and
    neither the receipt, its stock nor any entry is booked (through the API and through a device's resolution)."""
    tenant = f"t-glf-{new_ulid()[-6:].lower()}"
    hq, a, b = (make_device(live_hub, tenant, "s1", n) for n in ("hq", "desk-a", "desk-b"))
    setup_po(hq)
    a.push_ok([movement(a, "receipt", 10, po_id="PO1", po_line_id="1")])
    [refused] = b.push_ok([movement(b, "receipt", 10, po_id="PO1", po_line_id="1")])
    assert refused["status"] == "conflict"
    # Finance now lists the sites the ledger knows, and s1 is not among them.
    assert hq.push_ok([hq.mutation("finance.dimension_value", "site:s9", "create",
                                   {"dimension": "site", "value": "s9"})])[0]["status"] == "applied"
    buyer = person_client(live_hub.url, live_hub.dsn, tenant)
    r = buyer.post(f"/v1/conflicts/{refused['conflict_id']}/resolve", json={"choice": "client"})
    assert r.status_code == 409 and "site 's1' is not a known site" in r.json()["message"], r.text
    [out] = hq.push_ok([hq.mutation("sync.conflict_resolution", new_ulid(), "create",
                                    {"conflict_id": refused["conflict_id"], "choice": "client"})])
    assert (out["status"], out["code"]) == ("rejected", "conflict_not_resolvable")
    assert "cannot be booked: site 's1' is not a known site" in out["message"]
    [stock] = records(live_hub, tenant, "inventory.stock").values()
    assert stock["on_hand"] == 10 and stock["value_cents"] == 12500
    assert records(live_hub, tenant, "sync.conflict")[refused["conflict_id"]]["status"] == "open"  # still a person's
    assert len(lines(live_hub, tenant)) == 1
