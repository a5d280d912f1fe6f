"""Live events for every stream of this process from ONE LISTEN connection and one tail reader per tenant.

A committing transaction runs `pg_notify('pitline_events', tenant_id)`. This process's listener wakes the
tenant's tail, which reads the new rows once and offers them to each subscriber's bounded queue. A
subscriber that falls behind (queue full) is closed: its client resumes from its last id (explicit
backpressure; memory stays bounded whatever a slow client does). A lost notification costs nothing:
tails also re-read on a periodic tick and after the LISTEN connection reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from hub.db import connect
from hub.sync.events_read import head_and_floor, read_page

log = logging.getLogger(__name__)

CHANNEL = "pitline_events"
QUEUE_LIMIT = 10_000
TAIL_PAGE = 2_000
SAFETY_TICK_SECONDS = 5.0


@dataclass(eq=False)
class Subscription:
    tenant_id: str
    device_id: str | None
    sites: frozenset[str] | None
    queue: asyncio.Queue[asyncpg.Record] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""

    def offer(self, row: asyncpg.Record) -> None:
        if self.closed.is_set():
            return
        site = row["site_id"]
        if self.sites is not None and site is not None and site not in self.sites:
            return
        try:
            self.queue.put_nowait(row)
        except asyncio.QueueFull:
            self.close("the client fell behind the live stream; resume from the last id")

    def close(self, reason: str) -> None:
        if not self.closed.is_set():
            self.reason = reason
            self.closed.set()


@dataclass(eq=False)
class _Tail:
    tenant_id: str
    last_seq: int
    subscribers: set[Subscription] = field(default_factory=set)
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class EventFanout:
    def __init__(self, pool: asyncpg.Pool, settings: Any = None) -> None:
        self.pool = pool
        self._tails: dict[str, _Tail] = {}
        self._listener: asyncpg.Connection | None = None
        self._dsn = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._lock = asyncio.Lock()

    @property
    def stream_count(self) -> int:
        return sum(len(t.subscribers) for t in self._tails.values())

    async def start(self, dsn: str) -> None:
        self._dsn = dsn
        await self._connect_listener()
        self._tasks.append(asyncio.create_task(self._safety_tick(), name="fanout-tick"))

    async def stop(self) -> None:
        self._stopping = True
        for tail in list(self._tails.values()):
            for sub in list(tail.subscribers):
                sub.close("the hub is shutting down; reconnect")
            if tail.task:
                tail.task.cancel()
        for t in self._tasks:
            t.cancel()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    async def subscribe(self, tenant_id: str, device_id: str | None, sites: frozenset[str] | None) -> Subscription:
        """Register before reading the backlog: events committed meanwhile are buffered, none are missed."""
        async with self._lock:
            tail = self._tails.get(tenant_id)
            if tail is None:
                head, _ = await head_and_floor(self.pool, tenant_id)
                tail = _Tail(tenant_id, head)
                tail.task = asyncio.create_task(self._run_tail(tail), name=f"tail-{tenant_id}")
                self._tails[tenant_id] = tail
            sub = Subscription(tenant_id, device_id, sites)
            tail.subscribers.add(sub)
            tail.dirty.set()  # catch anything committed between our head read and now
            return sub

    def unsubscribe(self, sub: Subscription) -> None:
        tail = self._tails.get(sub.tenant_id)
        if tail is not None:
            tail.subscribers.discard(sub)

    def close_device(self, device_id: str) -> int:
        """Close every open stream of a revoked device; returns how many were closed."""
        closed = 0
        for tail in self._tails.values():
            for sub in list(tail.subscribers):
                if sub.device_id == device_id:
                    sub.close("the device was revoked")
                    closed += 1
        return closed

    async def _run_tail(self, tail: _Tail) -> None:
        while not self._stopping:
            await tail.dirty.wait()
            tail.dirty.clear()
            try:
                while True:
                    rows = await read_page(self.pool, tail.tenant_id, tail.last_seq, None, TAIL_PAGE)
                    for row in rows:
                        if row["seq"] != tail.last_seq + 1:
                            # Cannot happen while the head is taken last (docs/decisions.md D2): say so loudly.
                            log.error("event log gap for tenant %s: %d after %d", tail.tenant_id, row["seq"],
                                      tail.last_seq)
                        tail.last_seq = row["seq"]
                        for sub in list(tail.subscribers):
                            sub.offer(row)
                    if len(rows) < TAIL_PAGE:
                        break
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("tail reader for %s failed, will retry: %s", tail.tenant_id, exc)
                await asyncio.sleep(0.5)
                tail.dirty.set()

    def _wake(self, tenant_id: str) -> None:
        tail = self._tails.get(tenant_id)
        if tail is not None:
            tail.dirty.set()

    def _wake_all(self) -> None:
        for tail in self._tails.values():
            tail.dirty.set()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._wake(payload)

    def _on_terminated(self, _conn: object) -> None:
        if not self._stopping:
            log.warning("LISTEN connection lost; reconnecting")
            self._tasks.append(asyncio.create_task(self._reconnect(), name="fanout-reconnect"))

    async def _connect_listener(self) -> None:
        conn = await connect(self._dsn)
        await conn.add_listener(CHANNEL, self._on_notify)
        conn.add_termination_listener(self._on_terminated)
        self._listener = conn

    async def _reconnect(self) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                await self._connect_listener()
                log.info("LISTEN connection restored")
                self._wake_all()  # notifications sent while we were away are lost: re-read
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _safety_tick(self) -> None:
        while not self._stopping:
            await asyncio.sleep(SAFETY_TICK_SECONDS)
            self._wake_all()
            for tenant_id, tail in list(self._tails.items()):
                if not tail.subscribers and tail.task is not None:
                    async with self._lock:
                        if not tail.subscribers:
                            tail.task.cancel()
                            self._tails.pop(tenant_id, None)
