"""`GET /v1/hr/reconciliation?from=&to=[&threshold=]`: a period's hours reconciliation for HQ (hub/people/summary,
D54), over the sites where the caller's grants read the reconciliation's records (hr reviews and attendance,
usage logs): administrators, HR, supervisors and site managers (the matrix); a viewer's hr.* is none, a bare device
token has no role."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.auth.principal import Principal, require_principal
from hub.errors import Forbidden, Unprocessable
from hub.identity.users import grants_of
from hub.people.summary import merge, summarise
from shared.domain.site_calendar import SiteSettings, read_settings
from shared.permissions import allowed_sites

router = APIRouter(tags=["people"])
READS = ("hr.reconciliation_review", "hr.attendance", "hr.employee", "equipment.usage_log")
MAX_DAYS = 62  # as the payroll export: a period, not a history
BY_SHIFT_DATE = ("equipment.usage_log", "hr.attendance", "hr.reconciliation_review")
# The entities are literals, as in migration 0014's partial index, so even a generic plan can use it.
BY_DATE_SQL = ("SELECT entity, entity_id, site_id, data FROM sync.records WHERE tenant_id = $1 AND entity IN ("
               + ", ".join(f"'{e}'" for e in BY_SHIFT_DATE) + ") AND data->>'shift_date' BETWEEN $2 AND $3 "
               "AND NOT deleted AND ($4::text[] IS NULL OR site_id = ANY($4))")


async def _grants(pool: asyncpg.Pool, principal: Principal) -> set[tuple[str, str | None]]:
    """(role, site or None) pairs: a listed person's grants now (a role revoked since sign-in no longer counts);
    a token for a service the hub does not list keeps its own roles over its own sites; a bare device has none."""
    if principal.user_id is not None:
        disabled = await pool.fetchval("SELECT disabled FROM auth.users WHERE tenant_id = $1 AND username = $2",
                                       principal.tenant_id, principal.user_id)
        if disabled:
            return set()
        if disabled is not None:
            grants = (await grants_of(pool, principal.tenant_id, [principal.user_id])).get(principal.user_id)
            return set(grants.pairs) if grants else set()
    scope: list[str | None] = [None] if principal.site_ids is None else [*sorted(principal.site_ids)]
    return {(role, site) for role in principal.roles for site in scope}


async def _sites(pool: asyncpg.Pool, principal: Principal) -> frozenset[str] | None:
    """Where the caller may read every record the reconciliation reads (None: every site; empty: nowhere)."""
    pairs = await _grants(pool, principal)
    sites: frozenset[str] | None = None
    for entity in READS:
        allowed = allowed_sites(pairs, "read", entity)
        if allowed is not None:
            sites = allowed if sites is None else sites & allowed
    return sites if pairs else frozenset()


@router.get("/v1/hr/reconciliation",
            summary="A period's hours reconciliation: lines, flags, decisions and accepted hours (hr.* read)")
async def get_reconciliation(
    request: Request,
    start: date = Query(..., alias="from", description="first shift date (YYYY-MM-DD)"),
    end: date = Query(..., alias="to", description="last shift date (YYYY-MM-DD), inclusive"),
    threshold: str | None = Query(None, description="hours by which the measures may differ before a line is "
                                  "flagged; without it each site's own (hr.site_settings, else 0.5)"),
    principal: Principal = Depends(require_principal),
) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    sites = await _sites(pool, principal)
    if sites is not None and not sites:
        held = ", ".join(sorted(principal.roles)) or "no role"
        raise Forbidden(f"{principal.user_id or 'device ' + str(principal.device_id)} ({held}) may not read the hours "
                        "reconciliation: it needs a role that reads hr.* and usage logs (hr, supervisor, "
                        "site manager, administrator)", code="forbidden_role")
    if end < start:
        raise Unprocessable("the period ends before it starts", code="validation_failed", details={"to": "before from"})
    if (end - start).days >= MAX_DAYS:
        raise Unprocessable(f"a reconciliation period is at most {MAX_DAYS} days", code="validation_failed",
                            details={"to": "choose a shorter period"})
    limit = None if threshold is None else _threshold(threshold)
    visible = None if sites is None else sorted(sites)
    by_date = await pool.fetch(BY_DATE_SQL, principal.tenant_id, start.isoformat(), end.isoformat(), visible)
    people = await pool.fetch(
        "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = 'hr.employee' AND NOT deleted "
        "AND ($2::text[] IS NULL OR site_id = ANY($2) OR site_id IS NULL)", principal.tenant_id, visible)
    # Per site: each site's lines are flagged by its own threshold (D70); a given ?threshold= applies to all.
    rows: dict[str | None, dict[str, dict[str, dict[str, Any]]]] = {}
    for r in by_date:
        rows.setdefault(r["site_id"], {e: {} for e in BY_SHIFT_DATE})[r["entity"]][r["entity_id"]] = dict(r["data"])
    settings = await _settings(pool, principal.tenant_id, sorted(s for s in rows if s is not None))
    employees = {r["entity_id"]: dict(r["data"]) for r in people}
    parts = {}
    for site, found in rows.items():
        used = settings.get(site) or read_settings(None)
        parts[site] = summarise(start, end, used.threshold if limit is None else limit, employees,
                                found["equipment.usage_log"].values(), found["hr.attendance"].values(),
                                found["hr.reconciliation_review"])
    body = merge(start, end, parts)
    listed = []
    for site in sorted(s for s in rows if s is not None):
        used = settings.get(site) or read_settings(None)
        listed.append({"site_id": site, "time_zone": used.time_zone, "threshold_hours": str(used.threshold),
                       "applied_threshold_hours": str(used.threshold if limit is None else limit),
                       "problems": list(used.problems)})
    applied = {str(limit)} if limit is not None else {s["applied_threshold_hours"] for s in listed} or {
        str(read_settings(None).threshold)}
    body["threshold_hours"] = applied.pop() if len(applied) == 1 else None  # None: the sites' differ, see below
    body["site_settings"] = listed
    body["sites"] = visible
    return Response(orjson.dumps(body), media_type="application/json")


def _threshold(text: str) -> Decimal:
    try:
        limit = Decimal(text)
    except InvalidOperation:
        limit = Decimal(-1)
    if not limit.is_finite() or not Decimal(0) <= limit <= Decimal(24):
        raise Unprocessable(f"threshold {text!r} is not a number of hours from 0 to 24", code="validation_failed",
                            details={"threshold": "0 to 24 hours"})
    return limit


async def _settings(pool: asyncpg.Pool, tenant: str, sites: list[str]) -> dict[str | None, SiteSettings]:
    """Each site's `hr.site_settings` (id = the site), read tolerantly: a value that no longer parses falls back to
    the default for that field and is named in `problems`, as on the desktop (D56)."""
    found = await pool.fetch("SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = "
                             "'hr.site_settings' AND entity_id = ANY($2::text[]) AND NOT deleted", tenant, sites)
    return {r["entity_id"]: read_settings(dict(r["data"])) for r in found}
