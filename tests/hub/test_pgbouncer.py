"""The hub behind a real PgBouncer in transaction mode (`?pgbouncer=1`), with `PITLINE_SESSION_DATABASE_URL`
direct to PostgreSQL for what needs a session: pushes apply once, `changes` and a live stream see them, and a
revocation written in plain SQL reaches the stream through the session URL's LISTEN. Skipped where no
`pgbouncer` binary is installed (`scripts/setup.sh` installs Debian's package when run as root)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pitline.harness import HubProcess, create_database, drop_database, provision_device
from tests.fixtures.hubserver import free_port
from tests.hub.device import DeviceClient
from tests.hub.sse import StreamReader
from tests.hub.test_push import db_fetch

PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
TENANT = "t-pgbouncer"


def _bouncer_config(server_url: str, folder: Path, port: int) -> Path:
    parts = urlsplit(server_url)
    host = parts.hostname or parse_qs(parts.query).get("host", ["/tmp"])[0]
    server = f"host={host} port={parts.port or 5432} user={parts.username or 'postgres'}"
    if parts.password:
        server += f" password={parts.password}"
    ini = folder / "pgbouncer.ini"
    ini.write_text(f"""[databases]
* = {server}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 8
max_client_conn = 200
ignore_startup_parameters = extra_float_digits,application_name
logfile = {folder / 'pgbouncer.log'}
pidfile = {folder / 'pgbouncer.pid'}
""")
    return ini


def _run_as(server_url: str) -> str:
    """PgBouncer refuses to run as root. Over a Unix socket (the embedded server) it must be the user that owns
    the socket's folder, which is private to that user; over TCP anyone will do."""
    host = urlsplit(server_url).hostname or parse_qs(urlsplit(server_url).query).get("host", [""])[0]
    if host.startswith("/"):
        return pwd.getpwuid(os.stat(host).st_uid).pw_name
    return "nobody"


@pytest.fixture
def bounced_hub(pg_server_url: str) -> Iterator[HubProcess]:
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    folder = Path(tempfile.mkdtemp(prefix="pitline-pgbouncer-"))
    folder.chmod(0o777)  # PgBouncer refuses to run as root: it runs as nobody and writes its log here
    port = free_port()
    ini = _bouncer_config(pg_server_url, folder, port)
    ini.chmod(0o644)
    user = ["-u", _run_as(pg_server_url)] if os.geteuid() == 0 else []
    bouncer = subprocess.Popen([PGBOUNCER, *user, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    dsn = create_database(pg_server_url, "pitline_bounce")
    parts = urlsplit(dsn)
    through = parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}",
                             query="pgbouncer=1").geturl()
    hub = HubProcess(through, env={"PITLINE_SESSION_DATABASE_URL": dsn})
    try:
        deadline = time.monotonic() + 10
        while bouncer.poll() is None and time.monotonic() < deadline:
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        assert bouncer.poll() is None, (folder / "pgbouncer.log").read_text() if (folder / "pgbouncer.log").exists() \
            else "pgbouncer exited"
        hub.start()
        hub.direct_dsn = dsn  # type: ignore[attr-defined]
        yield hub
    finally:
        hub.stop()
        bouncer.terminate()
        bouncer.wait(10)
        drop_database(pg_server_url, dsn)


def test_the_hub_behind_pgbouncer_in_transaction_mode(bounced_hub: HubProcess) -> None:
    direct: str = bounced_hub.direct_dsn  # type: ignore[attr-defined]
    devices = [DeviceClient(bounced_hub.url, provision_device(direct, TENANT, "s1", f"pb-{n}"), TENANT, "s1",
                            f"pb-{n}") for n in (1, 2)]
    reader = StreamReader(bounced_hub.url, devices[1].token, after=0).start()
    try:
        assert reader.wait_for(lambda r: r.connections >= 1)
        for dev in devices:
            for chunk in range(4):
                muts = [dev.mutation("forms.submission", f"{dev.device_id}-{chunk}-{i}", "create", {"form": "f"})
                        for i in range(25)]
                assert {o["status"] for o in dev.push_ok(muts)} == {"applied"}
                assert {o["status"] for o in dev.push_ok(muts)} == {"duplicate"}  # a retry answers the original
        assert len(devices[0].all_events()) == 200
        assert reader.wait_for(lambda r: len(r.events) >= 200)
        assert [e["seq"] for e in reader.events] == list(range(1, 201))  # live, in order, no gap
        db_fetch(direct, "UPDATE auth.devices SET revoked_at = now() WHERE tenant_id = $1 AND id = 'pb-2'",
                 TENANT)  # plain SQL: the trigger's notice reaches the hub on the session URL
        # the stream is closed and its reconnect refused
        assert reader.wait_for(lambda r: "401" in r.errors, timeout=8), reader.errors
    finally:
        reader.stop()
    assert devices[1].changes().status_code == 401
