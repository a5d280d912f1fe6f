"""Verified access tokens, per hub process, so a request does not pay a token lookup in the database.

Safe only because every change that could make a cached answer wrong notifies this process: the database
triggers of migration 0007 send `pitline_revocations` (a device revoked or deleted) and `pitline_auth_changes`
(a device's sites changed; a token revoked, re-dated or deleted), whoever made the change (API, admin CLI,
another process, plain SQL). This process LISTENs on its own connection and drops what a notice names.

Why a revocation takes effect on the very next request, on every process:
- a notice is queued by the revoking transaction and signalled at its commit, before its client gets an answer;
- a cached answer is given only after a round trip on the LISTEN connection that started after the request
  arrived (`_sync_point`): PostgreSQL sends a listening session its pending notices before it answers a query,
  so by then every revocation committed before the request has been applied here. Requests arriving
  together share one round trip (`SELECT 1` on an idle connection, no pool): cheaper than the lookup it
  replaces, and its cost falls as load rises;
- the cache answers only while the LISTEN connection is up: before it first connects, after it drops and until
  it is back, every lookup goes to the database, and it restarts empty (notices sent meanwhile are lost);
- a lookup that raced a notice is not stored: `put` refuses an answer read before the last invalidation
  (generation counter);
- entries live at most `ttl` seconds and never past the token's own expiry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import orjson

from hub.auth.principal import Principal
from hub.db import connect

log = logging.getLogger(__name__)

REVOCATIONS_CHANNEL = "pitline_revocations"  # {"tenant_id", "device_id"}; also closes streams (hub.sync.fanout)
AUTH_CHANGES_CHANNEL = "pitline_auth_changes"  # {"tenant_id", "device_id"} or {"tenant_id", "token_hash"}
PING_SECONDS = 5.0
PING_TIMEOUT_SECONDS = 2.0  # a sync round trip slower than this: the connection is treated as lost


class TokenCache:
    def __init__(self, *, ttl: float = 30.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: dict[bytes, tuple[Principal, float]] = {}
        self._generation = 0
        self._listening = False
        self.hits = 0
        self.misses = 0
        self._dsn = ""
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lost = asyncio.Event()
        self._round: asyncio.Future[bool] | None = None  # the next sync round trip, not yet sent
        self._rounds: asyncio.Task[None] | None = None

    # --- the cache -------------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """Read before a database lookup and hand to `put`: answers older than an invalidation are not kept."""
        return self._generation

    @property
    def active(self) -> bool:
        return self._listening and self.ttl > 0

    async def get(self, key: bytes) -> Principal | None:
        """The cached caller, once every notice committed before this call has been applied; None: look it up."""
        if not self._cached(key) or not await self._sync_point():
            self.misses += 1
            return None
        entry = self._entries.get(key)  # a notice the round trip brought in may have dropped it
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        return entry[0]

    def _cached(self, key: bytes) -> bool:
        if not self.active:
            return False
        entry = self._entries.get(key)
        if entry is not None and entry[1] <= self.clock():
            del self._entries[key]
            return False
        return entry is not None

    def put(self, key: bytes, principal: Principal, expires_at: datetime, generation: int) -> None:
        if not self.active or generation != self._generation:
            return
        left = (expires_at - datetime.now(UTC)).total_seconds()
        if left <= 0:
            return
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest insertion
        self._entries[key] = (principal, self.clock() + min(self.ttl, left))

    def drop_token(self, key: bytes) -> None:
        self._generation += 1
        self._entries.pop(key, None)

    def drop_device(self, tenant_id: str, device_id: str) -> None:
        self._generation += 1
        # Rare (an administrator's action), so a scan beats keeping a second index on every request.
        for key in [k for k, (p, _) in self._entries.items() if p.device_id == device_id and p.tenant_id == tenant_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # --- notices -----------------------------------------------------------------------------------
    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            body = orjson.loads(payload)
            tenant_id = str(body["tenant_id"])
            if body.get("token_hash"):
                self.drop_token(bytes.fromhex(str(body["token_hash"])))
            else:
                self.drop_device(tenant_id, str(body["device_id"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            # Cannot tell what changed: forget everything rather than keep something revoked.
            log.warning("unreadable auth notice %r; token cache cleared", payload[:200])
            self.clear()

    # --- the sync point --------------------------------------------------------------------------
    async def _sync_point(self) -> bool:
        """Wait for a LISTEN round trip that starts after now; False if there is none to be had."""
        if self._round is None:
            self._round = asyncio.get_running_loop().create_future()
            if self._rounds is None or self._rounds.done():
                self._rounds = asyncio.create_task(self._run_rounds(), name="token-cache-sync")
        return await asyncio.shield(self._round)

    async def _run_rounds(self) -> None:
        """One round trip at a time; whoever asked while one was on the wire gets the next."""
        while self._round is not None:
            waiting, self._round = self._round, None
            ok = False
            conn = self._conn
            try:
                if self._listening and conn is not None:
                    try:
                        await asyncio.wait_for(conn.fetchval("SELECT 1"), PING_TIMEOUT_SECONDS)
                        await asyncio.sleep(0)  # the notices' callbacks (call_soon'd before the answer) run first
                        ok = self._listening and conn is self._conn
                    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                        self._lose(f"round trip failed ({type(exc).__name__})")
            finally:  # also when stopped mid-round: nobody waits forever, they look the token up instead
                if not waiting.done():
                    waiting.set_result(ok)

    def _on_terminated(self, conn: object) -> None:
        if conn is self._conn:  # not one this cache already let go of
            self._lose("LISTEN connection closed")

    def _lose(self, why: str) -> None:
        if self._listening:
            log.warning("token cache off until its LISTEN connection is back: %s", why)
        self._listening = False
        self.clear()
        self._lost.set()

    # --- the LISTEN connection -----------------------------------------------------------------------
    async def start(self, dsn: str) -> None:
        """Connect (or keep trying in the background): the cache is off until the connection is up."""
        self._dsn = dsn
        if self.ttl <= 0:
            return
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            await self._connect()
        self._task = asyncio.create_task(self._watch(), name="token-cache-listener")

    async def stop(self) -> None:
        self._stopping = True
        self._listening = False
        for task in (self._task, self._rounds):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._round is not None and not self._round.done():
            self._round.set_result(False)
        if self._conn is not None:
            self._conn.remove_termination_listener(self._on_terminated)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2.0)

    async def _connect(self) -> None:
        conn = await connect(self._dsn)
        await conn.add_listener(REVOCATIONS_CHANNEL, self._on_notice)
        await conn.add_listener(AUTH_CHANGES_CHANNEL, self._on_notice)
        conn.add_termination_listener(self._on_terminated)
        self._conn = conn
        self._lost.clear()
        self.clear()  # anything cached before a gap may have missed its notice
        self._listening = True

    async def _watch(self) -> None:
        """Ping the connection (a half-open socket never reports its end) and reconnect when it is gone."""
        delay = 0.2
        while not self._stopping:
            if self._listening and self._conn is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), PING_SECONDS)
                if not self._lost.is_set() and await self._sync_point():
                    continue  # a quiet process still finds out that a socket went half-open
            old, self._conn = self._conn, None
            if old is not None:
                old.remove_termination_listener(self._on_terminated)
                old.terminate()
            try:
                await self._connect()
                log.info("token cache listening again")
                delay = 0.2
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("token cache LISTEN reconnect failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
