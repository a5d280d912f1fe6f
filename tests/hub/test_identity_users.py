"""Users and roles against a real hub: offline verifiers for a device's sites, sign-in, lockout after repeated
failures, the per-address rate limit (429 + Retry-After), and the permission matrix on push."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from tests.fixtures.hubserver import HubProcess
from tests.hub.test_identity import admin, device_client, enrolled, enrollment_token, setup_tenant
from tests.hub.test_push import db_fetch

PASSWORD = "correct horse 1"


def add_user(dsn: str, tenant: str, username: str, grants: list[tuple[str, str | None]],
             password: str = PASSWORD) -> None:
    from hub.identity import admin as ops

    admin(dsn, ops.add_user, "test-admin", tenant, username, display_name=username.title(), password=password)
    for role, site in grants:
        admin(dsn, ops.grant_role, "test-admin", tenant, username, role, site)


def signin(url: str, username: str, password: str, client: httpx.Client | None = None,
           **extra: str) -> httpx.Response:
    c = client or httpx.Client()
    return c.post(f"{url}/v1/auth/signin", json={"username": username, "password": password, **extra})


def from_address(address: str) -> httpx.Client:
    """A client whose requests come from another loopback address (its own rate-limit bucket)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30.0)


@pytest.fixture(scope="module")
def strict_hub(pg_dsn: str) -> Iterator[HubProcess]:
    """A second hub process with a small lockout and small rate limits."""
    hub = HubProcess(pg_dsn, env={
        "PITLINE_SIGNIN_MAX_FAILURES": "3", "PITLINE_SIGNIN_LOCKOUT_SECONDS": "2",
        "PITLINE_SIGNIN_RATE_BURST": "6", "PITLINE_SIGNIN_RATE_PER_MINUTE": "6",
        "PITLINE_ENROLL_RATE_BURST": "2", "PITLINE_ENROLL_RATE_PER_MINUTE": "1",
    })
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def test_verifiers_are_the_users_of_the_devices_sites(live_hub: HubProcess, tmp_path: Path) -> None:
    dsn = live_hub.dsn
    setup_tenant(dsn, "t-ver", ("s1", "s2"))
    setup_tenant(dsn, "t-ver-other", ("s1",))
    add_user(dsn, "t-ver", "ann", [("supervisor", "s1"), ("viewer", "s2")])
    add_user(dsn, "t-ver", "bob", [("storeman", "s2")])
    add_user(dsn, "t-ver", "hq", [("administrator", None)])
    add_user(dsn, "t-ver", "gone", [("operator", "s1")])
    add_user(dsn, "t-ver", "norole", [])
    add_user(dsn, "t-ver-other", "eve", [("administrator", None)])
    from hub.identity import admin as ops

    admin(dsn, ops.set_disabled, "test-admin", "t-ver", "gone", True)
    _enrollment, provider = enrolled(live_hub, "t-ver", "s1", tmp_path)
    r = httpx.get(f"{live_hub.url}/v1/users/verifiers", headers={"Authorization": f"Bearer {provider()}"})
    assert r.status_code == 200, r.text
    users = {u["username"]: u for u in r.json()["users"]}
    assert set(users) == {"ann", "hq"}
    assert users["ann"]["roles"] == ["supervisor", "viewer"] and users["ann"]["site_ids"] == ["s1", "s2"]
    assert users["ann"]["grants"] == [{"role": "supervisor", "site_id": "s1"}, {"role": "viewer", "site_id": "s2"}]
    assert users["hq"]["site_ids"] is None and users["ann"]["display_name"] == "Ann"
    assert PasswordHasher().verify(users["ann"]["verifier"], PASSWORD)  # the desktop checks it offline

    user_token = signin(live_hub.url, "hq", PASSWORD).json()["access_token"]
    r = httpx.get(f"{live_hub.url}/v1/users/verifiers", headers={"Authorization": f"Bearer {user_token}"})
    assert r.status_code == 403 and r.json()["code"] == "device_only"
    assert httpx.get(f"{live_hub.url}/v1/users/verifiers").status_code == 401


def test_signin_answers_a_user_token_with_roles_and_site_scope(live_hub: HubProcess) -> None:
    setup_tenant(live_hub.dsn, "t-signin", ("s1", "s2"))
    add_user(live_hub.dsn, "t-signin", "sam", [("supervisor", "s1"), ("operator", "s2")])
    add_user(live_hub.dsn, "t-signin", "hqa", [("administrator", None)])
    r = signin(live_hub.url, "sam", PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tenant_id"] == "t-signin" and body["roles"] == ["operator", "supervisor"]
    assert body["site_ids"] == ["s1", "s2"] and body["expires_in"] > 0
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(f"{live_hub.url}/v1/sync/changes", headers=headers).status_code == 200
    assert httpx.get(f"{live_hub.url}/v1/audit", headers=headers).status_code == 403  # not an administrator
    admin_token = signin(live_hub.url, "hqa", PASSWORD).json()["access_token"]
    r = httpx.get(f"{live_hub.url}/v1/audit", params={"entity": "auth.user"},
                  headers={"Authorization": f"Bearer {admin_token}"})
    assert r.status_code == 200 and {e["action"] for e in r.json()["entries"]} >= {"user.add", "role.grant"}

    wrong = signin(live_hub.url, "sam", "wrong password")
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_credentials"
    nobody = signin(live_hub.url, "nobody-at-all", PASSWORD)
    assert nobody.status_code == 401 and nobody.json()["message"] == wrong.json()["message"]
    assert signin(live_hub.url, "sam", PASSWORD, tenant_id="t-other").status_code == 401
    bad = httpx.post(f"{live_hub.url}/v1/auth/signin", json={"username": "sam"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"

    from hub.identity import admin as ops

    admin(live_hub.dsn, ops.set_disabled, "test-admin", "t-signin", "sam", True)
    r = signin(live_hub.url, "sam", PASSWORD)
    assert r.status_code == 403 and r.json()["code"] == "user_disabled"
    assert httpx.get(f"{live_hub.url}/v1/sync/changes", headers=headers).status_code == 401  # its session ended


def test_repeated_failures_lock_the_account_for_a_while(strict_hub: HubProcess) -> None:
    setup_tenant(strict_hub.dsn, "t-lock")
    add_user(strict_hub.dsn, "t-lock", "lee", [("operator", "s1")])
    with from_address("127.0.0.2") as c:
        assert signin(strict_hub.url, "lee", "nope", c).json()["code"] == "bad_credentials"
        assert signin(strict_hub.url, "lee", "nope", c).json()["code"] == "bad_credentials"
        third = signin(strict_hub.url, "lee", "nope", c)
        assert third.status_code == 429 and third.json()["code"] == "locked_out"
        assert 1 <= int(third.headers["Retry-After"]) <= 2
        locked = signin(strict_hub.url, "lee", PASSWORD, c)  # even the right password, while locked
        assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
        time.sleep(2.1)
        assert signin(strict_hub.url, "lee", PASSWORD, c).status_code == 200
    [row] = db_fetch(strict_hub.dsn, "SELECT failed_attempts, locked_until FROM auth.users WHERE tenant_id = $1",
                     "t-lock")
    assert row["failed_attempts"] == 0 and row["locked_until"] is None
    assert db_fetch(strict_hub.dsn, "SELECT 1 FROM audit.log WHERE tenant_id = $1 AND action = 'user.locked_out'",
                    "t-lock")


def test_signin_and_enrollment_are_rate_limited_per_address(strict_hub: HubProcess, tmp_path: Path) -> None:
    setup_tenant(strict_hub.dsn, "t-rate")
    with from_address("127.0.0.3") as c:
        codes = [signin(strict_hub.url, f"spray-{i}", "x", c).status_code for i in range(7)]
        assert codes == [401] * 6 + [429]
        limited = signin(strict_hub.url, "spray-7", "x", c)
        assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    with from_address("127.0.0.4") as other:  # another address has its own bucket
        assert signin(strict_hub.url, "spray-x", "x", other).status_code == 401

    from shared.device_auth import DeviceKey

    key = DeviceKey.load_or_create(tmp_path).public_key_b64
    with from_address("127.0.0.5") as c:
        codes = []
        for _ in range(3):
            token = enrollment_token(strict_hub.dsn, "t-rate", "s1")
            r = c.post(f"{strict_hub.url}/v1/devices/enroll",
                       json={"token": token, "name": "d", "kind": "desktop", "public_key": key})
            codes.append(r.status_code)
        assert codes == [200, 200, 429] and r.headers["Retry-After"]


def test_push_enforces_the_permission_matrix_for_the_acting_user(live_hub: HubProcess, tmp_path: Path) -> None:
    dsn = live_hub.dsn
    setup_tenant(dsn, "t-perm", ("s1", "s2"))
    add_user(dsn, "t-perm", "op", [("operator", "s1")])
    add_user(dsn, "t-perm", "sup", [("supervisor", "s1")])
    add_user(dsn, "t-perm", "sup2", [("supervisor", "s2")])
    add_user(dsn, "t-perm", "store", [("storeman", None)])
    add_user(dsn, "t-perm", "off", [("supervisor", "s1")])
    from hub.identity import admin as ops

    admin(dsn, ops.set_disabled, "test-admin", "t-perm", "off", True)
    enrollment, provider = enrolled(live_hub, "t-perm", "s1", tmp_path)
    dev = device_client(live_hub, enrollment, provider, "s1")

    def unit(n: str, actor: str) -> dict[str, object]:
        return dev.mutation("equipment.unit", n, "create", {"fleet_no": n, "equipment_class": "truck"}, actor=actor)

    log = {"equipment_id": "U1", "shift_date": "2026-11-24", "shift": "day", "operating_hours": 9}
    batch = [
        unit("U1", "sup"),                      # supervisor at s1 writes equipment
        unit("U2", "op"),                       # operator: equipment units are read-only
        dev.mutation("equipment.usage_log", "U1:d", "create", log, actor="op"),  # but logs hours
        unit("U3", "sup2"),                     # supervisor of another site
        unit("U4", "store"),                    # storeman, tenant-wide: not equipment
        unit("U5", "off"),                      # disabled
        unit("U6", "edge:gateway-7"),           # not a user: the device acting as itself
    ]
    outcomes = dev.push_ok(batch)
    got = [(o["status"], o.get("code")) for o in outcomes]
    assert got == [("applied", None), ("rejected", "forbidden"), ("applied", None), ("rejected", "forbidden"),
                   ("rejected", "forbidden"), ("rejected", "forbidden"), ("applied", None)]
    assert "op (operator at site s1) may not write equipment.unit" in outcomes[1]["message"]
    assert "disabled" in outcomes[5]["message"]
    replayed = dev.push_ok(batch)  # the refusal is in the ledger: a retry answers the same
    assert [(o["status"], o["original"]["status"], o["original"].get("code")) for o in replayed] == [
        ("duplicate", status, code) for status, code in got]
