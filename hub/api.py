"""Every router the hub serves. A bounded context adds its router here with one line."""

from __future__ import annotations

from fastapi import APIRouter

from hub.sync.conflicts_api import router as conflicts_router
from hub.sync.push import router as push_router


def routers() -> list[APIRouter]:
    found = [push_router, conflicts_router]
    try:
        from hub.sync.pull import router as pull_router
    except ImportError:  # the pull side lands separately
        pass
    else:
        found.append(pull_router)
    return found
