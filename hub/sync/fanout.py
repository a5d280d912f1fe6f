"""Live events for every stream of this process from ONE LISTEN connection and one tail reader per tenant.

A committing transaction runs `pg_notify('pitline_events', tenant_id)`. This process's listener wakes the
tenant's tail, which reads the new rows once and offers them to each subscriber's bounded buffer, so 500
streams cost one query per wake-up, not 500. A subscriber that falls behind (buffer full) is closed: its
client resumes from its last id (explicit backpressure; memory stays bounded whatever a slow client does).
A lost notification costs nothing: tails also re-read on a periodic tick and after the LISTEN connection
reconnects (from their own last seq, so an outage loses no event)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import asyncpg
import orjson

from hub.db import connect
from hub.sync.events_read import head_and_floor, read_page, sse_frame
from hub.sync.read_rules import ReadRule
from shared.permissions import CONFLICT_RECORD

log = logging.getLogger(__name__)

CHANNEL = "pitline_events"
REVOCATIONS_CHANNEL = "pitline_revocations"  # payload {"tenant_id", "device_id"}: close that device's streams
# {"tenant_id", "token_hash"} when an access token is revoked, re-dated or deleted (migration 0007): the streams
# opened with it are rechecked at once. That is how disabling a person or resetting their password (both revoke
# their tokens) ends their streams now, not at the next periodic recheck.
AUTH_CHANGES_CHANNEL = "pitline_auth_changes"
_TOKEN_STATE = """
SELECT t.revoked_at IS NULL AND t.expires_at > now() AS valid, COALESCE(u.disabled, false) AS disabled
FROM auth.access_tokens t LEFT JOIN auth.users u ON u.tenant_id = t.tenant_id AND u.username = t.user_id
WHERE t.token_hash = $1
"""
QUEUE_LIMIT = 10_000
TAIL_PAGE = 2_000
SAFETY_TICK_SECONDS = 5.0
LISTENER_PING_SECONDS = 2.0


GC_THRESHOLDS = (50_000, 20, 100)


def quiet_gc() -> None:
    """For a serving process, once its code is loaded: freeze what start-up made and collect less often.

    Every stream of a process shares its event loop, so a garbage collection stalls them all. With CPython's
    defaults (700, 10, 10) a hub serving 500 streams ran a young collection every few events and full ones that
    walked the ~120,000 objects of its imported code: measured 90-350 ms pauses, which were the live p99
    (`pitline bench --only live`). Frozen objects are never walked again; the higher thresholds make young
    collections rare (the per-event garbage is freed by reference counting, not by the collector)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class LiveEvent(NamedTuple):
    """One committed event as the tail read it: encoded once, shared by every stream that may see it."""

    seq: int
    site_id: str | None
    frame: bytes  # the complete SSE frame
    entity: str = ""
    about: str | None = None  # for a conflict record, the entity it is about (it is readable as that entity)


def _about(row: Any) -> str | None:
    """The entity a conflict record is about (its payload's `entity`); None for every other row."""
    if row["entity"] != CONFLICT_RECORD:
        return None
    with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
        about = orjson.loads(row["payload"]).get("entity")
        return about if isinstance(about, str) else None
    return None


@dataclass(eq=False)
class Subscription:
    """One stream's view of the live tail: a bounded buffer of rows it may see, and why it was closed."""

    tenant_id: str
    device_id: str | None
    rule: ReadRule  # the same rule the backlog and `changes` apply in SQL
    limit: int = QUEUE_LIMIT
    token_hash: bytes | None = None  # the access token it was opened with (sha256)
    reason: str = ""
    _rows: deque[LiveEvent] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: bool = False
    _timer: asyncio.TimerHandle | None = None  # wakes the stream at its heartbeat deadline

    @property
    def is_closed(self) -> bool:
        return self._closed

    def offer(self, row: LiveEvent) -> None:
        if self._closed:
            return
        if not self.rule.visible(row.site_id, row.entity, row.about):
            return
        if len(self._rows) >= self.limit:
            self._rows.clear()  # the client resumes from its last id; holding these would only cost memory
            self.close("the client fell behind the live stream; resume from the last id")
            return
        self._rows.append(row)
        self._wake.set()

    def close(self, reason: str) -> None:
        if not self._closed:
            self.reason = reason
            self._closed = True
            self._wake.set()  # a stream waiting for rows notices at once (shutdown, revocation)
        self._disarm()

    def _deadline_passed(self) -> None:
        self._timer = None  # fired: the next wait arms a new one, whatever its deadline
        self._wake.set()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def next_rows(self, wait_seconds: float) -> list[LiveEvent]:
        """Every buffered row, waiting up to `wait_seconds` for the first; [] on timeout or when closed.

        The deadline is a timer kept across calls while it stays the same (a stream asks with the time left
        to its next heartbeat): one `asyncio.timeout` per wait was a scheduled and cancelled timer per stream
        per live event, ~8% of the hub's CPU with 500 streams."""
        if not self._rows and not self._closed and wait_seconds > 0:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait_seconds
            timer = self._timer
            if timer is None or abs(timer.when() - deadline) > 0.002:
                if timer is not None:
                    timer.cancel()
                self._timer = loop.call_at(deadline, self._deadline_passed)
            await self._wake.wait()
        self._wake.clear()
        if self._closed:
            return []
        rows = list(self._rows)
        self._rows.clear()
        return rows


@dataclass(eq=False)
class _Tail:
    tenant_id: str
    last_seq: int
    subscribers: set[Subscription] = field(default_factory=set)
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    gaps: int = 0
    reads: int = 0  # queries issued: one per page per wake-up, whatever the number of subscribers


class EventFanout:
    """Per hub process: the LISTEN connection, the tenants' tail readers and their subscribers."""

    def __init__(self, pool: asyncpg.Pool, settings: Any = None, *, queue_limit: int = QUEUE_LIMIT) -> None:
        self.pool = pool
        self.queue_limit = queue_limit
        self._tails: dict[str, _Tail] = {}
        self._listener: asyncpg.Connection | None = None
        self._dsn = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._reconnecting = False
        self._stopping = False
        self._draining = False
        self._lock = asyncio.Lock()
        self._previous_handlers: dict[int, Any] = {}

    @property
    def stream_count(self) -> int:
        return sum(len(t.subscribers) for t in self._tails.values())

    def position(self, tenant_id: str) -> int | None:
        """The last seq this process's tail has read and offered to its streams of `tenant_id` (None: no tail)."""
        tail = self._tails.get(tenant_id)
        return None if tail is None else tail.last_seq

    @property
    def gaps_seen(self) -> int:
        """How many times a tail found a seq gap (must stay 0: commit order = seq order)."""
        return sum(t.gaps for t in self._tails.values())

    async def start(self, dsn: str) -> None:
        self._dsn = dsn
        await self._connect_listener()
        self._spawn(self._safety_tick(), "fanout-tick")
        self._hook_shutdown_signals()

    def drain(self) -> None:
        """Close every stream now and refuse new ones: the process is going away."""
        self._draining = True
        for tail in list(self._tails.values()):
            for sub in list(tail.subscribers):
                sub.close("the hub is shutting down; reconnect")

    async def stop(self) -> None:
        """Close every stream (clients reconnect elsewhere or after restart) and the LISTEN connection."""
        self._stopping = True
        self.drain()
        self._unhook_shutdown_signals()
        for tail in list(self._tails.values()):
            if tail.task:
                tail.task.cancel()
        for t in list(self._tasks):
            t.cancel()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.close(), 2.0)

    async def subscribe(self, tenant_id: str, device_id: str | None, rule: ReadRule, *,
                        token_hash: bytes | None = None) -> Subscription:
        """Register BEFORE reading the backlog: rows committed meanwhile are buffered, none are missed; the
        stream drops buffered rows with seq ≤ the last one it sent."""
        async with self._lock:
            tail = self._tails.get(tenant_id)
            if tail is None:
                head, _ = await head_and_floor(self.pool, tenant_id)
                tail = _Tail(tenant_id, head)
                tail.task = asyncio.create_task(self._run_tail(tail), name=f"tail-{tenant_id}")
                self._tails[tenant_id] = tail
            sub = Subscription(tenant_id, device_id, rule, limit=self.queue_limit, token_hash=token_hash)
            if self._draining:
                sub.close("the hub is shutting down; reconnect")
            tail.subscribers.add(sub)
            tail.dirty.set()  # catch anything committed between the head read and now
            return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub._disarm()
        tail = self._tails.get(sub.tenant_id)
        if tail is not None:
            tail.subscribers.discard(sub)

    def close_device(self, device_id: str, tenant_id: str | None = None) -> int:
        """Close every open stream of a revoked device on this process; returns how many were closed."""
        closed = 0
        for tail in self._tails.values():
            if tenant_id is not None and tail.tenant_id != tenant_id:
                continue
            for sub in list(tail.subscribers):
                if sub.device_id == device_id and not sub.is_closed:
                    sub.close("the device was revoked")
                    closed += 1
        return closed

    def _token_streams(self, tenant_id: str, key: bytes) -> list[Subscription]:
        tail = self._tails.get(tenant_id)
        if tail is None:
            return []
        return [sub for sub in tail.subscribers if sub.token_hash == key and not sub.is_closed]

    async def _recheck_token(self, tenant_id: str, key: bytes) -> None:
        """A token of open streams changed: close them if it no longer works (revoked, expired, deleted)."""
        try:
            row = await self.pool.fetchrow(_TOKEN_STATE, key)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("could not recheck a changed token (%s); its streams wait for their periodic recheck", exc)
            return
        if row is not None and row["valid"]:
            return  # re-dated, still good
        reason = "the user was disabled" if row is not None and row["disabled"] else "the access token was revoked"
        subs = self._token_streams(tenant_id, key)
        for sub in subs:
            sub.close(reason)
        if subs:
            log.info("closed %d stream(s): %s", len(subs), reason)

    # --- graceful shutdown ---------------------------------------------------------------------------
    def _hook_shutdown_signals(self) -> None:
        """The server (uvicorn) waits for open responses BEFORE it runs the app's shutdown, and a live stream
        never ends by itself: so streams are closed when the stop signal arrives, not only in stop()."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            self._previous_handlers[sig] = previous

            def handler(signum: int, frame: Any, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.drain)
                if callable(previous):
                    previous(signum, frame)
                elif previous == signal.SIG_DFL:  # nobody else handles it: keep the default meaning
                    signal.signal(signum, signal.SIG_DFL)
                    signal.raise_signal(signum)

            signal.signal(sig, handler)

    def _unhook_shutdown_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, previous in self._previous_handlers.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, previous)
        self._previous_handlers.clear()

    # --- tail readers ------------------------------------------------------------------------------
    async def _run_tail(self, tail: _Tail) -> None:
        while not self._stopping:
            await tail.dirty.wait()
            tail.dirty.clear()
            try:
                await self._read_tail(tail)
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("tail reader for %s failed, will retry: %s", tail.tenant_id, exc)
                await asyncio.sleep(0.5)
                tail.dirty.set()
            except Exception:  # a dead tail would silently starve every stream of the tenant
                log.exception("tail reader for %s crashed, will retry", tail.tenant_id)
                await asyncio.sleep(0.5)
                tail.dirty.set()

    async def _read_tail(self, tail: _Tail) -> None:
        while True:
            rows = await read_page(self.pool, tail.tenant_id, tail.last_seq, None, TAIL_PAGE)
            tail.reads += 1
            for row in rows:
                seq = row["seq"]
                event = LiveEvent(seq, row["site_id"], sse_frame(row, tail.tenant_id), row["entity"], _about(row))
                if seq != tail.last_seq + 1:
                    # Cannot happen while writers take the head last (commit order = seq order): say so loudly.
                    tail.gaps += 1
                    log.error("EVENT LOG GAP for tenant %s: seq %d after %d (a writer does not take the head "
                              "last?)", tail.tenant_id, seq, tail.last_seq)
                tail.last_seq = seq
                for sub in list(tail.subscribers):
                    sub.offer(event)
            if len(rows) < TAIL_PAGE:
                return

    def _wake(self, tenant_id: str) -> None:
        tail = self._tails.get(tenant_id)
        if tail is not None:
            tail.dirty.set()

    def _wake_all(self) -> None:
        for tail in self._tails.values():
            tail.dirty.set()

    # --- the LISTEN connection ----------------------------------------------------------------------
    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._wake(payload)

    def _on_revocation(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """A device was revoked (by any process or the admin CLI): close its streams here too."""
        try:
            body = orjson.loads(payload)
            tenant_id, device_id = str(body["tenant_id"]), str(body["device_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignoring a malformed revocation notice: %r", payload[:200])
            return
        closed = self.close_device(device_id, tenant_id)
        if closed:
            log.info("closed %d stream(s) of revoked device %s", closed, device_id)

    def _on_auth_change(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            body = orjson.loads(payload)
            tenant_id, token = str(body["tenant_id"]), body.get("token_hash")
            key = bytes.fromhex(str(token)) if token else None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed auth change notice: %r", payload[:200])
            return
        if key is not None and self._token_streams(tenant_id, key):
            self._spawn(self._recheck_token(tenant_id, key), "fanout-token-recheck")

    def _on_terminated(self, _conn: object) -> None:
        self._listener_lost("LISTEN connection closed")

    def _listener_lost(self, why: str) -> None:
        if self._stopping or self._reconnecting:
            return
        log.warning("%s; reconnecting", why)
        self._reconnecting = True
        self._spawn(self._reconnect(), "fanout-reconnect")

    async def _connect_listener(self) -> None:
        conn = await connect(self._dsn)
        await conn.add_listener(CHANNEL, self._on_notify)
        await conn.add_listener(REVOCATIONS_CHANNEL, self._on_revocation)
        await conn.add_listener(AUTH_CHANGES_CHANNEL, self._on_auth_change)
        conn.add_termination_listener(self._on_terminated)
        self._listener = conn

    async def _reconnect(self) -> None:
        old, self._listener = self._listener, None
        if old is not None:
            old.terminate()
        delay = 0.2
        try:
            while not self._stopping:
                try:
                    await self._connect_listener()
                    log.info("LISTEN connection restored")
                    self._wake_all()  # notifications sent while we were away are lost: re-read from last seq
                    return
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                    log.warning("LISTEN reconnect failed (%s); retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            self._reconnecting = False

    async def _ping_listener(self) -> None:
        """A half-open socket (database host gone without a FIN) never fires the termination callback."""
        conn = self._listener
        if conn is None or self._reconnecting:
            return
        try:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), LISTENER_PING_SECONDS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            self._listener_lost(f"LISTEN connection does not answer ({type(exc).__name__})")

    async def _safety_tick(self) -> None:
        while not self._stopping:
            await asyncio.sleep(SAFETY_TICK_SECONDS)
            await self._ping_listener()
            self._wake_all()
            for tenant_id, tail in list(self._tails.items()):
                if not tail.subscribers and tail.task is not None:
                    async with self._lock:
                        if not tail.subscribers:
                            tail.task.cancel()
                            self._tails.pop(tenant_id, None)
