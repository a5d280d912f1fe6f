"""Posting rules with hand-computed fixtures: a receipt → issue → invoice → payment chain at site S1, costed at
moving average, with a price variance; a customer invoice; stock issued short and revalued at receipt."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.accounts import Dimension, dims
from shared.domain.costing import Issue, Receipt, StockPosition, cost_movements, issue, receive
from shared.domain.finance_errors import CostingError, FinanceError, MissingDimensionError, UnmatchedInvoiceError
from shared.domain.ledger import Ledger
from shared.domain.matching import MatchTolerances, Tolerance, three_way_match
from shared.domain.periods import PeriodCalendar
from shared.domain.postings import ACCOUNTS as A
from shared.domain.postings import (
    customer_invoice_line,
    goods_issue,
    goods_receipt,
    payment,
    vendor_invoice_line,
)
from shared.domain.trial_balance import trial_balance
from tests.shared.domain.finance_fixtures import chart

DAY = date(2026, 11, 12)


def test_moving_average_issue_cost_by_hand() -> None:
    costed = cost_movements([Receipt(D(10), D("12.50")), Receipt(D(5), D("13.15")), Issue(D(4)), Issue(D(3)),
                             Issue(D(8))])
    # R1: 10 × 12.50 = 125.00                        → 10 units, 125.00
    # R2:  5 × 13.15 =  65.75                        → 15 units, 190.75 (average 12.71666…)
    # I1:  190.75 × 4 / 15 = 50.8666… → 50.87        → 11 units, 139.88
    # I2:  139.88 × 3 / 11 = 38.1490… → 38.15        →  8 units, 101.73
    # I3:  the last 8 take what is left: 101.73      →  0 units,   0.00
    assert [c.amount for c in costed] == [D("125.00"), D("65.75"), D("50.87"), D("38.15"), D("101.73")]
    assert [c.position.value for c in costed] == [D("125.00"), D("190.75"), D("139.88"), D("101.73"), D("0.00")]
    assert costed[-1].position.quantity == 0


def test_costing_refuses_non_movements() -> None:
    with pytest.raises(CostingError, match="not a receipt"):
        receive(StockPosition(), D(0), D(1))
    with pytest.raises(CostingError, match="negative"):
        receive(StockPosition(), D(1), D(-1))
    with pytest.raises(CostingError, match="not an issue"):
        issue(StockPosition(), D(-2))


def test_receipt_issue_invoice_payment_chain_by_hand() -> None:
    coa, calendar = chart(), PeriodCalendar()
    s1 = StockPosition()
    r1 = receive(s1, D(10), D("12.50"))  # PO-1 line 1: 10 × 12.50 = 125.00
    r2 = receive(r1.position, D(5), D("13.15"))  # PO-2 line 1: 5 × 13.15 = 65.75
    i1 = issue(r2.position, D(4))  # to WO-7 on EX-01: 190.75 × 4/15 = 50.87
    i2 = issue(i1.position, D(3))  # to cost centre CC-HAUL: 139.88 × 3/11 = 38.15
    # Vendor invoices PO-1 at 12.70 against 12.50: 0.20 a unit, inside 2 % (0.25).
    match = three_way_match(ordered_qty=D(10), po_unit_price=D("12.50"), received_qty=D(10),
                            previously_invoiced_qty=D(0), invoice_qty=D(10), invoice_unit_price=D("12.70"))
    assert match.matched and match.price_variance == D("2.00")  # 10 × 12.70 − 10 × 12.50 = 127.00 − 125.00
    entries = [
        goods_receipt("M1", DAY, D(10), D("12.50"), "S1"),
        goods_receipt("M2", DAY, D(5), D("13.15"), "S1"),
        goods_issue("M3", DAY, i1.amount, "S1", "CC-MAINT", equipment="EX-01", work_order="WO-7"),
        goods_issue("M4", DAY, i2.amount, "S1", "CC-HAUL"),
        vendor_invoice_line("VI-1", 1, DAY, D(10), D("12.50"), D("12.70"), "S1", match),
        payment("PAY-1", DAY, D("127.00"), "S1"),
    ]
    inv = entries[4]
    assert {(ln.account, ln.debit, ln.credit) for ln in inv.lines} == {
        (A.grir, D("125.00"), 0), (A.price_variance, D("2.00"), 0), (A.payable, 0, D("127.00"))}
    ledger, _ = Ledger().post_all(entries, coa, calendar)
    tb = trial_balance(ledger.entries)
    assert tb.balanced
    # Inventory: 125.00 + 65.75 − 50.87 − 38.15 = 101.73, the costing's position to the cent.
    assert tb.balance(A.inventory) == D("101.73") == i2.position.value
    # GR/IR: −125.00 − 65.75 + 125.00 = −65.75, PO-2's receipt not invoiced yet.
    assert tb.balance(A.grir) == D("-65.75")
    # Consumed 50.87 + 38.15 = 89.02; EX-01 carries the work-order issue, the cost-centre issue has no machine.
    assert tb.balance(A.consumption) == D("89.02")
    assert tb.dimension_balance(A.consumption, Dimension.EQUIPMENT, "EX-01") == D("50.87")
    assert tb.dimension_balance(A.consumption, Dimension.EQUIPMENT, None) == D("38.15")
    assert tb.dimension_balance(A.consumption, Dimension.COST_CENTRE, "CC-HAUL") == D("38.15")
    assert tb.balance(A.price_variance) == D("2.00")
    assert tb.balance(A.payable) == 0  # invoiced 127.00, paid 127.00
    assert tb.balance(A.bank) == D("-127.00")
    # 101.73 − 65.75 + 89.02 + 2.00 − 127.00 = 0
    assert sum(t.balance for t in tb.accounts.values()) == 0


def test_an_invoice_outside_tolerance_needs_an_approval_to_post() -> None:
    # 13.00 against 12.50 is 0.50 a unit; 2 % allows 0.25.
    match = three_way_match(ordered_qty=D(10), po_unit_price=D("12.50"), received_qty=D(10),
                            previously_invoiced_qty=D(0), invoice_qty=D(10), invoice_unit_price=D("13.00"))
    with pytest.raises(UnmatchedInvoiceError, match=r"unit price 13.00 against PO price 12.50 .*needs an approval"):
        vendor_invoice_line("VI-2", 1, DAY, D(10), D("12.50"), D("13.00"), "S1", match)
    approved = vendor_invoice_line("VI-2", 1, DAY, D(10), D("12.50"), D("13.00"), "S1", match, approved=True)
    # Dr GR/IR 125.00, Dr price variance 5.00 (10 × 0.50), Cr AP 130.00.
    assert sorted((ln.account, ln.net) for ln in approved.lines) == [
        (A.payable, D("-130.00")), (A.grir, D("125.00")), (A.price_variance, D("5.00"))]
    # With the tenant's tolerance at 0.50 absolute, the same line matches.
    loose = MatchTolerances(price=Tolerance(pct=D(2), absolute=D("0.50")))
    assert three_way_match(ordered_qty=D(10), po_unit_price=D("12.50"), received_qty=D(10),
                           previously_invoiced_qty=D(0), invoice_qty=D(10), invoice_unit_price=D("13.00"),
                           tolerances=loose).matched


def test_a_cheaper_invoice_credits_price_variance() -> None:
    match = three_way_match(ordered_qty=D(10), po_unit_price=D("12.50"), received_qty=D(10),
                            previously_invoiced_qty=D(0), invoice_qty=D(10), invoice_unit_price=D("12.30"))
    entry = vendor_invoice_line("VI-3", 1, DAY, D(10), D("12.50"), D("12.30"), "S1", match)
    # Dr GR/IR 125.00 / Cr AP 123.00 / Cr price variance 2.00
    assert {ln.account: ln.net for ln in entry.lines} == {
        A.grir: D("125.00"), A.payable: D("-123.00"), A.price_variance: D("-2.00")}


def test_customer_invoice_books_rental_income_to_the_machine() -> None:
    entry = customer_invoice_line("CI-1", 1, DAY, D("37.5"), D("185.40"), "S1", "EX-01")
    # 37.5 h × 185.40 = 6,952.50
    assert entry.key == "customer_invoice:CI-1:1"
    ledger, _ = Ledger().post(entry, chart(), PeriodCalendar())
    tb = trial_balance(ledger.entries)
    assert tb.balance(A.receivable) == D("6952.50")
    assert tb.dimension_balance(A.rental_income, Dimension.EQUIPMENT, "EX-01") == D("-6952.50")


def test_stock_issued_short_is_revalued_when_the_receipt_arrives() -> None:
    # 2 on hand worth 20.00 (average 10.00); 5 issued: 20.00 for the two + 3 × 10.00 = 50.00 → −3 units, −30.00.
    short = issue(StockPosition(D(2), D("20.00"), D(10)), D(5))
    assert short.amount == D("50.00") and short.position == StockPosition(D(-3), D("-30.00"), D(10))
    # 10 arrive at 12.00 = 120.00; 7 units at 12.00 are worth 84.00; −30.00 + 120.00 = 90.00, so the three short
    # units cost 6.00 more than they were issued at: inventory −6.00, price variance +6.00.
    covered = receive(short.position, D(10), D(12))
    assert (covered.amount, covered.revaluation, covered.position.value) == (D("120.00"), D("-6.00"), D("84.00"))
    entry = goods_receipt("M8", DAY, D(10), D(12), "S1", revaluation=covered.revaluation)
    ledger, _ = Ledger().post_all([
        goods_receipt("M0", DAY, D(2), D(10), "S1"),
        goods_issue("M7", DAY, short.amount, "S1", "CC-MAINT"),
        entry,
    ], chart(), PeriodCalendar())
    tb = trial_balance(ledger.entries)
    # 20.00 − 50.00 + 120.00 − 6.00 = 84.00
    assert tb.balance(A.inventory) == D("84.00") == covered.position.value
    assert tb.balance(A.price_variance) == D("6.00") and tb.balanced


def test_an_issue_to_a_work_order_must_name_the_machine() -> None:
    with pytest.raises(MissingDimensionError, match="work order WO-7 but names no equipment"):
        goods_issue("M5", DAY, D("10.00"), "S1", "CC-MAINT", work_order="WO-7")


def test_an_issue_without_a_cost_centre_is_refused_by_the_chart() -> None:
    entry = goods_issue("M6", DAY, D("10.00"), "S1", cost_centre="")
    with pytest.raises(MissingDimensionError, match="needs a cost centre"):
        Ledger().post(entry, chart(), PeriodCalendar())


def test_operations_of_nothing_post_nothing() -> None:
    with pytest.raises(FinanceError, match="posts nothing"):
        payment("PAY-0", DAY, D("0.004"), "S1")  # rounds to 0.00
    with pytest.raises(FinanceError, match="posts nothing"):
        goods_issue("M0", DAY, D(0), "S1", "CC-MAINT")


def test_every_line_carries_the_site() -> None:
    entry = goods_issue("M3", DAY, D("1.00"), "S2", "CC-MAINT", equipment="HT-07", work_order="WO-1")
    assert entry.lines[0].dimensions == dims(site="S2", cost_centre="CC-MAINT", equipment="HT-07")
    assert entry.lines[1].dimensions == dims(site="S2")
