"""Documents that are consumed once: a transfer is received once, a PO line is received up to what was
ordered, a requisition is converted to its purchase orders once.

An office offline cannot know that another office consumed the same document while it was away, so each
office's form checks against its own replica and the hub decides for everyone (D27): in the push
transaction, holding the document's lock, it runs the rules below against what it has already booked. A
claim that fails does not become a second stock movement or a second order: it becomes a conflict record
that a person resolves (keep what was booked, or book this one too where that can be right). Rows that
belong to a refused claim (the goods receipt of a refused receipt movement, the shortfall adjustment of a
refused transfer receipt, the approval request of a refused purchase order) follow it into the same
conflict: they name their principal, so a batch split anywhere between them decides the same way.

Pure functions: the desktop and the hub run the same rules; the hub supplies its own booked quantities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from shared.domain.finance import ZERO
from shared.domain.procurement import PoLine, check_receipt

MOVEMENT = "inventory.movement"
GOODS_RECEIPT = "procurement.goods_receipt"
PURCHASE_ORDER = "procurement.purchase_order"
APPROVAL_REQUEST = "approvals.request"


class ClaimKind(StrEnum):
    TRANSFER_RECEIPT = "transfer_receipt"
    PO_LINE_RECEIPT = "po_line_receipt"
    REQUISITION_CONVERSION = "requisition_conversion"


@dataclass(frozen=True)
class Claim:
    """What one created row consumes. `document` is the key the hub locks and looks its bookings up by."""

    kind: ClaimKind
    document: str
    quantity: Decimal = ZERO
    transfer_id: str = ""
    po_id: str = ""
    line_id: str = ""
    requisition_id: str = ""
    vendor_id: str = ""


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str = ""

    @classmethod
    def ok(cls) -> Verdict:
        return cls(True)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def claim_of(entity: str, payload: Mapping[str, Any]) -> Claim | None:
    """The claim a created row makes, or None for a row that consumes nothing."""
    if entity == MOVEMENT:
        kind = payload.get("kind")
        quantity = _decimal(payload.get("quantity"))
        if quantity is None:
            return None
        transfer_id = payload.get("transfer_id")
        if kind == "transfer_in" and isinstance(transfer_id, str) and transfer_id:
            return Claim(ClaimKind.TRANSFER_RECEIPT, f"transfer:{transfer_id}", quantity, transfer_id=transfer_id)
        po_id, line_id = payload.get("po_id"), payload.get("po_line_id")
        if kind == "receipt" and isinstance(po_id, str) and po_id and line_id is not None:
            return Claim(ClaimKind.PO_LINE_RECEIPT, f"po_line:{po_id}:{line_id}", quantity, po_id=po_id,
                         line_id=str(line_id))
        return None
    if entity == PURCHASE_ORDER:
        requisition_id, vendor_id = payload.get("requisition_id"), payload.get("vendor_id")
        if isinstance(requisition_id, str) and requisition_id:
            return Claim(ClaimKind.REQUISITION_CONVERSION, f"requisition:{requisition_id}:{vendor_id}",
                         requisition_id=requisition_id, vendor_id=str(vendor_id))
    return None


def principal_of(entity: str, payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """For a row that stands or falls with another one: that row's (entity, id)."""
    if entity == GOODS_RECEIPT:
        movement_id = payload.get("movement_id")
        return (MOVEMENT, movement_id) if isinstance(movement_id, str) and movement_id else None
    if entity == MOVEMENT and payload.get("kind") == "count_adjustment":
        receipt_id = payload.get("transfer_in_id")
        return (MOVEMENT, receipt_id) if isinstance(receipt_id, str) and receipt_id else None
    if entity == APPROVAL_REQUEST and payload.get("document_type") == PURCHASE_ORDER:
        po_id = payload.get("document_id")
        return (PURCHASE_ORDER, po_id) if isinstance(po_id, str) and po_id else None
    return None


def _q(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def decide_transfer_receipt(claim: Claim, *, shipped: Decimal, received: Decimal) -> Verdict:
    """A transfer is received once, for what is still in transit (the receiving rule books all of it)."""
    if shipped <= 0:
        return Verdict(False, f"transfer {claim.transfer_id} is not known as shipped: nothing is in transit")
    outstanding = shipped - received
    if outstanding <= 0:
        return Verdict(False, f"transfer {claim.transfer_id} was already received ({_q(received)} of "
                              f"{_q(shipped)} shipped): this second receipt was not booked")
    if claim.quantity > outstanding:
        return Verdict(False, f"{_q(claim.quantity)} received on transfer {claim.transfer_id} but only "
                              f"{_q(outstanding)} is still in transit")
    return Verdict.ok()


def decide_po_line_receipt(claim: Claim, line: PoLine | None, *, received: Decimal,
                           over_tolerance_pct: Decimal = ZERO) -> Verdict:
    """A PO line is received up to its ordered quantity (plus the tolerance), the same rule the receipt form
    runs offline (`check_receipt`), against every receipt the hub has booked on the line."""
    if line is None:
        return Verdict(False, f"purchase order {claim.po_id} has no line {claim.line_id} at the hub")
    check = check_receipt(line, received, claim.quantity, over_tolerance_pct=over_tolerance_pct)
    if check.accepted:
        return Verdict.ok()
    return Verdict(False, f"{check.message} (already received at the hub: {_q(received)}): not booked")


def decide_conversion(claim: Claim, existing_po_ids: list[str]) -> Verdict:
    """A requisition is ordered once from each vendor."""
    if existing_po_ids:
        return Verdict(False, f"requisition {claim.requisition_id} was already converted to purchase order "
                              f"{', '.join(sorted(existing_po_ids))} for vendor {claim.vendor_id}: "
                              "this second order was not placed")
    return Verdict.ok()


def can_book_anyway(kind: ClaimKind) -> bool:
    """Whether a person may book a refused claim after all. A second receipt on a PO line can be real goods
    (an over-delivery someone accepts) and a second order can be meant; a transfer cannot arrive twice (extra
    goods are a stock count)."""
    return kind is not ClaimKind.TRANSFER_RECEIPT
