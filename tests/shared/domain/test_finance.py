"""Money in cents, and the manual journal record (`finance.journal_entry`, D75): checked where it is written
(balanced, whole cents, one-sided lines, amounts as text), create-only, and rebuilt as the ledger entry the hub
posts under `manual_journal:<id>`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.accounts import Dimension
from shared.domain.finance import money
from shared.domain.finance_errors import FinanceError, UnbalancedEntryError
from shared.domain.manual_journal import ENTITY, manual_entry
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError

ACCRUAL = {"posted_on": "2026-11-30", "description": "November power accrual", "reference": "ACC-11",
           "lines": [{"account": "6100", "debit": "1250.00", "credit": "0",
                      "dimensions": {"site": "s1", "cost_centre": "CC-A"}},
                     {"account": "2100", "debit": "0", "credit": "1250.00", "dimensions": {"site": "s1"}}]}


def test_money_rounds_half_up_once() -> None:
    assert (money(D("0.005")), money(D("-0.005")), money("2.675"), money(12)) == (
        D("0.01"), D("-0.01"), D("2.68"), D("12.00"))


def test_a_manual_journal_record_is_the_ledger_entry_the_hub_posts() -> None:
    validate_mutation(ENTITY, Op.CREATE, ACCRUAL)
    entry = manual_entry("J1", ACCRUAL)
    assert (entry.key, entry.posting_date, entry.description) == ("manual_journal:J1", date(2026, 11, 30),
                                                                  "November power accrual")
    assert [(ln.account, ln.debit, ln.credit, dict(ln.dimensions).get(Dimension.SITE)) for ln in entry.lines] == [
        ("6100", D("1250.00"), D(0), "s1"), ("2100", D(0), D("1250.00"), "s1")]


def test_a_bad_manual_journal_is_refused_where_it_is_written() -> None:
    lines = ACCRUAL["lines"]
    unbalanced = {**ACCRUAL, "lines": [lines[0], {**lines[1], "credit": "1205.00"}]}
    with pytest.raises(UnbalancedEntryError, match=r"not balanced.*1250\.00.*1205\.00"):
        validate_mutation(ENTITY, Op.CREATE, unbalanced)
    with pytest.raises(FinanceError, match="amounts travel as strings"):
        validate_mutation(ENTITY, Op.CREATE, {**ACCRUAL, "lines": [{**lines[0], "debit": 1250.0}, lines[1]]})
    with pytest.raises(FinanceError, match="fractions of a cent"):
        validate_mutation(ENTITY, Op.CREATE, {**ACCRUAL, "lines": [{**lines[0], "debit": "1250.005"},
                                                                   {**lines[1], "credit": "1250.005"}]})
    with pytest.raises(ValidationError):
        validate_mutation(ENTITY, Op.CREATE, {k: v for k, v in ACCRUAL.items() if k != "posted_on"})
    with pytest.raises(ValidationError):  # create-only: a posted journal is corrected by another, never edited
        validate_mutation(ENTITY, Op.UPDATE, {"description": "edited"})
