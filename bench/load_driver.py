"""Simulated users for the load benchmark and the soak test: each is a device (its own token and device_seq)
that, after a think time, reads (changes, conflicts, audit, snapshot) or pushes, like a site office does.

Runs in client processes (asyncio + httpx); every request is recorded as (seconds since start, endpoint,
latency ms, status) with status 0 for a transport error or timeout."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from shared.ids import new_ulid

ENDPOINTS = ("push", "changes", "conflicts", "audit", "snapshot")
# Weights of the mix: mostly following the log and pushing, some inbox and audit views, a few snapshots.
MIX = {"changes": 40, "push": 30, "conflicts": 12, "audit": 10, "snapshot": 8}
UNITS_PER_SITE = 20


@dataclass(frozen=True)
class UserSpec:
    tenant_id: str
    site_id: str
    device_id: str
    token: str


@dataclass
class LoadConfig:
    users: int = 500
    seconds: float = 60.0
    think: float = 1.0  # mean seconds between one user's requests (uniform 0.5×–1.5×)
    tenants: int = 5
    sites_per_tenant: int = 4
    client_procs: int = 2
    seed: int = 1


Record = tuple[float, int, float, int]  # (t since start, endpoint index, latency ms, status; 0 = no answer)


@dataclass
class _User:
    spec: UserSpec
    rnd: random.Random
    seq: int = 0
    cursor: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)  # a push not yet answered 200 is retried as is

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.spec.token}"}

    def next_batch(self) -> list[dict[str, Any]]:
        if self.pending:
            return self.pending
        batch = []
        for _ in range(self.rnd.randint(1, 5)):
            self.seq += 1
            if self.rnd.random() < 0.2:  # an edit of a shared machine, made against version 1: conflicts happen
                unit = f"{self.spec.site_id}-U{self.rnd.randrange(UNITS_PER_SITE):02}"
                entity, entity_id, op, base, payload = ("equipment.unit", unit, "update", 1,
                                                        {"model": f"rev-{self.spec.device_id}-{self.seq}"})
            else:
                entity, entity_id, op, base, payload = ("forms.submission", f"{self.spec.device_id}-F{self.seq}",
                                                        "create", 0, {"form": "pre-start", "title": f"c{self.seq}"})
            batch.append({"id": new_ulid(), "device_id": self.spec.device_id, "device_seq": self.seq,
                          "tenant_id": self.spec.tenant_id, "site_id": self.spec.site_id, "actor": "load-user",
                          "entity": entity, "entity_id": entity_id, "op": op, "base_version": base,
                          "payload": payload, "created_at": datetime.now(UTC).isoformat()})
        self.pending = batch
        return batch


async def _request(client: httpx.AsyncClient, user: _User, endpoint: str) -> int:
    h = user.headers()
    if endpoint == "push":
        body = {"device_id": user.spec.device_id, "mutations": user.next_batch(),
                "outbox_depth": len(user.pending)}
        r = await client.post("/v1/sync/push", json=body, headers=h)
        if r.status_code == 200:
            user.pending = []
    elif endpoint == "changes":
        r = await client.get("/v1/sync/changes", params={"after": user.cursor, "limit": 500}, headers=h)
        if r.status_code == 200:
            user.cursor = orjson.loads(r.content)["next_after"]
    elif endpoint == "conflicts":
        r = await client.get("/v1/conflicts", params={"status": "all", "limit": 50}, headers=h)
    elif endpoint == "audit":
        r = await client.get("/v1/audit", params={"limit": 50}, headers=h)
    else:
        r = await client.get("/v1/sync/snapshot", params={"limit": 200}, headers=h)
    return r.status_code


async def _user_loop(client: httpx.AsyncClient, user: _User, cfg: LoadConfig, start: float, end: float,
                     out: list[Record]) -> None:
    names, weights = list(MIX), list(MIX.values())
    await asyncio.sleep(user.rnd.uniform(0, cfg.think))  # spread the first requests
    while time.time() < end:
        endpoint = user.rnd.choices(names, weights)[0]
        began = time.perf_counter()
        try:
            status = await _request(client, user, endpoint)
        except (httpx.HTTPError, OSError):
            status = 0
        out.append((time.time() - start, ENDPOINTS.index(endpoint), (time.perf_counter() - began) * 1000, status))
        await asyncio.sleep(cfg.think * user.rnd.uniform(0.5, 1.5))


async def _one_user(url: str, user: _User, cfg: LoadConfig, start: float, out: list[Record]) -> None:
    # One client (one keep-alive connection) per user, like a real office PC: httpx's shared pool costs
    # O(connections) per request, which at 250 connections made the driver, not the hub, the bottleneck.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30.0), limits=limits) as client:
        await _user_loop(client, user, cfg, start, start + cfg.seconds, out)


async def _drive(url: str, specs: list[UserSpec], cfg: LoadConfig, start: float, seed: int) -> list[Record]:
    out: list[Record] = []
    users = [_User(s, random.Random(seed * 100_003 + i)) for i, s in enumerate(specs)]
    await asyncio.gather(*[_one_user(url, u, cfg, start, out) for u in users])
    return out


def drive_process(url: str, specs: list[UserSpec], cfg: LoadConfig, start: float, seed: int) -> list[Record]:
    """Entry point of one client process (picklable arguments, a list of records back)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    return asyncio.run(_drive(url, specs, cfg, start, seed))


async def provision(dsn: str, cfg: LoadConfig) -> list[UserSpec]:
    """Tenants, sites, one device per user (its token also carries the administrator role, so the audit view is
    in the mix), and the shared machines each site edits, created by a seeding device through push."""
    from hub.auth.principal import Principal
    from hub.auth.tokens import ensure_tenant_site_device, issue_access_token
    from hub.db import connect
    from hub.sync.apply import push
    from shared.envelopes import PushRequest

    conn = await connect(dsn)
    specs: list[UserSpec] = []
    try:
        for t in range(cfg.tenants):
            tenant = f"load-t{t}"
            for s in range(cfg.sites_per_tenant):
                site = f"t{t}s{s}"
                seeder = f"seed-{site}"
                await ensure_tenant_site_device(conn, tenant_id=tenant, site_id=site, device_id=seeder)
                units = [{"id": new_ulid(), "device_id": seeder, "device_seq": i + 1, "tenant_id": tenant,
                          "site_id": site, "actor": "seed", "entity": "equipment.unit", "entity_id": f"{site}-U{i:02}",
                          "op": "create", "base_version": 0, "created_at": datetime.now(UTC).isoformat(),
                          "payload": {"fleet_no": f"{site}-U{i:02}", "equipment_class": "truck"}}
                         for i in range(UNITS_PER_SITE)]
                principal = Principal(tenant, seeder, None, frozenset({site}), frozenset())
                await push(conn, principal, PushRequest.model_validate({"device_id": seeder, "mutations": units}))
        for i in range(cfg.users):
            tenant, site = f"load-t{i % cfg.tenants}", f"t{i % cfg.tenants}s{(i // cfg.tenants) % cfg.sites_per_tenant}"
            device = f"load-u{i:04}"
            async with conn.transaction():
                await ensure_tenant_site_device(conn, tenant_id=tenant, site_id=site, device_id=device)
                token = await issue_access_token(conn, tenant_id=tenant, device_id=device, roles=["administrator"],
                                                 ttl=timedelta(days=1))
            specs.append(UserSpec(tenant, site, device, token))
    finally:
        await conn.close()
    return specs
