"""`GET /v1/finance/ledger`: the general ledger's lines by account and dimension, dated within a range, paged
by a keyset cursor, for people whose roles read finance.* tenant-wide (as the trial balance).

With `account`, each line carries the running balance (debit positive) from the opening balance of that account
under the same dimension filters before `from`, so a page read alone still shows the right balance. Lines are
ordered by posting date, then entry key, then line number: a stable order, so pages never skip or repeat a line
while new entries are posted (a new entry dated before the cursor is in the next read's opening balance, not in
a later page)."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.auth.principal import Principal, require_principal
from hub.errors import Forbidden, Unprocessable
from hub.finance.api import ENTITY, _tenant_wide_roles
from hub.finance.store import COLUMNS, from_cents
from shared.permissions import allows

router = APIRouter(tags=["finance"])
MAX_PAGE = 5000


def _cursor(text: str | None) -> tuple[date, str, int] | None:
    """`<posting date>,<entry key>,<line no>` (the last line of the page before), as the response gives it."""
    if text is None:
        return None
    try:
        day, rest = text.split(",", 1)
        key, line_no = rest.rsplit(",", 1)
        return date.fromisoformat(day), key, int(line_no)
    except ValueError:
        raise Unprocessable(f"after={text!r} is not a cursor this route gave out (next_after of a page)",
                            code="bad_cursor", details={"after": "use next_after of the previous page"}) from None


def _amount(cents: int) -> str:
    return str(from_cents(cents))


@router.get("/v1/finance/ledger", summary="General ledger lines by account and dimension, paged (finance.* read, "
                                          "tenant-wide)")
async def get_ledger(
    request: Request,
    account: str | None = Query(None, max_length=16, description="one account's lines, with running balance"),
    from_: date | None = Query(None, alias="from", description="lines dated on or after (YYYY-MM-DD)"),
    to: date | None = Query(None, description="lines dated on or before (YYYY-MM-DD)"),
    site: str | None = Query(None, max_length=128), cost_centre: str | None = Query(None, max_length=128),
    equipment: str | None = Query(None, max_length=128), project: str | None = Query(None, max_length=128),
    after: str | None = Query(None, max_length=400, description="next_after of the previous page"),
    limit: int = Query(500, ge=1, le=MAX_PAGE),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    if not allows(await _tenant_wide_roles(pool, principal), "read", ENTITY):
        held = ", ".join(sorted(principal.roles)) or "no role"
        raise Forbidden(f"{principal.user_id or 'device ' + str(principal.device_id)} ({held}) may not read the "
                        "general ledger: it needs a role that reads finance.* at every site (finance, site manager, "
                        "administrator)", code="forbidden_role")
    if from_ is not None and to is not None and from_ > to:
        raise Unprocessable(f"from {from_} is after to {to}", code="bad_range", details={"from": "after 'to'"})
    cursor = _cursor(after)
    dims = dict(zip(COLUMNS.values(), (site, cost_centre, equipment, project), strict=True))
    # Column names come from COLUMNS and the literal "account" only; values travel as parameters.
    base: list[Cond] = [("tenant_id = {}", (principal.tenant_id,))]
    base += [(f"{col} = {{}}", (v,)) for col, v in {"account": account, **dims}.items() if v is not None]
    in_range = base + ([("posting_date >= {}", (from_,))] if from_ else []) + (
        [("posting_date <= {}", (to,))] if to else [])
    key = "(posting_date, entry_key, line_no)"
    page = in_range + ([(f"{key} > ({{}}, {{}}, {{}})", cursor)] if cursor else [])
    where, args = _compile(page)
    sql = (f"SELECT posting_date, entry_key, line_no, account, site, cost_centre, equipment, project, debit_cents, "
           f"credit_cents, memo FROM finance.ledger_lines WHERE {where} ORDER BY posting_date, entry_key, line_no "
           f"LIMIT {limit + 1}")
    opening: int | None = None
    running: int | None = None
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(sql, *args)
        if account is not None:  # the balance before this page: before `from`, plus the range up to the cursor
            opening = await _net(conn, [*base, ("posting_date < {}", (from_,))]) if from_ else 0
            running = opening + (await _net(conn, [*in_range, (f"{key} <= ({{}}, {{}}, {{}})", cursor)])
                                 if cursor else 0)
    more = len(rows) > limit
    rows = rows[:limit]
    lines: list[dict[str, Any]] = []
    for r in rows:
        line: dict[str, Any] = {
            "posting_date": r["posting_date"].isoformat(), "entry_key": r["entry_key"], "line_no": r["line_no"],
            "source": r["entry_key"].split(":", 1)[0], "account": r["account"],
            **{col: r[col] for col in COLUMNS.values()},
            "debit": _amount(r["debit_cents"]), "credit": _amount(r["credit_cents"]), "memo": r["memo"]}
        if running is not None:
            running += r["debit_cents"] - r["credit_cents"]
            line["balance"] = _amount(running)
        lines.append(line)
    last = rows[-1] if more else None
    body = {
        "account": account, "from": from_.isoformat() if from_ else None, "to": to.isoformat() if to else None,
        "filters": {k: v for k, v in dims.items() if v is not None}, "lines": lines,
        "opening_balance": _amount(opening) if opening is not None else None,
        "next_after": f"{last['posting_date'].isoformat()},{last['entry_key']},{last['line_no']}" if last else None,
    }
    return Response(orjson.dumps(body), media_type="application/json")


Cond = tuple[str, tuple[Any, ...]]


def _compile(conds: list[Cond]) -> tuple[str, list[Any]]:
    """Conditions with `{}` where each value goes, as one WHERE text with numbered parameters."""
    parts: list[str] = []
    args: list[Any] = []
    for text, values in conds:
        marks = []
        for v in values:
            args.append(v)
            marks.append(f"${len(args)}")
        parts.append(text.format(*marks))
    return " AND ".join(parts), args


async def _net(conn: asyncpg.Connection, conds: list[Cond]) -> int:
    where, args = _compile(conds)
    return int(await conn.fetchval(
        f"SELECT coalesce(sum(debit_cents - credit_cents), 0)::bigint FROM finance.ledger_lines WHERE {where}", *args))
