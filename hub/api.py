"""Every router the hub serves. A bounded context adds its router here with one line."""

from __future__ import annotations

from fastapi import APIRouter

from hub.audit import router as audit_router
from hub.identity import router as identity_router
from hub.ops.device_status import router as device_status_router
from hub.ops.health import router as ops_router
from hub.sync.conflicts_api import router as conflicts_router
from hub.sync.pull import router as pull_router
from hub.sync.push import router as push_router
from hub.telemetry.api import router as telemetry_router


def routers() -> list[APIRouter]:
    return [push_router, pull_router, conflicts_router, audit_router, ops_router, identity_router, telemetry_router,
            device_status_router]
