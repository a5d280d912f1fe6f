"""`GET /v1/sync/changes` against a real hub: paging, cursors past invisible events, and every bad parameter
answered 4xx with an ErrorBody (never 500)."""

from __future__ import annotations

import httpx
import pytest

from pitline.harness import HubProcess, provision_device, run_sync
from shared.envelopes import ChangesPage, ErrorBody
from shared.ids import new_ulid
from tests.hub.test_event_order import write_events


def tenant_with_events(hub: HubProcess, sites: list[str | None]) -> str:
    """A tenant whose event n (1-based) belongs to sites[n-1]."""
    from hub.db import connect

    tenant = f"chg-{new_ulid()[-8:].lower()}"

    async def fill() -> None:
        conn = await connect(hub.dsn)
        try:
            for site in sites:
                await write_events(conn, tenant, 1, site=site)
        finally:
            await conn.close()

    run_sync(fill())
    return tenant


def client_for(hub: HubProcess, tenant: str, site: str | None, device: str) -> httpx.Client:
    token = provision_device(hub.dsn, tenant, site, device)
    return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_pages_are_complete_and_the_cursor_skips_what_a_site_may_not_see(live_hub: HubProcess) -> None:
    sites: list[str | None] = ["a", "b", None, "b", "a", "b", "b", "b"]
    tenant = tenant_with_events(live_hub, sites)
    with client_for(live_hub, tenant, "a", "dev-a") as a, client_for(live_hub, tenant, None, "hq") as hq:
        page = ChangesPage.model_validate(a.get("/v1/sync/changes", params={"after": 0, "limit": 2}).json())
        assert [e.seq for e in page.events] == [1, 3] and page.has_more and page.next_after == 3
        assert page.head_seq == 8
        page = ChangesPage.model_validate(a.get("/v1/sync/changes", params={"after": 3, "limit": 2}).json())
        # Only event 5 is left for site a; the cursor still moves to the head past b's events.
        assert [e.seq for e in page.events] == [5] and not page.has_more and page.next_after == 8
        page = ChangesPage.model_validate(a.get("/v1/sync/changes", params={"after": 8}).json())
        assert page.events == [] and page.next_after == 8 and not page.has_more
        everything = ChangesPage.model_validate(hq.get("/v1/sync/changes", params={"limit": 5000}).json())
        assert [e.seq for e in everything.events] == list(range(1, 9))
        assert [e.site_id for e in everything.events] == sites
        assert everything.events[0].tenant_id == tenant and everything.events[0].payload == {"n": 1}


@pytest.mark.parametrize("params", [
    {"after": -1}, {"after": "x"}, {"after": 2**63}, {"after": "1e3"}, {"limit": 0}, {"limit": 5001},
    {"limit": "many"}, {"limit": -5},
], ids=str)
def test_bad_parameters_get_a_4xx_with_an_error_body(live_hub: HubProcess, params: dict[str, object]) -> None:
    tenant = tenant_with_events(live_hub, [None])
    with client_for(live_hub, tenant, None, "hq") as c:
        r = c.get("/v1/sync/changes", params=params)
        assert r.status_code in (400, 422), r.text
        body = ErrorBody.model_validate(r.json())
        assert body.code and body.message


def test_largest_cursor_is_accepted_and_empty(live_hub: HubProcess) -> None:
    tenant = tenant_with_events(live_hub, [None])
    with client_for(live_hub, tenant, None, "hq") as c:
        page = c.get("/v1/sync/changes", params={"after": 2**63 - 1}).json()
        assert page["events"] == [] and page["has_more"] is False


def test_no_token_or_a_wrong_one_is_401(live_hub: HubProcess) -> None:
    assert httpx.get(f"{live_hub.url}/v1/sync/changes").status_code == 401
    r = httpx.get(f"{live_hub.url}/v1/sync/changes", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_a_cursor_below_the_floor_is_410_snapshot_required(live_hub: HubProcess) -> None:
    from hub.db import connect
    from hub.sync.retention import drop_events_through

    tenant = tenant_with_events(live_hub, [None] * 10)

    async def retire() -> int:
        conn = await connect(live_hub.dsn)
        try:
            return await drop_events_through(conn, tenant, 4)
        finally:
            await conn.close()

    assert run_sync(retire()) == 4
    with client_for(live_hub, tenant, None, "hq") as c:
        r = c.get("/v1/sync/changes", params={"after": 3})
        assert r.status_code == 410
        body = ErrorBody.model_validate(r.json())
        assert body.code == "snapshot_required" and body.details == {"floor": 4} and "snapshot" in body.message
        page = c.get("/v1/sync/changes", params={"after": 4}).json()
        assert [e["seq"] for e in page["events"]] == list(range(5, 11))
