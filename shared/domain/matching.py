"""Three-way match: a vendor invoice line against its purchase-order line and what was received on it.

Tolerances are per tenant, each a percentage and an absolute amount: a difference passes when it is within
either (the larger of the two limits), so a tenant can allow "2 % or 0.50 a unit, whichever is more". The
result is either matched or the list of every mismatch, each with the figures a person needs to approve or
refuse it; nothing here decides that a mismatch is fine.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shared.domain.finance import ZERO, money
from shared.domain.finance_errors import MatchError


@dataclass(frozen=True)
class Tolerance:
    pct: Decimal = ZERO
    absolute: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.pct < 0 or self.absolute < 0:
            raise MatchError("a tolerance is never negative", {"tolerance": "must not be negative"})

    def allowed(self, base: Decimal) -> Decimal:
        return max(abs(base) * self.pct / 100, self.absolute)


@dataclass(frozen=True)
class MatchTolerances:
    """One tenant's tolerances: unit price against the PO, and quantity invoiced beyond what was received."""

    price: Tolerance = Tolerance(pct=Decimal(2))
    quantity: Tolerance = Tolerance()


class MismatchKind(StrEnum):
    PRICE = "price"  # invoice unit price against the PO unit price
    OVER_RECEIVED = "over_received"  # invoiced in total more than was received
    OVER_ORDERED = "over_ordered"  # invoiced in total more than was ordered (never tolerated)


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    expected: Decimal
    actual: Decimal
    allowed: Decimal  # the largest difference the tolerance accepts
    message: str


@dataclass(frozen=True)
class MatchResult:
    mismatches: tuple[Mismatch, ...]
    price_variance: Decimal  # invoice − PO price, for the invoiced quantity, in cents

    @property
    def matched(self) -> bool:
        return not self.mismatches


def three_way_match(
    *, ordered_qty: Decimal, po_unit_price: Decimal, received_qty: Decimal, previously_invoiced_qty: Decimal,
    invoice_qty: Decimal, invoice_unit_price: Decimal, tolerances: MatchTolerances = MatchTolerances(),
) -> MatchResult:
    """Quantities are cumulative: everything invoiced on the PO line so far, this line included, against what
    was received (within tolerance) and ordered (exactly). Under-invoicing is a normal partial invoice."""
    if invoice_qty <= 0:
        raise MatchError(f"invoice quantity {invoice_qty}: an invoice line must have a positive quantity (a credit "
                         "note is its own document)", {"quantity": "must be positive"})
    if invoice_unit_price < 0 or po_unit_price < 0:
        raise MatchError("a unit price is never negative", {"unit_price": "must not be negative"})
    mismatches: list[Mismatch] = []
    invoiced = previously_invoiced_qty + invoice_qty
    if invoiced > ordered_qty:
        mismatches.append(Mismatch(
            MismatchKind.OVER_ORDERED, ordered_qty, invoiced, ZERO,
            f"invoiced {invoiced} in total but only {ordered_qty} were ordered"))
    qty_allowed = received_qty + max(received_qty * tolerances.quantity.pct / 100, tolerances.quantity.absolute)
    if invoiced > qty_allowed:
        mismatches.append(Mismatch(
            MismatchKind.OVER_RECEIVED, received_qty, invoiced, qty_allowed - received_qty,
            f"invoiced {invoiced} in total but {received_qty} were received (tolerance up to {qty_allowed})"))
    price_allowed = tolerances.price.allowed(po_unit_price)
    if abs(invoice_unit_price - po_unit_price) > price_allowed:
        mismatches.append(Mismatch(
            MismatchKind.PRICE, po_unit_price, invoice_unit_price, price_allowed,
            f"unit price {invoice_unit_price} against PO price {po_unit_price} (tolerance ±{price_allowed})"))
    variance = money(invoice_qty * invoice_unit_price) - money(invoice_qty * po_unit_price)
    return MatchResult(tuple(mismatches), variance)
