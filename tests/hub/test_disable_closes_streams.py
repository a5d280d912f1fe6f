"""Disabling a person (or resetting their password) ends their open event streams at once, on a real hub whose
periodic authorisation recheck is far away (30 s heartbeats): the token revocation's notice closes them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.fixtures.hubserver import HubProcess
from tests.hub.test_identity import RawStream, admin, setup_tenant
from tests.hub.test_identity_users import PASSWORD, add_user, signin
from tests.waiting import wait_until

TENANT = "t-disable-stream"


@pytest.fixture(scope="module")
def slow_beat_hub(pg_dsn: str) -> Iterator[HubProcess]:
    hub = HubProcess(pg_dsn, heartbeat_seconds=30.0)  # the recheck would come after 30 s
    hub.start()
    try:
        setup_tenant(hub.dsn, TENANT)
        yield hub
    finally:
        hub.stop()


def open_stream(hub: HubProcess, username: str) -> RawStream:
    add_user(hub.dsn, TENANT, username, [("supervisor", "s1")])
    r = signin(hub.url, username, PASSWORD)
    assert r.status_code == 200, r.text
    stream = RawStream(hub.url, r.json()["access_token"])
    assert wait_until(lambda: stream.status == 200 and any(x.startswith("retry:") for x in stream.lines), 10)
    return stream


def test_disabling_a_user_closes_their_open_stream_at_once(slow_beat_hub: HubProcess) -> None:
    from hub.identity import admin as ops

    stream = open_stream(slow_beat_hub, "ann-stream")
    bystander = open_stream(slow_beat_hub, "bob-stream")
    started = time.monotonic()
    admin(slow_beat_hub.dsn, ops.set_disabled, "test-admin", TENANT, "ann-stream", True)
    assert stream.ended.wait(5), "the disabled user's stream stayed open"
    assert time.monotonic() - started < 5
    assert ": closed: the user was disabled" in stream.lines, stream.lines[-5:]
    assert not bystander.ended.is_set()  # another person's stream is untouched


def test_resetting_a_password_closes_the_users_open_stream_at_once(slow_beat_hub: HubProcess) -> None:
    from hub.identity import admin as ops

    stream = open_stream(slow_beat_hub, "cat-stream")
    admin(slow_beat_hub.dsn, ops.reset_password, "test-admin", TENANT, "cat-stream", "a new password 2")
    assert stream.ended.wait(5), "the stream outlived its revoked token"
    assert ": closed: the access token was revoked" in stream.lines, stream.lines[-5:]


def test_a_person_disabled_straight_in_the_database_cannot_use_a_token_issued_before(slow_beat_hub: HubProcess) -> None:
    # The admin commands also revoke the tokens; an operator fixing a row by hand in psql does not.
    import httpx

    from hub.db import connect
    from pitline.harness import run_sync

    add_user(slow_beat_hub.dsn, TENANT, "dan-sql", [("supervisor", "s1")])
    r = signin(slow_beat_hub.url, "dan-sql", PASSWORD)
    token = r.json()["access_token"]

    async def disable() -> None:
        conn = await connect(slow_beat_hub.dsn)
        try:
            await conn.execute("UPDATE auth.users SET disabled = true WHERE tenant_id = $1 AND username = $2",
                               TENANT, "dan-sql")
        finally:
            await conn.close()

    run_sync(disable())
    answer = httpx.get(f"{slow_beat_hub.url}/v1/conflicts", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.text
