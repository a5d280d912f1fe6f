"""`pitline hub …`: serve, migrate, and provisioning for tests and the demo."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import typer

from hub import admin_cli
from hub.finance.cli import finance as finance_cli
from hub.finance.depreciation_run import depreciate
from hub.settings import HubSettings
from shared.config import ConfigError

app = typer.Typer(help="The Pitline hub: HQ service that every desktop and edge agent syncs to.", no_args_is_help=True)
admin_cli.register(app)  # tenants, sites, users, enroll, devices, conflicts
finance_cli.command("depreciate")(depreciate)  # finance depreciate YYYY-MM (hub/finance/depreciation_run.py)


def resolve_database_url(settings: HubSettings) -> str:
    """The configured URL, or the embedded server in the data folder (started if needed, migrated)."""
    if settings.database_url:
        return settings.database_url
    from hub.embedded import start_embedded
    from hub.migrate import migrate

    url = start_embedded(settings.data_dir / "pgdata")
    migrate(url)  # a private database: nobody else can be on another revision
    return url


@app.command()
def serve(
    host: str = typer.Option(None, help="address to listen on (default from config, 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default 8400)"),
    workers: int = typer.Option(1, min=1, max=64, help="hub processes sharing the database"),
    certfile: str = typer.Option(None, "--certfile", help="serve HTTPS with this PEM certificate (chain); "
                                 "needs --keyfile (default from config: tls_certfile)"),
    keyfile: str = typer.Option(None, "--keyfile", help="the certificate's PEM private key, unencrypted "
                                "(default from config: tls_keyfile)"),
) -> None:
    """Serve the hub. With no PITLINE_DATABASE_URL, on an embedded PostgreSQL in the data folder."""
    import uvicorn

    from shared.logs import configure_logging

    configure_logging("hub")
    try:
        settings = HubSettings.load(host=host, port=port, tls_certfile=certfile, tls_keyfile=keyfile)
        tls = tls_options(settings)
    except ConfigError as exc:
        typer.echo(f"pitline hub: {exc}", err=True)
        raise typer.Exit(2) from None
    url = resolve_database_url(settings)
    from hub.errors import SchemaVersionError
    from hub.migrate import check_schema

    try:
        check_schema(url)
    except SchemaVersionError as exc:
        typer.echo(f"pitline hub: {exc}", err=True)
        raise typer.Exit(3) from None
    os.environ["PITLINE_DATABASE_URL"] = url
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default action the process would die there
    # and the embedded PostgreSQL (stopped by an exit handler) would outlive the hub.
    signal.signal(signal.SIGTERM, _exit_normally)
    where = "embedded PostgreSQL in " + str(settings.data_dir / "pgdata") if not settings.database_url else "PostgreSQL"
    scheme = "https" if tls else "http"
    announce_when_ready(f"{scheme}://{_reachable(settings.host)}:{settings.port}", where)
    uvicorn.run(
        "hub.app:app_from_environment", factory=True, host=settings.host, port=settings.port, workers=workers,
        log_config=None, timeout_graceful_shutdown=10, **proxy_options(settings), **tls,
    )


def _exit_normally(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _reachable(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else f"[{host}]" if ":" in host else host


def announce_when_ready(base_url: str, database: str, *, timeout: float = 300.0) -> threading.Thread:
    """Print one plain line once /readyz answers (the logs above it are for machines)."""

    def wait() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2, verify=False).status_code == 200:
                    print(f"hub ready at {base_url} (database: {database}); Ctrl-C or SIGTERM stops it", flush=True)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

    thread = threading.Thread(target=wait, name="announce-ready", daemon=True)
    thread.start()
    return thread


def tls_options(settings: HubSettings) -> dict[str, Any]:
    """uvicorn's TLS options, once the certificate and key are known to load together: a bad pair must stop
    `serve` with a sentence, not a traceback from every worker."""
    import ssl
    from pathlib import Path

    cert, key = settings.tls_certfile, settings.tls_keyfile
    if cert is None and key is None:
        return {}
    if key is None:
        raise ConfigError("--certfile needs --keyfile (the certificate's private key; or tls_keyfile in config)")
    if cert is None:
        raise ConfigError("--keyfile needs --certfile (the certificate; or tls_certfile in config)")
    for flag, path in (("--certfile", cert), ("--keyfile", key)):
        if not Path(path).is_file():
            raise ConfigError(f"{flag} {path}: no such file")
    try:
        # An empty password: an encrypted key fails here rather than prompting on a terminal nobody watches.
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=lambda: b"")
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            raise ConfigError(f"the certificate {cert} and the key {key} do not match") from None
        raise ConfigError(f"{cert} and {key} cannot be used as a PEM certificate and its unencrypted key: "
                          f"{exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the certificate or key: {exc}") from None
    return {"ssl_certfile": cert, "ssl_keyfile": key}


def proxy_options(settings: HubSettings) -> dict[str, Any]:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so anyone on the hub's own machine
    (or a proxy that passes the header through) could pick their client address and dodge the per-address
    sign-in limit: forwarded headers count only from the configured proxies, and not at all by default."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


@app.command("migrate")
def migrate_cmd(revision: str = typer.Argument("head")) -> None:
    """Upgrade the database schema (explicit: the hub never migrates a configured server by itself)."""
    from hub.migrate import current_revision, migrate

    settings = HubSettings.load()
    url = resolve_database_url(settings) if not settings.database_url else settings.database_url
    migrate(url, revision)
    typer.echo(f"schema at {current_revision(url)}")


@app.command()
def provision(
    tenant: str = typer.Option(..., help="tenant id"),
    site: str = typer.Option(None, help="site id (omit for a tenant-wide device)"),
    device: str = typer.Option(..., help="device id"),
    kind: str = typer.Option("desktop", help="desktop | edge"),
    hours: int = typer.Option(24 * 30, help="token lifetime in hours"),
    as_json: bool = typer.Option(False, "--json", help="print JSON for scripts"),
) -> None:
    """Create tenant/site/device if missing and print an access token (tests and the demo)."""
    from hub.auth.tokens import ensure_tenant_site_device, issue_access_token
    from hub.db import connect

    url = resolve_database_url(HubSettings.load())

    async def run() -> str:
        conn = await connect(url)
        try:
            async with conn.transaction():
                await ensure_tenant_site_device(conn, tenant_id=tenant, site_id=site, device_id=device, kind=kind)
                return await issue_access_token(conn, tenant_id=tenant, device_id=device, ttl=timedelta(hours=hours))
        finally:
            await conn.close()

    token = asyncio.run(run())
    if as_json:
        json.dump({"tenant_id": tenant, "site_id": site, "device_id": device, "token": token}, sys.stdout)
        sys.stdout.write("\n")
    else:
        typer.echo(token)


@app.command("database-url")
def database_url_cmd() -> None:
    """Print the database URL the hub uses (starting the embedded server if that is the one)."""
    typer.echo(resolve_database_url(HubSettings.load()))


# --- backup and restore (hub/backup.py) --------------------------------------------------------------------------


def _server_url_unmigrated(database_url: str | None) -> str:
    """The URL given, else the configured one, else the embedded server's (started, but never migrated here)."""
    if database_url:
        return database_url
    settings = HubSettings.load()
    if settings.database_url:
        return settings.database_url
    from hub.embedded import start_embedded

    return start_embedded(settings.data_dir / "pgdata")


@app.command("backup")
def backup_cmd(
    out: str = typer.Option(..., "--out", help="file to write (pg_dump custom format)"),
    database_url: str = typer.Option(None, "--database-url", help="database to back up (default: the hub's)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON for scripts"),
) -> None:
    """Back up the hub database (a consistent logical dump; safe while the hub serves)."""
    from pathlib import Path

    from hub.backup import BackupError, backup

    try:
        info = backup(_server_url_unmigrated(database_url), Path(out))
    except BackupError as exc:
        typer.echo(f"pitline hub backup: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    s = info.summary
    if as_json:
        json.dump({"path": str(info.path), "bytes": info.bytes, "seconds": round(info.seconds, 3), "tool": info.tool,
                   "revision": s.revision, "server_version": s.server_version, "counts": s.counts,
                   "heads": s.heads}, sys.stdout)
        sys.stdout.write("\n")
    else:
        typer.echo(f"backup written: {info.path} ({info.bytes:,} bytes in {info.seconds:.1f} s, schema {s.revision}, "
                   f"{s.counts.get('sync.events', 0):,} events, {len(s.heads)} tenants) with {info.tool}")


@app.command("restore")
def restore_cmd(
    file: str = typer.Argument(..., help="a file made by `pitline hub backup`"),
    database_url: str = typer.Option(None, "--database-url", help="target database (created if missing; "
                                     "default: the hub's)"),
    force: bool = typer.Option(False, "--force", help="drop everything in a non-empty target first"),
    as_json: bool = typer.Option(False, "--json", help="print JSON for scripts"),
) -> None:
    """Restore a backup into an empty database (all or nothing), then check its schema revision.

    Exit codes: 0 restored · 1 restore failed (rolled back) · 3 restored but its schema is not this hub's ·
    4 target not empty or in use · 5 no fitting pg_restore · 6 not a Pitline backup."""
    from pathlib import Path

    from hub.backup import BackupError, restore

    try:
        info = restore(Path(file), _server_url_unmigrated(database_url), force=force)
    except BackupError as exc:
        typer.echo(f"pitline hub restore: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    s = info.summary
    if as_json:
        json.dump({"seconds": round(info.seconds, 3), "tool": info.tool, "dumped_from": info.dumped_from,
                   "revision": s.revision, "counts": s.counts, "heads": s.heads}, sys.stdout)
        sys.stdout.write("\n")
    else:
        typer.echo(f"restored in {info.seconds:.1f} s with {info.tool}: schema {s.revision}, "
                   f"{s.counts.get('sync.events', 0):,} events, {len(s.heads)} tenants; the hub can serve it")


# --- per-device sync status (hub/ops/device_status.py) -----------------------------------------------------------


@app.command("devices-status")
def devices_status_cmd(
    tenant: str = typer.Option(None, help="only this tenant (default: every tenant)"),
    include_revoked: bool = typer.Option(False, "--include-revoked", help="list revoked devices too"),
    limit: int = typer.Option(1000, min=1, max=5000, help="at most this many devices, largest lag first"),
    as_json: bool = typer.Option(False, "--json", help="print JSON for scripts"),
) -> None:
    """Per-device sync status: last seen, reported outbox depth, event lag behind the tenant's head."""
    import asyncpg

    from hub.db import connect
    from hub.ops.device_status import status_rows

    url = resolve_database_url(HubSettings.load())

    async def run() -> list[Any]:
        conn = await connect(url)
        try:
            return await status_rows(conn, tenant_id=tenant, include_revoked=include_revoked, limit=limit)
        finally:
            await conn.close()

    try:
        rows = asyncio.run(run())
    except (OSError, asyncpg.PostgresError) as exc:
        typer.echo(f"pitline hub devices-status: the database cannot be read: {exc}", err=True)
        raise typer.Exit(7) from None
    if as_json:
        sys.stdout.write(json.dumps([r.model_dump(mode="json") for r in rows]) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Device sync status ({len(rows)} devices, largest lag first)")
    for col in ("tenant", "device", "kind", "sites", "last seen (UTC)", "outbox", "event lag", "revoked"):
        table.add_column(col)
    for r in rows:
        seen = r.last_seen_at.strftime("%Y-%m-%d %H:%M:%S") if r.last_seen_at else "never"
        table.add_row(r.tenant_id, r.device_id, r.kind, ",".join(r.site_ids) if r.site_ids else "all", seen,
                      "?" if r.outbox_depth is None else str(r.outbox_depth),
                      "never read" if r.event_lag is None else str(r.event_lag), "yes" if r.revoked_at else "")
    Console().print(table)
