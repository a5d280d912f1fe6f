"""The finance report routes (issue 13, "Reports"), for people whose roles read finance.* tenant-wide (the
trial balance's rule, hub/finance/access.py):

- `GET /v1/finance/ledger`: the general ledger of one account, in a date range, optionally only the lines that
  carry given dimension values; the opening balance and the range's totals on the first page; lines in keyset
  pages with a running balance (hub/finance/report_queries.py).
- `GET /v1/finance/stock-valuation`: per site, Σ the hub-kept stock balances' value against the inventory
  account's balance, and the difference; per store × item with `detail=true`.

Amounts are strings of Decimal (two places), as in the trial balance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.auth.principal import Principal, require_principal
from hub.errors import Unprocessable
from hub.finance.access import require_finance_reader
from hub.finance.report_queries import GlLine, GlQuery, Position, cents_text, gl_page, opening_and_totals
from hub.finance.report_queries import stock_valuation as valuation
from shared.domain.accounts import Dimension
from shared.domain.finance import DEFAULT_ACCOUNTS

router = APIRouter(tags=["finance"])
MAX_PAGE = 1000


def _dimension() -> Any:
    """A fresh Query per parameter: FastAPI binds a shared one to the first parameter's name (every filter was
    read from `site`)."""
    return Query(None, min_length=1, max_length=64, description="only lines carrying this value of the dimension")


def _fingerprint(q: GlQuery) -> str:
    """Ties a cursor to the query it came from: a cursor of another account or range is refused, not misread."""
    parts = [q.account, str(q.start), str(q.end), *(f"{d.value}={v}" for d, v in sorted(q.where.items()))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def encode_cursor(q: GlQuery, p: Position) -> str:
    raw = orjson.dumps([p.posting_date.isoformat(), p.entry_key, p.line_no, p.balance_cents, _fingerprint(q)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(q: GlQuery, cursor: str) -> Position:
    bad = Unprocessable("cursor: not a cursor this report gave (ask for the first page again)",
                        details={"field": "cursor"})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        day, key, line_no, balance, fp = orjson.loads(raw)
        position = Position(date.fromisoformat(day), str(key), int(line_no), int(balance))
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise bad from exc
    if not (0 < position.line_no < 2**31 and abs(position.balance_cents) < 2**63):  # what the columns hold
        raise bad
    if fp != _fingerprint(q):
        raise Unprocessable("cursor: it belongs to another account, date range or filter; ask for the first page",
                            details={"field": "cursor"})
    return position


def _line(ln: GlLine) -> dict[str, Any]:
    return {"date": ln.posting_date.isoformat(), "entry_key": ln.entry_key, "line_no": ln.line_no,
            "description": ln.description, "memo": ln.memo, "dimensions": ln.dimensions,
            "debit": cents_text(ln.debit_cents), "credit": cents_text(ln.credit_cents),
            "balance": cents_text(ln.balance_cents)}


@router.get("/v1/finance/ledger",
            summary="General ledger of one account: opening balance, lines with a running balance, keyset pages "
                    "(finance.* read, tenant-wide)")
async def get_ledger(
    request: Request,
    account: str = Query(..., min_length=1, max_length=64, description="the account's code, e.g. 1400"),
    start: date | None = Query(None, alias="from", description="first day (YYYY-MM-DD); from the first line"),
    end: date | None = Query(None, alias="to", description="last day (YYYY-MM-DD); to the last line"),
    site: str | None = _dimension(), cost_centre: str | None = _dimension(),
    equipment: str | None = _dimension(), project: str | None = _dimension(),
    limit: int = Query(200, ge=1, le=MAX_PAGE, description=f"lines per page (1–{MAX_PAGE})"),
    cursor: str | None = Query(None, max_length=1000, description="next_cursor of the previous page"),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    await require_finance_reader(pool, principal, "finance.ledger", "general ledger")
    if start is not None and end is not None and start > end:
        raise Unprocessable(f"from: {start} is after to ({end})", details={"field": "from"})
    chosen = {Dimension.SITE: site, Dimension.COST_CENTRE: cost_centre, Dimension.EQUIPMENT: equipment,
              Dimension.PROJECT: project}
    q = GlQuery(account, start, end, {d: v for d, v in chosen.items() if v is not None})
    after = decode_cursor(q, cursor) if cursor else None
    body: dict[str, Any] = {"account": account, "from": start.isoformat() if start else None,
                            "to": end.isoformat() if end else None,
                            "filters": {d.value: v for d, v in sorted(q.where.items())}}
    opening = 0
    # One snapshot: the opening balance, the totals and the lines agree even while entries are being posted.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        if after is None:  # the first page: where the range starts and where it ends
            opening, debits, credits = await opening_and_totals(conn, principal.tenant_id, q)
            body |= {"opening_balance": cents_text(opening),
                     "totals": {"debit": cents_text(debits), "credit": cents_text(credits),
                                "closing_balance": cents_text(opening + debits - credits)}}
        else:
            body |= {"opening_balance": None, "totals": None}
        lines, nxt = await gl_page(conn, principal.tenant_id, q, after, opening, limit)
    body |= {"page_opening_balance": cents_text(after.balance_cents if after else opening),
             "lines": [_line(ln) for ln in lines],
             "next_cursor": encode_cursor(q, nxt) if nxt is not None else None}
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/v1/finance/stock-valuation",
            summary="Stock value per site against the inventory account, and the difference (finance.* read, "
                    "tenant-wide)")
async def get_stock_valuation(
    request: Request,
    as_of: date | None = Query(None, description="stock and ledger at the end of this day (YYYY-MM-DD, UTC); "
                                                 "now when absent"),
    detail: bool = Query(False, description="also list each store × item balance"),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    await require_finance_reader(pool, principal, "finance.stock_valuation", "stock valuation")
    account = DEFAULT_ACCOUNTS.inventory
    # One snapshot: a push writes a balance's value and its ledger entry in one transaction, so two separate
    # reads could catch one without the other and show a difference that never existed.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        sites = await valuation(conn, principal.tenant_id, account, as_of)
    out = []
    for s in sites:
        row: dict[str, Any] = {"site": s.site, "stock_value": cents_text(s.stock_cents),
                               "ledger_balance": cents_text(s.ledger_cents),
                               "difference": cents_text(s.difference_cents), "reconciled": s.difference_cents == 0,
                               "unvalued_records": s.unvalued}
        if detail:
            row["items"] = [{"store_id": r.store_id, "item_id": r.item_id, "on_hand": r.on_hand,
                             "value": cents_text(r.value_cents) if r.value_cents is not None else None}
                            for r in s.rows]
        out.append(row)
    stock, ledger = sum(s.stock_cents for s in sites), sum(s.ledger_cents for s in sites)
    body = {"as_of": as_of.isoformat() if as_of else None, "account": account, "sites": out,
            "total": {"stock_value": cents_text(stock), "ledger_balance": cents_text(ledger),
                      "difference": cents_text(stock - ledger), "reconciled": stock == ledger}}
    return Response(orjson.dumps(body), media_type="application/json")
