"""Procurement: vendors, requisitions, purchase orders and goods receipts against PO lines.

Strategies:
- `procurement.vendor` is master data: field_merge.
- `procurement.requisition` is field_merge: the requester edits notes while the buyer marks it ordered.
- `procurement.purchase_order` is manual: a PO is a commitment to a vendor; two offline edits of its
  prices or lines are for a person to settle, never merged by a machine.
- `procurement.goods_receipt` is create-only: goods that physically arrived are never lost. Two
  storemen receiving on the same line offline both count while they stay within the order; a receipt
  past it (plus tolerance) is held by the hub for a person, with its stock movement, instead of being
  booked twice or disappearing (D27: `shared/domain/consume_once.py`).

PO status is derived from the lines and the receipts, never typed in (except closing short and
cancelling, which are decisions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shared.conflicts import Strategy
from shared.domain.finance import ZERO, money
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError


class ProcurementError(ValidationError):
    """A procurement step that cannot happen (missing price, receipt on an unknown line…)."""


@dataclass(frozen=True)
class StockItem:
    item_id: str
    store_id: str
    reorder_point: Decimal
    max_qty: Decimal | None = None
    min_qty: Decimal = ZERO
    preferred_vendor_id: str | None = None


@dataclass(frozen=True)
class RequisitionLine:
    item_id: str
    store_id: str
    quantity: Decimal
    vendor_id: str | None = None
    note: str = ""


def reorder_lines(
    items: Iterable[StockItem],
    on_hand: Mapping[tuple[str, str], Decimal],
    on_order: Mapping[tuple[str, str], Decimal] | None = None,
) -> list[RequisitionLine]:
    """Requisition lines for every item at or below its reorder point.

    The position counts what is already on order (open PO lines, open requisitions) so running the
    rule twice does not order twice. The quantity fills the position up to the maximum (or up to the
    reorder point when no useful maximum is set). A negative on hand (issued offline ahead of a receipt)
    is a real shortfall and is ordered too."""
    on_order = on_order or {}
    lines: list[RequisitionLine] = []
    for item in items:
        key = (item.store_id, item.item_id)
        position = on_hand.get(key, ZERO) + on_order.get(key, ZERO)
        if position > item.reorder_point:
            continue
        target = item.max_qty if item.max_qty is not None and item.max_qty > item.reorder_point else item.reorder_point
        quantity = target - position
        if quantity <= 0:
            continue
        lines.append(RequisitionLine(item.item_id, item.store_id, quantity, item.preferred_vendor_id, "reorder point"))
    return sorted(lines, key=lambda ln: (ln.store_id, ln.item_id))


@dataclass(frozen=True)
class PoLine:
    line_id: str
    item_id: str
    store_id: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)


def purchase_orders_from_requisition(
    lines: Iterable[RequisitionLine], prices: Mapping[str, Decimal], *, default_vendor: str | None = None
) -> dict[str, list[PoLine]]:
    """Requisition lines → PO lines grouped by vendor (one PO per vendor); the same item for the same
    store is merged into one line. Every item needs a price and a vendor."""
    grouped: dict[str, dict[tuple[str, str], Decimal]] = {}
    missing: list[str] = []
    for ln in lines:
        vendor = ln.vendor_id or default_vendor
        if vendor is None:
            raise ProcurementError(f"item {ln.item_id} has no vendor", {"vendor_id": f"missing for {ln.item_id}"})
        if ln.item_id not in prices:
            missing.append(ln.item_id)
            continue
        bucket = grouped.setdefault(vendor, {})
        bucket[(ln.item_id, ln.store_id)] = bucket.get((ln.item_id, ln.store_id), ZERO) + ln.quantity
    if missing:
        raise ProcurementError(
            "no price for " + ", ".join(sorted(set(missing))), {"unit_price": "missing for some items"}
        )
    result: dict[str, list[PoLine]] = {}
    for vendor, bucket in sorted(grouped.items()):
        result[vendor] = [
            PoLine(str(n), item, store, qty, prices[item])
            for n, ((item, store), qty) in enumerate(sorted(bucket.items()), start=1)
        ]
    return result


def po_total(lines: Iterable[PoLine]) -> Decimal:
    return sum((ln.amount for ln in lines), ZERO)


# --- receipts -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receipt:
    id: str
    line_id: str
    quantity: Decimal  # negative = returned to the vendor


@dataclass(frozen=True)
class ReceiptCheck:
    accepted: bool  # for online forms: False means the form should refuse it
    over_receipt: Decimal  # beyond the ordered quantity (0 if none)
    flagged: bool  # within tolerance or accepted offline, but someone should look
    message: str = ""


def check_receipt(
    line: PoLine, received_so_far: Decimal, quantity: Decimal, *, over_tolerance_pct: Decimal = Decimal(0)
) -> ReceiptCheck:
    """Whether receiving `quantity` on a line is acceptable. Over-receipt within the tolerance is
    accepted and flagged; beyond it a form refuses it (offline receipts that already happened are still
    recorded: the hub flags them with the same rule, never drops them)."""
    if quantity == 0:
        return ReceiptCheck(False, ZERO, False, "a receipt of zero is not a receipt")
    after = received_so_far + quantity
    if after < 0:
        return ReceiptCheck(False, ZERO, True, f"cannot return more than was received ({received_so_far})")
    over = max(after - line.quantity, ZERO)
    if over == 0:
        return ReceiptCheck(True, ZERO, False)
    limit = line.quantity * over_tolerance_pct / 100
    if over <= limit:
        return ReceiptCheck(True, over, True, f"over-receipt of {over} within tolerance")
    return ReceiptCheck(
        False, over, True, f"receiving {quantity} makes {after} against {line.quantity} ordered on line {line.line_id}"
    )


def received_per_line(receipts: Iterable[Receipt]) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    for r in receipts:
        result[r.line_id] = result.get(r.line_id, ZERO) + r.quantity
    return result


class PoStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PoProgress:
    status: PoStatus
    received: dict[str, Decimal]
    outstanding: dict[str, Decimal]  # per line, never negative
    over_received: dict[str, Decimal]  # lines received past the order: for review
    unknown_lines: tuple[str, ...]  # receipts naming a line the PO does not have: for review


def po_progress(
    lines: Iterable[PoLine],
    receipts: Iterable[Receipt],
    *,
    closed: bool = False,
    cancelled: bool = False,
    fully_invoiced: bool = False,
) -> PoProgress:
    """Derive a PO's status: open (nothing received), partially received, received (every line in
    full), closed (closed short by a person, or received and fully invoiced), cancelled."""
    line_list = list(lines)
    received = received_per_line(receipts)
    known = {ln.line_id for ln in line_list}
    unknown = tuple(sorted(k for k in received if k not in known))
    outstanding = {ln.line_id: max(ln.quantity - received.get(ln.line_id, ZERO), ZERO) for ln in line_list}
    over = {
        ln.line_id: received.get(ln.line_id, ZERO) - ln.quantity
        for ln in line_list
        if received.get(ln.line_id, ZERO) > ln.quantity
    }
    all_in = bool(line_list) and all(q == 0 for q in outstanding.values())
    any_in = any(received.get(ln.line_id, ZERO) > 0 for ln in line_list)
    if cancelled and not any_in:
        status = PoStatus.CANCELLED
    elif closed or (all_in and fully_invoiced):
        status = PoStatus.CLOSED
    elif all_in:
        status = PoStatus.RECEIVED
    elif any_in:
        status = PoStatus.PARTIALLY_RECEIVED
    else:
        status = PoStatus.OPEN
    return PoProgress(status, received, outstanding, over, unknown)


def po_lines_from_payload(raw_lines: object) -> list[PoLine]:
    """PO lines from the `lines` field of a `procurement.purchase_order` payload."""
    if not isinstance(raw_lines, list):
        raise ProcurementError("a purchase order needs lines", {"lines": "must be a list"})
    result: list[PoLine] = []
    for n, raw in enumerate(raw_lines, start=1):
        if not isinstance(raw, Mapping):
            raise ProcurementError(f"line {n} is not an object", {"lines": "must hold objects"})
        try:
            line = PoLine(
                str(raw.get("line_id", n)),
                str(raw["item_id"]),
                str(raw["store_id"]),
                Decimal(str(raw["quantity"])),
                Decimal(str(raw["unit_price"])),
            )
        except (KeyError, ArithmeticError) as exc:
            raise ProcurementError(f"line {n}: missing or bad {exc}", {"lines": f"line {n} is incomplete"}) from None
        if line.quantity <= 0 or line.unit_price < 0:
            raise ProcurementError(f"line {n}: quantity must be positive and price not negative", {"lines": "bad line"})
        result.append(line)
    if len({ln.line_id for ln in result}) != len(result):
        raise ProcurementError("two lines share a line id", {"lines": "line ids must be unique"})
    return result


# --- entities -------------------------------------------------------------------------------------
VENDOR = register(
    EntitySpec(
        name="procurement.vendor",
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,
        fields={
            "code": FieldSpec("str", required=True, max_length=32, label="Vendor code"),
            "name": FieldSpec("str", required=True, max_length=200, label="Name"),
            "currency": FieldSpec("str", max_length=3, label="Currency"),
            "payment_terms_days": FieldSpec("int", min=0, max=365, label="Payment terms (days)"),
            "email": FieldSpec("str", max_length=200, label="Email"),
            "phone": FieldSpec("str", max_length=64, label="Phone"),
            "active": FieldSpec("bool", label="Active"),
        },
    )
)

REQUISITION = register(
    EntitySpec(
        name="procurement.requisition",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "number": FieldSpec("str", max_length=32, label="Number"),
            "requested_by": FieldSpec("str", required=True, max_length=128, label="Requested by"),
            "needed_by": FieldSpec("date", label="Needed by"),
            "source": FieldSpec("str", choices=("manual", "reorder", "work_order"), label="Source"),
            "status": FieldSpec(
                "str", choices=("draft", "submitted", "approved", "rejected", "ordered", "cancelled"), label="Status"
            ),
            "lines": FieldSpec("list", required=True, label="Lines"),
            "work_order_id": FieldSpec("str", label="Work order"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)

PURCHASE_ORDER = register(
    EntitySpec(
        name="procurement.purchase_order",
        strategy=Strategy.MANUAL,
        fields={
            "number": FieldSpec("str", max_length=32, label="PO number"),
            "vendor_id": FieldSpec("str", required=True, label="Vendor"),
            "currency": FieldSpec("str", max_length=3, label="Currency"),
            "lines": FieldSpec("list", required=True, label="Lines"),
            "total": FieldSpec("number", min=0, label="Total"),
            "requisition_id": FieldSpec("str", label="Requisition"),
            "approval": FieldSpec("str", choices=("draft", "submitted", "approved", "rejected"), label="Approval"),
            "issued_at": FieldSpec("datetime", label="Sent to vendor"),
            "closed": FieldSpec("bool", label="Closed short"),
            "cancelled": FieldSpec("bool", label="Cancelled"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)

GOODS_RECEIPT = register(
    EntitySpec(
        name="procurement.goods_receipt",
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        fields={
            "po_id": FieldSpec("str", required=True, label="Purchase order"),
            "line_id": FieldSpec("str", required=True, label="PO line"),
            "item_id": FieldSpec("str", required=True, label="Item"),
            "store_id": FieldSpec("str", required=True, label="Store"),
            "quantity": FieldSpec("number", required=True, label="Quantity"),
            "unit_price": FieldSpec("number", min=0, label="PO unit price"),
            "received_at": FieldSpec("datetime", required=True, label="Received at"),
            "received_by": FieldSpec("str", max_length=128, label="Received by"),
            "movement_id": FieldSpec("str", label="Stock movement"),
            "delivery_note": FieldSpec("str", max_length=64, label="Delivery note"),
        },
    )
)
