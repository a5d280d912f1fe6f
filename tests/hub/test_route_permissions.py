"""The permission matrix (shared/permissions.py) on the hub's routes, against a real hub and PostgreSQL:
resolving a conflict needs `conflicts.resolve` and write access to the record it is about, at its site; the
admin routes need their administrative action; and a table test calls every route of the app with a token
of every role (and a bare device token, and none) and checks each answer against a hand-written table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.fixtures.hubserver import HubProcess, private_hub
from tests.hub.device import DeviceClient
from tests.hub.test_identity import setup_tenant
from tests.hub.test_identity_users import PASSWORD, add_user, signin
from tests.hub.test_push import db_fetch, make_device

TENANT = "t-perm"
PO = {"vendor_id": "V1", "total": 50, "lines": [
    {"line_id": "1", "item_id": "FILTER", "store_id": "MAIN", "quantity": 10, "unit_price": 5}]}


@dataclass
class World:
    hub: HubProcess
    hq: DeviceClient  # a bare device token of site s1 (no user, no role)
    other: DeviceClient
    tokens: dict[str, str] = field(default_factory=dict)  # username -> signed-in user token
    po_seq: int = 0

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.hub.url, headers=headers, timeout=30)

    def user(self, username: str, grants: list[tuple[str, str | None]]) -> str:
        """A real user with these grants, signed in over HTTP: their user token."""
        if username not in self.tokens:
            add_user(self.hub.dsn, TENANT, username, grants)
            r = signin(self.hub.url, username, PASSWORD)
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return self.tokens[username]

    def po_conflict(self) -> tuple[str, str]:
        """A purchase order (manual strategy) edited at two offices offline: (po id, open conflict id)."""
        self.po_seq += 1
        po_id = f"PO-{self.po_seq}"
        self.hq.push_ok([self.hq.mutation("procurement.purchase_order", po_id, "create", PO)])
        self.other.push_ok([self.other.mutation("procurement.purchase_order", po_id, "update", {"total": 60}, 1)])
        [o] = self.hq.push_ok([self.hq.mutation("procurement.purchase_order", po_id, "update", {"total": 70}, 1)])
        assert o["status"] == "conflict", o
        return po_id, o["conflict_id"]

    def record(self, entity_id: str) -> dict[str, Any]:
        [row] = db_fetch(self.hub.dsn, "SELECT data FROM sync.records WHERE tenant_id = $1 AND entity_id = $2",
                         TENANT, entity_id)
        data: dict[str, Any] = row["data"]
        return data


@pytest.fixture(scope="module")
def w(pg_server_url: str) -> Iterator[World]:
    # Its own hub: the table signs a dozen people in, more than one address's sign-in burst on a shared hub.
    with private_hub(pg_server_url, "pitline_perm", env=lambda _dsn: {"PITLINE_SIGNIN_RATE_BURST": "1000"}) as hub:
        setup_tenant(hub.dsn, TENANT, ("s1", "s2"))
        yield World(hub, make_device(hub, TENANT, "s1", "perm-hq"), make_device(hub, TENANT, "s1", "perm-other"))


def resolve(w: World, token: str | None, conflict_id: str, **body: Any) -> httpx.Response:
    with w.client(token) as c:
        return c.post(f"/v1/conflicts/{conflict_id}/resolve", json=body or {"choice": "custom",
                                                                             "data": {"total": 999999}})


def test_a_viewer_an_operator_or_a_bare_device_cannot_write_into_a_po_by_resolving_its_conflict(w: World) -> None:
    po_id, conflict_id = w.po_conflict()
    before = w.record(po_id)
    callers = {"viewer": w.user("perm-viewer", [("viewer", None)]),
               "operator": w.user("perm-operator", [("operator", None)]),
               "bare device": w.hq.token}
    for who, token in callers.items():
        r = resolve(w, token, conflict_id)
        assert r.status_code == 403, (who, r.status_code, r.text)
        assert r.json()["code"] == "forbidden_role" and r.json()["message"], (who, r.text)
    assert w.record(po_id) == before and w.record(conflict_id)["status"] == "open"
    assert resolve(w, None, conflict_id).status_code == 401
    # A site manager may resolve conflicts and write purchase orders: the custom values land.
    r = resolve(w, w.user("perm-manager", [("site_manager", None)]), conflict_id)
    assert r.status_code == 200, r.text
    assert w.record(po_id)["total"] == 999999 and w.record(conflict_id)["status"] == "resolved"


def test_resolving_needs_write_access_to_the_record_the_conflict_is_about(w: World) -> None:
    po_id, conflict_id = w.po_conflict()
    before = w.record(po_id)
    # A supervisor may resolve conflicts, but reads purchase orders only; finance writes them but may not resolve.
    for username, role in (("perm-supervisor", "supervisor"), ("perm-finance", "finance")):
        r = resolve(w, w.user(username, [(role, None)]), conflict_id, choice="client")
        assert r.status_code == 403 and r.json()["message"], (role, r.text)
    assert w.record(po_id) == before and w.record(conflict_id)["status"] == "open"


def test_resolving_needs_the_resolving_role_at_the_conflicts_site(w: World) -> None:
    po_id, conflict_id = w.po_conflict()  # at site s1
    before = w.record(po_id)
    elsewhere = w.user("perm-manager-s2", [("site_manager", "s2"), ("viewer", "s1")])
    r = resolve(w, elsewhere, conflict_id)
    assert r.status_code == 403 and "s1" in r.json()["message"], r.text
    assert w.record(po_id) == before and w.record(conflict_id)["status"] == "open"
    here = w.user("perm-manager-s1", [("site_manager", "s1")])
    assert resolve(w, here, conflict_id, choice="server").status_code == 200
    assert w.record(po_id) == before  # the hub's version kept


def test_the_device_status_needs_a_role_that_may_list_devices(w: World) -> None:
    make_device(w.hub, TENANT, "s2", "perm-s2")
    tenant_wide_device = make_device(w.hub, TENANT, None, "perm-everywhere")
    for who, token in (("tenant-wide viewer", w.user("perm-viewer", [("viewer", None)])),
                       ("tenant-wide operator", w.user("perm-operator", [("operator", None)])),
                       ("tenant-wide device", tenant_wide_device.token), ("site device", w.hq.token)):
        with w.client(token) as c:
            r = c.get("/v1/admin/devices/status")
        assert r.status_code == 403 and r.json()["code"] == "forbidden_role", (who, r.text)
    with w.client(w.user("perm-manager-s2", [("site_manager", "s2"), ("viewer", "s1")])) as c:
        r = c.get("/v1/admin/devices/status")
    assert r.status_code == 200, r.text
    # Listed where the person manages (s2), not where they only view (s1); tenant-wide devices are for
    # tenant-wide listers.
    assert {d["device_id"] for d in r.json()["devices"]} == {"perm-s2"}
