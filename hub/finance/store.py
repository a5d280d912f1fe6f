"""The ledger in PostgreSQL: post entries built by `shared.domain.journal`, read the trial balance.

Posting runs the shared rules against what the hub holds (`replay_outcome`, `check_reversal`, the period
calendar, optionally the chart), so the hub refuses exactly what a desktop's `Ledger.post` refuses. A batch
is all or nothing: it runs in a transaction (a savepoint inside the caller's) and any refusal undoes it.

The trial balance is aggregated by PostgreSQL (GROUP BY account, or GROUPING SETS for account × one
dimension) and returned as the pure fold's `TrialBalance`, so the two can be compared directly; the fold is
the definition, this is the fast path (docs/finance.md: the fold takes seconds at 1M lines).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import asyncpg

from shared.domain.accounts import ChartOfAccounts, Dimension
from shared.domain.finance_errors import FinanceError, ReversalError
from shared.domain.journal import LedgerEntry, LedgerLine
from shared.domain.ledger import PostOutcome, check_reversal, replay_outcome
from shared.domain.periods import Period, PeriodCalendar
from shared.domain.trial_balance import DimensionKey, Totals, TrialBalance

# Dimension -> its column in finance.ledger_lines. The only strings ever put into SQL text.
COLUMNS: dict[Dimension, str] = {Dimension.SITE: "site", Dimension.COST_CENTRE: "cost_centre",
                                 Dimension.EQUIPMENT: "equipment", Dimension.PROJECT: "project"}


def to_cents(amount: Decimal) -> int:
    """Exact: a LedgerLine refuses fractions of a cent at construction."""
    return int(amount.scaleb(2))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _in_cents(amount: Decimal) -> bool:
    return amount.as_tuple().exponent == -2


def canonical(entry: LedgerEntry) -> LedgerEntry:
    """The entry with every amount written as whole cents (0.00, 125.00), as it is rebuilt from storage.

    The shared replay rule compares amounts by their text, so an entry built with Decimal("125") or a zero
    credit of Decimal("0") must be written the stored way before it is compared with a stored entry. The lines
    are copied with the amounts rewritten, not rebuilt: they passed the line checks already, and re-running them
    on every line of a push was a tenth of the push's time (posting 1000 movements)."""
    if all(_in_cents(ln.debit) and _in_cents(ln.credit) for ln in entry.lines):
        return entry
    lines = []
    for ln in entry.lines:
        c = copy.copy(ln)
        object.__setattr__(c, "debit", from_cents(to_cents(ln.debit)))
        object.__setattr__(c, "credit", from_cents(to_cents(ln.credit)))
        lines.append(c)
    return LedgerEntry(entry.key, entry.posting_date, tuple(lines), entry.description, entry.reverses)


def source_of(key: str) -> str:
    """`goods_receipt:<movement id>` -> `goods_receipt`: the kind of document the entry was posted from."""
    return key.split(":", 1)[0]


# One statement per batch: the entries not posted before are inserted (ON CONFLICT DO NOTHING on the tenant's
# key), their lines are inserted joined to the RETURNING rows (so a replayed entry adds no line), and the keys
# that were new come back. The batch travels as arrays (unnest), not as one statement per row.
_POST = """
WITH e AS (
    SELECT * FROM unnest($2::text[], $3::date[], $4::text[], $5::text[], $6::text[])
        AS e(key, posting_date, source, description, reverses)
), new AS (
    INSERT INTO finance.journal_entries (tenant_id, key, posting_date, source, description, reverses)
    SELECT $1, key, posting_date, source, description, reverses FROM e
    ON CONFLICT (tenant_id, key) DO NOTHING
    RETURNING key, posting_date
), lines AS (
    INSERT INTO finance.ledger_lines (tenant_id, entry_key, line_no, posting_date, account, site, cost_centre,
                                      equipment, project, debit_cents, credit_cents, memo)
    SELECT $1, l.entry_key, l.line_no, new.posting_date, l.account, l.site, l.cost_centre, l.equipment, l.project,
           l.debit_cents, l.credit_cents, l.memo
    FROM unnest($7::text[], $8::int[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                $14::bigint[], $15::bigint[], $16::text[])
        AS l(entry_key, line_no, account, site, cost_centre, equipment, project, debit_cents, credit_cents, memo)
    JOIN new ON new.key = l.entry_key
)
SELECT key FROM new
"""

_STORED = """
SELECT e.key, e.posting_date, e.description, e.reverses, l.account, l.site, l.cost_centre, l.equipment, l.project,
       l.debit_cents, l.credit_cents, l.memo
FROM finance.journal_entries e
JOIN finance.ledger_lines l ON l.tenant_id = e.tenant_id AND l.entry_key = e.key
WHERE e.tenant_id = $1 AND e.key = ANY($2::text[])
ORDER BY e.key, l.line_no
"""


async def stored_entries(conn: asyncpg.Connection, tenant: str, keys: Sequence[str]) -> dict[str, LedgerEntry]:
    """The posted entries under these keys, rebuilt as the shared rules' entries (missing keys are absent)."""
    rows = await conn.fetch(_STORED, tenant, list(keys))
    heads: dict[str, asyncpg.Record] = {}
    lines: dict[str, list[LedgerLine]] = {}
    for r in rows:
        heads.setdefault(r["key"], r)
        dims = tuple((d, r[col]) for d, col in sorted(COLUMNS.items()) if r[col] is not None)
        lines.setdefault(r["key"], []).append(LedgerLine(r["account"], from_cents(r["debit_cents"]),
                                                         from_cents(r["credit_cents"]), dims, r["memo"]))
    return {k: LedgerEntry(k, h["posting_date"], tuple(lines[k]), h["description"], h["reverses"])
            for k, h in heads.items()}


async def closed_calendar(conn: asyncpg.Connection, tenant: str) -> PeriodCalendar:
    rows = await conn.fetch("SELECT year, month FROM finance.closed_periods WHERE tenant_id = $1", tenant)
    return PeriodCalendar(frozenset(Period(r["year"], r["month"]) for r in rows))


async def close_period(conn: asyncpg.Connection, tenant: str, period: Period, by: str = "") -> None:
    await conn.execute("INSERT INTO finance.closed_periods (tenant_id, year, month, closed_by) VALUES ($1, $2, $3, $4) "
                       "ON CONFLICT DO NOTHING", tenant, period.year, period.month, by)


async def reopen_period(conn: asyncpg.Connection, tenant: str, period: Period) -> None:
    await conn.execute("DELETE FROM finance.closed_periods WHERE tenant_id = $1 AND year = $2 AND month = $3",
                       tenant, period.year, period.month)


def _arrays(entries: Sequence[LedgerEntry]) -> list[list[object]]:
    heads: list[list[object]] = [[], [], [], [], []]
    lines: list[list[object]] = [[] for _ in range(10)]
    for e in entries:
        for column, value in zip(heads, (e.key, e.posting_date, source_of(e.key), e.description, e.reverses),
                                 strict=True):
            column.append(value)
        for n, ln in enumerate(e.lines, 1):
            carried = dict(ln.dimensions)
            for column, cell in zip(lines, (e.key, n, ln.account, *(carried.get(d) for d in COLUMNS),
                                            to_cents(ln.debit), to_cents(ln.credit), ln.memo), strict=True):
                column.append(cell)
    return heads + lines


async def _check_reversals(conn: asyncpg.Connection, tenant: str, unique: Sequence[LedgerEntry]) -> None:
    """Before the insert, so a second reversal gets the shared rule's message rather than the unique index's
    (which still holds against a concurrent one). A reversal's replay passes: it is its target's reverser."""
    reversals = [e for e in unique if e.reverses is not None]
    if not reversals:
        return
    targets = sorted({e.reverses for e in reversals if e.reverses is not None})
    stored = await stored_entries(conn, tenant, targets)
    reversed_by = {r["reverses"]: r["key"] for r in await conn.fetch(
        "SELECT key, reverses FROM finance.journal_entries WHERE tenant_id = $1 AND reverses = ANY($2::text[])",
        tenant, targets)}
    in_batch: dict[str, LedgerEntry] = {}
    for e in unique:  # in order: a reversal may undo an entry posted earlier in the same batch
        if e.reverses is not None:
            check_reversal(e, stored.get(e.reverses) or in_batch.get(e.reverses), reversed_by.get(e.reverses))
            reversed_by.setdefault(e.reverses, e.key)
        in_batch[e.key] = e


async def post_entries(conn: asyncpg.Connection, tenant: str, entries: Sequence[LedgerEntry],
                       chart: ChartOfAccounts | None = None) -> list[PostOutcome]:
    """Post a batch, all or nothing; one outcome per entry, in order (POSTED or DUPLICATE).

    Refused with the shared rules' errors (nothing posted): the same key with other figures
    (IdempotencyConflictError, also within the batch), a new entry dated in a closed period (ClosedPeriodError;
    a replay of an entry posted before the close is a harmless duplicate), a bad reversal (ReversalError) and,
    when `chart` is given, an unknown or header account or dimension value.
    """
    entries = [canonical(e) for e in entries]
    first: dict[str, LedgerEntry] = {}
    for e in entries:  # a key twice in one batch: the second is a replay of the first, or a conflict
        if e.key in first:
            replay_outcome(first[e.key], e)
        else:
            first[e.key] = e
    unique = list(first.values())
    async with conn.transaction():
        calendar = await closed_calendar(conn, tenant)
        await _check_reversals(conn, tenant, unique)
        try:
            new = {r["key"] for r in await conn.fetch(_POST, tenant, *_arrays(unique))}
        except asyncpg.UniqueViolationError as exc:  # journal_entries_reverses: a concurrent second reversal
            raise ReversalError("an entry in this batch reverses one that another posting has just reversed; it "
                                "cannot be reversed twice", {"reverses": "already reversed"}) from exc
        replays = [e for e in unique if e.key not in new]
        if replays:
            stored = await stored_entries(conn, tenant, [e.key for e in replays])
            for e in replays:
                replay_outcome(stored.get(e.key), e)  # raises on other figures under a posted key
        posted = [e for e in unique if e.key in new]
        for e in posted:  # the checks Ledger.post runs on a new entry; raising rolls the insert back
            calendar.check_open(e.posting_date, f"entry {e.key!r}")
            if chart is not None:
                for ln in e.lines:
                    chart.check_line(ln.account, ln.dimensions)
    seen: set[str] = set()
    outcomes = []
    for e in entries:
        outcomes.append(PostOutcome.POSTED if e.key in new and e.key not in seen else PostOutcome.DUPLICATE)
        seen.add(e.key)
    return outcomes


def _sql_tb(by_dimension: Dimension | None, as_of: date | None) -> str:
    where = "tenant_id = $1" + (" AND posting_date <= $2" if as_of is not None else "")
    if by_dimension is None:
        return (f"SELECT account, NULL::text AS value, 1 AS whole, sum(debit_cents)::bigint AS d, "
                f"sum(credit_cents)::bigint AS c FROM finance.ledger_lines WHERE {where} GROUP BY account")
    col = COLUMNS[by_dimension]
    # One scan for both groupings; grouping(col) = 1 marks the per-account rows.
    return (f"SELECT account, {col} AS value, grouping({col}) AS whole, sum(debit_cents)::bigint AS d, "
            f"sum(credit_cents)::bigint AS c FROM finance.ledger_lines WHERE {where} "
            f"GROUP BY GROUPING SETS ((account), (account, {col}))")


async def trial_balance(conn: asyncpg.Connection | asyncpg.Pool, tenant: str, as_of: date | None = None,
                        by_dimension: Dimension | None = None) -> TrialBalance:
    """Debit/credit totals per account over lines dated on or before `as_of` (all when None), and per
    (account, `by_dimension`, value) with value None for lines without that dimension, as the pure fold keys
    them. Only the dimension asked for is in `by_dimension` (the fold computes all four)."""
    if by_dimension is not None and not isinstance(by_dimension, Dimension):
        raise FinanceError(f"{by_dimension!r} is not a dimension", {"by": "unknown dimension"})
    args: list[object] = [tenant] + ([as_of] if as_of is not None else [])
    accounts: dict[str, Totals] = {}
    by_dim: dict[DimensionKey, Totals] = {}
    for r in await conn.fetch(_sql_tb(by_dimension, as_of), *args):
        totals = Totals(from_cents(r["d"]), from_cents(r["c"]))
        if r["whole"]:
            accounts[r["account"]] = totals
        else:
            assert by_dimension is not None
            by_dim[(r["account"], by_dimension, r["value"])] = totals
    return TrialBalance(accounts, by_dim)
