"""The report reads behind hub/finance/reports.py: the general ledger of one account (opening balance, lines in
keyset pages with a running balance) and the stock valuation against the inventory account, per site.

GL pages walk the covering index `ledger_lines_account (tenant_id, account, posting_date)`: PostgreSQL reads it
in date order and sorts only within a day (incremental sort on entry key, line no), so a page costs its own rows
however many lines the account has; there is no OFFSET. The cursor is the last line shown (date, entry key,
line no) and the running balance after it, so the next page's balance continues from what the client saw (D46).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from hub.finance.store import COLUMNS, from_cents
from shared.domain.accounts import Dimension

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class GlQuery:
    account: str
    start: date | None = None
    end: date | None = None
    where: Mapping[Dimension, str] = field(default_factory=dict)  # dimension -> the one value it must carry


@dataclass(frozen=True)
class Position:
    """Where a page starts: after this line, with this running balance (cents)."""

    posting_date: date
    entry_key: str
    line_no: int
    balance_cents: int


@dataclass(frozen=True)
class GlLine:
    posting_date: date
    entry_key: str
    line_no: int
    description: str
    memo: str
    dimensions: dict[str, str]
    debit_cents: int
    credit_cents: int
    balance_cents: int  # running, after this line


def _filters(q: GlQuery, args: list[Any]) -> str:
    """The WHERE clause after tenant and account ($1, $2), appending its arguments. Column names come from
    `COLUMNS` only; every value is a parameter."""
    sql = ""
    if q.start is not None:
        args.append(q.start)
        sql += f" AND l.posting_date >= ${len(args)}"
    if q.end is not None:
        args.append(q.end)
        sql += f" AND l.posting_date <= ${len(args)}"
    for dim in sorted(q.where):
        args.append(q.where[dim])
        sql += f" AND l.{COLUMNS[dim]} = ${len(args)}"
    return sql


async def opening_and_totals(conn: asyncpg.Connection | asyncpg.Pool, tenant: str,
                             q: GlQuery) -> tuple[int, int, int]:
    """(opening balance before `start`, Σ debits and Σ credits within the range), in cents, under the filters.
    Without a dimension filter both are index-only scans of the covering index."""
    before = GlQuery(q.account, None, None, q.where)
    args: list[Any] = [tenant, q.account]
    opening = 0
    if q.start is not None:
        where = _filters(before, args)
        args.append(q.start)
        opening = await conn.fetchval(
            "SELECT coalesce(sum(debit_cents) - sum(credit_cents), 0)::bigint FROM finance.ledger_lines l "
            f"WHERE l.tenant_id = $1 AND l.account = $2{where} AND l.posting_date < ${len(args)}", *args)
    args = [tenant, q.account]
    row = await conn.fetchrow(
        "SELECT coalesce(sum(debit_cents), 0)::bigint AS d, coalesce(sum(credit_cents), 0)::bigint AS c "
        f"FROM finance.ledger_lines l WHERE l.tenant_id = $1 AND l.account = $2{_filters(q, args)}", *args)
    return int(opening), int(row["d"]), int(row["c"])


def page_sql(q: GlQuery, after: Position | None, limit: int, args: list[Any]) -> str:
    """The page statement (also run by the bench): lines after `after` in (date, key, line) order."""
    where = _filters(q, args)
    if after is not None:
        args += [after.posting_date, after.entry_key, after.line_no]
        d, k, n = len(args) - 2, len(args) - 1, len(args)
        # The date bound alone is an index condition; the row comparison then drops the day's lines already shown.
        where += f" AND l.posting_date >= ${d} AND (l.posting_date, l.entry_key, l.line_no) > (${d}, ${k}, ${n})"
    args.append(limit)
    return ("SELECT l.posting_date, l.entry_key, l.line_no, l.site, l.cost_centre, l.equipment, l.project, "
            "l.debit_cents, l.credit_cents, l.memo FROM finance.ledger_lines l "
            f"WHERE l.tenant_id = $1 AND l.account = $2{where} "
            f"ORDER BY l.posting_date, l.entry_key, l.line_no LIMIT ${len(args)}")


# Each shown line's entry description by primary key, after the LIMIT: a correlated lookup on at most a page of
# rows, never a join the planner could turn into a scan of the tenant's entries (it did, with `journal_entries`
# not yet analysed, in the bench).
DESCRIBED = ("SELECT p.*, (SELECT e.description FROM finance.journal_entries e WHERE e.tenant_id = $1 "
              "AND e.key = p.entry_key) AS description FROM ({page}) p ORDER BY p.posting_date, p.entry_key, p.line_no")


async def gl_page(conn: asyncpg.Connection | asyncpg.Pool, tenant: str, q: GlQuery, after: Position | None,
                  opening_cents: int, limit: int) -> tuple[list[GlLine], Position | None]:
    """Up to `limit` lines after `after` (from the start when None), each with the running balance, and the
    position to continue from (None when this was the last page). One extra row is read to know."""
    args: list[Any] = [tenant, q.account]
    rows = await conn.fetch(DESCRIBED.format(page=page_sql(q, after, limit + 1, args)), *args)
    shown = rows[:limit]
    balance = after.balance_cents if after is not None else opening_cents
    lines = []
    for r in shown:
        balance += r["debit_cents"] - r["credit_cents"]
        dims = {col: r[col] for col in COLUMNS.values() if r[col] is not None}
        lines.append(GlLine(r["posting_date"], r["entry_key"], r["line_no"], r["description"] or "",
                            r["memo"], dims, r["debit_cents"], r["credit_cents"], balance))
    if len(rows) <= limit:
        return lines, None
    last = lines[-1]
    return lines, Position(last.posting_date, last.entry_key, last.line_no, balance)


# --- stock valuation -----------------------------------------------------------------------------------------

STOCK = "inventory.stock"


@dataclass
class StockRow:
    store_id: str
    item_id: str
    on_hand: str
    value_cents: int | None  # None: the record carries no value (D48)


@dataclass
class SiteValuation:
    site: str | None
    stock_cents: int = 0
    ledger_cents: int = 0
    unvalued: int = 0
    rows: list[StockRow] = field(default_factory=list)

    @property
    def difference_cents(self) -> int:
        return self.stock_cents - self.ledger_cents


def _value_cents(data: Mapping[str, Any]) -> int | None:
    """The record's value in cents when it carries a whole number of them (bool is not a number here)."""
    v = data.get("value_cents")
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


_CURRENT = ("SELECT r.site_id, r.entity_id, r.data FROM sync.records r "
            "WHERE r.tenant_id = $1 AND r.entity = $2 AND NOT r.deleted")
# The last version written before the end of the day (UTC), and the record's site (a balance keeps its site).
_AS_OF = ("SELECT r.site_id, v.entity_id, v.data FROM ("
          "  SELECT DISTINCT ON (entity_id) entity_id, data, deleted FROM sync.record_versions "
          "  WHERE tenant_id = $1 AND entity = $2 AND written_at < (($3::date + 1)::timestamp AT TIME ZONE 'UTC') "
          "  ORDER BY entity_id, version DESC) v "
          "JOIN sync.records r ON r.tenant_id = $1 AND r.entity = $2 AND r.entity_id = v.entity_id "
          "WHERE NOT v.deleted")


async def stock_valuation(conn: asyncpg.Connection | asyncpg.Pool, tenant: str, inventory_account: str,
                          as_of: date | None) -> list[SiteValuation]:
    """Per site: Σ value of the hub-kept stock balances and the inventory account's balance (lines dated on or
    before `as_of`; all when None), sites in order with the lines that carry no site last."""
    if as_of is None:
        records = await conn.fetch(_CURRENT, tenant, STOCK)
        ledger = await conn.fetch(
            "SELECT site, (sum(debit_cents) - sum(credit_cents))::bigint AS b FROM finance.ledger_lines "
            "WHERE tenant_id = $1 AND account = $2 GROUP BY site", tenant, inventory_account)
    else:
        records = await conn.fetch(_AS_OF, tenant, STOCK, as_of)  # PostgreSQL adds the day: 9999-12-31 too
        ledger = await conn.fetch(
            "SELECT site, (sum(debit_cents) - sum(credit_cents))::bigint AS b FROM finance.ledger_lines "
            "WHERE tenant_id = $1 AND account = $2 AND posting_date <= $3 GROUP BY site",
            tenant, inventory_account, as_of)
    sites: dict[str | None, SiteValuation] = {}
    for r in records:
        data = _json(r["data"])
        s = sites.setdefault(r["site_id"], SiteValuation(r["site_id"]))
        cents = _value_cents(data)
        if cents is None:
            s.unvalued += 1
        else:
            s.stock_cents += cents
        s.rows.append(StockRow(str(data.get("store_id", "")), str(data.get("item_id", "")),
                               str(data.get("on_hand", "")), cents))
    for r in ledger:
        sites.setdefault(r["site"], SiteValuation(r["site"])).ledger_cents = int(r["b"])
    for s in sites.values():
        s.rows.sort(key=lambda x: (x.store_id, x.item_id))
    return sorted(sites.values(), key=lambda s: (s.site is None, s.site or ""))


def _json(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):  # a connection without the hub's jsonb codec (hub/db.py) hands over text
        loaded = orjson.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return value if isinstance(value, Mapping) else {}


def cents_text(cents: int) -> str:
    return str(from_cents(cents))
