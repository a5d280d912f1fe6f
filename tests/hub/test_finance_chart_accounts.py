"""The accounts a tenant's chart must keep (hub/finance/chart.py `posting_accounts`) are every account a posting
rule posts to: derived from `LedgerAccounts`, checked here by running every rule once. A tenant chart that drops
4900 (gain or loss on disposal) is refused, as 1400 always was."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from hub.finance.chart import check_posting_accounts, posting_accounts
from shared.domain import postings
from shared.domain import stock_postings as sp
from shared.domain.assets import acquisition_entry, asset_from_payload, disposal_entries
from shared.domain.costing import StockPosition
from shared.domain.finance import DEFAULT_ACCOUNTS
from shared.domain.finance_entities import chart_from_records
from shared.domain.finance_errors import ChartError
from shared.domain.inventory import MovementKind as K
from shared.domain.journal import LedgerEntry
from shared.domain.matching import three_way_match
from shared.domain.periods import Period
from shared.domain.receivables import customer_receipt_entry

DAY = date(2026, 11, 10)


def every_rule() -> list[LedgerEntry]:
    """One entry from each posting rule, with figures that make each optional line appear (a revaluation, a price
    variance, a loss on disposal)."""
    short = sp.cost(StockPosition(), sp.StockMove(K.RECEIPT, D(2), D(10)))  # 2 @ 10.00
    issued = sp.cost(short.position, sp.StockMove(K.ISSUE, D(3)))  # one unit short at 10.00
    covering = sp.cost(issued.position, sp.StockMove(K.RECEIPT, D(1), D(12)))  # revalues the short unit by 2.00
    found = sp.cost(StockPosition(D(1), D(5), D(5)), sp.StockMove(K.COUNT_ADJUSTMENT, D(1)))
    moved_in = sp.cost(StockPosition(), sp.StockMove(K.TRANSFER_IN, D(1), value=D("5.00")))
    dear = three_way_match(ordered_qty=D(5), po_unit_price=D(10), received_qty=D(5), previously_invoiced_qty=D(0),
                           invoice_qty=D(5), invoice_unit_price=D("10.05"))
    bought = asset_from_payload("A1", {"equipment_id": "EX-01", "cost": "1000.00", "salvage": "0.00",
                                       "in_service": "2026-08-01", "method": "straight_line", "life_months": 10,
                                       "paid_from": "payable", "disposed_on": "2026-11-05", "proceeds": "100.00",
                                       "vendor_id": "V1", "invoice_no": "A-INV-1"},
                                "S1")
    acquired = acquisition_entry(bought)
    assert acquired is not None
    entries = [
        sp.receipt("R1", DAY, D(2), short, D(10), "S1"),
        sp.issue_entry("I1", DAY, issued, "S1", None, "EX-01", "WO1"),
        sp.receipt("R2", DAY, D(1), covering, D(12), "S1"),
        sp.transfer_out("T1", DAY, D("5.00"), "S1", "X1"),
        sp.transfer_in("T2", DAY, moved_in, "S2", "S1", "X1"),
        sp.count_adjustment("C1", DAY, found.amount, "S1"),
        postings.vendor_invoice_line("V1", 1, DAY, D(5), D(10), D("10.05"), "S1", dear, approved=True),
        postings.payment("P1", DAY, D("50.00"), "S1"),
        postings.customer_invoice_line("AR1", 1, DAY, D(8), D(150), "S1", "EX-01"),
        customer_receipt_entry("CR1", DAY, D("100.00"), "S1"),
        postings.depreciation_entry("A1", Period(2026, 10), DAY, D("100.00"), "S1", "EX-01"),
        acquired,
        *disposal_entries(bought, D("300.00"), Period(2026, 10), None),
    ]
    return [e for e in entries if e is not None]


def test_every_account_a_posting_rule_uses_is_one_the_tenant_chart_must_keep() -> None:
    used = {ln.account for e in every_rule() for ln in e.lines}
    # The fixtures reach every account the rules know of, and each is required of a tenant's chart.
    assert used == set(posting_accounts())
    assert DEFAULT_ACCOUNTS.disposal in used and DEFAULT_ACCOUNTS.fixed_assets in used
    assert DEFAULT_ACCOUNTS.equity not in posting_accounts()  # opening balances only: a tenant may do without


def test_a_tenant_chart_that_drops_the_disposal_account_is_refused_and_one_that_keeps_it_passes() -> None:
    base = sp.default_accounts()
    kept, _ = chart_from_records([{"code": "4900", "name": "Disposals", "type": "income", "parent": "4000",
                                   "required": "site"}], (), base)
    check_posting_accounts(kept)  # renamed, still a posting account
    dropped, _ = chart_from_records([{"code": "4900", "name": "Disposals", "type": "income", "active": False}],
                                    (), base)
    with pytest.raises(ChartError, match="lacks the posting account\\(s\\) 4900"):
        check_posting_accounts(dropped)
    headed, _ = chart_from_records([{"code": "4900", "name": "Disposals", "type": "income", "header": True,
                                     "parent": "4000"}], (), base)
    with pytest.raises(ChartError, match="4900"):
        check_posting_accounts(headed)
