"""Reorder → requisition lines, requisition → PO, receipts against PO lines, PO status derived."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.procurement import (
    PoLine,
    PoStatus,
    ProcurementError,
    Receipt,
    RequisitionLine,
    StockItem,
    check_receipt,
    po_lines_from_payload,
    po_progress,
    po_total,
    purchase_orders_from_requisition,
    reorder_lines,
)
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError


def item(i: str, rop: int, mx: int | None, vendor: str | None = "V1") -> StockItem:
    return StockItem(i, "S1", D(rop), None if mx is None else D(mx), preferred_vendor_id=vendor)


def test_items_at_or_below_the_reorder_point_are_ordered_up_to_max() -> None:
    items = [item("A", 10, 50), item("B", 10, 50), item("C", 10, 50)]
    lines = reorder_lines(items, {("S1", "A"): D(10), ("S1", "B"): D(3), ("S1", "C"): D(11)})
    assert [(ln.item_id, ln.quantity, ln.vendor_id) for ln in lines] == [("A", D(40), "V1"), ("B", D(47), "V1")]


def test_reorder_counts_what_is_already_on_order() -> None:
    items = [item("A", 10, 50)]
    assert reorder_lines(items, {("S1", "A"): D(2)}, {("S1", "A"): D(30)}) == []
    [line] = reorder_lines(items, {("S1", "A"): D(2)}, {("S1", "A"): D(5)})
    assert line.quantity == D(43)


def test_reorder_with_negative_stock_missing_stock_and_no_useful_max() -> None:
    lines = reorder_lines([item("A", 10, 50), item("B", 10, None), item("C", 10, 5)], {("S1", "A"): D(-4)})
    assert [(ln.item_id, ln.quantity) for ln in lines] == [("A", D(54)), ("B", D(10)), ("C", D(10))]


def test_reorder_point_zero_with_zero_stock_and_no_max_orders_nothing() -> None:
    assert reorder_lines([item("A", 0, None)], {}) == []


def test_requisition_to_purchase_orders_grouped_by_vendor_and_merged() -> None:
    lines = [
        RequisitionLine("A", "S1", D(5), "V1"),
        RequisitionLine("A", "S1", D(3), "V1"),
        RequisitionLine("B", "S1", D(2), "V2"),
        RequisitionLine("C", "S2", D(1)),
    ]
    pos = purchase_orders_from_requisition(lines, {"A": D("2.50"), "B": D(10), "C": D(1)}, default_vendor="V2")
    assert sorted(pos) == ["V1", "V2"]
    assert [(ln.item_id, ln.quantity, ln.amount) for ln in pos["V1"]] == [("A", D(8), D("20.00"))]
    assert [ln.item_id for ln in pos["V2"]] == ["B", "C"]
    assert po_total(pos["V2"]) == D("21.00")


def test_requisition_to_po_needs_prices_and_vendors() -> None:
    with pytest.raises(ProcurementError, match="no price for A"):
        purchase_orders_from_requisition([RequisitionLine("A", "S1", D(1), "V1")], {})
    with pytest.raises(ProcurementError, match="no vendor"):
        purchase_orders_from_requisition([RequisitionLine("A", "S1", D(1))], {"A": D(1)})


LINE = PoLine("1", "A", "S1", D(10), D(5))


def test_receipts_exact_partial_and_over() -> None:
    assert check_receipt(LINE, D(0), D(4)).accepted
    assert check_receipt(LINE, D(4), D(6)) == check_receipt(LINE, D(0), D(10))
    within = check_receipt(LINE, D(8), D(3), over_tolerance_pct=D(10))
    assert (within.accepted, within.over_receipt, within.flagged) == (True, D(1), True)
    beyond = check_receipt(LINE, D(8), D(4), over_tolerance_pct=D(10))
    assert (beyond.accepted, beyond.over_receipt, beyond.flagged) == (False, D(2), True)
    assert "12 against 10" in beyond.message
    assert not check_receipt(LINE, D(0), D(0)).accepted
    returned = check_receipt(LINE, D(3), D(-4))
    assert not returned.accepted and "cannot return more" in returned.message
    assert check_receipt(LINE, D(3), D(-3)).accepted


LINES = [PoLine("1", "A", "S1", D(10), D(5)), PoLine("2", "B", "S1", D(4), D(1))]


def test_po_status_is_derived() -> None:
    assert po_progress(LINES, []).status is PoStatus.OPEN
    partial = po_progress(LINES, [Receipt("r1", "1", D(10)), Receipt("r2", "2", D(1))])
    assert partial.status is PoStatus.PARTIALLY_RECEIVED
    assert partial.outstanding == {"1": D(0), "2": D(3)}
    full = [Receipt("r1", "1", D(6)), Receipt("r2", "1", D(4)), Receipt("r3", "2", D(4))]
    assert po_progress(LINES, full).status is PoStatus.RECEIVED
    assert po_progress(LINES, full, fully_invoiced=True).status is PoStatus.CLOSED
    assert po_progress(LINES, [Receipt("r1", "1", D(1))], closed=True).status is PoStatus.CLOSED
    assert po_progress(LINES, [], cancelled=True).status is PoStatus.CANCELLED
    # a cancelled PO that already received goods is not "cancelled": the goods are real
    assert po_progress(LINES, [Receipt("r1", "1", D(1))], cancelled=True).status is PoStatus.PARTIALLY_RECEIVED


def test_returned_goods_reopen_the_line() -> None:
    receipts = [Receipt("r1", "1", D(10)), Receipt("r2", "2", D(4)), Receipt("r3", "1", D(-2))]
    progress = po_progress(LINES, receipts)
    assert progress.status is PoStatus.PARTIALLY_RECEIVED and progress.outstanding["1"] == D(2)


def test_offline_over_receipt_and_unknown_lines_are_kept_for_review() -> None:
    receipts = [Receipt("r1", "1", D(7)), Receipt("r2", "1", D(7)), Receipt("r3", "9", D(1)), Receipt("r4", "2", D(4))]
    progress = po_progress(LINES, receipts)
    assert progress.status is PoStatus.RECEIVED
    assert progress.over_received == {"1": D(4)}
    assert progress.unknown_lines == ("9",)
    assert progress.received["1"] == D(14)  # both storemen's receipts count


@given(st.lists(st.tuples(st.sampled_from(["1", "2"]), st.integers(min_value=1, max_value=6)), max_size=12),
       st.randoms(use_true_random=False))
def test_po_progress_does_not_depend_on_receipt_order(rows: list[tuple[str, int]], rnd: object) -> None:
    receipts = [Receipt(f"r{n}", line, D(q)) for n, (line, q) in enumerate(rows)]
    shuffled = list(receipts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert po_progress(LINES, receipts) == po_progress(LINES, shuffled)


def test_po_lines_from_payload() -> None:
    raw = [{"line_id": "1", "item_id": "A", "store_id": "S1", "quantity": 2, "unit_price": 3.1}]
    lines = po_lines_from_payload(raw)
    assert lines == [PoLine("1", "A", "S1", D(2), D("3.1"))]
    for bad in (None, [1], [{"item_id": "A"}], [{"item_id": "A", "store_id": "S", "quantity": 0, "unit_price": 1}],
                [{"line_id": "1", "item_id": "A", "store_id": "S", "quantity": 1, "unit_price": 1}] * 2):
        with pytest.raises(ProcurementError):
            po_lines_from_payload(bad)


def test_procurement_entities_validate() -> None:
    validate_mutation("procurement.goods_receipt", Op.CREATE, {
        "po_id": "PO1", "line_id": "1", "item_id": "A", "store_id": "S1", "quantity": 3,
        "received_at": "2026-01-02T10:00:00+00:00",
    })
    with pytest.raises(ValidationError, match="append-only"):
        validate_mutation("procurement.goods_receipt", Op.UPDATE, {"quantity": 4})
    with pytest.raises(ValidationError):
        validate_mutation("procurement.purchase_order", Op.CREATE, {"vendor_id": "V1"})
