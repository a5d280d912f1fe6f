"""The hub's trial balance (issue 13): post N ledger lines through `hub.finance.store.post_entries` (the real
posting path: batches of entries, one INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING statement per
batch, not COPY and not executemany), then time our trial balance over them beside a plain
`SELECT account, sum(debit_cents), sum(credit_cents) FROM finance.ledger_lines GROUP BY account` on the same rows
in the same run. Timings are the median of several runs, after a VACUUM ANALYZE (autovacuum would do it on a
hub; done here so every run sees the same visibility map)."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal

from bench.env import BenchEnv
from bench.gl_page_bench import gl_rows
from bench.report import Row
from hub.db import connect
from hub.finance.store import post_entries, trial_balance
from pitline.harness import run_sync
from shared.domain.accounts import Dimension
from shared.domain.journal import LedgerEntry, LedgerLine

TENANT = "bench-ledger"
LINES_PER_ENTRY = 4
ENTRIES_PER_BATCH = 2_500  # 10,000 lines a statement
RUNS = 7
ACCOUNTS = tuple(str(a) for a in range(1000, 1060))  # a mine's chart: some 60 posting accounts
SITES, CCS, EQUIP = ("S1", "S2", "S3"), tuple(f"CC{k}" for k in range(20)), tuple(f"EQ{k}" for k in range(200))
PLAIN = "SELECT account, sum(debit_cents), sum(credit_cents) FROM finance.ledger_lines GROUP BY account"


def _entries(first: int, n_entries: int, rng: random.Random) -> list[LedgerEntry]:
    """Entries of 4 lines (two debits, two credits) over 11 months, the expense side with cost centre and
    equipment, every line with a site."""
    start = date(2026, 1, 1)
    out = []
    for k in range(first, first + n_entries):
        a, b = (Decimal(rng.randint(1, 1_000_000)).scaleb(-2) for _ in range(2))
        site = ((Dimension.SITE, rng.choice(SITES)),)
        cost = (*site, (Dimension.COST_CENTRE, rng.choice(CCS)), (Dimension.EQUIPMENT, rng.choice(EQUIP)))
        w, x, y, z = rng.sample(ACCOUNTS, 4)
        out.append(LedgerEntry(f"bench:{k}", start + timedelta(days=k % 330), (
            LedgerLine(w, debit=a, dimensions=cost), LedgerLine(x, debit=b, dimensions=cost),
            LedgerLine(y, credit=a, dimensions=site), LedgerLine(z, credit=b, dimensions=site))))
    return out


def _median(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(env: BenchEnv, n_lines: int) -> list[Row]:
    return run_sync(_run(env.dsn, n_lines))


async def _timed(work: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return _median(samples)


async def _run(dsn: str, n_lines: int) -> list[Row]:
    rng = random.Random(13)
    conn = await connect(dsn)
    try:
        posted = 0
        post_seconds = 0.0
        k = 0
        while posted < n_lines:
            batch = _entries(k, min(ENTRIES_PER_BATCH, (n_lines - posted) // LINES_PER_ENTRY or 1), rng)
            k += len(batch)
            started = time.perf_counter()
            await post_entries(conn, TENANT, batch)
            post_seconds += time.perf_counter() - started
            posted += sum(len(e.lines) for e in batch)
        await conn.execute("VACUUM ANALYZE finance.ledger_lines")
        tb = await trial_balance(conn, TENANT)
        if not tb.balanced:
            raise RuntimeError("the bench's trial balance is not balanced")
        plain_rows = await conn.fetch(PLAIN)
        if {r["account"]: (r[1], r[2]) for r in plain_rows} != {
                a: (int(t.debit * 100), int(t.credit * 100)) for a, t in tb.accounts.items()}:
            raise RuntimeError("our trial balance and the plain SUM disagree")
        ours = await _timed(lambda: trial_balance(conn, TENANT))
        plain = await _timed(lambda: conn.fetch(PLAIN))
        by_site = await _timed(lambda: trial_balance(conn, TENANT, None, Dimension.SITE))
        as_of = await _timed(lambda: trial_balance(conn, TENANT, date(2026, 6, 30)))
        gl = await gl_rows(conn, TENANT, posted)  # the GL by account over the same lines
    finally:
        await conn.close()
    note = (f"{posted:,} lines in {k:,} entries, posted with post_entries in batches of {ENTRIES_PER_BATCH:,} "
            f"entries (one INSERT ... unnest ... ON CONFLICT DO NOTHING each) at {posted / post_seconds:,.0f} "
            f"lines/s; median of {RUNS} runs after VACUUM ANALYZE; ratio = ours / plain (time: > 1 is slower)")
    return [
        Row(f"ledger: trial balance, {posted:,} lines", ours, "ms", "plain SUM … GROUP BY account", plain,
            "≤ 1,000 ms", ours <= 1000, note=note),
        Row(f"ledger: trial balance × site, {posted:,} lines", by_site, "ms", "plain SUM … GROUP BY account", plain,
            "≤ 1,000 ms", by_site <= 1000),
        Row(f"ledger: trial balance as of mid-year, {posted:,} lines", as_of, "ms", "plain SUM … GROUP BY account",
            plain, "≤ 1,000 ms", as_of <= 1000),
        *gl,
    ]
