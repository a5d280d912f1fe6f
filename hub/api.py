"""Every router the hub serves. A bounded context adds its router here with one line."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from hub.audit import router as audit_router
from hub.finance.ageing_api import router as ageing_router
from hub.finance.api import router as finance_router
from hub.finance.depreciation_run import router as depreciation_router
from hub.finance.periods_api import router as finance_periods_router
from hub.finance.reports import router as finance_reports_router
from hub.identity import router as identity_router
from hub.ops.device_status import router as device_status_router
from hub.ops.health import router as ops_router
from hub.ops.metrics import router as metrics_router
from hub.people.api import router as people_router
from hub.sync.conflicts_api import router as conflicts_router
from hub.sync.pull import router as pull_router
from hub.sync.push import router as push_router
from hub.telemetry.api import router as telemetry_router


def routers() -> list[APIRouter]:
    return [push_router, pull_router, conflicts_router, audit_router, ops_router, identity_router, telemetry_router,
            device_status_router, metrics_router, finance_router, finance_reports_router, finance_periods_router,
            ageing_router, depreciation_router, people_router]


# Most of a fleet's requests (hub.ops.fast_routes serves them without FastAPI's per-request machinery).
HOT_ROUTES = (("GET", "/v1/sync/changes"), ("POST", "/v1/sync/push"), ("GET", "/v1/conflicts"),
              ("GET", "/v1/audit"), ("GET", "/v1/sync/snapshot"))


def route_list() -> list[APIRoute]:
    return [r for router in routers() for r in router.routes if isinstance(r, APIRoute)]
