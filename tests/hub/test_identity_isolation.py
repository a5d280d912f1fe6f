"""Tenant isolation on every endpoint: a device or a user of tenant A can neither read nor write tenant B's
data. One row per endpoint and kind of caller, against a real hub with data in both tenants."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.device_auth import DeviceKey, Enrollment
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_identity import RawStream, device_client, enrolled, setup_tenant
from tests.hub.test_identity_users import PASSWORD, add_user, signin
from tests.hub.test_push import db_fetch
from tests.waiting import wait_until

A, B = "t-isolation-a", "t-isolation-b"  # unique in the session database (test_push_bad_input has t-iso-*)


@dataclass
class World:
    hub: HubProcess
    dev_a: DeviceClient
    dev_b: DeviceClient
    b_device: Enrollment
    b_key: DeviceKey
    user_a: str  # an administrator of A, signed in
    b_conflict: str

    def client(self, who: str) -> httpx.Client:
        token = self.dev_a.token if who == "device" else self.user_a
        return httpx.Client(base_url=self.hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="module")
def world(hub_server: HubProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    hub = hub_server
    if hub.proc is None or hub.proc.poll() is not None:
        hub.start()
    folder: Path = tmp_path_factory.mktemp("iso")
    for tenant in (A, B):
        setup_tenant(hub.dsn, tenant)
        add_user(hub.dsn, tenant, f"admin-{tenant}", [("administrator", None)])
    ea, pa = enrolled(hub, A, "s1", folder / "a")
    eb, pb = enrolled(hub, B, "s1", folder / "b")
    dev_a, dev_b = device_client(hub, ea, pa, "s1"), device_client(hub, eb, pb, "s1")
    unit = {"fleet_no": "A1", "equipment_class": "truck"}
    dev_a.push_ok([dev_a.mutation("equipment.unit", "A-UNIT", "create", unit)])
    dev_b.push_ok([dev_b.mutation("equipment.unit", "B-UNIT", "create", {"fleet_no": "B1", "equipment_class": "truck"},
                                  actor=f"admin-{B}")])
    form = {"form": "pre-start", "title": "B"}
    dev_b.push_ok([dev_b.mutation("forms.submission", "B-FORM", "create", form)])
    b2 = device_client(hub, *enrolled(hub, B, "s1", folder / "b2"), "s1")
    b2.push_ok([b2.mutation("forms.submission", "B-FORM", "update", {"title": "B2"}, 1)])
    [conflict] = dev_b.push_ok([dev_b.mutation("forms.submission", "B-FORM", "update", {"title": "B1"}, 1)])
    assert conflict["status"] == "conflict"
    user_a = signin(hub.url, f"admin-{A}", PASSWORD).json()["access_token"]
    yield World(hub, dev_a, dev_b, eb, DeviceKey.load(folder / "b"), user_a, conflict["conflict_id"])


def _no_b(text: str) -> None:
    assert "B-UNIT" not in text and "B-FORM" not in text and B not in text, text[:500]


def push_into_b(w: World, c: httpx.Client) -> None:
    m = w.dev_a.mutation("equipment.unit", "B-UNIT", "update", {"status": "down"}, 1, tenant_id=B)
    w.dev_a.seq -= 1  # refused whole: the hub never counted it
    r = c.post("/v1/sync/push", json={"device_id": w.dev_a.device_id, "mutations": [m]})
    assert r.status_code == 403 and r.json()["code"] in ("wrong_tenant", "wrong_device")


def push_as_b_device(w: World, c: httpx.Client) -> None:
    m = w.dev_b.mutation("equipment.unit", "B-UNIT", "update", {"status": "down"}, 1)
    w.dev_b.seq -= 1
    r = c.post("/v1/sync/push", json={"device_id": w.dev_b.device_id, "mutations": [m]})
    assert r.status_code == 403 and r.json()["code"] in ("wrong_tenant", "wrong_device")


def push_b_entity_id(w: World, c: httpx.Client) -> None:
    """Naming B's record from A's tenant reaches only A's namespace: B's record is untouched."""
    m = w.dev_a.mutation("equipment.unit", "B-UNIT", "update", {"status": "down"}, 1)
    r = c.post("/v1/sync/push", json={"device_id": w.dev_a.device_id, "mutations": [m]})
    assert r.status_code == 200 and r.json()["outcomes"][0]["status"] == "rejected"
    [b] = db_fetch(w.hub.dsn, "SELECT data FROM sync.records WHERE tenant_id = $1 AND entity_id = 'B-UNIT'", B)
    assert "status" not in b["data"]


def changes(w: World, c: httpx.Client) -> None:
    r = c.get("/v1/sync/changes", params={"after": 0})
    assert r.status_code == 200 and "A-UNIT" in r.text
    _no_b(r.text)


def stream(w: World, c: httpx.Client) -> None:
    token = c.headers["authorization"].split()[1]
    s = RawStream(w.hub.url, token)
    assert wait_until(lambda: ": heartbeat" in s.lines, 15), s.lines[-5:]  # the backlog came first
    assert any("A-UNIT" in line for line in s.lines)
    _no_b("\n".join(s.lines))


def snapshot(w: World, c: httpx.Client) -> None:
    r = c.get("/v1/sync/snapshot")
    assert r.status_code == 200 and "A-UNIT" in r.text
    _no_b(r.text)


def conflicts_list(w: World, c: httpx.Client) -> None:
    r = c.get("/v1/conflicts", params={"status": "all"})
    assert r.status_code == 200
    assert w.b_conflict not in r.text
    _no_b(r.text)


def conflicts_resolve(w: World, c: httpx.Client) -> None:
    r = c.post(f"/v1/conflicts/{w.b_conflict}/resolve", json={"choice": "server"})
    # A's administrator finds no such conflict; A's device may resolve none at all.
    assert (r.status_code, r.json()["code"]) in ((409, "conflict_not_resolvable"), (403, "forbidden_role"))
    [row] = db_fetch(w.hub.dsn, "SELECT data->>'status' AS s FROM sync.records WHERE tenant_id = $1 AND "
                                "entity_id = $2", B, w.b_conflict)
    assert row["s"] == "open"


def audit(w: World, c: httpx.Client) -> None:
    for params in ({"entity_id": "B-UNIT"}, {"actor": f"admin-{B}"}, {}):
        r = c.get("/v1/audit", params=params)
        assert r.status_code in (200, 403)
        if r.status_code == 200:  # (A's own refused attempt on the id "B-UNIT" is A's to see)
            assert w.dev_b.device_id not in r.text and f"admin-{B}" not in r.text and "B-FORM" not in r.text
            assert '"fleet_no":"B1"' not in r.text


def verifiers(w: World, c: httpx.Client) -> None:
    r = c.get("/v1/users/verifiers")
    assert r.status_code in (200, 403)
    if r.status_code == 200:
        names = [u["username"] for u in r.json()["users"]]
        assert names == [f"admin-{A}"]


def signin_into_b(w: World, c: httpx.Client) -> None:
    r = signin(w.hub.url, f"admin-{B}", PASSWORD, tenant_id=A)
    assert r.status_code == 401
    r = signin(w.hub.url, f"admin-{A}", PASSWORD, tenant_id=B)
    assert r.status_code == 401


def challenge_as_b_device(w: World, c: httpx.Client) -> None:
    r = c.post("/v1/auth/challenge", json={"device_id": w.b_device.device_id, "tenant_id": A})
    assert r.status_code == 401
    nonce = c.post("/v1/auth/challenge", json={"device_id": w.b_device.device_id}).json()["nonce"]
    sig = w.b_key.sign_b64(base64.b64decode(nonce))
    r = c.post("/v1/auth/token", json={"device_id": w.b_device.device_id, "nonce": nonce, "signature": sig,
                                       "tenant_id": A})
    assert r.status_code == 401


CASES: list[tuple[str, Callable[[World, httpx.Client], None]]] = [
    ("push: mutations for tenant B", push_into_b),
    ("push: as B's device", push_as_b_device),
    ("push: B's record id", push_b_entity_id),
    ("changes", changes),
    ("stream", stream),
    ("snapshot", snapshot),
    ("conflicts: list", conflicts_list),
    ("conflicts: resolve B's", conflicts_resolve),
    ("audit", audit),
    ("verifiers", verifiers),
    ("signin", signin_into_b),
    ("challenge/token", challenge_as_b_device),
]


@pytest.mark.parametrize("who", ["device", "user"])
@pytest.mark.parametrize(("endpoint", "check"), CASES, ids=[c[0] for c in CASES])
def test_a_tenant_never_reaches_another(world: World, who: str, endpoint: str,
                                        check: Callable[[World, httpx.Client], None]) -> None:
    if who == "user" and endpoint == "push: B's record id":
        pytest.skip("a user token without a device cannot push at all (covered by the two rows above)")
    with world.client(who) as c:
        check(world, c)
