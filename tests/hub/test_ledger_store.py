"""The hub's ledger store (hub/finance/store.py) against a real PostgreSQL migrated to head (0010): posting is
idempotent by key and all or nothing, refuses what the shared rules refuse, and the SQL trial balance equals
the pure fold (shared/domain/trial_balance.py) over thousands of generated lines."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any, TypeVar

import asyncpg
import pytest

from hub.db import connect
from hub.finance.store import close_period, post_entries, reopen_period, trial_balance
from pitline.harness import run_sync
from shared.domain.accounts import Dimension, dims
from shared.domain.finance_errors import (
    ClosedPeriodError,
    IdempotencyConflictError,
    ReversalError,
    UnknownAccountError,
)
from shared.domain.journal import LedgerEntry, LedgerLine, credit, debit
from shared.domain.ledger import PostOutcome
from shared.domain.periods import Period
from shared.domain.trial_balance import trial_balance as fold
from tests.shared.domain.finance_fixtures import DIMENSION_VALUES, chart

T = TypeVar("T")
NOV30 = date(2026, 11, 30)


def with_conn(dsn: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def run() -> T:
        conn = await connect(dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return run_sync(run())


def receipt(key: str, amount: str = "125.00", day: date = NOV30, site: str = "S1") -> LedgerEntry:
    where = dims(site=site)
    return LedgerEntry(key, day, (debit("1400", D(amount), where), credit("2100", D(amount), where)))


def count(dsn: str, tenant: str) -> tuple[int, int]:
    async def work(conn: asyncpg.Connection) -> tuple[int, int]:
        e = await conn.fetchval("SELECT count(*) FROM finance.journal_entries WHERE tenant_id = $1", tenant)
        n = await conn.fetchval("SELECT count(*) FROM finance.ledger_lines WHERE tenant_id = $1", tenant)
        return e, n

    return with_conn(dsn, work)


def post(dsn: str, tenant: str, entries: list[LedgerEntry], **kw: Any) -> list[PostOutcome]:
    return with_conn(dsn, lambda conn: post_entries(conn, tenant, entries, **kw))


def test_a_batch_is_stored_once_and_replaying_it_posts_nothing_new(pg_dsn: str) -> None:
    batch = [receipt("goods_receipt:M1"), receipt("goods_receipt:M2", "10.01"), receipt("goods_receipt:M3", "0.01")]
    assert post(pg_dsn, "t-led-1", batch) == [PostOutcome.POSTED] * 3
    assert count(pg_dsn, "t-led-1") == (3, 6)
    # The replay arrives with the line order changed (presentation only) and one new entry.
    replay = [LedgerEntry(batch[0].key, NOV30, tuple(reversed(batch[0].lines))), *batch[1:],
              receipt("goods_receipt:M4")]
    assert post(pg_dsn, "t-led-1", replay) == [PostOutcome.DUPLICATE] * 3 + [PostOutcome.POSTED]
    assert count(pg_dsn, "t-led-1") == (4, 8)
    [source] = with_conn(pg_dsn, lambda c: c.fetch(
        "SELECT DISTINCT source FROM finance.journal_entries WHERE tenant_id = 't-led-1'"))
    assert source["source"] == "goods_receipt"
    # The same figures written without cents ("10.01" is 10.01; 125 is 125.00) are the same posting.
    assert post(pg_dsn, "t-led-1", [receipt("goods_receipt:M1", "125")]) == [PostOutcome.DUPLICATE]
    # Another tenant's key space is its own.
    assert post(pg_dsn, "t-led-1b", batch[:1]) == [PostOutcome.POSTED]


def test_the_same_key_with_other_figures_is_refused_and_nothing_of_its_batch_is_posted(pg_dsn: str) -> None:
    post(pg_dsn, "t-led-2", [receipt("goods_receipt:M1")])
    with pytest.raises(IdempotencyConflictError, match="already posted"):
        post(pg_dsn, "t-led-2", [receipt("goods_receipt:M9"), receipt("goods_receipt:M1", "126.00")])
    assert count(pg_dsn, "t-led-2") == (1, 2)
    with pytest.raises(IdempotencyConflictError):  # twice in one batch, with other figures the second time
        post(pg_dsn, "t-led-2", [receipt("goods_receipt:M5"), receipt("goods_receipt:M5", "1.00")])
    assert count(pg_dsn, "t-led-2") == (1, 2)
    # Twice in one batch with the same figures: one posting, the second a duplicate.
    assert post(pg_dsn, "t-led-2", [receipt("goods_receipt:M6")] * 2) == [PostOutcome.POSTED, PostOutcome.DUPLICATE]


def test_a_closed_period_refuses_new_entries_and_the_whole_batch_but_a_replay_stays_harmless(pg_dsn: str) -> None:
    tenant = "t-led-3"
    post(pg_dsn, tenant, [receipt("goods_receipt:M1")])
    with_conn(pg_dsn, lambda c: close_period(c, tenant, Period(2026, 11), "fin"))
    with pytest.raises(ClosedPeriodError, match="period 2026-11 is closed"):
        post(pg_dsn, tenant, [receipt("goods_receipt:M2", day=date(2026, 12, 1)), receipt("goods_receipt:M3")])
    assert count(pg_dsn, tenant) == (1, 2)
    assert post(pg_dsn, tenant, [receipt("goods_receipt:M1")]) == [PostOutcome.DUPLICATE]
    assert post(pg_dsn, tenant, [receipt("goods_receipt:M2", day=date(2026, 12, 1))]) == [PostOutcome.POSTED]
    with_conn(pg_dsn, lambda c: reopen_period(c, tenant, Period(2026, 11)))
    assert post(pg_dsn, tenant, [receipt("goods_receipt:M3")]) == [PostOutcome.POSTED]


def test_a_reversal_zeroes_the_original_and_a_second_or_bad_reversal_is_refused(pg_dsn: str) -> None:
    tenant = "t-led-4"
    original = receipt("goods_receipt:M1")
    post(pg_dsn, tenant, [original])
    back = original.reversal("goods_receipt:M1:rev", date(2026, 12, 2))
    assert post(pg_dsn, tenant, [back]) == [PostOutcome.POSTED]
    tb = with_conn(pg_dsn, lambda c: trial_balance(c, tenant))
    assert tb.balance("1400") == 0 and tb.accounts["1400"].debit == D("125.00")
    with pytest.raises(ReversalError, match="already reversed"):
        post(pg_dsn, tenant, [original.reversal("goods_receipt:M1:rev2", date(2026, 12, 3))])
    with pytest.raises(ReversalError, match="never posted"):
        post(pg_dsn, tenant, [receipt("x").reversal("x:rev", date(2026, 12, 3))])
    post(pg_dsn, tenant, [receipt("goods_receipt:M2")])
    wrong = LedgerEntry("goods_receipt:M2:rev", date(2026, 12, 3), receipt("y", "1.00").lines,
                        reverses="goods_receipt:M2")
    with pytest.raises(ReversalError, match="does not mirror"):
        post(pg_dsn, tenant, [wrong])
    assert count(pg_dsn, tenant) == (3, 6)
    assert post(pg_dsn, tenant, [back]) == [PostOutcome.DUPLICATE]  # the reversal's own replay


def test_with_the_chart_an_unknown_account_is_refused_and_posts_nothing(pg_dsn: str) -> None:
    bad = LedgerEntry("goods_receipt:M1", NOV30, (debit("9999", D("5.00")), credit("2100", D("5.00"))))
    with pytest.raises(UnknownAccountError, match="9999"):
        post(pg_dsn, "t-led-5", [receipt("goods_receipt:M0"), bad], chart=chart())
    assert count(pg_dsn, "t-led-5") == (0, 0)


ACCOUNTS = ("1400", "2100", "5100", "6100", "1100", "4100")


def generated(rng: random.Random, n_entries: int) -> list[LedgerEntry]:
    """Balanced entries of 2 to 6 lines over 3 months, each line with a random subset of dimension values."""
    out = []
    start = date(2026, 9, 1)
    for k in range(n_entries):
        debits = [rng.randint(1, 500_000) for _ in range(rng.randint(1, 3))]
        total = sum(debits)
        cuts = sorted(rng.sample(range(1, total), min(rng.randint(0, 2), total - 1))) if total > 1 else []
        credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]

        def dimensions() -> tuple[tuple[Dimension, str], ...]:
            return tuple(sorted((d, rng.choice(sorted(v))) for d, v in DIMENSION_VALUES.items() if rng.random() < 0.6))

        lines = [LedgerLine(rng.choice(ACCOUNTS), debit=D(c).scaleb(-2), dimensions=dimensions()) for c in debits]
        lines += [LedgerLine(rng.choice(ACCOUNTS), credit=D(c).scaleb(-2), dimensions=dimensions()) for c in credits]
        out.append(LedgerEntry(f"gen:{k}", start + timedelta(days=rng.randint(0, 90)), tuple(lines)))
    return out


def test_the_sql_trial_balance_equals_the_pure_fold_on_thousands_of_generated_lines_and_is_balanced(
        pg_dsn: str) -> None:
    tenant = "t-led-6"
    entries = generated(random.Random(13), 1500)
    lines = sum(len(e.lines) for e in entries)
    assert lines > 4000
    for start in range(0, len(entries), 400):
        post(pg_dsn, tenant, entries[start : start + 400])
    post(pg_dsn, "t-led-6-other", generated(random.Random(14), 50))  # another tenant's lines never count
    for as_of in (None, date(2026, 10, 15), date(2026, 8, 31)):
        expected = fold(e for e in entries if as_of is None or e.posting_date <= as_of)
        got = with_conn(pg_dsn, lambda c, a=as_of: trial_balance(c, tenant, a))  # type: ignore[misc]
        assert got.accounts == expected.accounts and got.by_dimension == {}
        assert got.balanced and got.total == expected.total
        for dim in Dimension:
            by = with_conn(pg_dsn, lambda c, a=as_of, d=dim: trial_balance(c, tenant, a, d))  # type: ignore[misc]
            assert by.accounts == expected.accounts
            assert by.by_dimension == {k: v for k, v in expected.by_dimension.items() if k[1] is dim}, (as_of, dim)
    assert with_conn(pg_dsn, lambda c: trial_balance(c, tenant, date(2026, 8, 31))).accounts == {}
