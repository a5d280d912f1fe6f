"""Consume-once documents are decided by the hub (D27), against a real hub and PostgreSQL: a transfer or a PO
line received at two offline offices moves stock once; the second receipt is a conflict a person sees, with
the rows that belong to it, however the pushes are split, raced or repeated."""

from __future__ import annotations

import threading
from typing import Any

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient, person_client
from tests.hub.test_push import db_fetch, make_device

WHEN = "2026-07-01T08:00:00+00:00"


def records(hub: HubProcess, tenant: str, entity: str) -> dict[str, dict[str, Any]]:
    rows = db_fetch(hub.dsn, "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 "
                             "AND NOT deleted", tenant, entity)
    return {r["entity_id"]: r["data"] for r in rows}


def stock(hub: HubProcess, tenant: str, key: str) -> float | None:
    found = records(hub, tenant, "inventory.stock").get(key)
    return None if found is None else float(found["on_hand"])


def shipped_transfer(hq: DeviceClient, transfer_id: str, qty: float) -> None:
    out = hq.push_ok([
        hq.mutation("inventory.movement", new_ulid(), "create", {
            "kind": "receipt", "store_id": "MAIN", "item_id": "BELT", "quantity": 20, "unit_cost": 3,
            "occurred_at": "2026-07-01T06:00:00+00:00"}),
        hq.mutation("inventory.movement", new_ulid(), "create", {
            "kind": "transfer_out", "store_id": "MAIN", "item_id": "BELT", "quantity": qty, "unit_cost": 3,
            "transfer_id": transfer_id, "to_store_id": "WS", "occurred_at": "2026-07-01T07:00:00+00:00"}),
    ])
    assert [o["status"] for o in out] == ["applied", "applied"], out


def transfer_in(dev: DeviceClient, transfer_id: str, qty: float, *, short_by: float = 0) -> list[dict[str, Any]]:
    """What the desktop's transfer receipt writes: the transfer_in of everything in transit and, when short, a
    count adjustment that names it."""
    receipt_id = new_ulid()
    rows = [dev.mutation("inventory.movement", receipt_id, "create", {
        "kind": "transfer_in", "store_id": "WS", "item_id": "BELT", "quantity": qty, "unit_cost": 3,
        "transfer_id": transfer_id, "occurred_at": WHEN})]
    if short_by:
        rows.append(dev.mutation("inventory.movement", new_ulid(), "create", {
            "kind": "count_adjustment", "store_id": "WS", "item_id": "BELT", "quantity": -short_by,
            "transfer_id": transfer_id, "transfer_in_id": receipt_id, "occurred_at": WHEN, "note": "broken"}))
    return rows


def test_a_transfer_received_at_two_offices_moves_stock_once(live_hub: HubProcess) -> None:
    tenant = f"t-once-{new_ulid()[-6:].lower()}"
    hq, a, b = (make_device(live_hub, tenant, "s1", name) for name in ("hq", "desk-a", "desk-b"))
    shipped_transfer(hq, "T1", 6)
    # Both offices receive the transfer offline (b one short, with its reason) and come back at the same moment.
    batches = {"desk-a": transfer_in(a, "T1", 6), "desk-b": transfer_in(b, "T1", 6, short_by=1)}
    start = threading.Barrier(2)
    answers: dict[str, list[dict[str, Any]]] = {}

    def push(dev: DeviceClient) -> None:
        start.wait()
        answers[dev.device_id] = dev.push_ok(batches[dev.device_id])

    threads = [threading.Thread(target=push, args=(dev,)) for dev in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    statuses = {name: [o["status"] for o in out] for name, out in answers.items()}
    winner = "desk-a" if statuses["desk-a"] == ["applied"] else "desk-b"
    loser = "desk-b" if winner == "desk-a" else "desk-a"
    assert set(statuses[loser]) == {"conflict"}, statuses
    refused = answers[loser][0]
    assert refused["code"] == "consumed_once" and "already received" in refused["message"]
    assert stock(live_hub, tenant, "WS:BELT") == (6 if winner == "desk-a" else 5)  # never 12 (or 11)
    assert stock(live_hub, tenant, "MAIN:BELT") == 14
    movements = records(live_hub, tenant, "inventory.movement")
    assert sum(1 for m in movements.values() if m["kind"] == "transfer_in") == 1

    # The second receipt waits for a person, with what the hub had booked and every row that belonged to it.
    conflict = records(live_hub, tenant, "sync.conflict")[refused["conflict_id"]]
    assert (conflict["status"], conflict["needs_person"], conflict["kind"]) == ("open", True, "consume_once")
    assert conflict["server_data"]["received"] == 6 and len(conflict["dependents"]) == len(batches[loser]) - 1

    # Repeats answer the original outcome and change nothing.
    dev = a if loser == "desk-a" else b
    again = dev.push_ok(batches[loser])
    assert {o["status"] for o in again} == {"duplicate"} and again[0]["original"]["conflict_id"] == refused[
        "conflict_id"]
    # A transfer cannot be booked twice, even by a person: extra goods are a stock count.
    person = person_client(live_hub.url, live_hub.dsn, tenant)
    r = person.post(f"/v1/conflicts/{refused['conflict_id']}/resolve", json={"choice": "client"})
    assert r.status_code == 409 and "stock count" in r.text
    r = person.post(f"/v1/conflicts/{refused['conflict_id']}/resolve", json={"choice": "server"})
    assert r.status_code == 200, r.text
    assert stock(live_hub, tenant, "WS:BELT") == (6 if winner == "desk-a" else 5)


def po_receipt(dev: DeviceClient, line: str, qty: float) -> list[dict[str, Any]]:
    movement_id = new_ulid()
    return [
        dev.mutation("inventory.movement", movement_id, "create", {
            "kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": qty, "unit_cost": 5,
            "po_id": "PO1", "po_line_id": line, "occurred_at": WHEN}),
        dev.mutation("procurement.goods_receipt", new_ulid(), "create", {
            "po_id": "PO1", "line_id": line, "item_id": "FILTER", "store_id": "MAIN", "quantity": qty,
            "unit_price": 5, "received_at": WHEN, "movement_id": movement_id}),
    ]


def test_a_po_line_received_in_full_at_two_offices_is_booked_once_and_a_person_may_accept_the_extra(
        live_hub: HubProcess) -> None:
    tenant = f"t-once-{new_ulid()[-6:].lower()}"
    hq, a, b = (make_device(live_hub, tenant, "s1", name) for name in ("hq", "desk-a", "desk-b"))
    hq.push_ok([hq.mutation("procurement.purchase_order", "PO1", "create", {
        "vendor_id": "V1", "total": 50, "lines": [
            {"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 5}]})])
    first = a.push_ok(po_receipt(a, "1", 10))
    assert [o["status"] for o in first] == ["applied", "applied"]
    # b's rows arrive split across two pushes: the goods receipt still follows its refused movement.
    second = po_receipt(b, "1", 10)
    [movement] = b.push_ok(second[:1])
    [receipt] = b.push_ok(second[1:])
    assert (movement["status"], movement["code"]) == ("conflict", "consumed_once")
    assert (receipt["status"], receipt["code"], receipt["conflict_id"]) == (
        "conflict", "follows_refused", movement["conflict_id"])
    assert "makes 20 against 10 ordered" in movement["message"]
    assert stock(live_hub, tenant, "MAIN:FILTER") == 10
    assert len(records(live_hub, tenant, "procurement.goods_receipt")) == 1

    # The buyer decides the extra ten really arrived: both rows are booked, once, and stock follows.
    buyer = person_client(live_hub.url, live_hub.dsn, tenant)
    r = buyer.post(f"/v1/conflicts/{movement['conflict_id']}/resolve", json={"choice": "client"})
    assert r.status_code == 200, r.text
    assert stock(live_hub, tenant, "MAIN:FILTER") == 20
    assert len(records(live_hub, tenant, "procurement.goods_receipt")) == 2
    r = buyer.post(f"/v1/conflicts/{movement['conflict_id']}/resolve", json={"choice": "client"})
    assert r.status_code == 409  # resolved once
    assert stock(live_hub, tenant, "MAIN:FILTER") == 20


def test_a_partial_receipt_within_the_order_is_booked_and_the_next_one_past_it_is_not(
        live_hub: HubProcess) -> None:
    tenant = f"t-once-{new_ulid()[-6:].lower()}"
    hq, a = make_device(live_hub, tenant, "s1", "hq"), make_device(live_hub, tenant, "s1", "desk-a")
    hq.push_ok([hq.mutation("procurement.purchase_order", "PO1", "create", {
        "vendor_id": "V1", "total": 50, "lines": [
            {"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 5}]})])
    # One push: 4 + 6 fill the line (the batch's own rows count), 1 more does not.
    out = a.push_ok([*po_receipt(a, "1", 4), *po_receipt(a, "1", 6), *po_receipt(a, "1", 1)])
    assert [o["status"] for o in out] == ["applied"] * 4 + ["conflict"] * 2
    assert stock(live_hub, tenant, "MAIN:FILTER") == 10


def test_a_requisition_converted_at_two_offices_orders_once(live_hub: HubProcess) -> None:
    tenant = f"t-once-{new_ulid()[-6:].lower()}"
    a, b = make_device(live_hub, tenant, "s1", "desk-a"), make_device(live_hub, tenant, "s1", "desk-b")
    lines = [{"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 5}]

    def convert(dev: DeviceClient) -> list[dict[str, Any]]:
        po_id = new_ulid()
        return [dev.mutation("procurement.purchase_order", po_id, "create", {
                    "vendor_id": "V1", "requisition_id": "REQ1", "lines": lines, "total": 50}),
                dev.mutation("approvals.request", new_ulid(), "create", {
                    "document_type": "procurement.purchase_order", "document_id": po_id, "amount": 50,
                    "requested_by": "buyer"})]

    assert [o["status"] for o in a.push_ok(convert(a))] == ["applied", "applied"]
    out = b.push_ok(convert(b))
    assert [(o["status"], o["code"]) for o in out] == [("conflict", "consumed_once"), ("conflict", "follows_refused")]
    assert "already converted" in out[0]["message"]
    assert len(records(live_hub, tenant, "procurement.purchase_order")) == 1
    assert len(records(live_hub, tenant, "approvals.request")) == 1


def test_a_device_never_writes_the_stock_balance_the_hub_keeps(live_hub: HubProcess) -> None:
    tenant = f"t-once-{new_ulid()[-6:].lower()}"
    a = make_device(live_hub, tenant, "s1", "desk-a")
    [out] = a.push_ok([a.mutation("inventory.stock", "MAIN:FILTER", "adjust", {"on_hand": 5})])
    assert (out["status"], out["code"]) == ("rejected", "validation_failed") and "kept by the hub" in out["message"]
    [bad] = a.push_ok([a.mutation("inventory.movement", new_ulid(), "create", {
        "kind": "issue", "store_id": "MAIN", "item_id": "FILTER", "quantity": -3, "occurred_at": WHEN})])
    assert bad["status"] == "rejected" and "positive quantity" in bad["message"]
    assert stock(live_hub, tenant, "MAIN:FILTER") is None


def test_a_device_re_creating_its_own_movement_replaces_it_in_the_balance(live_hub: HubProcess) -> None:
    """A re-create by the same device (a store restored, a form saved again under the same id) replaces its row;
    the balance the hub keeps must move by the difference, never by both."""
    tenant = f"t-once-{new_ulid()[-6:].lower()}"
    a = make_device(live_hub, tenant, "s1", "desk-a")
    row = {"kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 500, "unit_cost": 4,
           "occurred_at": WHEN}
    a.push_ok([a.mutation("inventory.movement", "OPEN-1", "create", row)])
    [again] = a.push_ok([a.mutation("inventory.movement", "OPEN-1", "create", {**row, "quantity": 480})])
    assert again["status"] == "applied"
    assert stock(live_hub, tenant, "MAIN:FILTER") == 480
