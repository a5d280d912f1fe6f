"""Keep the read models fresh in a running hub: wake on the event log's notifications, project the
tenants that wrote (bursts coalesce into one run), and sweep every tenant that is behind on a timer. The
cursor lives in the database, so a missed notification or a restart only delays a read model, never
loses an update; several hub processes may run a worker (the cursor row lock serialises them).

Wiring: the hub's lifespan starts `ProjectionWorker(url).start()` and awaits `.stop()` on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from hub.db import connect
from hub.projections.runner import PROJECTION, project

log = logging.getLogger("pitline.hub.projections")
CHANNEL = "pitline_events"


class ProjectionWorker:
    def __init__(self, url: str, *, sweep_seconds: float = 30.0, settle_seconds: float = 0.2) -> None:
        self.url = url
        self.sweep_seconds = sweep_seconds
        self.settle_seconds = settle_seconds  # let a burst of pushes land before projecting once
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._conn: asyncpg.Connection | None = None
        self.runs = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="projection-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_listener()
        await self._close_conn()

    def _notified(self, _conn: object, _pid: int, _channel: str, tenant_id: str) -> None:
        self._pending.add(tenant_id)
        self._wake.set()

    async def _close_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            with contextlib.suppress(Exception):
                await self._listener.close()
        self._listener = None

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await connect(self.url)
            await self._listener.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("projection listener unavailable (%s); relying on the sweep", exc)
            self._listener = None

    async def _behind(self, conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            "SELECT h.tenant_id FROM sync.tenant_heads h LEFT JOIN sync.projection_cursors c "
            "ON c.tenant_id = h.tenant_id AND c.projection = $1 WHERE coalesce(c.seq, 0) < h.head", PROJECTION,
        )
        return [r["tenant_id"] for r in rows]

    async def _run(self) -> None:
        sweep_due = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await self._ensure_listener()
            timeout = max(0.0, sweep_due - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            await asyncio.sleep(self.settle_seconds)
            self._wake.clear()
            tenants, self._pending = self._pending, set()
            try:
                conn = await self._connection()
                if loop.time() >= sweep_due:
                    tenants |= set(await self._behind(conn))
                    sweep_due = loop.time() + self.sweep_seconds
                for tenant_id in sorted(tenants):
                    await project(conn, tenant_id)
                    self.runs += 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # The database is away: keep the tenants for the next round; the cursor makes it safe.
                log.warning("projection round failed (%s); retrying", exc)
                self._pending |= tenants
                await self._close_conn()
                await asyncio.sleep(1.0)

    async def _connection(self) -> asyncpg.Connection:
        """The worker's own connection, kept between rounds. It used to connect for every round: with a push
        every 50 ms that was several new connections a second (asyncpg re-introspects its codecs on each), CPU
        taken from the event loop every live stream of the process shares (measured as 50-250 ms stalls in
        `pitline bench --only live`)."""
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self.url)
        return self._conn

    async def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)
