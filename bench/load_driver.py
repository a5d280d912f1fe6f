"""Simulated users for the load benchmark and the soak test: each is a device (its own token and device_seq)
that, after a think time, reads (changes, conflicts, audit, snapshot) or pushes, like a site office does.

Runs in client processes (asyncio + a minimal HTTP/1.1 keep-alive client on asyncio streams, responses
parsed by httptools, the parser uvicorn itself uses); every request is recorded as (seconds since start,
endpoint, latency ms, status) with status 0 for a transport error or timeout.

Why not httpx: on this 2-core box the driver shares the CPU with the hub, and httpx cost ~4–5 ms of CPU per
request (the load clients used 45–65% of a core at ~100 requests/s, more than the hub's two processes
together), so the measurement was mostly of the driver. This client does the same HTTP on the same sockets
(one keep-alive connection per user, a new one after any error) for a fraction of that."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httptools
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
    client_procs: int = 1  # one process: on 2 cores a second one only takes CPU from the hub it measures
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


class HttpError(Exception):
    """The connection failed, closed early, or answered something that is not HTTP/1.1."""


class _StaleConnection(HttpError):
    """The connection closed before any byte of the answer."""


class _Response:
    """httptools callbacks for one response: status, body, done, and whether the connection stays open."""

    def __init__(self) -> None:
        self.status = 0
        self.body: list[bytes] = []
        self.done = False
        self.keep_alive = True
        self.parser: httptools.HttpResponseParser | None = None

    def on_headers_complete(self) -> None:
        # Only meaningful while the message is parsed: llhttp resets it once the message completes, so asking
        # afterwards said "close" on every response and each request paid a new TCP connection (until 2026-11-25).
        assert self.parser is not None
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, data: bytes) -> None:
        self.body.append(data)

    def on_message_complete(self) -> None:
        self.done = True


class Conn:
    """One keep-alive HTTP/1.1 connection to the hub (reopened after any error), like one office PC's."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.hostport = f"{self.host}:{self.port}".encode()
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
                      ) -> tuple[int, bytes]:
        reused = self._writer is not None and not self._writer.is_closing()
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    return await self._request(method, path, headers, body)
                except (_StaleConnection, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise
                    # The server closed the idle keep-alive connection as we reused it: what any HTTP client
                    # does is send the request again on a new connection (nothing was answered).
                    await self.close()
                    return await self._request(method, path, headers, body)
        except BaseException:
            await self.close()
            raise

    async def _request(self, method: str, path: str, headers: dict[str, str], body: bytes | None
                       ) -> tuple[int, bytes]:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None and self._writer is not None
        head = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self.hostport]
        head += [f"{k}: {v}".encode() for k, v in headers.items()]
        if body is not None:
            head += [b"Content-Type: application/json", b"Content-Length: " + str(len(body)).encode()]
        self._writer.write(b"\r\n".join(head) + b"\r\n\r\n" + (body or b""))
        response = _Response()
        parser = response.parser = httptools.HttpResponseParser(response)
        received = False
        while not response.done:
            data = await self._reader.read(65536)
            if not data:
                raise (HttpError if received else _StaleConnection)("connection closed before the response ended")
            received = True
            parser.feed_data(data)
        response.status = parser.get_status_code()
        if not response.keep_alive:
            await self.close()
        return response.status, b"".join(response.body)


async def _request(conn: Conn, user: _User, endpoint: str) -> int:
    h = user.headers()
    if endpoint == "push":
        body = {"device_id": user.spec.device_id, "mutations": user.next_batch(),
                "outbox_depth": len(user.pending)}
        status, _ = await conn.request("POST", "/v1/sync/push", h, orjson.dumps(body))
        if status == 200:
            user.pending = []
    elif endpoint == "changes":
        status, content = await conn.request(
            "GET", "/v1/sync/changes?" + urlencode({"after": user.cursor, "limit": 500}), h)
        if status == 200:
            user.cursor = orjson.loads(content)["next_after"]
    elif endpoint == "conflicts":
        status, _ = await conn.request("GET", "/v1/conflicts?status=all&limit=50", h)
    elif endpoint == "audit":
        status, _ = await conn.request("GET", "/v1/audit?limit=50", h)
    else:
        status, _ = await conn.request("GET", "/v1/sync/snapshot?limit=200", h)
    return status


async def _user_loop(conn: Conn, user: _User, cfg: LoadConfig, start: float, end: float,
                     out: list[Record]) -> None:
    names, weights = list(MIX), list(MIX.values())
    await asyncio.sleep(user.rnd.uniform(0, cfg.think))  # spread the first requests
    while time.time() < end:
        endpoint = user.rnd.choices(names, weights)[0]
        began = time.perf_counter()
        try:
            status = await _request(conn, user, endpoint)
        except (HttpError, httptools.HttpParserError, OSError, TimeoutError):
            status = 0
        out.append((time.time() - start, ENDPOINTS.index(endpoint), (time.perf_counter() - began) * 1000, status))
        await asyncio.sleep(cfg.think * user.rnd.uniform(0.5, 1.5))


async def _one_user(url: str, user: _User, cfg: LoadConfig, start: float, out: list[Record]) -> None:
    conn = Conn(url)  # one keep-alive connection per user, like a real office PC
    # Start with the clock: users that began as soon as their process was up ran (and were counted) for the
    # seconds of spawn slack before `start`, inflating the request rate.
    await asyncio.sleep(max(0.0, start - time.time()))
    try:
        await _user_loop(conn, user, cfg, start, start + cfg.seconds, out)
    finally:
        await conn.close()


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
