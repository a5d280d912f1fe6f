"""Accounting periods over the hub API: `GET /v1/finance/periods` (the closed ones; every other month is open) for
people who read finance.* tenant-wide, and `POST /v1/finance/periods/{yyyy-mm}/close` / `…/reopen` for those who
write it tenant-wide (finance, administrator). A period spans every site, so a grant at one site is not enough."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Request

from hub.auth.principal import Principal, require_principal
from hub.errors import Conflict, Forbidden, Unprocessable
from hub.finance.admin import FinanceAdminError, list_periods, set_period
from hub.finance.api import _tenant_wide_roles
from shared.permissions import allows

router = APIRouter(tags=["finance"])
ENTITY = "finance.period"


async def _require(request: Request, principal: Principal, action: str) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    if not allows(await _tenant_wide_roles(pool, principal), action, ENTITY):
        held = ", ".join(sorted(principal.roles)) or "no role"
        verb = "see" if action == "read" else "close or reopen"
        raise Forbidden(f"{principal.user_id or 'device ' + str(principal.device_id)} ({held}) may not {verb} "
                        f"accounting periods: it needs a role that {'reads' if action == 'read' else 'writes'} "
                        "finance.* at every site", code="forbidden_role")
    return pool


@router.get("/v1/finance/periods", summary="The closed accounting periods (finance.* read, tenant-wide)")
async def get_periods(request: Request, principal: Principal = Depends(require_principal)) -> dict[str, Any]:
    pool = await _require(request, principal, "read")
    return {"closed": await list_periods(pool, principal.tenant_id)}


async def _set(request: Request, principal: Principal, period: str, *, close: bool) -> dict[str, Any]:
    pool = await _require(request, principal, "write")
    try:
        async with pool.acquire() as conn, conn.transaction():
            return await set_period(conn, principal, period, close=close)
    except FinanceAdminError as exc:
        if exc.status == 409:
            raise Conflict(str(exc), code="period_state") from None
        raise Unprocessable(str(exc), code="bad_period", details={"period": str(exc)}) from None


@router.post("/v1/finance/periods/{period}/close",
             summary="Close a period: postings dated in it are refused (finance.* write, tenant-wide)")
async def close(period: str, request: Request, principal: Principal = Depends(require_principal)) -> dict[str, Any]:
    return await _set(request, principal, period, close=True)


@router.post("/v1/finance/periods/{period}/reopen",
             summary="Reopen a closed period (finance.* write, tenant-wide)")
async def reopen(period: str, request: Request, principal: Principal = Depends(require_principal)) -> dict[str, Any]:
    return await _set(request, principal, period, close=False)
