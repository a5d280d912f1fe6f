"""The general ledger by account (hub/finance/report_queries.py) over the ledger bench's lines: one page of an
account's lines in (date, entry, line) order, ours (keyset on the covering index, each shown line's entry
description by key, running balances in Python) beside a plain `SELECT … ORDER BY … LIMIT` on the same
table, on the first page and half way into the account; the plain deep page uses OFFSET, which is what paging
without a cursor costs. Our rows are checked equal to the plain query's before anything is timed."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import date

import asyncpg

from bench.report import Row
from hub.finance.report_queries import DESCRIBED, GlQuery, Position, gl_page, opening_and_totals, page_sql

ACCOUNT = "1000"
PAGE = 200
RUNS = 15
PLAIN = ("SELECT posting_date, entry_key, line_no, site, cost_centre, equipment, project, debit_cents, "
         "credit_cents, memo FROM finance.ledger_lines WHERE tenant_id = $1 AND account = $2 "
         "ORDER BY posting_date, entry_key, line_no LIMIT $3 OFFSET $4")
PLAIN_SUM = ("SELECT sum(debit_cents), sum(credit_cents) FROM finance.ledger_lines WHERE tenant_id = $1 "
             "AND account = $2 AND posting_date BETWEEN $3 AND $4")


async def _timed(work: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


async def _plan(conn: asyncpg.Connection, tenant: str, q: GlQuery, after: Position | None) -> str:
    args: list[object] = [tenant, q.account]
    sql = DESCRIBED.format(page=page_sql(q, after, PAGE + 1, args))  # the statement gl_page runs
    rows = await conn.fetch("EXPLAIN " + sql, *args)
    return " / ".join(r[0].strip() for r in rows)


async def gl_rows(conn: asyncpg.Connection, tenant: str, posted: int) -> list[Row]:
    q = GlQuery(ACCOUNT)
    lines = await conn.fetchval("SELECT count(*) FROM finance.ledger_lines WHERE tenant_id = $1 AND account = $2",
                                tenant, ACCOUNT)
    deep_at = lines // 2  # half way into the account (about 8,300 of its 16,700 lines at 1M)
    first, _ = await gl_page(conn, tenant, q, None, 0, PAGE)
    deep_start = await conn.fetchrow(PLAIN, tenant, ACCOUNT, 1, deep_at - 1)
    balance = await conn.fetchval(
        "SELECT sum(debit_cents - credit_cents) FROM (SELECT debit_cents, credit_cents FROM finance.ledger_lines "
        "WHERE tenant_id = $1 AND account = $2 ORDER BY posting_date, entry_key, line_no LIMIT $3) s",
        tenant, ACCOUNT, deep_at)
    after = Position(deep_start["posting_date"], deep_start["entry_key"], deep_start["line_no"], int(balance))
    deep, _ = await gl_page(conn, tenant, q, after, 0, PAGE)
    for ours, offset in ((first, 0), (deep, deep_at)):
        plain = await conn.fetch(PLAIN, tenant, ACCOUNT, PAGE, offset)
        if [(ln.posting_date, ln.entry_key, ln.line_no) for ln in ours] != [
                (r["posting_date"], r["entry_key"], r["line_no"]) for r in plain]:
            raise RuntimeError(f"our GL page at line {offset} differs from the plain ORDER BY … LIMIT")
    plan = await _plan(conn, tenant, q, after)
    if "ledger_lines_account" not in plan:
        raise RuntimeError(f"the GL page does not use the covering index: {plan}")
    ours_first = await _timed(lambda: gl_page(conn, tenant, q, None, 0, PAGE))
    plain_first = await _timed(lambda: conn.fetch(PLAIN, tenant, ACCOUNT, PAGE, 0))
    ours_deep = await _timed(lambda: gl_page(conn, tenant, q, after, 0, PAGE))
    plain_deep = await _timed(lambda: conn.fetch(PLAIN, tenant, ACCOUNT, PAGE, deep_at))
    # Where our page's time goes: the page statement alone (same rows as the plain one, our WHERE and LIMIT).
    args: list[object] = [tenant, ACCOUNT]
    statement = page_sql(q, None, PAGE + 1, args)
    ours_statement = await _timed(lambda: conn.fetch(statement, *args))
    ranged = GlQuery(ACCOUNT, date(2026, 6, 1), date(2026, 8, 31))
    totals = await _timed(lambda: opening_and_totals(conn, tenant, ranged))
    plain_sum = await _timed(lambda: conn.fetch(PLAIN_SUM, tenant, ACCOUNT, ranged.start, ranged.end))
    note = (f"account {ACCOUNT}: {lines:,} of the {posted:,} lines; pages of {PAGE}; median of {RUNS} runs; "
            f"plan of the deep page: {plan}")
    return [
        Row(f"ledger: GL page 1 of one account, {posted:,} lines", ours_first, "ms",
            "plain SELECT … ORDER BY … LIMIT 200", plain_first, "≤ 100 ms", ours_first <= 100, note=note),
        Row(f"ledger: GL page 1, the page statement alone, {posted:,} lines", ours_statement, "ms",
            "plain SELECT … ORDER BY … LIMIT 200", plain_first, "≤ 100 ms", ours_statement <= 100),
        Row(f"ledger: GL page at line {deep_at:,} (keyset), {posted:,} lines", ours_deep, "ms",
            f"plain … LIMIT 200 OFFSET {deep_at:,}", plain_deep, "≤ 100 ms", ours_deep <= 100),
        Row(f"ledger: GL opening + range totals (Jun–Aug), {posted:,} lines", totals, "ms",
            "plain SUM over the range", plain_sum, "≤ 500 ms", totals <= 500),
    ]
