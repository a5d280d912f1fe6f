"""The SSE stream's framing and life cycle against a real hub: retry hint first, heartbeats, cursor
validation, retention overtaking a reader mid-backlog, revocation and graceful shutdown closing streams."""

from __future__ import annotations

import time

import httpx
import pytest

from pitline.harness import HubProcess, provision_device, run_sync
from shared.ids import new_ulid


def fill(dsn: str, tenant: str, n: int) -> None:
    """n events in one statement (fast), numbered like the hub numbers them."""
    from hub.db import connect

    async def run() -> None:
        conn = await connect(dsn)
        try:
            async with conn.transaction():
                await conn.execute(
                    """INSERT INTO sync.events (tenant_id, seq, id, site_id, type, entity, entity_id, version, ts,
                                                payload, correlation_id)
                       SELECT $1, g, lpad(g::text, 26, '0'), NULL, 'forms.submission.created', 'forms.submission',
                              'F' || g, 1, now(), jsonb_build_object('n', g, 'pad', repeat('x', 200)), NULL
                       FROM generate_series(1, $2::bigint) g""", tenant, n)
                await conn.execute("INSERT INTO sync.tenant_heads (tenant_id, head) VALUES ($1, $2)", tenant, n)
        finally:
            await conn.close()

    run_sync(run())


def sql(dsn: str, statement: str, *args: object) -> None:
    from hub.db import connect

    async def run() -> None:
        conn = await connect(dsn)
        try:
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    run_sync(run())


def new_tenant(prefix: str) -> str:
    return f"{prefix}-{new_ulid()[-8:].lower()}"


def test_retry_hint_first_then_events_then_heartbeats(live_hub: HubProcess) -> None:
    tenant = new_tenant("beat")
    fill(live_hub.dsn, tenant, 3)
    token = provision_device(live_hub.dsn, tenant, None, "hq")
    lines: list[str] = []
    with httpx.Client(timeout=httpx.Timeout(5, read=5)) as c, c.stream(
            "GET", f"{live_hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        deadline = time.monotonic() + 1.6  # the test hub beats every 0.5 s
        for line in r.iter_lines():
            lines.append(line)
            if time.monotonic() > deadline:
                break
    assert lines[0] == "retry: 2000"
    assert lines[2:5] == ["id: 1", "event: change", lines[4]] and lines[4].startswith("data: {")
    assert [ln for ln in lines if ln.startswith("id: ")] == ["id: 1", "id: 2", "id: 3"]
    assert lines.count(": heartbeat") >= 2


@pytest.mark.parametrize("headers,params,status,code", [
    ({"Last-Event-ID": "abc"}, {}, 400, "bad_cursor"),
    ({"Last-Event-ID": "-3"}, {}, 400, "bad_cursor"),
    ({"Last-Event-ID": str(2**63)}, {}, 400, "bad_cursor"),
    ({}, {"after": "-1"}, 422, "validation_failed"),
    ({}, {"after": "soon"}, 422, "validation_failed"),
], ids=["letters", "negative", "too-big", "after-negative", "after-text"])
def test_bad_cursors_are_4xx(live_hub: HubProcess, headers: dict[str, str], params: dict[str, str], status: int,
                             code: str) -> None:
    token = provision_device(live_hub.dsn, "t-badcursor", None, "hq")
    r = httpx.get(f"{live_hub.url}/v1/sync/stream", params=params,
                  headers={"Authorization": f"Bearer {token}", **headers}, timeout=5)
    assert r.status_code == status and r.json()["code"] == code


def test_retention_overtaking_a_reader_mid_backlog_ends_the_stream_not_skips(live_hub: HubProcess) -> None:
    tenant = new_tenant("overtake")
    fill(live_hub.dsn, tenant, 60_000)
    token = provision_device(live_hub.dsn, tenant, None, "hq")
    seqs: list[int] = []
    comments: list[str] = []
    with httpx.Client(timeout=httpx.Timeout(10, read=10)) as c, c.stream(
            "GET", f"{live_hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {token}"}) as r:
        lines = r.iter_lines()
        for line in lines:
            if line.startswith("id: "):
                seqs.append(int(line[4:]))
                break
        # The reader stalls; retention removes most of what it has not read yet.
        from hub.sync.retention import drop_events_through

        async def retire() -> None:
            from hub.db import connect

            conn = await connect(live_hub.dsn)
            try:
                await drop_events_through(conn, tenant, 50_000)
            finally:
                await conn.close()

        run_sync(retire())
        for line in lines:
            if line.startswith("id: "):
                seqs.append(int(line[4:]))
            elif line.startswith(": closed"):
                comments.append(line)
                break
            if seqs[-1] == 60_000:
                break
    assert seqs == list(range(1, len(seqs) + 1))  # whatever arrived has no hole
    if seqs[-1] < 50_000:  # it was overtaken: told so, and the reconnect says take a snapshot
        assert comments and "snapshot" in comments[0]
        again = httpx.get(f"{live_hub.url}/v1/sync/stream",
                          headers={"Authorization": f"Bearer {token}", "Last-Event-ID": str(seqs[-1])}, timeout=5)
        assert again.status_code == 410 and again.json()["code"] == "snapshot_required"


def test_revoking_the_device_closes_its_open_stream(live_hub: HubProcess) -> None:
    tenant = new_tenant("revoke")
    fill(live_hub.dsn, tenant, 2)
    token = provision_device(live_hub.dsn, tenant, None, "dev-r")
    closed: list[str] = []
    started = time.monotonic()
    with httpx.Client(timeout=httpx.Timeout(5, read=10)) as c, c.stream(
            "GET", f"{live_hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {token}"}) as r:
        for line in r.iter_lines():
            if line == "id: 2":
                sql(live_hub.dsn, "UPDATE auth.devices SET revoked_at = now() WHERE tenant_id = $1 AND id = $2",
                    tenant, "dev-r")
                started = time.monotonic()
            if line.startswith(": closed"):
                closed.append(line)
    assert closed and "revoked" in closed[0]
    assert time.monotonic() - started < 5  # the test hub rechecks every 4 beats of 0.5 s
    again = httpx.get(f"{live_hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert again.status_code == 401


def test_graceful_shutdown_closes_open_streams_promptly(pg_dsn: str) -> None:
    hub = HubProcess(pg_dsn, heartbeat_seconds=30)  # no heartbeat would wake the stream: stop() must
    hub.start()
    try:
        token = provision_device(pg_dsn, new_tenant("shutdown"), None, "hq")
        ended: list[str] = []
        with httpx.Client(timeout=httpx.Timeout(5, read=20)) as c, c.stream(
                "GET", f"{hub.url}/v1/sync/stream", headers={"Authorization": f"Bearer {token}"}) as r:
            lines = r.iter_lines()
            for line in lines:
                if line.startswith("retry:"):
                    break
            started = time.monotonic()
            assert hub.proc is not None
            hub.proc.terminate()  # SIGTERM: the app's lifespan stops the fan-out
            try:
                for line in lines:
                    if line.startswith(": closed"):
                        ended.append(line)
            except httpx.HTTPError:
                pass
            took = time.monotonic() - started
        assert ended and "shutting down" in ended[0]
        assert took < 5
        assert hub.proc.wait(10) is not None
    finally:
        hub.kill()
