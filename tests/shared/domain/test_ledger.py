"""Chart of accounts, balanced entries, idempotent posting, reversal and period close: every refusal is a clear
FinanceError and leaves the ledger exactly as it was."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.accounts import Account, AccountType, ChartOfAccounts, Dimension, dimensions_from, dims
from shared.domain.finance_errors import (
    ChartError,
    ClosedPeriodError,
    FinanceError,
    HeaderAccountError,
    IdempotencyConflictError,
    MissingDimensionError,
    ReversalError,
    UnbalancedEntryError,
    UnknownAccountError,
    UnknownDimensionError,
)
from shared.domain.journal import LedgerEntry, LedgerLine, credit, debit, entry_from_payload, entry_payload
from shared.domain.ledger import Ledger, PostOutcome
from shared.domain.periods import Period, PeriodCalendar
from shared.domain.postings import ACCOUNTS as A
from shared.domain.postings import goods_issue, goods_receipt
from shared.domain.trial_balance import rollup, trial_balance
from shared.errors import PitlineError, ValidationError
from tests.shared.domain.finance_fixtures import chart

S1 = dims(site="S1")
NOV30 = date(2026, 11, 30)
OPEN = PeriodCalendar()


def receipt(key: str = "goods_receipt:M1", day: date = NOV30, amount: D = D("125.00")) -> LedgerEntry:
    return LedgerEntry(key, day, (debit(A.inventory, amount, S1), credit(A.grir, amount, S1)))


# --- chart of accounts -----------------------------------------------------------------------------
def test_finance_errors_are_validation_errors_so_the_hub_rejects_them_with_a_4xx() -> None:
    assert issubclass(FinanceError, ValidationError) and issubclass(FinanceError, PitlineError)
    for cls in (UnbalancedEntryError, ClosedPeriodError, UnknownAccountError, HeaderAccountError,
                UnknownDimensionError, MissingDimensionError, IdempotencyConflictError, ReversalError):
        assert issubclass(cls, FinanceError)


def test_unknown_account_is_refused_and_named() -> None:
    with pytest.raises(UnknownAccountError, match=r"account '9999' is not in the chart of accounts") as e:
        chart().check_line("9999", S1)
    assert e.value.field_errors == {"account": "unknown account 9999"}


def test_posting_to_a_header_account_is_refused_and_names_the_accounts_under_it() -> None:
    with pytest.raises(HeaderAccountError, match=r"6000 Operating expenses is a header account.*6100 Parts"):
        chart().check_line("6000", S1)


def test_unknown_dimension_value_is_refused_and_named() -> None:
    with pytest.raises(UnknownDimensionError, match=r"cost centre 'CC-99' is not a known cost centre"):
        chart().check_line(A.consumption, dims(site="S1", cost_centre="CC-99"))
    with pytest.raises(UnknownDimensionError, match=r"'colour' is not a dimension"):
        dimensions_from({"colour": "red"})
    assert dimensions_from({"site": "S1", "equipment": "EX-01"}) == dims(site="S1", equipment="EX-01")


def test_a_dimension_the_account_requires_but_the_line_lacks_is_refused() -> None:
    with pytest.raises(MissingDimensionError, match=r"6100 Parts and materials consumed needs a cost centre"):
        chart().check_line(A.consumption, S1)
    with pytest.raises(MissingDimensionError, match="needs a site"):
        chart().check_line(A.inventory, ())
    # Extra dimensions that are known are fine: a project on an inventory line.
    assert chart().check_line(A.inventory, dims(site="S1", project="P-PIT3")).code == A.inventory


def test_an_ill_formed_chart_refuses_to_be_built() -> None:
    X = AccountType.EXPENSE
    with pytest.raises(ChartError, match="used twice"):
        ChartOfAccounts.build([Account("1", "a", X), Account("1", "b", X)])
    with pytest.raises(ChartError, match="not in the chart"):
        ChartOfAccounts.build([Account("2", "b", X, parent="1")])
    with pytest.raises(ChartError, match="a posting account"):
        ChartOfAccounts.build([Account("1", "a", X), Account("2", "b", X, parent="1")])
    with pytest.raises(ChartError, match="header of its own type"):
        ChartOfAccounts.build([Account("1", "a", AccountType.ASSET, header=True), Account("2", "b", X, parent="1")])
    with pytest.raises(ChartError, match="cannot require dimensions"):
        ChartOfAccounts.build([Account("1", "a", X, header=True, required=frozenset({Dimension.SITE}))])


# --- entries ----------------------------------------------------------------------------------------
def test_an_unbalanced_entry_refuses_to_exist_and_says_by_how_much() -> None:
    with pytest.raises(UnbalancedEntryError, match=r"debits 125.00 ≠ credits 124.99 \(debits exceed by 0.01\)"):
        LedgerEntry("x:1", NOV30, (debit(A.inventory, D("125.00"), S1), credit(A.grir, D("124.99"), S1)))
    with pytest.raises(UnbalancedEntryError, match="at least one debit and one credit"):
        LedgerEntry("x:1", NOV30, (debit(A.inventory, D("1.00"), S1),))


def test_lines_are_whole_cents_one_sided_and_not_zero() -> None:
    with pytest.raises(FinanceError, match="fractions of a cent"):
        LedgerLine(A.inventory, debit=D("1.005"))
    with pytest.raises(FinanceError, match="either a debit or a credit"):
        LedgerLine(A.inventory, debit=D(1), credit=D(1))
    with pytest.raises(FinanceError, match="never negative"):
        LedgerLine(A.inventory, debit=D(-1))
    with pytest.raises(FinanceError, match="posts nothing"):
        LedgerLine(A.inventory)
    with pytest.raises(FinanceError, match="source key"):
        LedgerEntry(" ", NOV30, (debit(A.inventory, D(1), S1), credit(A.grir, D(1), S1)))


# --- posting ----------------------------------------------------------------------------------------
def test_posting_appends_and_returns_a_new_ledger() -> None:
    before = Ledger()
    after, outcome = before.post(receipt(), chart(), OPEN)
    assert outcome is PostOutcome.POSTED and len(after) == 1 and len(before) == 0
    assert trial_balance(after.entries).balance(A.inventory) == D("125.00")


def test_replaying_the_same_key_and_figures_is_a_duplicate_and_posts_nothing() -> None:
    ledger, _ = Ledger().post(receipt(), chart(), OPEN)
    # Memo text and line order are presentation: the same posting replayed in another order is still a duplicate.
    e = receipt()
    replay = LedgerEntry(e.key, e.posting_date, tuple(reversed(e.lines)))
    again, outcome = ledger.post(replay, chart(), OPEN)
    assert outcome is PostOutcome.DUPLICATE and again is ledger


def test_the_same_amount_written_with_another_exponent_is_the_same_posting() -> None:
    # A replay read back from storage says 125 where the first post said 125.00: the same figures.
    ledger, _ = Ledger().post(receipt(), chart(), OPEN)
    e = receipt()
    rewritten = tuple(LedgerLine(ln.account, D(int(ln.debit)) if ln.debit == int(ln.debit) else ln.debit,
                                 D(int(ln.credit)) if ln.credit == int(ln.credit) else ln.credit, ln.dimensions)
                      for ln in e.lines)
    assert any(str(a.debit or a.credit) != str(b.debit or b.credit) for a, b in zip(rewritten, e.lines, strict=True))
    again, outcome = ledger.post(LedgerEntry(e.key, e.posting_date, rewritten), chart(), OPEN)
    assert outcome is PostOutcome.DUPLICATE and again is ledger


def test_the_same_key_with_other_figures_is_refused_not_posted_twice() -> None:
    ledger, _ = Ledger().post(receipt(), chart(), OPEN)
    with pytest.raises(IdempotencyConflictError, match=r"'goods_receipt:M1' was already posted, dated 2026-11-30 "
                                                        r"for 125.00; this one is dated 2026-11-30 for 130.00.*"
                                                        r"reverse it"):
        ledger.post(receipt(amount=D("130.00")), chart(), OPEN)
    assert len(ledger) == 1


def test_an_entry_with_an_unknown_account_posts_nothing() -> None:
    bad = LedgerEntry("goods_receipt:M2", NOV30, (debit("1401", D(5), S1), credit(A.grir, D(5), S1)))
    ledger, _ = Ledger().post(receipt(), chart(), OPEN)
    with pytest.raises(UnknownAccountError, match="'1401'"):
        ledger.post_all([receipt("goods_receipt:M3"), bad], chart(), OPEN)
    # All or nothing: the good entry before the bad one was not posted either.
    assert len(ledger) == 1 and "goods_receipt:M3" not in ledger


def test_a_closed_period_refuses_postings_dated_in_it_and_names_it() -> None:
    calendar = PeriodCalendar().close(Period(2026, 11))
    ledger = Ledger()
    with pytest.raises(ClosedPeriodError, match=r"period 2026-11 is closed: entry 'goods_receipt:M1' dated "
                                                r"2026-11-30 cannot be posted") as e:
        ledger.post(receipt(), chart(), calendar)
    assert e.value.field_errors == {"posting_date": "period 2026-11 is closed"}
    assert len(ledger) == 0
    # The posting date decides, not when it arrives: 1 December is open.
    posted, _ = ledger.post(receipt(day=date(2026, 12, 1)), chart(), calendar)
    assert len(posted) == 1
    # Reopened, November takes it again.
    posted, _ = ledger.post(receipt(), chart(), calendar.reopen(Period(2026, 11)))
    assert len(posted) == 1


def test_a_replay_after_the_period_closed_is_still_a_harmless_duplicate() -> None:
    ledger, _ = Ledger().post(receipt(), chart(), OPEN)
    _, outcome = ledger.post(receipt(), chart(), PeriodCalendar().close(Period(2026, 11)))
    assert outcome is PostOutcome.DUPLICATE


def test_a_reversal_is_a_new_entry_that_zeroes_the_original_which_stays() -> None:
    original = receipt()
    ledger, _ = Ledger().post(original, chart(), OPEN)
    # November closed meanwhile: the reversal is dated in December, the original is untouched.
    calendar = PeriodCalendar().close(Period(2026, 11))
    rev = original.reversal("reversal:goods_receipt:M1", date(2026, 12, 2))
    ledger, _ = ledger.post(rev, chart(), calendar)
    assert ledger.get("goods_receipt:M1") == original and ledger.reversed_by("goods_receipt:M1") == rev.key
    tb = trial_balance(ledger.entries)
    assert tb.balance(A.inventory) == 0 and tb.accounts[A.inventory].debit == D("125.00")
    with pytest.raises(ReversalError, match="already reversed"):
        ledger.post(original.reversal("reversal:2", date(2026, 12, 2)), chart(), calendar)
    with pytest.raises(ReversalError, match="itself a reversal"):
        ledger.post(rev.reversal("reversal:3", date(2026, 12, 2)), chart(), calendar)


def test_a_reversal_must_name_a_posted_entry_and_mirror_it() -> None:
    with pytest.raises(ReversalError, match="never posted"):
        Ledger().post(receipt().reversal("r:1", NOV30), chart(), OPEN)
    ledger, _ = Ledger().post(receipt(), chart(), OPEN)
    partial = LedgerEntry("r:2", NOV30, (debit(A.grir, D(1), S1), credit(A.inventory, D(1), S1)),
                          reverses="goods_receipt:M1")
    with pytest.raises(ReversalError, match="does not mirror"):
        ledger.post(partial, chart(), OPEN)


def test_a_receipt_rule_entry_posts_with_its_source_key() -> None:
    entry = goods_receipt("M9", NOV30, D(10), D("12.50"), "S1")
    assert entry.key == "goods_receipt:M9"
    ledger, _ = Ledger().post(entry, chart(), OPEN)
    assert trial_balance(ledger.entries).balance(A.grir) == D("-125.00")


def test_periods_parse_order_and_count_months() -> None:
    assert Period.parse("2026-11") == Period(2026, 11) and str(Period(2026, 1)) == "2026-01"
    assert Period(2026, 12).next() == Period(2027, 1)
    assert Period(2027, 2).months_since(Period(2026, 11)) == 3
    with pytest.raises(FinanceError, match="YYYY-MM"):
        Period.parse("Nov 2026")
    with pytest.raises(FinanceError, match="month 13"):
        Period(2026, 13)


def test_a_chart_whose_headers_loop_is_refused() -> None:
    X = AccountType.EXPENSE
    with pytest.raises(ChartError, match="under itself"):
        ChartOfAccounts.build([Account("1", "a", X, header=True, parent="2"),
                               Account("2", "b", X, header=True, parent="1")])


def test_header_accounts_total_what_is_under_them() -> None:
    ledger, _ = Ledger().post_all([
        receipt(),
        goods_issue("M2", NOV30, D("40.00"), "S1", "CC-MAINT"),
    ], chart(), OPEN)
    totals = rollup(trial_balance(ledger.entries), chart())
    # Assets: inventory 125.00 − 40.00 = 85.00; liabilities: GR/IR −125.00; expenses: consumed 40.00
    assert (totals["1000"].balance, totals["2000"].balance, totals["6000"].balance) == (
        D("85.00"), D("-125.00"), D("40.00"))


def test_an_entry_survives_its_payload_and_bad_payloads_are_refused_clearly() -> None:
    entry = goods_issue("M2", NOV30, D("40.00"), "S1", "CC-MAINT", equipment="EX-01", work_order="WO-7")
    payload = entry_payload(entry)
    assert entry_from_payload(payload) == entry
    rev = entry.reversal("reversal:goods_issue:M2", date(2026, 12, 1))
    assert entry_from_payload(entry_payload(rev)) == rev
    lines = payload["lines"]
    assert isinstance(lines, list)
    unbalanced = payload | {"lines": [lines[0], lines[1] | {"credit": "39.99"}]}
    with pytest.raises(UnbalancedEntryError):
        entry_from_payload(unbalanced)
    with pytest.raises(FinanceError, match="travel as strings"):
        entry_from_payload(payload | {"lines": [lines[0] | {"debit": 40.0}, lines[1]]})
    with pytest.raises(FinanceError, match="is not an amount"):
        entry_from_payload(payload | {"lines": [lines[0] | {"debit": "NaN"}, lines[1]]})
    with pytest.raises(FinanceError, match="not a date"):
        entry_from_payload(payload | {"posting_date": "30/11/2026"})
    with pytest.raises(FinanceError, match="as a list"):
        entry_from_payload(payload | {"lines": "nope"})
    with pytest.raises(UnknownDimensionError, match="'colour' is not a dimension"):
        entry_from_payload(payload | {"lines": [lines[0] | {"dimensions": {"colour": "red"}}, lines[1]]})


def test_a_line_carries_each_dimension_once() -> None:
    with pytest.raises(FinanceError, match="each dimension once"):
        LedgerLine(A.inventory, debit=D(1), dimensions=((Dimension.SITE, "S1"), (Dimension.SITE, "S2")))


def test_a_ledger_rebuilt_from_stored_entries_still_knows_its_keys_and_reversals() -> None:
    original = receipt()
    rev = original.reversal("reversal:goods_receipt:M1", NOV30)
    stored = Ledger((original, rev))
    assert stored.get(original.key) == original and stored.reversed_by(original.key) == rev.key
    _, outcome = stored.post(original, chart(), OPEN)
    assert outcome is PostOutcome.DUPLICATE
    with pytest.raises(ReversalError, match="already reversed"):
        stored.post(original.reversal("reversal:again", NOV30), chart(), OPEN)
