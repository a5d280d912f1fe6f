"""`GET /v1/finance/ap-ageing` and `GET /v1/finance/ar-ageing?as_of=YYYY-MM-DD`: what vendors are owed and
customers owe, per party and bucket (current, 1-30, 31-60, 61-90, 90+ days past due), computed by the shared rule
(`shared.domain.open_items.ageing`) over the invoices and settlements the hub holds, exactly as a desktop computes
it from its replica. Read on finance.* with tenant-wide grants (finance, site manager, administrator), like the
trial balance.

AP counts every vendor invoice that is not cancelled, its lines waiting for an approval included (the vendor
claims them), and every fixed asset bought on account (kind "asset", D89: the acquisition credited 2100); AR
counts issued customer invoices. An unreadable record is left out and counted in `unreadable`.
Importing this module also registers the AP/AR posters (hub.finance.ap_ar) with the posting hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

import hub.finance.ap_ar  # noqa: F401  (registers the posters)
from hub.auth.principal import Principal, require_principal
from hub.errors import Forbidden
from hub.finance.api import _tenant_wide_roles
from shared.domain import payables as ap
from shared.domain import receivables as ar
from shared.domain.assets import ASSET
from shared.domain.open_items import BUCKETS, Ageing, Document, Settlement, ageing
from shared.errors import ValidationError
from shared.permissions import allows

router = APIRouter(tags=["finance"])
ENTITY = "finance.ageing"

Records = Iterable[tuple[str, Mapping[str, Any]]]


def ap_documents(invoices: Records, vendors: Mapping[str, Mapping[str, Any]], assets: Records = ()
                 ) -> tuple[list[Document], int]:
    """Vendor invoices and assets bought on account as open-item documents (the shared `ap.ap_documents`, due
    dates from each vendor's terms) and how many were unreadable."""
    terms = {vid: (t if isinstance(t := v.get("payment_terms_days"), int) and not isinstance(t, bool) else None)
             for vid, v in vendors.items()}
    return ap.ap_documents(invoices, assets, terms)


def ar_documents(invoices: Records) -> tuple[list[Document], int]:
    docs, bad = [], 0
    for inv_id, data in invoices:
        try:
            inv = ar.invoice_from_payload(inv_id, data)
        except ValidationError:
            bad += 1
            continue
        if inv.status == "issued":
            docs.append(inv.as_document())
    return docs, bad


def settlements(rows: Records, parse: Any) -> tuple[list[Settlement], int]:
    out, bad = [], 0
    for sid, data in rows:
        try:
            out.append(parse(sid, data))
        except ValidationError:
            bad += 1
    return out, bad


def ageing_body(report: Ageing, unreadable: int) -> dict[str, Any]:
    totals = report.totals
    return {
        "as_of": report.as_of.isoformat(), "buckets": list(BUCKETS),
        "rows": [{"party": r.party, **{b: str(r.buckets[b]) for b in BUCKETS}, "unapplied": str(r.unapplied),
                  "total": str(r.total)} for r in report.rows],
        "totals": {**{b: str(totals[b]) for b in BUCKETS}, "unapplied": str(report.unapplied),
                   "total": str(report.total)},
        "items": [{"document_id": it.document.document_id, "reference": it.document.reference,
                   "kind": it.document.kind, "party": it.document.party, "due_date": it.document.due_date.isoformat(),
                   "amount": str(it.document.amount), "open": str(it.open), "bucket": bucket}
                  for it, bucket in report.items],
        "unreadable": unreadable,
    }


async def _records(pool: asyncpg.Pool, tenant: str, entity: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await pool.fetch("SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND NOT "
                            "deleted ORDER BY entity_id", tenant, entity)
    return [(r["entity_id"], dict(r["data"])) for r in rows]


async def _allowed(request: Request, principal: Principal, what: str) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    if not allows(await _tenant_wide_roles(pool, principal), "read", ENTITY):
        held = ", ".join(sorted(principal.roles)) or "no role"
        raise Forbidden(f"{principal.user_id or 'device ' + str(principal.device_id)} ({held}) may not read the "
                        f"{what}: it needs a role that reads finance.* at every site (finance, site manager, "
                        "administrator)", code="forbidden_role")
    return pool


AsOf = Query(None, description="the day to age at (YYYY-MM-DD); today (UTC) when absent")


@router.get("/v1/finance/ap-ageing", summary="AP ageing per vendor and bucket (finance.* read, tenant-wide)")
async def get_ap_ageing(request: Request, as_of: date | None = AsOf,
                        principal: Principal = Depends(require_principal)) -> Response:
    pool = await _allowed(request, principal, "AP ageing")
    vendors = dict(await _records(pool, principal.tenant_id, "procurement.vendor"))
    docs, bad = ap_documents(await _records(pool, principal.tenant_id, ap.INVOICE), vendors,
                             await _records(pool, principal.tenant_id, ASSET))
    paid, bad_paid = settlements(await _records(pool, principal.tenant_id, ap.PAYMENT), ap.payment_from_payload)
    report = ageing(docs, paid, as_of or datetime.now(UTC).date())
    return Response(orjson.dumps(ageing_body(report, bad + bad_paid)), media_type="application/json")


@router.get("/v1/finance/ar-ageing", summary="AR ageing per customer and bucket (finance.* read, tenant-wide)")
async def get_ar_ageing(request: Request, as_of: date | None = AsOf,
                        principal: Principal = Depends(require_principal)) -> Response:
    pool = await _allowed(request, principal, "AR ageing")
    docs, bad = ar_documents(await _records(pool, principal.tenant_id, ar.INVOICE))
    got, bad_got = settlements(await _records(pool, principal.tenant_id, ar.RECEIPT), ar.receipt_from_payload)
    report = ageing(docs, got, as_of or datetime.now(UTC).date())
    return Response(orjson.dumps(ageing_body(report, bad + bad_got)), media_type="application/json")
