"""The permission matrix on push (docs/decisions.md D9).

Whose roles decide: the token's user when the caller signed in as a person; otherwise the mutation's `actor`
when it names a user of the tenant (the person signed in on the desktop, offline or not) — their grants that
apply at the mutation's site. A mutation whose actor is not a user of the tenant (an edge agent's system actor,
a device provisioned before users existed) is the device acting as itself: it may write what its sites allow,
as before roles existed. A disabled user's mutations are refused.
Own records (D58): where a role may write an entity only for the person themselves (`OWN_RECORDS`: an operator's
own leave request), the record's employee and, for an update, the record as the hub holds it are read here and
`own_write_refusal` decides; the acting user is the one the roles come from."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from hub.auth.principal import Principal
from hub.identity.users import Grants, grants_of
from shared.envelopes import Mutation, Op
from shared.permissions import OwnRule, allows, own_rule, own_write_refusal


async def forbidden_mutations(conn: asyncpg.Connection, principal: Principal,
                              run: Sequence[Mutation]) -> dict[str, str]:
    """{mutation id: why it is refused} for the mutations of `run` their user's roles may not write."""
    if not run:
        return {}
    names = {principal.user_id} if principal.user_id else {m.actor for m in run}
    rows = await conn.fetch(
        "SELECT username, disabled FROM auth.users WHERE tenant_id = $1 AND username = ANY($2::text[])",
        principal.tenant_id, sorted(n for n in names if n),
    )
    disabled = {r["username"]: r["disabled"] for r in rows}
    grants = await grants_of(conn, principal.tenant_id, disabled) if disabled else {}
    refused: dict[str, str] = {}
    for m in run:
        user = principal.user_id or m.actor
        if user in disabled:
            if disabled[user]:
                refused[m.id] = f"user {user!r} is disabled"
                continue
            roles = grants.get(user, Grants(frozenset())).roles_at(m.site_id)
        elif principal.user_id:
            roles = set(principal.roles)  # a token minted for a user the hub does not list (tests, services)
        else:
            continue  # the device acting as itself
        if not allows(roles, "write", m.entity):
            where = f" at site {m.site_id}" if m.site_id else ""
            held = ", ".join(sorted(roles)) or "no role"
            rule = own_rule(roles, m.entity)
            if rule is None:
                refused[m.id] = f"{user} ({held}{where}) may not write {m.entity}"
                continue
            problem = await _own_refusal(conn, principal.tenant_id, m, rule, user)
            if problem is not None:
                refused[m.id] = f"{user} ({held}{where}) {m.entity}: {problem}"
    return refused


async def _own_refusal(conn: asyncpg.Connection, tenant_id: str, m: Mutation, rule: OwnRule,
                       user: str) -> str | None:
    """The own-records check of one mutation against the hub's copy of the record and of its employee."""
    current = None
    if m.op is not Op.CREATE:
        row = await conn.fetchrow("SELECT data FROM sync.records WHERE tenant_id = $1 AND entity = $2 "
                                  "AND entity_id = $3 AND NOT deleted", tenant_id, m.entity, m.entity_id)
        current = None if row is None else dict(row["data"])
    owner = m.payload.get(rule.owner_field) or (current or {}).get(rule.owner_field)
    user_of: dict[str, str | None] = {}
    if owner:
        employee = await conn.fetchval("SELECT data->>'user_id' FROM sync.records WHERE tenant_id = $1 AND "
                                       "entity = 'hr.employee' AND entity_id = $2 AND NOT deleted",
                                       tenant_id, str(owner))
        user_of[str(owner)] = employee
    return own_write_refusal(rule, m.op.value, m.payload, current, user_of, user)
