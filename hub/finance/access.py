"""Who may read the tenant's finance reports: a role that reads finance.* at every site (finance, site manager,
administrator), under the caller's grants now. Shared by the trial balance and the report routes
(hub/finance/reports.py): every report spans all sites, so a grant at one site is not enough."""

from __future__ import annotations

import asyncpg

from hub.auth.principal import Principal
from hub.errors import Forbidden
from hub.identity.users import grants_of
from shared.permissions import allows


async def tenant_wide_roles(pool: asyncpg.Pool, principal: Principal) -> frozenset[str]:
    """The roles that reach every site. For a listed person, their grants now (a role revoked since sign-in no
    longer counts)."""
    if principal.user_id is None:
        return principal.roles if principal.site_ids is None else frozenset()
    disabled = await pool.fetchval("SELECT disabled FROM auth.users WHERE tenant_id = $1 AND username = $2",
                                   principal.tenant_id, principal.user_id)
    if disabled is None:  # a token for a service the hub does not list keeps its own roles
        return principal.roles if principal.site_ids is None else frozenset()
    if disabled:
        return frozenset()
    grants = (await grants_of(pool, principal.tenant_id, [principal.user_id])).get(principal.user_id)
    return frozenset(role for role, site in (grants.pairs if grants else ()) if site is None)


async def require_finance_reader(pool: asyncpg.Pool, principal: Principal, entity: str, what: str) -> None:
    """403 unless the caller's tenant-wide roles read `entity` (a finance.* name); `what` names the report."""
    if not allows(await tenant_wide_roles(pool, principal), "read", entity):
        held = ", ".join(sorted(principal.roles)) or "no role"
        raise Forbidden(f"{principal.user_id or 'device ' + str(principal.device_id)} ({held}) may not read the "
                        f"{what}: it needs a role that reads finance.* at every site (finance, site manager, "
                        "administrator)", code="forbidden_role")
