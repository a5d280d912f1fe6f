"""Reading users and their role grants (shared by sign-in, verifiers and the push permission check)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Grants:
    """A user's roles, each at one site or tenant-wide (site None)."""

    pairs: frozenset[tuple[str, str | None]]

    @property
    def roles(self) -> list[str]:
        return sorted({role for role, _ in self.pairs})

    @property
    def site_ids(self) -> list[str] | None:
        """The sites where the user holds any role; None when some role is tenant-wide."""
        if any(site is None for _, site in self.pairs):
            return None
        return sorted({site for _, site in self.pairs if site is not None})

    def roles_at(self, site_id: str | None) -> set[str]:
        """Roles that apply to a change at `site_id`. Tenant-wide grants apply everywhere; a change to a
        tenant-wide record (site None) may be made under any of the user's grants."""
        return {role for role, site in self.pairs if site is None or site_id is None or site == site_id}


async def grants_of(conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str,
                    usernames: Iterable[str]) -> dict[str, Grants]:
    rows = await conn.fetch(
        "SELECT username, role, site_id FROM auth.role_grants WHERE tenant_id = $1 AND username = ANY($2::text[])",
        tenant_id, sorted(set(usernames)),
    )
    pairs: dict[str, set[tuple[str, str | None]]] = {}
    for r in rows:
        pairs.setdefault(r["username"], set()).add((r["role"], r["site_id"]))
    return {name: Grants(frozenset(p)) for name, p in pairs.items()}
