"""The permission matrix's administrative actions on the hub's routes (`shared.permissions.ADMIN_RULES`).

Two steps, because a route cannot know where an action happens before it reads what the action is about:
- `require_action(action)`, a route dependency: the token's roles must allow the action somewhere. It runs
  before the body is validated, so a caller without the role gets 403 whatever it sent; a device acting as
  itself (a token without roles) takes no administrative action through the API.
- `roles_at` / `action_sites`: the roles that apply at one site, or the sites where an action is allowed,
  from the person's grants as they are now (`auth.role_grants`, as the push check reads them, D9), so a
  role revoked since sign-in no longer counts and a grant at one site does not reach another. A token
  minted for a user the hub does not list (a service) keeps its own roles and sites."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from fastapi import Depends

from hub.auth.principal import Principal, require_principal
from hub.errors import Forbidden
from hub.identity.users import Grants, grants_of
from shared.permissions import ADMIN_ACTIONS, allowed_sites, allows


def who(principal: Principal) -> str:
    return principal.user_id or f"device {principal.device_id}"


def require_action(action: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A FastAPI dependency: the caller, when its token's roles allow `action`; else 403 `forbidden_role`."""
    if action not in ADMIN_ACTIONS:
        raise ValueError(f"{action!r} is not an administrative action of shared.permissions")

    async def check(principal: Principal = Depends(require_principal)) -> Principal:
        if not allows(principal.roles, action):
            held = ", ".join(sorted(principal.roles)) or "no role"
            raise Forbidden(f"{who(principal)} ({held}) may not do this: it needs a role that allows {action}",
                            code="forbidden_role")
        return principal

    return check


async def _grants(conn: asyncpg.Connection | asyncpg.Pool, principal: Principal) -> Grants | None:
    """The person's grants now (none when disabled); None when the token has no user the hub lists."""
    if principal.user_id is None:
        return None
    disabled = await conn.fetchval("SELECT disabled FROM auth.users WHERE tenant_id = $1 AND username = $2",
                                   principal.tenant_id, principal.user_id)
    if disabled is None:
        return None
    if disabled:
        return Grants(frozenset())
    return (await grants_of(conn, principal.tenant_id, [principal.user_id])).get(principal.user_id,
                                                                                Grants(frozenset()))


async def roles_at(conn: asyncpg.Connection | asyncpg.Pool, principal: Principal,
                   site_id: str | None) -> frozenset[str]:
    """The caller's roles that apply to something at `site_id` (None: a tenant-wide record)."""
    grants = await _grants(conn, principal)
    if grants is None:
        return principal.roles if principal.sees_site(site_id) else frozenset()
    return frozenset(grants.roles_at(site_id))


async def action_sites(conn: asyncpg.Connection | asyncpg.Pool, principal: Principal,
                       action: str) -> frozenset[str] | None:
    """The sites where the caller may take `action` (None: every site of the tenant; empty: nowhere)."""
    grants = await _grants(conn, principal)
    if grants is None:
        return principal.site_ids if allows(principal.roles, action) else frozenset()
    return allowed_sites(grants.pairs, action)
