"""The monthly depreciation run on the hub: `POST /v1/finance/depreciation/{yyyy-mm}` and
`pitline hub finance depreciate 2026-11 --tenant T`.

The run reads the tenant's `finance.asset` register, the engine hours of its machines from the
`equipment.usage_log` records the hub holds, and what depreciation each asset already carries in the ledger
(its `depreciation:<asset>:<month>` entries), and posts the shared rule's entries (`shared.domain.assets`) in
one transaction. Idempotent per asset × month: a month already posted is reported as skipped, never
recomputed; two runs at once are serialised by a per-tenant advisory lock. An asset whose entry the chart
refuses (no site, an unlisted machine) is skipped with the chart's message; a closed month refuses the run.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import defaultdict
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import typer
from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

import hub.finance.assets_posting  # noqa: F401  (registers the finance.asset poster: acquisition, disposal)
from hub.auth.principal import Principal, require_principal
from hub.errors import Forbidden, Unprocessable
from hub.finance.api import _tenant_wide_roles
from hub.finance.chart import load_chart
from hub.finance.posting import lock_periods
from hub.finance.store import closed_calendar, from_cents, post_entries
from shared.domain.assets import (
    ASSET,
    RegisteredAsset,
    RunResult,
    Skipped,
    asset_from_payload,
    depreciation_run,
    month_end,
)
from shared.domain.assets import hours_to_date as hours_of
from shared.domain.finance_errors import FinanceError
from shared.domain.periods import Period
from shared.domain.postings import ACCOUNTS
from shared.domain.usage_hours import deduplicate, usage_from_payload
from shared.permissions import allows

ENTITY = "finance.depreciation"
_MONTH = re.compile(r"\d{4}-\d{2}")


def parse_month(text: str) -> Period:
    """'2026-11' only: a two-digit year or a day is refused rather than read as another month."""
    if not _MONTH.fullmatch(text):
        raise FinanceError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-11", {"period": "use YYYY-MM"})
    return Period.parse(text)


async def _posted(conn: asyncpg.Connection, tenant: str) -> tuple[dict[str, Decimal], dict[str, Period]]:
    """Depreciation to date and the latest month posted, per asset, from its entries in the ledger."""
    rows = await conn.fetch(
        "SELECT e.key, coalesce(sum(l.credit_cents - l.debit_cents) FILTER (WHERE l.account = $2), 0)::bigint AS c "
        "FROM finance.journal_entries e JOIN finance.ledger_lines l ON l.tenant_id = e.tenant_id AND "
        "l.entry_key = e.key WHERE e.tenant_id = $1 AND e.source = 'depreciation' GROUP BY e.key",
        tenant, ACCOUNTS.accumulated_depreciation)
    accumulated: dict[str, Decimal] = defaultdict(Decimal)
    last: dict[str, Period] = {}
    for r in rows:
        asset_id, _, month = r["key"].removeprefix("depreciation:").rpartition(":")
        try:
            period = Period.parse(month)
        except FinanceError:
            continue  # not a key the run wrote
        accumulated[asset_id] += from_cents(r["c"])
        last[asset_id] = max(period, last.get(asset_id, period))
    return dict(accumulated), last


async def run_depreciation(conn: asyncpg.Connection, tenant: str, period: Period) -> RunResult:
    """Post the month's depreciation for every asset of the tenant (one transaction)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{tenant}/depreciation")
        await lock_periods(conn, tenant)
        (await closed_calendar(conn, tenant)).check_open(month_end(period), f"the depreciation run for {period}")
        skipped: list[Skipped] = []
        assets: list[RegisteredAsset] = []
        for r in await conn.fetch("SELECT entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 AND "
                                  "entity = $2 AND NOT deleted ORDER BY entity_id", tenant, ASSET):
            try:
                assets.append(asset_from_payload(r["entity_id"], dict(r["data"]), r["site_id"] or ""))
            except FinanceError as exc:
                skipped.append(Skipped(r["entity_id"], f"the asset record cannot be depreciated: {exc}"))
        machines = sorted({a.equipment_id for a in assets if a.method == "units_of_production"})
        logs = await conn.fetch(
            "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'equipment.usage_log' AND "
            "NOT deleted AND data->>'equipment_id' = ANY($2::text[]) AND data->>'shift_date' <= $3",
            tenant, machines, month_end(period).isoformat()) if machines else []
        usage = deduplicate(u for r in logs if (u := usage_from_payload(r["entity_id"], dict(r["data"]))))
        accumulated, last = await _posted(conn, tenant)
        result = depreciation_run(assets, period, accumulated=accumulated, last_posted=last,
                                  hours=hours_of(assets, usage, period))
        chart = await load_chart(conn, tenant)
        charges = []
        for c in result.charges:
            try:
                for ln in c.entry.lines:
                    chart.check_line(ln.account, ln.dimensions)
            except FinanceError as exc:
                skipped.append(Skipped(c.asset_id, str(exc)))
                continue
            charges.append(c)
        await post_entries(conn, tenant, [c.entry for c in charges])
    return RunResult(period, tuple(charges), tuple(sorted((*result.skipped, *skipped), key=lambda s: s.asset_id)))


def result_body(result: RunResult) -> dict[str, Any]:
    return {"period": str(result.period), "total": str(result.total),
            "posted": [{"asset_id": c.asset_id, "amount": str(c.amount), "key": c.entry.key,
                        "posting_date": c.entry.posting_date.isoformat()} for c in result.charges],
            "skipped": [{"asset_id": s.asset_id, "reason": s.reason} for s in result.skipped]}


router = APIRouter(tags=["finance"])


@router.post("/v1/finance/depreciation/{period}",
             summary="Post a month's depreciation for every asset (finance.* write, tenant-wide); idempotent")
async def post_depreciation(request: Request, period: str = Path(..., description="the month, YYYY-MM"),
                            principal: Principal = Depends(require_principal)) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    if not allows(await _tenant_wide_roles(pool, principal), "write", ENTITY):
        raise Forbidden(f"{principal.user_id or 'device ' + str(principal.device_id)} may not run depreciation: it "
                        "needs a role that writes finance.* at every site (finance, administrator)",
                        code="forbidden_role")
    try:
        month = parse_month(period)
    except FinanceError as exc:
        raise Unprocessable(f"period: {exc}", details={"period": "use YYYY-MM"}) from None
    async with pool.acquire() as conn:
        try:
            result = await run_depreciation(conn, principal.tenant_id, month)
        except FinanceError as exc:
            raise Unprocessable(str(exc), code="posting_refused", details=exc.field_errors) from None
    return Response(orjson.dumps(result_body(result)), media_type="application/json")


# --- `pitline hub finance depreciate` --------------------------------------------------------------------------
def depreciate(period: str = typer.Argument(..., help="the month, YYYY-MM"),
               tenant: str = typer.Option(..., "--tenant", "-t", help="tenant id"),
               as_json: bool = typer.Option(False, "--json", help="print one JSON document for scripts")) -> None:
    """Post the month's depreciation of every asset (again for the same month: nothing new)."""
    from hub.cli import resolve_database_url
    from hub.db import connect
    from hub.settings import HubSettings

    try:
        month = parse_month(period)
    except FinanceError as exc:
        typer.echo(f"pitline hub: {exc}", err=True)
        raise typer.Exit(2) from None

    async def go() -> RunResult:
        conn = await connect(resolve_database_url(HubSettings.load()))
        try:
            return await run_depreciation(conn, tenant, month)
        finally:
            await conn.close()

    try:
        result = asyncio.run(go())
    except FinanceError as exc:
        typer.echo(f"pitline hub: {exc}", err=True)
        raise typer.Exit(5) from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        typer.echo(f"pitline hub: cannot use the hub's database: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    body = result_body(result)
    if as_json:
        json.dump(body, sys.stdout)
        sys.stdout.write("\n")
        return
    for p in body["posted"]:
        typer.echo(f"posted   {p['asset_id']}  {p['amount']}  ({p['key']})")
    for s in body["skipped"]:
        typer.echo(f"skipped  {s['asset_id']}  {s['reason']}")
    typer.echo(f"{body['period']}: {len(body['posted'])} posted, total {body['total']}")
