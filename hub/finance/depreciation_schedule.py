"""Depreciation posted monthly without anyone remembering (D79): a background task of the hub that, once a month
is over, runs that month's depreciation (`run_depreciation`, D42) for every tenant with assets that has not had
it run by the schedule yet.

- The month: the last complete calendar month by the hub's clock in UTC (`last_complete_month`). A month is over
  at 00:00 UTC on the 1st; the next tick after that runs it. Late engine hours are charged by the next month (D42).
- Once: the schedule records each run as an audit entry `finance.depreciation.scheduled` (entity
  `finance.depreciation`, id the month) in the run's own transaction, and skips tenants that have it. The run is
  idempotent per asset × month anyway, so a crash between the two, or a manual run first, posts nothing twice.
- Several hub workers: each runs the loop, but a tick works only while holding a session advisory lock on its own
  connection (the session URL, not PgBouncer's transaction pool, where a session lock would not hold); a worker
  that does not get it skips that tick. Under the lock, per tenant, the run's own lock is taken first and the
  marker read under it, so even two ticks at once would run a tenant's month once.
- A closed month is not run (the run would be refused): logged once per tenant and month with the reason, and
  tried again on later ticks, so a month reopened later still runs.
- A database that is away: the loop logs the failure once and its recovery once (like home-assistant's update
  coordinator), retrying every tick meanwhile.
- Off with `PITLINE_DEPRECIATION_SCHEDULE=off`; `PITLINE_DEPRECIATION_SCHEDULE_SECONDS` is the tick (900); the
  first tick comes a minute after the start (or one tick, if shorter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from hub.audit import record_action
from hub.db import connect
from hub.finance.depreciation_run import ENTITY, result_body, run_depreciation
from hub.identity.admin import admin_principal
from shared.domain.finance_errors import FinanceError
from shared.domain.periods import Period

log = logging.getLogger("pitline.hub.finance.depreciation_schedule")
SETTING = "PITLINE_DEPRECIATION_SCHEDULE"
SECONDS_SETTING = "PITLINE_DEPRECIATION_SCHEDULE_SECONDS"
ACTION = "finance.depreciation.scheduled"
ACTOR = "hub:depreciation-schedule"
LOCK = "pitline/depreciation-schedule"
# InternalClientError: what asyncpg raises using a connection whose server went away mid-operation.
DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def schedule_setting(environ: Mapping[str, str] = os.environ) -> float | None:
    """The tick in seconds, or None when the schedule is off. An unreadable value stops the hub's start rather
    than silently running (or not running) the ledger's depreciation."""
    value = environ.get(SETTING, "on").strip().lower()
    if value in ("off", "0", "false", "no"):
        return None
    if value not in ("on", "1", "true", "yes", ""):
        raise ValueError(f"{SETTING}={environ[SETTING]!r}: write on or off")
    text = environ.get(SECONDS_SETTING, "900")
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{SECONDS_SETTING}={text!r} is not a number of seconds") from None
    if not seconds > 0:
        raise ValueError(f"{SECONDS_SETTING}={text!r} must be more than 0")
    return seconds


def last_complete_month(now: datetime) -> Period:
    first = now.astimezone(UTC).date().replace(day=1)
    before = first - timedelta(days=1)
    return Period(before.year, before.month)


@dataclass
class TickReport:
    locked: bool  # False: another worker held the schedule's lock; this tick did nothing
    period: Period | None = None
    posted: dict[str, int] = field(default_factory=dict)  # tenant -> entries posted by this tick
    closed: dict[str, str] = field(default_factory=dict)  # tenant -> why its month was not run


class DepreciationSchedule:
    def __init__(self, url: str, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 interval_seconds: float = 900.0, first_delay: float | None = None) -> None:
        self.url, self.clock, self.interval_seconds = url, clock, interval_seconds
        # The first tick waits a little (a minute, or the tick if shorter): not in the start's rush, and an app
        # built for a moment (a test, a tool) posts nothing by the wall clock.
        self.first_delay = min(interval_seconds, 60.0) if first_delay is None else first_delay
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._said_closed: set[tuple[str, Period]] = set()
        self.ticks = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="depreciation-schedule")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_conn()

    async def _run(self) -> None:
        await asyncio.sleep(self.first_delay)
        while True:
            try:
                await self.tick()
                if self._failing:
                    log.info("depreciation schedule recovered")
                    self._failing = False
            except Exception as exc:  # the loop must outlive any one tick; said once
                if not self._failing:
                    what = "cannot use the database" if isinstance(exc, DB_ERRORS) else "failed"
                    log.error("depreciation schedule %s (%s: %s); retrying every %.0f s", what, type(exc).__name__,
                              exc, self.interval_seconds, exc_info=not isinstance(exc, DB_ERRORS))
                    self._failing = True
                await self._close_conn()  # a fresh connection next tick (closing it also drops its session lock)
            await asyncio.sleep(self.interval_seconds)

    async def tick(self) -> TickReport:
        """One pass: the last complete month for every tenant with assets that the schedule has not run it for."""
        self.ticks += 1
        conn = await self._connection()
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", LOCK):
            return TickReport(locked=False)
        try:
            period = last_complete_month(self.clock())
            report = TickReport(locked=True, period=period)
            for tenant in await self._due(conn, period):
                await self._run_tenant(conn, tenant, period, report)
            return report
        finally:
            if not conn.is_closed():
                try:
                    await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", LOCK)
                except Exception:  # a broken connection: closing it releases the lock
                    await self._close_conn()

    async def _due(self, conn: asyncpg.Connection, period: Period) -> list[str]:
        # Per tenant through the records' and the audit log's primary/entity indexes, not a scan of every record.
        rows = await conn.fetch(
            "SELECT t.id FROM auth.tenants t WHERE EXISTS (SELECT 1 FROM sync.records r WHERE r.tenant_id = t.id AND "
            "r.entity = 'finance.asset' AND NOT r.deleted) AND NOT EXISTS (SELECT 1 FROM audit.log a WHERE "
            "a.tenant_id = t.id AND a.entity = $1 AND a.entity_id = $2 AND a.action = $3) ORDER BY t.id",
            ENTITY, str(period), ACTION)
        return [r["id"] for r in rows]

    async def _run_tenant(self, conn: asyncpg.Connection, tenant: str, period: Period, report: TickReport) -> None:
        try:
            async with conn.transaction():
                # The run's own per-tenant lock (re-entrant within this session), then the marker under it.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{tenant}/depreciation")
                if await conn.fetchval("SELECT true FROM audit.log WHERE tenant_id = $1 AND entity = $2 AND "
                                       "entity_id = $3 AND action = $4", tenant, ENTITY, str(period), ACTION):
                    return
                result = await run_depreciation(conn, tenant, period)  # a savepoint in this transaction
                body = result_body(result)
                await record_action(conn, admin_principal(tenant, ACTOR), ACTION, entity=ENTITY,
                                    entity_id=str(period), details={"posted": len(body["posted"]),
                                                                    "total": body["total"],
                                                                    "skipped": body["skipped"]})
        except FinanceError as exc:  # the month is closed: nothing posted, nothing recorded
            report.closed[tenant] = str(exc)
            if (tenant, period) not in self._said_closed:
                self._said_closed.add((tenant, period))
                log.warning("depreciation for %s not run for tenant %s: %s", period, tenant, exc)
            return
        report.posted[tenant] = len(result.charges)
        log.info("depreciation for %s run for tenant %s: %d posted, total %s, %d skipped", period, tenant,
                 len(result.charges), result.total, len(result.skipped))

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self.url)
        return self._conn

    async def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)
