"""In transit (transfers out with no matching transfer in), receiving a transfer with or without a
shortage, and the reorder rule over a replica's records (raising twice raises nothing new)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.domain.inventory import Movement, MovementError, on_hand, transfer_pair, transfer_receipt
from shared.domain.ops_views import (
    in_transit_lines,
    on_order,
    reorder_requisition_id,
    reorder_requisitions,
    transfer_lines,
)
from shared.domain.procurement import RequisitionLine

AT = "2026-07-01T06:00:00+00:00"


def out(tid: str, qty: int, *, item: str = "FILTER", src: str = "MAIN", dst: str = "PIT2") -> dict[str, Any]:
    return transfer_pair(transfer_id=tid, item_id=item, from_store=src, to_store=dst, quantity=Decimal(qty),
                         unit_cost=Decimal("12.5"), shipped_at=AT)


def book_in(tid: str, qty: int, *, item: str = "FILTER", dst: str = "PIT2") -> dict[str, Any]:
    return {"kind": "transfer_in", "store_id": dst, "item_id": item, "quantity": qty, "unit_cost": 12.5,
            "transfer_id": tid, "occurred_at": AT}


def test_a_transfer_out_without_its_transfer_in_is_in_transit() -> None:
    rows = [("m1", out("T1", 5)), ("m2", out("T2", 3, item="HOSE")), ("m3", book_in("T2", 3, item="HOSE"))]
    [line] = in_transit_lines(rows)
    assert (line.transfer_id, line.item_id, line.from_store, line.to_store) == ("T1", "FILTER", "MAIN", "PIT2")
    assert line.shipped == 5 and line.received == 0 and line.in_transit == 5 and line.unit_cost == Decimal("12.5")
    assert [t.transfer_id for t in transfer_lines(rows)] == ["T1", "T2"]


def test_the_in_transit_list_does_not_depend_on_arrival_order_or_pending_marks() -> None:
    rows = [("m3", book_in("T1", 2)), ("m1", out("T1", 5)), ("x", {"kind": "issue", "store_id": "MAIN"})]
    [line] = in_transit_lines(rows, pending_ids={"m3"})
    assert line.in_transit == 3 and line.pending
    assert not in_transit_lines([*reversed(rows), ("m4", book_in("T1", 3))])


def test_a_transfer_in_without_its_shipping_row_is_not_listed_yet() -> None:
    assert transfer_lines([("m3", book_in("T9", 2))]) == []


def test_over_receipt_leaves_nothing_in_transit() -> None:
    assert not in_transit_lines([("m1", out("T1", 2)), ("m2", book_in("T1", 3))])


def test_receiving_in_full_closes_the_transfer_and_moves_the_stock() -> None:
    rows = transfer_receipt(transfer_id="T1", item_id="FILTER", to_store="PIT2", outstanding=Decimal(5),
                            unit_cost=Decimal("12.5"), received=Decimal(5), received_at=AT)
    assert len(rows) == 1 and rows[0]["kind"] == "transfer_in" and rows[0]["unit_cost"] == 12.5
    ledger = [("m0", {"kind": "receipt", "store_id": "MAIN", "item_id": "FILTER", "quantity": 8, "occurred_at": AT}),
              ("m1", out("T1", 5)), ("m2", rows[0])]
    assert not in_transit_lines(ledger)
    balances = on_hand(Movement.from_payload(i, p) for i, p in ledger)
    assert balances == {("MAIN", "FILTER"): 3, ("PIT2", "FILTER"): 5}


def test_a_short_receipt_closes_the_transfer_and_books_the_loss_with_its_reason() -> None:
    with pytest.raises(MovementError) as no_reason:
        transfer_receipt(transfer_id="T1", item_id="FILTER", to_store="PIT2", outstanding=Decimal(5),
                         unit_cost=Decimal(1), received=Decimal(4), received_at=AT)
    assert "note" in no_reason.value.field_errors
    rows = transfer_receipt(transfer_id="T1", item_id="FILTER", to_store="PIT2", outstanding=Decimal(5),
                            unit_cost=Decimal(1), received=Decimal(4), received_at=AT, reason="one crushed")
    assert [r["kind"] for r in rows] == ["transfer_in", "count_adjustment"]
    assert rows[1]["quantity"] == -1 and "one crushed" in str(rows[1]["note"])
    ledger = [("m1", out("T1", 5)), ("m2", rows[0]), ("m3", rows[1])]
    assert not in_transit_lines(ledger)
    assert on_hand(Movement.from_payload(i, p) for i, p in ledger)[("PIT2", "FILTER")] == 4


@pytest.mark.parametrize(("outstanding", "received", "field"), [(5, 6, "quantity"), (5, -1, "quantity"),
                                                                (0, 0, "quantity")])
def test_a_receipt_the_transfer_cannot_take_is_refused(outstanding: int, received: int, field: str) -> None:
    with pytest.raises(MovementError) as refused:
        transfer_receipt(transfer_id="T1", item_id="FILTER", to_store="PIT2", outstanding=Decimal(outstanding),
                         unit_cost=Decimal(1), received=Decimal(received), received_at=AT, reason="x")
    assert field in refused.value.field_errors


def test_all_lost_books_nothing_on_the_shelf() -> None:
    rows = transfer_receipt(transfer_id="T1", item_id="FILTER", to_store="PIT2", outstanding=Decimal(2),
                            unit_cost=Decimal(1), received=Decimal(0), received_at=AT, reason="fell off the truck")
    assert sum(Movement.from_payload(str(n), r).delta for n, r in enumerate(rows)) == 0


# --- reorder ---------------------------------------------------------------------------------------
ITEMS = [("FILTER", {"code": "FILTER", "reorder_point": 10, "max_qty": 30, "preferred_vendor_id": "V1"}),
         ("HOSE", {"code": "HOSE", "reorder_point": 2}),
         ("BOLT", {"code": "BOLT"}),  # no reorder point: never raised
         ("OLD", {"code": "OLD", "reorder_point": 5, "active": False})]


def receipt(item: str, qty: int, store: str = "MAIN") -> tuple[str, dict[str, Any]]:
    return (f"r-{item}-{store}", {"kind": "receipt", "store_id": store, "item_id": item, "quantity": qty,
                                  "unit_cost": 1, "occurred_at": AT})


def test_reorder_raises_what_is_at_or_below_its_point_up_to_the_maximum() -> None:
    ledger = [receipt("FILTER", 4), receipt("HOSE", 3), receipt("BOLT", 0 + 1)]
    lines = reorder_requisitions(ITEMS, ledger, [], [], [])
    assert [(ln.store_id, ln.item_id, ln.quantity, ln.vendor_id) for ln in lines] == [
        ("MAIN", "FILTER", Decimal(26), "V1")]
    more = reorder_requisitions(ITEMS, ledger, [], [], [], stores=["PIT2"])
    assert [(ln.store_id, ln.item_id, ln.quantity) for ln in more] == [
        ("MAIN", "FILTER", 26), ("PIT2", "FILTER", 30), ("PIT2", "HOSE", 2)]


ONE = ITEMS[:1]


def test_raising_twice_raises_nothing_new_and_ordered_requisitions_count_through_their_po() -> None:
    ledger = [receipt("FILTER", 4)]  # HOSE is another test's
    [line] = reorder_requisitions(ONE, ledger, [], [], [])
    req = ("REQ1", {"status": "submitted", "lines": [{"item_id": "FILTER", "store_id": "MAIN",
                                                      "quantity": float(line.quantity)}]})
    assert reorder_requisitions(ONE, ledger, [req], [], []) == []
    ordered = ("REQ1", {**req[1], "status": "ordered"})
    po = ("PO1", {"vendor_id": "V1", "approval": "submitted", "lines": [
        {"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 26, "unit_price": 5}]})
    assert reorder_requisitions(ONE, ledger, [ordered], [po], []) == []
    # half of it arrived: the receipt is on the shelf and the rest still on order
    arrived = [("g1", {"po_id": "PO1", "line_id": "1", "quantity": 13})]
    assert on_order([ordered], [po], arrived) == {("MAIN", "FILTER"): 13}
    assert reorder_requisitions(ONE, [*ledger, ("g1-m", receipt("FILTER", 13)[1])], [ordered], [po], arrived) == []
    # a rejected PO or a cancelled requisition orders nothing: the rule raises again
    rejected = ("PO1", {**po[1], "approval": "rejected"})
    assert len(reorder_requisitions(ONE, ledger, [ordered], [rejected], [])) == 1
    cancelled = ("REQ1", {**req[1], "status": "cancelled"})
    assert len(reorder_requisitions(ONE, ledger, [cancelled], [], [])) == 1


def test_the_reorder_requisition_id_is_the_same_at_every_office_and_moves_on_once_one_is_known() -> None:
    line = RequisitionLine("FILTER", "MAIN", Decimal(26))
    first = reorder_requisition_id(line, [])
    assert first == reorder_requisition_id(RequisitionLine("FILTER", "MAIN", Decimal(3)), [])  # quantity aside
    assert first != reorder_requisition_id(RequisitionLine("FILTER", "PIT2", Decimal(26)), [])
    manual = ("r-manual", {"source": "manual", "status": "received",
                           "lines": [{"item_id": "FILTER", "store_id": "MAIN", "quantity": 5}]})
    assert reorder_requisition_id(line, [manual]) == first  # only the rule's own raises count
    closed = (first, {"source": "reorder", "status": "received",
                      "lines": [{"item_id": "FILTER", "store_id": "MAIN", "quantity": 26}]})
    second = reorder_requisition_id(line, [manual, closed])
    assert second not in (first, reorder_requisition_id(RequisitionLine("HOSE", "MAIN", Decimal(1)), [closed]))
