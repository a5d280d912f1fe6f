"""The pure manual-journal helpers (shared/domain/manual_journal.py, D84) and the chart guard in shared (D86): a
reversal record mirrors every line and names its original; the ledger's reversal rule judges it; the chart check
names each refused line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain.accounts import Dimension
from shared.domain.finance_entities import chart_from_records
from shared.domain.finance_errors import ReversalError
from shared.domain.manual_journal import check_against_chart, check_journal_reversal, manual_entry, reversal_payload
from shared.domain.stock_postings import default_accounts

JOURNAL = {"posted_on": "2026-11-30", "reference": "ACC-11", "description": "power",
           "lines": [{"account": "6100", "debit": "1250.00", "credit": "0", "memo": "m",
                      "dimensions": {"site": "s1", "cost_centre": "CC-A"}},
                     {"account": "2100", "debit": "0", "credit": "1250.00", "dimensions": {"site": "s1"}}]}


def test_a_reversal_record_mirrors_every_line_and_posts_as_the_ledgers_reversal() -> None:
    rev = reversal_payload("J1", JOURNAL, "2026-12-01")
    assert (rev["reverses"], rev["reference"], rev["posted_on"]) == ("J1", "REV ACC-11", "2026-12-01")
    entry = manual_entry("R1", rev)
    assert entry.key == "manual_journal:R1" and entry.reverses == "manual_journal:J1"
    original = manual_entry("J1", JOURNAL)
    assert entry.lines == original.reversal("manual_journal:R1", entry.posting_date).lines
    assert check_journal_reversal("R1", rev, original, None) == entry
    assert JOURNAL["lines"][0]["debit"] == "1250.00"  # the original payload is not touched


@pytest.mark.parametrize(("target_is_reversal", "reversed_by", "tamper", "words"), [
    (False, "manual_journal:R0", False, "was already reversed by 'manual_journal:R0'"),
    (True, None, False, "is itself a reversal"),
    (False, None, True, "does not mirror the lines"),
])
def test_the_ledgers_rule_refuses_a_second_reversal_a_reversal_of_a_reversal_and_a_non_mirror(
        target_is_reversal: bool, reversed_by: str | None, tamper: bool, words: str) -> None:
    target = manual_entry("J1", {**JOURNAL, "reverses": "J0"} if target_is_reversal else JOURNAL)
    rev = reversal_payload("J1", JOURNAL, "2026-12-01")
    if tamper:
        rev["lines"] = [{**ln, "dimensions": {"site": "s2", **{k: v for k, v in ln["dimensions"].items()
                                                             if k != "site"}}} for ln in rev["lines"]]
    with pytest.raises(ReversalError, match=words):
        check_journal_reversal("R1", rev, target, reversed_by)
    with pytest.raises(ReversalError, match="was never posted"):
        check_journal_reversal("R1", rev, None, None)


def test_the_chart_check_names_each_refused_line_with_open_dimensions_accepted() -> None:
    chart, open_dims = chart_from_records([], [{"dimension": "cost_centre", "value": "CC-A"}], default_accounts())
    assert Dimension.SITE in open_dims and Dimension.COST_CENTRE not in open_dims
    assert check_against_chart(manual_entry("J1", JOURNAL), chart, open_dims) == {}
    bad = {**JOURNAL, "lines": [{**JOURNAL["lines"][0], "dimensions": {"site": "s9", "cost_centre": "CC-Z"}},
                                {**JOURNAL["lines"][1], "account": "2000"}]}
    problems = check_against_chart(manual_entry("J2", bad), chart, open_dims)
    assert sorted(problems) == [0, 1] and "'CC-Z' is not a known cost centre" in problems[0]
    assert "header account" in problems[1]
    assert manual_entry("J2", bad).total == Decimal("1250.00")

