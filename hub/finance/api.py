"""`GET /v1/finance/trial-balance`: the tenant's trial balance, per account and optionally per account × one
dimension, for people whose roles read finance.* tenant-wide (the permission matrix: administrator, site
manager, finance; a viewer's finance.* is "none"; a bare device token has no role)."""

from __future__ import annotations

from datetime import date
from typing import Literal

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.auth.principal import Principal, require_principal
from hub.finance.access import require_finance_reader, tenant_wide_roles
from hub.finance.store import trial_balance
from shared.domain.accounts import Dimension
from shared.domain.trial_balance import DimensionKey, Totals

router = APIRouter(tags=["finance"])
_tenant_wide_roles = tenant_wide_roles  # its old name here: hub/finance/periods_api.py imports it
ENTITY = "finance.trial_balance"


def _row_order(item: tuple[DimensionKey, Totals]) -> tuple[str, bool, str]:
    (account, _, value), _ = item
    return account, value is None, value or ""  # each account's rows without the dimension last


def _totals(t: Totals) -> dict[str, str]:
    return {"debit": str(t.debit), "credit": str(t.credit), "balance": str(t.balance)}


@router.get("/v1/finance/trial-balance",
            summary="Trial balance per account, and per account × one dimension (finance.* read, tenant-wide)")
async def get_trial_balance(
    request: Request,
    as_of: date | None = Query(None, description="lines dated on or before this day (YYYY-MM-DD); all when absent"),
    by: Literal["site", "cost_centre", "equipment", "project"] | None = Query(
        None, description="also total each account per value of this dimension"),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    await require_finance_reader(pool, principal, ENTITY, "trial balance")
    dimension = Dimension(by) if by is not None else None
    tb = await trial_balance(pool, principal.tenant_id, as_of, dimension)
    body = {
        "as_of": as_of.isoformat() if as_of else None, "by": by,
        "accounts": [{"account": a, **_totals(t)} for a, t in sorted(tb.accounts.items())],
        "by_dimension": [{"account": a, "dimension": d.value, "value": v, **_totals(t)}
                         for (a, d, v), t in sorted(tb.by_dimension.items(), key=_row_order)],
        "total": _totals(tb.total), "balanced": tb.balanced,
    }
    return Response(orjson.dumps(body), media_type="application/json")
