"""Device enrollment and challenge sign-in against a real hub and PostgreSQL: the happy path, spent and expired
enrollment tokens, replayed and forged challenges, revocation (next request and open streams), and the sync
client driven by the device's token provider."""

from __future__ import annotations

import base64
import stat
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from pitline.harness import run_sync
from shared.device_auth import DeviceKey, DeviceTokenProvider, Enrollment, enroll, load_enrollment, save_enrollment
from shared.errors import AuthError
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_push import db_fetch
from tests.waiting import wait_until

T = TypeVar("T")


def admin(dsn: str, op: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
    """Run one hub.identity.admin operation in its own transaction (as the admin CLI does)."""
    from hub.db import connect

    async def run() -> T:
        conn = await connect(dsn)
        try:
            async with conn.transaction():
                return await op(conn, *args, **kw)
        finally:
            await conn.close()

    return run_sync(run())


def setup_tenant(dsn: str, tenant: str, sites: tuple[str, ...] = ("s1",)) -> None:
    from hub.identity import admin as ops

    admin(dsn, ops.add_tenant, "test-admin", tenant, None)
    for site in sites:
        admin(dsn, ops.add_site, "test-admin", tenant, site, name=None, time_zone="Australia/Perth",
              day_shift_start="06:00", night_shift_start="18:00")


def enrollment_token(dsn: str, tenant: str, site: str | None, kind: str = "desktop", hours: float = 1.0) -> str:
    from hub.identity import admin as ops

    issued = admin(dsn, ops.issue_enrollment_token, "test-admin", tenant, site_id=site, kind=kind, hours=hours)
    token: str = issued["token"]
    return token


def enrolled(hub: HubProcess, tenant: str, site: str | None, folder: Path) -> tuple[Enrollment, DeviceTokenProvider]:
    key = DeviceKey.load_or_create(folder)
    enrollment = enroll(hub.url, enrollment_token(hub.dsn, tenant, site), f"desk in {site}", "desktop", key)
    save_enrollment(folder, enrollment)
    return enrollment, DeviceTokenProvider.from_folder(folder)


def device_client(hub: HubProcess, enrollment: Enrollment, provider: DeviceTokenProvider,
                  site: str | None) -> DeviceClient:
    return DeviceClient(hub.url, provider(), enrollment.tenant_id, site, enrollment.device_id)


def test_enrollment_then_challenge_sign_in_then_sync(live_hub: HubProcess, tmp_path: Path) -> None:
    setup_tenant(live_hub.dsn, "t-enroll")
    key = DeviceKey.load_or_create(tmp_path)
    assert stat.S_IMODE((tmp_path / "device_key.pem").stat().st_mode) == 0o600
    assert DeviceKey.load_or_create(tmp_path).public_key_b64 == key.public_key_b64  # loaded, not regenerated
    token = enrollment_token(live_hub.dsn, "t-enroll", "s1")
    enrollment = enroll(live_hub.url, token, "Pit 3 office", "desktop", key)
    assert enrollment.tenant_id == "t-enroll" and enrollment.site_ids == ["s1"] and enrollment.device_id
    save_enrollment(tmp_path, enrollment)
    assert load_enrollment(tmp_path) == enrollment

    provider = DeviceTokenProvider.from_folder(tmp_path)
    dev = device_client(live_hub, enrollment, provider, "s1")
    unit = {"fleet_no": "EN1", "equipment_class": "truck"}
    [o] = dev.push_ok([dev.mutation("equipment.unit", "EN1", "create", unit)])
    assert o["status"] == "applied"
    assert [e["entity_id"] for e in dev.all_events()] == ["EN1"]
    assert provider() == dev.token  # cached until shortly before it expires

    [row] = db_fetch(live_hub.dsn, "SELECT used_at, device_id FROM auth.enrollment_tokens WHERE tenant_id = $1",
                     "t-enroll")
    assert row["used_at"] is not None and row["device_id"] == enrollment.device_id
    [device] = db_fetch(live_hub.dsn, "SELECT kind, name, site_ids, public_key FROM auth.devices WHERE id = $1",
                        enrollment.device_id)
    assert dict(device) == {"kind": "desktop", "name": "Pit 3 office", "site_ids": ["s1"],
                            "public_key": key.public_key_b64}
    actions = [r["action"] for r in db_fetch(live_hub.dsn, "SELECT action FROM audit.log WHERE tenant_id = $1 "
                                             "ORDER BY id", "t-enroll")]
    assert actions[:4] == ["tenant.add", "site.add", "enrollment_token.issue", "device.enroll"]


def test_enrollment_token_is_single_use_expiring_and_checked(live_hub: HubProcess, tmp_path: Path) -> None:
    setup_tenant(live_hub.dsn, "t-enroll-bad")
    key = DeviceKey.load_or_create(tmp_path)
    body = {"name": "x", "kind": "desktop", "public_key": key.public_key_b64}

    def post(**over: Any) -> httpx.Response:
        return httpx.post(f"{live_hub.url}/v1/devices/enroll", json={**body, **over})

    token = enrollment_token(live_hub.dsn, "t-enroll-bad", "s1")
    r = post(token=token, kind="edge")  # the token is for a desktop: refused, and not spent
    assert r.status_code == 422 and r.json()["code"] == "wrong_kind"
    r = post(token=token, public_key=base64.b64encode(b"x" * 31).decode())
    assert r.status_code == 422 and r.json()["code"] == "bad_public_key"
    assert post(token=token).status_code == 200
    again = post(token=token)
    assert again.status_code == 401 and again.json()["code"] == "invalid_enrollment_token"
    assert "already used" in again.json()["message"]

    expired = enrollment_token(live_hub.dsn, "t-enroll-bad", "s1")
    db_fetch(live_hub.dsn, "UPDATE auth.enrollment_tokens SET expires_at = now() - interval '1 second' "
             "WHERE used_at IS NULL AND tenant_id = $1", "t-enroll-bad")
    r = post(token=expired)
    assert r.status_code == 401 and "expired" in r.json()["message"]
    r = post(token="pe_" + "x" * 40)
    assert r.status_code == 401 and "unknown" in r.json()["message"]
    r = post(token=token, kind="phone")
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    with pytest.raises(AuthError, match="already used"):
        enroll(live_hub.url, token, "x", "desktop", key)


def _challenge(hub: HubProcess, device_id: str) -> str:
    r = httpx.post(f"{hub.url}/v1/auth/challenge", json={"device_id": device_id})
    assert r.status_code == 200, r.text
    nonce: str = r.json()["nonce"]
    return nonce


def test_a_signed_challenge_is_single_use_and_must_be_signed_by_the_device_key(live_hub: HubProcess,
                                                                              tmp_path: Path) -> None:
    setup_tenant(live_hub.dsn, "t-chal")
    enrollment, _ = enrolled(live_hub, "t-chal", "s1", tmp_path)
    key = DeviceKey.load(tmp_path)
    device_id = enrollment.device_id

    def token(nonce: str, signer: DeviceKey) -> httpx.Response:
        sig = signer.sign_b64(base64.b64decode(nonce))
        return httpx.post(f"{live_hub.url}/v1/auth/token", json={"device_id": device_id, "nonce": nonce,
                                                                  "signature": sig})

    nonce = _challenge(live_hub, device_id)
    first = token(nonce, key)
    assert first.status_code == 200 and first.json()["expires_in"] > 0
    replay = token(nonce, key)
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_nonce"

    forged_nonce = _challenge(live_hub, device_id)
    forged = token(forged_nonce, DeviceKey.generate())
    assert forged.status_code == 401 and forged.json()["code"] == "bad_signature"
    assert token(forged_nonce, key).json()["code"] == "invalid_nonce"  # a failed attempt spends the nonce

    late = _challenge(live_hub, device_id)
    db_fetch(live_hub.dsn, "UPDATE auth.device_challenges SET expires_at = now() - interval '1 second' "
             "WHERE device_id = $1 AND used_at IS NULL", device_id)
    assert token(late, key).json()["code"] == "invalid_nonce"

    r = httpx.post(f"{live_hub.url}/v1/auth/challenge", json={"device_id": "no-such-device"})
    assert r.status_code == 401 and r.json()["code"] == "unknown_device"
    r = httpx.post(f"{live_hub.url}/v1/auth/token", json={"device_id": device_id, "nonce": "!!!not-base64!!!",
                                                           "signature": "AAAAAAAAAAAA"})
    assert r.status_code == 422 and r.json()["code"] == "bad_base64"
    access = first.json()["access_token"]
    assert httpx.get(f"{live_hub.url}/v1/sync/changes", headers={"Authorization": f"Bearer {access}"}).status_code \
        == 200


class RawStream:
    """Reads /v1/sync/stream line by line in a thread, keeping every line (comments too)."""

    def __init__(self, url: str, token: str) -> None:
        self.lines: list[str] = []
        self.ended = threading.Event()
        self.status = 0
        self._thread = threading.Thread(target=self._run, args=(url, token), daemon=True)
        self._thread.start()

    def _run(self, url: str, token: str) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(5.0, read=30.0)) as c, c.stream(
                    "GET", f"{url}/v1/sync/stream", headers={"Authorization": f"Bearer {token}"}) as r:
                self.status = r.status_code
                for line in r.iter_lines():
                    self.lines.append(line)
        except httpx.HTTPError as exc:
            self.lines.append(f"error: {type(exc).__name__}")
        finally:
            self.ended.set()


def test_revoking_a_device_refuses_its_next_request_and_closes_its_open_stream(live_hub: HubProcess,
                                                                              tmp_path: Path) -> None:
    from hub.identity import admin as ops

    setup_tenant(live_hub.dsn, "t-revoke")
    enrollment, provider = enrolled(live_hub, "t-revoke", "s1", tmp_path / "a")
    _other, other_provider = enrolled(live_hub, "t-revoke", "s1", tmp_path / "b")
    token = provider()
    stream = RawStream(live_hub.url, token)
    other_stream = RawStream(live_hub.url, other_provider())
    assert wait_until(lambda: stream.status == 200 and other_stream.status == 200, 10)
    assert wait_until(lambda: any(line.startswith("retry:") for line in stream.lines), 10)

    started = time.monotonic()
    admin(live_hub.dsn, ops.revoke_device, "test-admin", "t-revoke", enrollment.device_id)
    assert stream.ended.wait(10), "the revoked device's stream stayed open"
    # Closed by the revocation notice, not by the periodic recheck (which says "device or token").
    assert ": closed: the device was revoked" in stream.lines, stream.lines[-5:]
    assert time.monotonic() - started < 5
    assert not other_stream.ended.is_set()  # only that device's streams

    r = httpx.get(f"{live_hub.url}/v1/sync/changes", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    provider.invalidate()
    with pytest.raises(AuthError, match="unknown_device"):
        provider()  # it cannot sign in again either
    entry = db_fetch(live_hub.dsn, "SELECT actor, before, after FROM audit.log WHERE tenant_id = $1 "
                     "AND action = 'device.revoke'", "t-revoke")[0]
    assert entry["actor"] == "test-admin" and entry["before"]["revoked_at"] is None and entry["after"]["revoked_at"]
    with pytest.raises(ops.AlreadyExists):
        admin(live_hub.dsn, ops.revoke_device, "test-admin", "t-revoke", enrollment.device_id)


def test_token_provider_refreshes_before_expiry_and_after_invalidate(live_hub: HubProcess, tmp_path: Path) -> None:
    setup_tenant(live_hub.dsn, "t-refresh")
    enrolled(live_hub, "t-refresh", None, tmp_path)
    now = [0.0]
    provider = DeviceTokenProvider.from_folder(tmp_path, clock=lambda: now[0], refresh_margin=60)
    first = provider()
    assert provider() == first
    now[0] += 900 - 61  # the hub's default device token lifetime is 900 s: still a minute to go
    assert provider() == first
    now[0] += 2
    second = provider()
    assert second != first
    provider.invalidate()
    assert provider() not in (first, second)


def test_sync_client_runs_on_the_device_token_provider(live_hub: HubProcess, tmp_path: Path) -> None:
    from shared.envelopes import Op
    from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider
    from shared.sync import SyncClient

    setup_tenant(live_hub.dsn, "t-client")
    enrollment, provider = enrolled(live_hub, "t-client", "s1", tmp_path / "keys")
    path = tmp_path / "site.db"
    store_key = PassphraseKeyProvider("test passphrase", n=2**10)
    store = LocalStore.open(path, store_key)
    store.set_identity(DeviceIdentity(enrollment.device_id, enrollment.tenant_id, "s1"))
    store.enqueue("equipment.unit", "SC1", Op.CREATE, {"fleet_no": "SC1", "equipment_class": "loader"}, actor="ann")
    client = SyncClient(lambda: LocalStore.open(path, store_key), live_hub.url, provider)
    assert client.push_until_empty() == 1
    provider.invalidate()  # as after a 401: the next request signs a fresh challenge
    client.catch_up()
    assert store.get("equipment.unit", "SC1") is not None and store.outbox_depth() == 0
    store.close()
    client.close_thread_store()
