"""A fixed asset bought on account is its vendor's invoice in AP (D89), hand-computed: it is an open item of kind
"asset" owed to the vendor from the acquisition date and due after the vendor's terms (or on its own due date),
payments allocate to it like to any invoice, an over-allocation is refused, and at every step AP (2100, from the
acquisition and payment entries) equals the AP ageing total."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.assets import acquisition_entry, asset_from_payload, payable_document
from shared.domain.finance_errors import DepreciationError
from shared.domain.journal import LedgerEntry
from shared.domain.open_items import Allocation, AllocationError, Settlement, ageing, check_allocation, open_items
from shared.domain.payables import ap_documents
from shared.domain.postings import ACCOUNTS, payment
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError

BOUGHT = {"equipment_id": "EX-01", "cost": "100000.00", "salvage": "10000.00", "in_service": "2026-08-15",
          "method": "straight_line", "life_months": 60, "paid_from": "payable", "acquired_on": "2026-08-10",
          "vendor_id": "V-CAT", "invoice_no": "CAT-9001"}
INVOICE = {"vendor_id": "V-CAT", "invoice_no": "CAT-77", "po_id": "PO1", "invoice_date": "2026-09-01",
           "lines": [{"po_line_id": "1", "quantity": "2", "unit_price": "150.00"}]}  # 300.00, due 2026-10-01
TERMS = {"V-CAT": 30}


def ap_balance(entries: Iterable[LedgerEntry], as_of: date) -> D:
    """Credit minus debit on 2100 of the entries dated by `as_of`: what the ledger says is owed."""
    return sum((ln.credit - ln.debit for e in entries if e.posting_date <= as_of for ln in e.lines
                if ln.account == ACCOUNTS.payable), D("0.00"))


def test_an_asset_bought_on_account_is_its_vendors_open_item_due_after_the_vendors_terms() -> None:
    docs, unreadable = ap_documents([("VI1", INVOICE)], [("A-SL", BOUGHT), ("A-BANK", {**BOUGHT, "paid_from": "bank"}),
                                                         ("A-OPEN", {**BOUGHT, "paid_from": None})], TERMS)
    assert unreadable == 0
    by_id = {d.document_id: d for d in docs}
    assert set(by_id) == {"VI1", "A-SL"}  # paid from the bank or brought in with the opening balances: no payable
    asset = by_id["A-SL"]
    # Acquired 10 August, the vendor's 30 days: due 9 September; its reference is the vendor's invoice number.
    assert (asset.kind, asset.party, asset.document_date, asset.due_date, asset.amount, asset.reference) == (
        "asset", "V-CAT", date(2026, 8, 10), date(2026, 9, 9), D("100000.00"), "CAT-9001")
    assert by_id["VI1"].kind == "invoice"
    # A stated due date wins over the terms; no acquisition date: owed from the in-service date.
    stated = payable_document(asset_from_payload("A2", {**BOUGHT, "due_date": "2026-12-31", "acquired_on": None},
                                                 "S1"), 30)
    assert stated is not None and (stated.document_date, stated.due_date) == (date(2026, 8, 15), date(2026, 12, 31))
    # Ageing at 30 September: the asset 21 days past due (1-30), the invoice not yet due (current).
    report = ageing(docs, [], date(2026, 9, 30))
    [row] = report.rows
    assert (row.party, row.buckets["current"], row.buckets["1-30"], row.total) == (
        "V-CAT", D("300.00"), D("100000.00"), D("100300.00"))


def test_paying_an_asset_in_two_parts_keeps_2100_equal_to_the_ap_ageing_and_refuses_an_over_allocation() -> None:
    asset = asset_from_payload("A-SL", BOUGHT, "S1")
    acquisition = acquisition_entry(asset)
    assert acquisition is not None
    docs, _ = ap_documents([], [("A-SL", BOUGHT)], TERMS)
    by_id = {d.document_id: d for d in docs}
    entries: list[LedgerEntry] = [acquisition]
    paid: list[Settlement] = []
    day = date(2026, 8, 31)
    assert ap_balance(entries, day) == ageing(docs, paid, day).total == D("100000.00")

    first = Settlement("P1", "V-CAT", date(2026, 9, 1), D("40000.00"), (Allocation("A-SL", D("40000.00")),))
    check_allocation(first, by_id, open_items(docs, paid).settled)
    paid.append(first)
    entries.append(payment("P1", first.settled_on, first.amount, "S1"))
    day = date(2026, 9, 30)
    assert ap_balance(entries, day) == ageing(docs, paid, day).total == D("60000.00")  # 100,000 − 40,000

    too_much = Settlement("P2", "V-CAT", date(2026, 10, 15), D("70000.00"), (Allocation("A-SL", D("70000.00")),))
    with pytest.raises(AllocationError, match=r"60000\.00 open") as refused:
        check_allocation(too_much, by_id, open_items(docs, paid).settled)
    assert refused.value.field_errors == {"allocations": "only 60000.00 open on CAT-9001"}
    other_vendor = Settlement("P3", "V-OTHER", date(2026, 10, 15), D("10.00"), (Allocation("A-SL", D("10.00")),))
    with pytest.raises(AllocationError, match="V-CAT's"):
        check_allocation(other_vendor, by_id, open_items(docs, paid).settled)

    rest = Settlement("P2", "V-CAT", date(2026, 10, 15), D("60000.00"), (Allocation("A-SL", D("60000.00")),))
    check_allocation(rest, by_id, open_items(docs, paid).settled)
    paid.append(rest)
    entries.append(payment("P2", rest.settled_on, rest.amount, "S1"))
    day = date(2026, 10, 31)
    report = ageing(docs, paid, day)
    assert ap_balance(entries, day) == report.total == D("0.00") and report.rows == ()


def test_an_asset_on_account_names_its_vendor_and_invoice_number_beside_the_fields() -> None:
    for missing, field, message in (("vendor_id", "vendor_id", "which vendor"),
                                    ("invoice_no", "invoice_no", "invoice number")):
        with pytest.raises(DepreciationError) as refused:
            asset_from_payload("A", {**BOUGHT, missing: ""}, "S1")
        assert message in refused.value.field_errors[field]
        # The record check every form and the hub run on a new record says the same, beside the same field.
        with pytest.raises(ValidationError) as by_spec:
            validate_mutation("finance.asset", Op.CREATE, {**BOUGHT, missing: None})
        assert field in by_spec.value.field_errors
    with pytest.raises(DepreciationError) as early:
        asset_from_payload("A", {**BOUGHT, "due_date": "2026-08-01"}, "S1")
    assert early.value.field_errors == {"due_date": "on or after 2026-08-10"}
    # Paid from the bank, no vendor is needed (and none is owed).
    cash = asset_from_payload("A", {**BOUGHT, "paid_from": "bank", "vendor_id": "", "invoice_no": ""}, "S1")
    assert payable_document(cash) is None
    # An unreadable asset on account is counted, not silently dropped.
    assert ap_documents([], [("A", {**BOUGHT, "cost": "lots"})], TERMS) == ([], 1)
