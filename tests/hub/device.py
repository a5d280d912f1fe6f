"""A test device that talks to a real hub over HTTP, with its own device_seq counter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.ids import new_ulid


@dataclass
class DeviceClient:
    hub_url: str
    token: str
    tenant_id: str
    site_id: str | None
    device_id: str
    seq: int = 0
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.hub_url, headers={"Authorization": f"Bearer {self.token}"},
                                   timeout=60.0)

    def mutation(self, entity: str, entity_id: str, op: str, payload: dict[str, Any], base_version: int = 0,
                 **over: Any) -> dict[str, Any]:
        self.seq += 1
        m = {
            "id": new_ulid(), "device_id": self.device_id, "device_seq": self.seq, "tenant_id": self.tenant_id,
            "site_id": self.site_id, "actor": f"user-of-{self.device_id}", "entity": entity, "entity_id": entity_id,
            "op": op, "base_version": base_version, "payload": payload, "created_at": datetime.now(UTC).isoformat(),
        }
        m.update(over)
        return m

    def push(self, mutations: list[dict[str, Any]], **body: Any) -> httpx.Response:
        return self.client.post("/v1/sync/push", json={"device_id": self.device_id, "mutations": mutations, **body})

    def push_ok(self, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        r = self.push(mutations)
        assert r.status_code == 200, r.text
        outcomes: list[dict[str, Any]] = r.json()["outcomes"]
        return outcomes

    def changes(self, after: int = 0, limit: int = 1000) -> httpx.Response:
        return self.client.get("/v1/sync/changes", params={"after": after, "limit": limit})

    def all_events(self, after: int = 0) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while True:
            r = self.changes(after)
            assert r.status_code == 200, r.text
            page = r.json()
            events += page["events"]
            after = page["next_after"]
            if not page["has_more"]:
                return events


def person_client(hub_url: str, dsn: str, tenant_id: str, roles: tuple[str, ...] = ("administrator",),
                  site_ids: list[str] | None = None, user_id: str = "hq-person") -> httpx.Client:
    """A client with a user token carrying `roles` (a person at HQ, e.g. resolving conflicts through the API)."""
    from datetime import timedelta

    from hub.auth.tokens import issue_access_token
    from hub.db import connect
    from pitline.harness import run_sync

    async def run() -> str:
        conn = await connect(dsn)
        try:
            return await issue_access_token(conn, tenant_id=tenant_id, user_id=user_id, roles=roles,
                                            site_ids=site_ids, ttl=timedelta(hours=1))
        finally:
            await conn.close()

    token = run_sync(run())
    return httpx.Client(base_url=hub_url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0)


def metrics_text(hub_url: str, dsn: str, tenant_id: str = "t-metrics-reader") -> str:
    """/metrics as an administrator of `tenant_id` sees it (its device gauges are that tenant's)."""
    with person_client(hub_url, dsn, tenant_id) as c:
        r = c.get("/metrics")
    assert r.status_code == 200, r.text
    return r.text
