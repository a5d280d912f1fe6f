"""Three-way match: PO price and quantity, received quantity, invoice; tolerances in % and absolute; each
mismatch listed with its figures."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.domain.finance_errors import MatchError
from shared.domain.matching import MatchResult, MatchTolerances, MismatchKind, Tolerance, three_way_match


def match(tolerances: MatchTolerances = MatchTolerances(), **kw: D) -> MatchResult:
    args = {"ordered_qty": D(10), "po_unit_price": D(100), "received_qty": D(10), "previously_invoiced_qty": D(0),
            "invoice_qty": D(10), "invoice_unit_price": D(100)} | kw
    return three_way_match(tolerances=tolerances, **args)


def kinds(result: MatchResult) -> list[MismatchKind]:
    return [m.kind for m in result.mismatches]


def test_exact_and_partial_invoices_match() -> None:
    assert match().matched and match().price_variance == 0
    assert match(invoice_qty=D(4)).matched  # a partial invoice
    assert match(received_qty=D(6), invoice_qty=D(6)).matched


def test_price_within_the_default_two_percent_matches_either_way() -> None:
    assert match(invoice_unit_price=D(102)).matched  # 2 % of 100 = 2.00 allowed
    assert match(invoice_unit_price=D(98)).matched
    r = match(invoice_unit_price=D("102.01"))
    assert kinds(r) == [MismatchKind.PRICE]
    m = r.mismatches[0]
    assert (m.expected, m.actual, m.allowed) == (D(100), D("102.01"), D(2))
    assert "unit price 102.01 against PO price 100 (tolerance ±2" in m.message
    assert r.price_variance == D("20.10")  # 10 × 102.01 − 10 × 100


def test_the_larger_of_percent_and_absolute_tolerance_applies() -> None:
    tol = MatchTolerances(price=Tolerance(pct=D(1), absolute=D("0.50")))
    # On a 10.00 part, 1 % is 0.10, so the 0.50 absolute allows 10.40…
    assert match(tol, po_unit_price=D(10), invoice_unit_price=D("10.40")).matched
    assert kinds(match(tol, po_unit_price=D(10), invoice_unit_price=D("10.51"))) == [MismatchKind.PRICE]
    # …on a 1,000.00 part, 1 % (10.00) is the larger.
    assert match(tol, po_unit_price=D(1000), invoice_unit_price=D(1010)).matched


def test_invoicing_more_than_received_is_a_mismatch_unless_within_quantity_tolerance() -> None:
    r = match(received_qty=D(6))
    assert kinds(r) == [MismatchKind.OVER_RECEIVED]
    assert "invoiced 10 in total but 6 were received" in r.mismatches[0].message
    # Cumulative: 10 invoiced before + 4 now against 12 received on a 20 order.
    assert kinds(match(ordered_qty=D(20), received_qty=D(12), previously_invoiced_qty=D(10), invoice_qty=D(4))) == [
        MismatchKind.OVER_RECEIVED]
    tol = MatchTolerances(quantity=Tolerance(pct=D(10)))
    assert match(tol, ordered_qty=D(20), received_qty=D(10), invoice_qty=D(11)).matched  # 10 % of 10 = 1
    tol_abs = MatchTolerances(quantity=Tolerance(absolute=D(2)))
    assert match(tol_abs, ordered_qty=D(20), received_qty=D(10), invoice_qty=D(12)).matched


def test_invoicing_more_than_ordered_is_never_tolerated_and_all_mismatches_are_listed() -> None:
    tol = MatchTolerances(quantity=Tolerance(pct=D(50)))
    assert kinds(match(tol, received_qty=D(10), invoice_qty=D(11))) == [MismatchKind.OVER_ORDERED]
    r = match(invoice_qty=D(12), invoice_unit_price=D(120))
    assert kinds(r) == [MismatchKind.OVER_ORDERED, MismatchKind.OVER_RECEIVED, MismatchKind.PRICE]


def test_impossible_invoice_lines_are_refused() -> None:
    with pytest.raises(MatchError, match="positive quantity"):
        match(invoice_qty=D(0))
    with pytest.raises(MatchError, match="never negative"):
        match(invoice_unit_price=D(-1))
    with pytest.raises(MatchError, match="tolerance is never negative"):
        Tolerance(pct=D(-1))
