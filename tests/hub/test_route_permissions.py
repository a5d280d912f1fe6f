"""The permission matrix (shared/permissions.py) on the hub's routes, against a real hub and PostgreSQL:
resolving a conflict needs `conflicts.resolve` and write access to the record it is about, at its site; the
admin routes need their administrative action; and a table test calls every route of the app with a token
of every role (and a bare device token, and none) and checks each answer against a hand-written table."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount

from shared.ids import new_ulid
from shared.permissions import ROLES
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


# --- every route × every role ----------------------------------------------------------------------------------
CALLERS: tuple[str, ...] = ("none", "device", *ROLES)  # no token, a bare device token, a signed-in person per role
EVERYONE = frozenset(CALLERS)
ANY_TOKEN = EVERYONE - {"none"}
DEVICE = frozenset({"device"})

# Written out by hand from the matrix, not derived from the hub's code: who may use each route. A public route
# must answer the same whoever calls (credentials travel in its body); a new route fails the test until it has a
# row here.
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/metrics"): frozenset({"administrator"}),  # metrics.read, or the metrics token (test_metrics_access)
    ("GET", "/openapi.json"): EVERYONE, ("HEAD", "/openapi.json"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/docs/assets/{path}"): EVERYONE,  # Swagger UI's files, served by the hub (no CDN at a site)
    ("POST", "/v1/auth/signin"): EVERYONE,
    ("POST", "/v1/auth/challenge"): EVERYONE,
    ("POST", "/v1/auth/token"): EVERYONE,
    ("POST", "/v1/devices/enroll"): EVERYONE,
    # Pushes are a device's (D9 checks each mutation against its actor's roles); reads are filtered per role.
    ("POST", "/v1/sync/push"): DEVICE,
    ("GET", "/v1/sync/changes"): ANY_TOKEN,
    ("GET", "/v1/sync/stream"): ANY_TOKEN,
    ("GET", "/v1/sync/snapshot"): ANY_TOKEN,
    ("GET", "/v1/conflicts"): ANY_TOKEN,
    # conflicts.resolve and write on procurement.purchase_order (the conflict is about a PO)
    ("POST", "/v1/conflicts/{conflict_id}/resolve"): frozenset({"administrator", "site_manager"}),
    ("GET", "/v1/audit"): frozenset({"administrator"}),  # audit.read
    ("GET", "/v1/users/verifiers"): DEVICE,
    ("POST", "/v1/telemetry"): DEVICE,
    ("GET", "/v1/telemetry/samples"): ANY_TOKEN,
    ("GET", "/v1/admin/devices/status"): frozenset({"administrator", "site_manager"}),  # devices.list
    # read on finance.* (tenant-wide grants here): a viewer's finance.* is none, operators have no finance rule
    ("GET", "/v1/finance/trial-balance"): frozenset({"administrator", "site_manager", "finance"}),
    # read on hr.* and equipment.usage_log: hr, supervisors (who decide the reviews), site managers, administrators;
    # a viewer's hr.* is none, finance, storemen, planners and operators have no hr.* read
    ("GET", "/v1/hr/reconciliation"): frozenset({"administrator", "site_manager", "supervisor", "hr"}),
    ("GET", "/v1/finance/ap-ageing"): frozenset({"administrator", "site_manager", "finance"}),
    ("GET", "/v1/finance/ar-ageing"): frozenset({"administrator", "site_manager", "finance"}),
    # write on finance.* (tenant-wide grants): a site manager reads finance but does not post
    ("POST", "/v1/finance/depreciation/{period}"): frozenset({"administrator", "finance"}),
    ("GET", "/v1/finance/ledger"): frozenset({"administrator", "site_manager", "finance"}),
    ("GET", "/v1/finance/stock-valuation"): frozenset({"administrator", "site_manager", "finance"}),
    ("GET", "/v1/finance/periods"): frozenset({"administrator", "site_manager", "finance"}),
    # write on finance.* tenant-wide: a site manager reads finance, only finance and administrators close periods
    ("POST", "/v1/finance/periods/{period}/close"): frozenset({"administrator", "finance"}),
    ("POST", "/v1/finance/periods/{period}/reopen"): frozenset({"administrator", "finance"}),
}


def app_routes() -> set[tuple[str, str]]:
    """Every (method, path) the hub's application serves, from the application itself."""
    from hub.app import create_app
    from hub.settings import HubSettings

    app = create_app(HubSettings(database_url="postgresql://nobody@127.0.0.1:1/unused", data_dir=Path("/nonexistent")))
    found: set[tuple[str, str]] = set()

    def walk(routes: list[BaseRoute], prefix: str) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)  # FastAPI ≥ 0.16x keeps included routers whole
            if included is not None:
                walk(included.routes, prefix + getattr(getattr(route, "include_context", None), "prefix", ""))
                continue
            if isinstance(route, Mount):  # static files: every path below it, read only
                found.add(("GET", prefix + route.path + "/{path}"))
                continue
            methods, path = getattr(route, "methods", None), getattr(route, "path", None)
            assert methods and path, f"a route of a kind this test cannot enumerate: {route!r}"
            found.update((method, prefix + path) for method in methods)

    walk(app.routes, "")
    return found


def call(w: World, route: tuple[str, str], token: str | None) -> httpx.Response:
    """One well-formed request to `route`: an allowed caller gets the route's success answer."""
    method, path = route
    with w.client(token) as c:
        if route == ("POST", "/v1/conflicts/{conflict_id}/resolve"):
            _, conflict_id = w.po_conflict()  # a fresh open conflict per call: allowed means 200
            return c.post(path.format(conflict_id=conflict_id), json={"choice": "custom", "data": {"total": 1}})
        if route == ("POST", "/v1/finance/depreciation/{period}"):
            return c.post(path.format(period="2026-11"))  # idempotent: every allowed call answers 200
        if "{period}" in path:  # a month nothing posts to, closed and reopened by whoever may
            return c.request(method, path.format(period="2031-01"))
        if route == ("GET", "/docs/assets/{path}"):
            return c.get(path.format(path="swagger-ui.css"))
        if route == ("GET", "/v1/sync/stream"):
            with c.stream("GET", path, timeout=httpx.Timeout(10.0)) as r:
                if r.status_code != 200:
                    r.read()
                    return r
                first = next(r.iter_bytes())  # the stream's opening (`retry:`); it never ends by itself
                return httpx.Response(200, content=first, request=r.request)
        body: dict[str, Any] | None = {
            "/v1/auth/signin": {"username": "table-nobody", "password": "not the password"},
            "/v1/auth/challenge": {"device_id": "no-such-device"},
            "/v1/auth/token": {"device_id": "no-such-device", "nonce": "AAAA", "signature": "AAAA"},
            "/v1/devices/enroll": {"token": "pe_unknown", "name": "x", "kind": "desktop",
                                   "public_key": base64.b64encode(bytes(32)).decode()},
            "/v1/sync/push": {"device_id": w.hq.device_id, "mutations": []},
            "/v1/telemetry": {"batch_id": new_ulid(), "device_id": w.hq.device_id, "site_id": "s1", "samples": []},
        }.get(path)
        params: dict[str, str] | None = {
            "/v1/telemetry/samples": {"equipment_id": "DT01", "start": "2026-01-01T00:00:00+00:00",
                                      "end": "2026-01-02T00:00:00+00:00"},
            "/v1/finance/trial-balance": {"as_of": "2026-11-30", "by": "site"},
            "/v1/hr/reconciliation": {"from": "2026-04-01", "to": "2026-04-07"},
            "/v1/finance/ledger": {"account": "1400", "from": "2026-11-01", "site": "s1"},
            "/v1/finance/stock-valuation": {"as_of": "2026-11-30", "detail": "true"},
        }.get(path)
        return c.request(method, path, json=body, params=params)


def test_every_route_answers_every_role_as_the_matrix_says(w: World) -> None:
    routes = app_routes()
    assert routes - EXPECTED.keys() == set(), "a route without a row in EXPECTED: say who may use it"
    assert EXPECTED.keys() - routes == set(), "EXPECTED names a route the hub no longer serves"
    tokens: dict[str, str | None] = {"none": None, "device": w.hq.token}
    tokens |= {role: w.user(f"table-{role}", [(role, None)]) for role in ROLES}
    wrong: list[str] = []
    for route in sorted(routes):
        answers = {caller: call(w, route, tokens[caller]) for caller in CALLERS}
        allowed = EXPECTED[route]
        for caller, r in answers.items():
            text = r.text if r.request.method != "HEAD" else ""
            label = f"{route[0]} {route[1]} as {caller}: {r.status_code} {text[:160]}"
            if r.status_code >= 500:
                wrong.append(f"server error: {label}")
            elif allowed == EVERYONE:
                if r.status_code == 403 or r.status_code != answers["none"].status_code:
                    wrong.append(f"a public route answered differently by caller: {label}")
            elif caller in allowed:
                if not 200 <= r.status_code < 300:
                    wrong.append(f"allowed but refused: {label}")
            elif caller == "none":
                if r.status_code != 401 or not r.json().get("message"):
                    wrong.append(f"no token but not a 401 with a message: {label}")
            elif r.status_code != 403 or not r.json().get("message"):
                wrong.append(f"forbidden but not a 403 with a message: {label}")
    assert not wrong, "\n".join(wrong)


def test_resolving_with_custom_data_nested_past_the_limit_is_a_4xx_and_changes_nothing(w: World) -> None:
    po_id, conflict_id = w.po_conflict()
    before = w.record(po_id)
    manager = w.user("perm-manager", [("site_manager", None)])
    for depth in (40, 300, 5000):  # written out by hand: no JSON encoder goes that deep
        body = '{"choice": "custom", "data": {"total": 1, "note": ' + '{"x": ' * depth + "1" + "}" * depth + "}}"
        with w.client(manager) as c:
            r = c.post(f"/v1/conflicts/{conflict_id}/resolve", content=body,
                       headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500 and r.json()["message"], (depth, r.status_code, r.text[:300])
    assert w.record(po_id) == before and w.record(conflict_id)["status"] == "open"
