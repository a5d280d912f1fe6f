"""Administrative operations on tenants, sites, users, roles, enrollment tokens and devices: the admin CLI
calls these against the database directly. Each runs in the caller's transaction and writes its audit entry
(actor, before, after) there, so an action and its audit commit together."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from hub.audit import record_action
from hub.auth.principal import Principal
from hub.identity.enrollment import enrollment_token_hash
from hub.identity.passwords import hash_password_async, password_problem
from hub.identity.revocation import revoke_device as _revoke_device
from shared.errors import PitlineError
from shared.permissions import ROLES

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


class AdminError(PitlineError):
    exit_code = 1


class BadInput(AdminError):
    exit_code = 2


class NotFound(AdminError):
    exit_code = 4


class StateConflict(AdminError):
    """The thing exists but is not in a state that allows the action (already revoked, not open…)."""

    exit_code = 5


class AlreadyExists(StateConflict):
    pass


def admin_principal(tenant_id: str, actor: str) -> Principal:
    """The principal administrative actions are audited under (the CLI operator)."""
    return Principal(tenant_id=tenant_id, device_id=None, user_id=actor, site_ids=None,
                     roles=frozenset({"administrator"}))


def check_id(value: str, what: str) -> str:
    if not ID_PATTERN.match(value):
        raise BadInput(f"{what} {value!r} is not valid: letters, digits and . _ @ - (at most 128, "
                       "starting with a letter or digit)")
    return value


def _row(r: asyncpg.Record | None) -> dict[str, Any] | None:
    if r is None:
        return None
    out: dict[str, Any] = {}
    for k, v in dict(r).items():
        out[k] = v.isoformat() if isinstance(v, datetime | time) else v
    return out


async def _need_tenant(conn: asyncpg.Connection, tenant_id: str) -> None:
    if not await conn.fetchval("SELECT 1 FROM auth.tenants WHERE id = $1", tenant_id):
        raise NotFound(f"no tenant {tenant_id!r} (pitline hub tenants add {tenant_id})")


async def _need_site(conn: asyncpg.Connection, tenant_id: str, site_id: str) -> None:
    if not await conn.fetchval("SELECT 1 FROM auth.sites WHERE tenant_id = $1 AND id = $2", tenant_id, site_id):
        raise NotFound(f"no site {site_id!r} in tenant {tenant_id!r} (pitline hub sites add)")


async def _user(conn: asyncpg.Connection, tenant_id: str, username: str) -> dict[str, Any]:
    r = await conn.fetchrow(
        """SELECT username, display_name, disabled, failed_attempts, locked_until FROM auth.users
           WHERE tenant_id = $1 AND username = $2 FOR UPDATE""", tenant_id, username)
    if r is None:
        raise NotFound(f"no user {username!r} in tenant {tenant_id!r}")
    return _row(r) or {}


# --- tenants and sites ----------------------------------------------------------------------------
async def add_tenant(conn: asyncpg.Connection, actor: str, tenant_id: str, name: str | None) -> dict[str, Any]:
    check_id(tenant_id, "tenant id")
    created = await conn.fetchrow(
        "INSERT INTO auth.tenants (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id, name, created_at",
        tenant_id, name or tenant_id)
    if created is None:
        raise AlreadyExists(f"tenant {tenant_id!r} already exists")
    await conn.execute("INSERT INTO sync.tenant_heads (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING", tenant_id)
    after = _row(created)
    await record_action(conn, admin_principal(tenant_id, actor), "tenant.add", entity="auth.tenant",
                        entity_id=tenant_id, after=after)
    return after or {}


async def list_tenants(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT id, name, created_at FROM auth.tenants ORDER BY id")
    return [_row(r) or {} for r in rows]


def _shift_time(text: str, what: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{what} must be a time of day like 06:00, got {text!r}") from None


async def add_site(conn: asyncpg.Connection, actor: str, tenant_id: str, site_id: str, *, name: str | None,
                   time_zone: str, day_shift_start: str, night_shift_start: str) -> dict[str, Any]:
    check_id(site_id, "site id")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"unknown time zone {time_zone!r} (an IANA name such as Australia/Perth)") from None
    day, night = _shift_time(day_shift_start, "--day-shift"), _shift_time(night_shift_start, "--night-shift")
    if day == night:
        raise BadInput("the day and night shifts cannot start at the same time")
    await _need_tenant(conn, tenant_id)
    created = await conn.fetchrow(
        """INSERT INTO auth.sites (tenant_id, id, name, time_zone, day_shift_start, night_shift_start)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
           RETURNING id, name, time_zone, day_shift_start, night_shift_start""",
        tenant_id, site_id, name or site_id, time_zone, day, night)
    if created is None:
        raise AlreadyExists(f"site {site_id!r} already exists in tenant {tenant_id!r}")
    after = _row(created)
    await record_action(conn, admin_principal(tenant_id, actor), "site.add", entity="auth.site", entity_id=site_id,
                        after=after)
    return after or {}


async def list_sites(conn: asyncpg.Connection, tenant_id: str) -> list[dict[str, Any]]:
    await _need_tenant(conn, tenant_id)
    rows = await conn.fetch(
        """SELECT id, name, time_zone, day_shift_start, night_shift_start FROM auth.sites WHERE tenant_id = $1
           ORDER BY id""", tenant_id)
    return [_row(r) or {} for r in rows]


# --- users and roles ------------------------------------------------------------------------------
async def add_user(conn: asyncpg.Connection, actor: str, tenant_id: str, username: str, *, display_name: str | None,
                   password: str) -> dict[str, Any]:
    check_id(username, "username")
    problem = password_problem(password)
    if problem:
        raise BadInput(problem)
    await _need_tenant(conn, tenant_id)
    created = await conn.fetchrow(
        """INSERT INTO auth.users (tenant_id, username, display_name, password_hash) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING username, display_name, disabled""",
        tenant_id, username, display_name or username, await hash_password_async(password))
    if created is None:
        raise AlreadyExists(f"user {username!r} already exists in tenant {tenant_id!r}")
    after = _row(created)
    await record_action(conn, admin_principal(tenant_id, actor), "user.add", entity="auth.user", entity_id=username,
                        after=after)
    return after or {}


async def list_users(conn: asyncpg.Connection, tenant_id: str) -> list[dict[str, Any]]:
    await _need_tenant(conn, tenant_id)
    rows = await conn.fetch(
        """SELECT u.username, u.display_name, u.disabled, u.failed_attempts, u.locked_until,
                  COALESCE(array_agg(g.role || '@' || COALESCE(g.site_id, '*') ORDER BY g.role, g.site_id)
                           FILTER (WHERE g.role IS NOT NULL), '{}') AS grants
           FROM auth.users u LEFT JOIN auth.role_grants g ON g.tenant_id = u.tenant_id AND g.username = u.username
           WHERE u.tenant_id = $1 GROUP BY u.username, u.display_name, u.disabled, u.failed_attempts, u.locked_until
           ORDER BY u.username""", tenant_id)
    return [_row(r) or {} for r in rows]


async def set_disabled(conn: asyncpg.Connection, actor: str, tenant_id: str, username: str,
                       disabled: bool) -> dict[str, Any]:
    before = await _user(conn, tenant_id, username)
    await conn.execute("UPDATE auth.users SET disabled = $3 WHERE tenant_id = $1 AND username = $2",
                       tenant_id, username, disabled)
    if disabled:  # signed-in sessions end now: the tokens' notices also close their open streams (hub.sync.fanout)
        await conn.execute(
            """UPDATE auth.access_tokens SET revoked_at = now()
               WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL""", tenant_id, username)
    after = {**before, "disabled": disabled}
    await record_action(conn, admin_principal(tenant_id, actor), "user.disable" if disabled else "user.enable",
                        entity="auth.user", entity_id=username, before=before, after=after)
    return after


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")


async def _grants(conn: asyncpg.Connection, tenant_id: str, username: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT role, site_id FROM auth.role_grants WHERE tenant_id = $1 AND username = $2 ORDER BY role, site_id",
        tenant_id, username)
    return [f"{r['role']}@{r['site_id'] or '*'}" for r in rows]


async def grant_role(conn: asyncpg.Connection, actor: str, tenant_id: str, username: str, role: str,
                     site_id: str | None) -> dict[str, Any]:
    _check_role(role)
    await _user(conn, tenant_id, username)
    if site_id is not None:
        await _need_site(conn, tenant_id, site_id)
    before = await _grants(conn, tenant_id, username)
    done = await conn.fetchval(
        """INSERT INTO auth.role_grants (tenant_id, username, role, site_id, granted_by) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT DO NOTHING RETURNING 1""", tenant_id, username, role, site_id, actor)
    if done is None:
        raise AlreadyExists(f"{username!r} already holds {role} at {site_id or 'every site'}")
    after = await _grants(conn, tenant_id, username)
    await record_action(conn, admin_principal(tenant_id, actor), "role.grant", entity="auth.user",
                        entity_id=username, before={"grants": before}, after={"grants": after})
    return {"username": username, "grants": after}


async def revoke_role(conn: asyncpg.Connection, actor: str, tenant_id: str, username: str, role: str,
                      site_id: str | None) -> dict[str, Any]:
    _check_role(role)
    await _user(conn, tenant_id, username)
    before = await _grants(conn, tenant_id, username)
    done = await conn.fetchval(
        """DELETE FROM auth.role_grants WHERE tenant_id = $1 AND username = $2 AND role = $3
             AND site_id IS NOT DISTINCT FROM $4 RETURNING 1""", tenant_id, username, role, site_id)
    if done is None:
        raise NotFound(f"{username!r} does not hold {role} at {site_id or 'every site'}")
    after = await _grants(conn, tenant_id, username)
    await record_action(conn, admin_principal(tenant_id, actor), "role.revoke", entity="auth.user",
                        entity_id=username, before={"grants": before}, after={"grants": after})
    return {"username": username, "grants": after}


async def reset_password(conn: asyncpg.Connection, actor: str, tenant_id: str, username: str,
                         password: str) -> dict[str, Any]:
    problem = password_problem(password)
    if problem:
        raise BadInput(problem)
    before = await _user(conn, tenant_id, username)
    await conn.execute(
        """UPDATE auth.users SET password_hash = $3, password_changed_at = now(), failed_attempts = 0,
             locked_until = NULL WHERE tenant_id = $1 AND username = $2""",
        tenant_id, username, await hash_password_async(password))
    await conn.execute(
        "UPDATE auth.access_tokens SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        tenant_id, username)
    after = {**before, "failed_attempts": 0, "locked_until": None, "password": "changed"}
    await record_action(conn, admin_principal(tenant_id, actor), "user.reset_password", entity="auth.user",
                        entity_id=username, before=before, after=after)
    return {"username": username, "password": "changed"}


# --- enrollment and devices -----------------------------------------------------------------------
async def issue_enrollment_token(conn: asyncpg.Connection, actor: str, tenant_id: str, *, site_id: str | None,
                                 kind: str, hours: float) -> dict[str, Any]:
    if kind not in ("desktop", "edge"):
        raise BadInput(f"--kind must be desktop or edge, got {kind!r}")
    if not 0 < hours <= 24 * 30:
        raise BadInput("--hours must be more than 0 and at most 720 (30 days)")
    await _need_tenant(conn, tenant_id)
    if site_id is not None:
        await _need_site(conn, tenant_id, site_id)
    token = "pe_" + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=hours)
    await conn.execute(
        """INSERT INTO auth.enrollment_tokens (tenant_id, token_hash, site_id, kind, created_by, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        tenant_id, enrollment_token_hash(token), site_id, kind, actor, expires)
    after = {"site_id": site_id, "kind": kind, "expires_at": expires.isoformat()}  # never the token itself
    await record_action(conn, admin_principal(tenant_id, actor), "enrollment_token.issue",
                        entity="auth.enrollment_token", entity_id=enrollment_token_hash(token).hex()[:16], after=after)
    return {"token": token, "tenant_id": tenant_id, **after}


async def list_devices(conn: asyncpg.Connection, tenant_id: str) -> list[dict[str, Any]]:
    await _need_tenant(conn, tenant_id)
    rows = await conn.fetch(
        """SELECT d.id, d.kind, d.name, d.site_ids, d.created_at, d.revoked_at, c.last_seq AS last_device_seq,
                  c.last_seen_at, c.reported_outbox_depth
           FROM auth.devices d
           LEFT JOIN sync.device_cursors c ON c.tenant_id = d.tenant_id AND c.device_id = d.id
           WHERE d.tenant_id = $1 ORDER BY d.created_at, d.id""", tenant_id)
    return [_row(r) or {} for r in rows]


async def revoke_device(conn: asyncpg.Connection, actor: str, tenant_id: str, device_id: str) -> dict[str, Any]:
    before = _row(await conn.fetchrow(
        "SELECT id, kind, name, site_ids, revoked_at FROM auth.devices WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant_id, device_id))
    if before is None:
        raise NotFound(f"no device {device_id!r} in tenant {tenant_id!r}")
    if before["revoked_at"] is not None:
        raise AlreadyExists(f"device {device_id!r} was already revoked at {before['revoked_at']}")
    await _revoke_device(conn, tenant_id, device_id)
    after = _row(await conn.fetchrow(
        "SELECT id, kind, name, site_ids, revoked_at FROM auth.devices WHERE tenant_id = $1 AND id = $2",
        tenant_id, device_id))
    await record_action(conn, admin_principal(tenant_id, actor), "device.revoke", entity="auth.device",
                        entity_id=device_id, before=before, after=after)
    return after or {}
