"""`pitline hub tenants|sites|users|enroll|devices|conflicts|finance …`: the administrator's CLI. It talks to the
database directly (the configured server, or the embedded one in the data folder) through the operations in
`hub.identity.admin`, each in one transaction with its audit entry.

Every command takes `--json` (one JSON document on stdout). Exit codes: 0 done, 1 failure (database
unreachable…), 2 bad input, 4 not found, 5 already exists / not in a state that allows it."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

T = TypeVar("T")

tenants = typer.Typer(help="Tenants (companies). Every other record belongs to one.", no_args_is_help=True)
sites = typer.Typer(help="Sites of a tenant: time zone and shift starts.", no_args_is_help=True)
users = typer.Typer(help="People: passwords, roles with site scopes, disable.", no_args_is_help=True)
enroll = typer.Typer(help="One-time enrollment tokens for new devices.", no_args_is_help=True)
devices = typer.Typer(help="Enrolled devices: list, revoke.", no_args_is_help=True)
conflicts = typer.Typer(help="Conflicts that need a person: list, resolve.", no_args_is_help=True)
finance = typer.Typer(help="Finance: close and reopen periods, list and import the chart of accounts.",
                      no_args_is_help=True)

JsonOpt = typer.Option(False, "--json", help="print one JSON document for scripts")
TenantOpt = typer.Option(..., "--tenant", "-t", help="tenant id")
ActorOpt = typer.Option(None, "--actor", help="who is acting, for the audit log (default: cli:<login name>)")


def register(app: typer.Typer) -> None:
    """Add the admin sub-apps to `pitline hub`."""
    for name, sub in (("tenants", tenants), ("sites", sites), ("users", users), ("enroll", enroll),
                      ("devices", devices), ("conflicts", conflicts), ("finance", finance)):
        app.add_typer(sub, name=name)


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _fail(message: str, code: int, as_json: bool) -> None:
    if as_json:
        json.dump({"error": message, "exit_code": code}, sys.stdout)
        sys.stdout.write("\n")
    typer.echo(f"pitline hub: {message}", err=True)
    raise typer.Exit(code)


def _run(op: Callable[..., Awaitable[T]], *args: Any, as_json: bool, **kw: Any) -> T:
    """Run one operation in a transaction on the hub's database; errors become messages and exit codes."""
    import asyncpg

    from hub.cli import resolve_database_url
    from hub.db import connect
    from hub.identity.admin import AdminError
    from hub.settings import HubSettings

    async def go() -> T:
        conn = await connect(resolve_database_url(HubSettings.load()))
        try:
            async with conn.transaction():
                return await op(conn, *args, **kw)
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except AdminError as exc:
        _fail(str(exc), exc.exit_code, as_json)
    except asyncpg.DataError as exc:
        _fail(f"the database refused a value: {exc}", 2, as_json)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _fail(f"cannot use the hub's database: {type(exc).__name__}: {exc}", 1, as_json)
    raise AssertionError("unreachable")


def _show(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        json.dump(data, sys.stdout, default=str)
        sys.stdout.write("\n")
    else:
        typer.echo(text if text is not None else json.dumps(data, default=str, indent=2))


def _table(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        _show(rows, True)
        return
    if not rows:
        typer.echo("(none)")
        return
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def _site(site: str | None) -> str | None:
    """`--site '*'` (or none) means tenant-wide."""
    return None if site in (None, "", "*") else site


# --- tenants and sites ---------------------------------------------------------------------------
@tenants.command("add")
def tenants_add(tenant: str = typer.Argument(..., help="tenant id"), name: str = typer.Option(None, help="name"),
                actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Add a tenant."""
    from hub.identity import admin as ops

    row = _run(ops.add_tenant, _actor(actor), tenant, name, as_json=as_json)
    _show(row, as_json, f"tenant {row['id']} added")


@tenants.command("list")
def tenants_list(as_json: bool = JsonOpt) -> None:
    """List tenants."""
    from hub.identity import admin as ops

    _table(_run(ops.list_tenants, as_json=as_json), ["id", "name", "created_at"], as_json)


@sites.command("add")
def sites_add(site: str = typer.Argument(..., help="site id"), tenant: str = TenantOpt,
              name: str = typer.Option(None, help="name people use"),
              time_zone: str = typer.Option("UTC", "--tz", help="IANA time zone, e.g. Australia/Perth"),
              day_shift: str = typer.Option("06:00", help="day shift start (local time)"),
              night_shift: str = typer.Option("18:00", help="night shift start (local time)"),
              actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Add a site with its time zone and shift starts."""
    from hub.identity import admin as ops

    row = _run(ops.add_site, _actor(actor), tenant, site, name=name, time_zone=time_zone,
               day_shift_start=day_shift, night_shift_start=night_shift, as_json=as_json)
    _show(row, as_json, f"site {row['id']} added to {tenant} ({row['time_zone']}, shifts at "
                        f"{row['day_shift_start']} and {row['night_shift_start']})")


@sites.command("list")
def sites_list(tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """List a tenant's sites."""
    from hub.identity import admin as ops

    _table(_run(ops.list_sites, tenant, as_json=as_json),
           ["id", "name", "time_zone", "day_shift_start", "night_shift_start"], as_json)


# --- users ---------------------------------------------------------------------------------------
def _password(password: str | None, as_json: bool) -> str:
    if password is not None:
        return password
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            _fail("no password: pass --password or write it on standard input", 2, as_json)
        return line
    value: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return value


PasswordOpt = typer.Option(None, "--password", help="the password (default: read from stdin or prompted)")


@users.command("add")
def users_add(username: str = typer.Argument(...), tenant: str = TenantOpt,
              display_name: str = typer.Option(None, "--name", help="display name"), password: str = PasswordOpt,
              role: list[str] = typer.Option([], "--role", help="role to grant (repeatable)"),
              site: str = typer.Option(None, "--site", help="site for --role (default: every site)"),
              actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Add a user (argon2 password hash), optionally with roles at a site."""
    from hub.identity import admin as ops
    from shared.permissions import unknown_roles

    bad = unknown_roles(role)
    if bad:
        _fail(f"unknown role(s) {', '.join(bad)}", 2, as_json)
    secret = _password(password, as_json)

    async def add(conn: Any) -> dict[str, Any]:
        row = await ops.add_user(conn, _actor(actor), tenant, username, display_name=display_name, password=secret)
        for r in role:
            row = {**row, **await ops.grant_role(conn, _actor(actor), tenant, username, r, _site(site))}
        return row

    row = _run(add, as_json=as_json)
    _show(row, as_json, f"user {username} added to {tenant}" + (f" ({', '.join(row['grants'])})" if role else ""))


@users.command("list")
def users_list(tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """List users with their grants (role@site, * = every site)."""
    from hub.identity import admin as ops

    _table(_run(ops.list_users, tenant, as_json=as_json),
           ["username", "display_name", "disabled", "grants", "failed_attempts", "locked_until"], as_json)


@users.command("disable")
def users_disable(username: str = typer.Argument(...), tenant: str = TenantOpt,
                  enable: bool = typer.Option(False, "--enable", help="enable again instead"),
                  actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Disable a user (ends their sessions; devices drop them at the next verifier refresh)."""
    from hub.identity import admin as ops

    row = _run(ops.set_disabled, _actor(actor), tenant, username, not enable, as_json=as_json)
    _show(row, as_json, f"user {username} {'enabled' if enable else 'disabled'}")


@users.command("grant")
def users_grant(username: str = typer.Argument(...), role: str = typer.Argument(...), tenant: str = TenantOpt,
                site: str = typer.Option(None, "--site", help="site (default or '*': every site)"),
                actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Grant a role at a site (or tenant-wide)."""
    from hub.identity import admin as ops

    row = _run(ops.grant_role, _actor(actor), tenant, username, role, _site(site), as_json=as_json)
    _show(row, as_json, f"{username}: {', '.join(row['grants'])}")


@users.command("revoke-role")
def users_revoke_role(username: str = typer.Argument(...), role: str = typer.Argument(...), tenant: str = TenantOpt,
                      site: str = typer.Option(None, "--site", help="site (default or '*': the tenant-wide grant)"),
                      actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Take a role grant away."""
    from hub.identity import admin as ops

    row = _run(ops.revoke_role, _actor(actor), tenant, username, role, _site(site), as_json=as_json)
    _show(row, as_json, f"{username}: {', '.join(row['grants']) or 'no roles'}")


@users.command("reset-password")
def users_reset_password(username: str = typer.Argument(...), tenant: str = TenantOpt, password: str = PasswordOpt,
                         actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Set a new password (clears a lockout, ends the user's sessions)."""
    from hub.identity import admin as ops

    secret = _password(password, as_json)
    row = _run(ops.reset_password, _actor(actor), tenant, username, secret, as_json=as_json)
    _show(row, as_json, f"password of {username} changed")


# --- enrollment and devices ----------------------------------------------------------------------
@enroll.command("issue")
def enroll_issue(tenant: str = TenantOpt,
                 site: str = typer.Option(None, "--site", help="the device's site (omit or '*': tenant-wide)"),
                 kind: str = typer.Option(..., "--kind", help="desktop | edge"),
                 hours: float = typer.Option(24.0, "--hours", help="how long the token stays valid"),
                 actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Issue a one-time enrollment token (printed once; only its hash is kept)."""
    from hub.identity import admin as ops

    row = _run(ops.issue_enrollment_token, _actor(actor), tenant, site_id=_site(site), kind=kind, hours=hours,
               as_json=as_json)
    _show(row, as_json, row["token"])


@devices.command("list")
def devices_list(tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """List devices with their sync status (last seen, last device_seq, reported outbox depth)."""
    from hub.identity import admin as ops

    _table(_run(ops.list_devices, tenant, as_json=as_json),
           ["id", "kind", "name", "site_ids", "revoked_at", "last_seen_at", "last_device_seq",
            "reported_outbox_depth"], as_json)


@devices.command("revoke")
def devices_revoke(device: str = typer.Argument(..., help="device id"), tenant: str = TenantOpt,
                   actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Revoke a device: its next request is refused and its open streams close."""
    from hub.identity import admin as ops

    row = _run(ops.revoke_device, _actor(actor), tenant, device, as_json=as_json)
    _show(row, as_json, f"device {device} revoked")


# --- conflicts -----------------------------------------------------------------------------------
@conflicts.command("list")
def conflicts_list(tenant: str = TenantOpt, status: str = typer.Option("open", help="open|auto_resolved|resolved|all"),
                   limit: int = typer.Option(100, min=1, max=10_000), as_json: bool = JsonOpt) -> None:
    """List conflict records."""
    from hub.identity.admin_conflicts import list_conflicts

    _table(_run(list_conflicts, tenant, status, limit, as_json=as_json),
           ["id", "site_id", "entity", "entity_id", "strategy", "status", "actor", "created_at"], as_json)


@conflicts.command("resolve")
def conflicts_resolve(conflict_id: str = typer.Argument(...), tenant: str = TenantOpt,
                      choice: str = typer.Option(..., "--choice", help="server | client | custom"),
                      data: str = typer.Option(None, "--data", help="JSON object of resolved values (custom)"),
                      note: str = typer.Option(None, "--note", help="why, for the audit log"),
                      actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Resolve an open conflict (the same code path as the hub's API)."""
    from hub.identity.admin_conflicts import resolve

    row = _run(resolve, _actor(actor), tenant, conflict_id, choice, data, note, as_json=as_json)
    _show(row, as_json, f"conflict {conflict_id} resolved ({choice})")


# --- finance -------------------------------------------------------------------------------------
async def _finance(conn: Any, op: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
    """A finance operation with its refusals as the CLI's exit codes (2 bad input, 5 wrong state)."""
    from hub.finance.admin import FinanceAdminError
    from hub.identity.admin import BadInput, StateConflict

    try:
        return await op(conn, *args, **kw)
    except FinanceAdminError as exc:
        raise (StateConflict if exc.status == 409 else BadInput)(str(exc)) from None


def _set_period(period: str, tenant: str, actor: str | None, as_json: bool, *, close: bool) -> None:
    from hub.finance.admin import set_period
    from hub.identity.admin import admin_principal

    row = _run(_finance, set_period, admin_principal(tenant, _actor(actor)), period, close=close, as_json=as_json)
    state = "closed" if close else "open"
    _show(row, as_json, f"period {row['period']} {state}" + ("" if row["changed"] else f" (it was already {state})"))


@finance.command("close-period")
def finance_close_period(period: str = typer.Argument(..., help="YYYY-MM"), tenant: str = TenantOpt,
                         actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Close an accounting period: postings dated in it are refused (stock that moves posts to the next open day)."""
    _set_period(period, tenant, actor, as_json, close=True)


@finance.command("reopen-period")
def finance_reopen_period(period: str = typer.Argument(..., help="YYYY-MM"), tenant: str = TenantOpt,
                          actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Reopen a closed accounting period."""
    _set_period(period, tenant, actor, as_json, close=False)


@finance.command("periods")
def finance_periods(tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """List the closed periods (every other month is open)."""
    from hub.finance.admin import list_periods

    _table(_run(list_periods, tenant, as_json=as_json), ["period", "status", "closed_at", "closed_by"], as_json)


@finance.command("chart")
def finance_chart(tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """List the chart of accounts postings are checked against (the tenant's own, or the default chart)."""
    from hub.finance.admin import chart_rows

    chart = _run(_finance, chart_rows, tenant, as_json=as_json)
    if as_json:
        _show(chart, True)
        return
    typer.echo(f"chart: {chart['source']}; open dimensions: {', '.join(chart['open_dimensions']) or 'none'}")
    _table(chart["accounts"], ["code", "name", "type", "header", "parent", "required"], False)


@finance.command("chart-import")
def finance_chart_import(file: str = typer.Argument(..., help="CSV: code,name,type[,header,parent,required,active]"),
                         tenant: str = TenantOpt, actor: str = ActorOpt, as_json: bool = JsonOpt) -> None:
    """Import accounts from a CSV (record id = code; existing accounts updated), all or nothing."""
    from pathlib import Path

    from hub.finance.admin import import_chart, parse_chart_csv
    from hub.identity.admin import admin_principal

    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}", 2, as_json)

    async def run(conn: Any) -> dict[str, Any]:
        return await import_chart(conn, admin_principal(tenant, _actor(actor)), parse_chart_csv(text))

    row = _run(_finance, lambda conn: run(conn), as_json=as_json)
    _show(row, as_json, f"{row['accounts']} accounts imported ({row['changed']} changed, {row['unchanged']} unchanged)")
