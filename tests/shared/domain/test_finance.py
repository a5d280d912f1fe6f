"""Double entry through GR/IR, three-way match with tolerance; every entry balanced."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.finance import (
    DEFAULT_ACCOUNTS as A,
)
from shared.domain.finance import (
    JournalEntry,
    PostingLine,
    UnbalancedEntryError,
    balances,
    entry_from_payload,
    invoice_entry,
    money,
    receipt_entry,
)
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError


def test_receipt_debits_inventory_and_credits_grir_at_po_price() -> None:
    e = receipt_entry("GR1", D(10), D("12.50"))
    assert balances([e]) == {A.inventory: D("125.00"), A.grir: D("-125.00")}


def test_invoice_at_po_price_clears_grir_exactly() -> None:
    entries = [receipt_entry("GR1", D(10), D("12.50")), invoice_entry("INV1", D(10), D("12.50"), D("12.50"))]
    b = balances(entries)
    assert b[A.grir] == 0 and b[A.payable] == D("-125.00") and A.price_variance not in b


def test_dearer_invoice_debits_price_variance_cheaper_credits_it() -> None:
    dear = invoice_entry("INV1", D(10), D("12.50"), D("13.00"))
    assert balances([dear]) == {A.grir: D("125.00"), A.payable: D("-130.00"), A.price_variance: D("5.00")}
    cheap = invoice_entry("INV2", D(10), D("12.50"), D("12.00"))
    assert balances([cheap])[A.price_variance] == D("-5.00")


def test_partial_invoice_leaves_the_rest_in_grir() -> None:
    entries = [receipt_entry("GR1", D(10), D(2)), invoice_entry("INV1", D(4), D(2), D(2))]
    assert balances(entries)[A.grir] == D("-12.00")  # 6 received, not invoiced yet


def test_a_return_reverses_the_receipt() -> None:
    entries = [receipt_entry("GR1", D(10), D(2)), receipt_entry("GR2", D(-3), D(2))]
    assert balances(entries) == {A.inventory: D("14.00"), A.grir: D("-14.00")}


def test_unbalanced_and_malformed_entries_refuse_to_exist() -> None:
    with pytest.raises(UnbalancedEntryError, match="not balanced"):
        JournalEntry("X", (PostingLine("1", debit=D(1)), PostingLine("2", credit=D(2))))
    with pytest.raises(ValidationError):
        PostingLine("1", debit=D(1), credit=D(1))
    with pytest.raises(ValidationError):
        PostingLine("1", debit=D(-1))


def test_entry_payload_round_trip_and_validation() -> None:
    e = invoice_entry("INV1", D(3), D("1.10"), D("1.15"))
    payload = e.as_payload()
    validate_mutation("finance.journal_entry", Op.CREATE, payload)
    assert entry_from_payload(payload) == e
    payload["lines"] = [{"account": "1", "debit": "5", "credit": "0"}]  # type: ignore[index]
    with pytest.raises(UnbalancedEntryError):
        entry_from_payload(payload)
    with pytest.raises(ValidationError):
        entry_from_payload({"reference": "x", "lines": "nope"})
    with pytest.raises(ValidationError, match="append-only"):
        validate_mutation("finance.journal_entry", Op.UPDATE, {"description": "edited"})


# --- properties -----------------------------------------------------------------------------------
prices = st.decimals(min_value=D("0.01"), max_value=D(5_000), places=3)
qtys = st.decimals(min_value=D("0.001"), max_value=D(1_000), places=3)


@given(st.lists(st.tuples(st.booleans(), qtys, prices, prices), max_size=30))
def test_the_ledger_is_always_balanced_and_grir_holds_received_minus_invoiced(
    events: list[tuple[bool, D, D, D]],
) -> None:
    entries: list[JournalEntry] = []
    expected_grir = D(0)
    for n, (is_receipt, qty, po_price, inv_price) in enumerate(events):
        if is_receipt:
            entries.append(receipt_entry(f"GR{n}", qty, po_price))
            expected_grir -= money(qty * po_price)
        else:
            entries.append(invoice_entry(f"INV{n}", qty, po_price, inv_price))
            expected_grir += money(qty * po_price)
    for e in entries:
        assert sum(ln.debit for ln in e.lines) == sum(ln.credit for ln in e.lines)
    b = balances(entries)
    assert sum(b.values(), D(0)) == 0
    assert b.get(A.grir, D(0)) == expected_grir


@given(qtys, prices, prices)
def test_receipt_then_full_invoice_leaves_grir_at_zero(qty: D, po_price: D, inv_price: D) -> None:
    entries = [receipt_entry("GR", qty, po_price), invoice_entry("INV", qty, po_price, inv_price)]
    b = balances(entries)
    assert b.get(A.grir, D(0)) == 0
    assert b.get(A.inventory, D(0)) + b.get(A.price_variance, D(0)) == -b.get(A.payable, D(0))

