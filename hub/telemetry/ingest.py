"""Load one TelemetryBatch: exactly once per batch id, each point once per (tenant, equipment, metric, ts).

One transaction holds the batch row and the points: the batch row is inserted first (a concurrent
retry of the same batch waits on it, then replays the committed answer), then the points are loaded and
the batch row records how many were new. A replayed batch gets the original answer, whatever it carries now.

Loading (`method`, measured in docs/benchmarks.md):
- "copy" (default): COPY straight into telemetry.samples inside a savepoint. Almost every batch is all
  new points, and then this is a raw COPY. If any point is already stored (or repeated in the batch) the
  unique index refuses the COPY, the savepoint is rolled back and the batch goes the "staging" way.
- "staging": COPY into a temporary table, then INSERT … SELECT … ON CONFLICT DO NOTHING.
- "unnest": one INSERT … SELECT FROM unnest(four arrays) ON CONFLICT DO NOTHING, no COPY."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg

from hub.errors import Conflict
from hub.telemetry import partitions
from hub.telemetry.config import TelemetrySettings
from shared.telemetry import TelemetryAck, TelemetryBatch

Method = Literal["copy", "staging", "unnest"]
Record = tuple[str, str, datetime, float]


@dataclass
class Sorted:
    """A batch's points split by what the hub does with them."""

    records: list[Record]
    months: set[Any]
    expired: int
    future: int


def sort_points(batch: TelemetryBatch, settings: TelemetrySettings, now: datetime) -> Sorted:
    floor_ts: datetime | None = None
    if settings.retention_months > 0:
        floor = partitions.add_months(partitions.month_of(now), -settings.retention_months)
        floor_ts = datetime(floor.year, floor.month, 1, tzinfo=UTC)
    ceiling = now + timedelta(hours=settings.future_hours)
    samples = batch.samples
    if not samples:
        return Sorted([], set(), 0, 0)
    stamps = [p["ts"] for p in samples]
    lo, hi = min(stamps), max(stamps)
    if (floor_ts is None or lo >= floor_ts) and hi <= ceiling:  # the usual batch: every point is kept
        records = [(p["equipment_id"], p["metric"], p["ts"], p["value"]) for p in samples]
        return Sorted(records, _months_between(lo, hi), 0, 0)
    records = []
    expired = future = 0
    for p in samples:
        ts = p["ts"]
        if floor_ts is not None and ts < floor_ts:
            expired += 1
        elif ts > ceiling:
            future += 1
        else:
            records.append((p["equipment_id"], p["metric"], ts, p["value"]))
    months = _months_between(min(r[2] for r in records), max(r[2] for r in records)) if records else set()
    return Sorted(records, months, expired, future)


def _months_between(lo: datetime, hi: datetime) -> set[Any]:
    """Every month from lo's to hi's: a month in between with no point gets its (empty) partition too."""
    month, last = partitions.month_of(lo), partitions.month_of(hi)
    months = set()
    while month <= last:
        months.add(month)
        month = partitions.add_months(month, 1)
    return months


_BATCH = "SELECT device_id, accepted, duplicates, expired, future FROM telemetry.batches " \
         "WHERE tenant_id = $1 AND batch_id = $2"


def _ack(batch_id: str, row: asyncpg.Record, device_id: str) -> TelemetryAck:
    if row["device_id"] != device_id:
        raise Conflict(f"batch {batch_id} was already sent by another device", code="batch_id_taken")
    return TelemetryAck(batch_id=batch_id, accepted=row["accepted"], duplicates=row["duplicates"],
                        expired=row["expired"], future=row["future"])


async def ingest(pool: asyncpg.Pool, tenant_id: str, batch: TelemetryBatch, settings: TelemetrySettings, *,
                 method: Method = "copy", now: datetime | None = None) -> tuple[TelemetryAck, bool]:
    """Store a batch; returns (answer, replayed)."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_BATCH, tenant_id, batch.batch_id)
        if row is not None:
            return _ack(batch.batch_id, row, batch.device_id), True
        sorted_points = sort_points(batch, settings, now)
        for attempt in (1, 2):
            await partitions.ensure_months(conn, sorted_points.months)
            try:
                return await _load(conn, tenant_id, batch, sorted_points, method, now)
            except asyncpg.CheckViolationError as exc:
                if "no partition" not in str(exc) or attempt == 2:
                    raise
                partitions.forget()  # another process's retention dropped a month we thought existed
    raise AssertionError("unreachable")


async def _load(conn: asyncpg.Connection, tenant_id: str, batch: TelemetryBatch, points: Sorted, method: Method,
                now: datetime) -> tuple[TelemetryAck, bool]:
    async with conn.transaction():
        inserted = await conn.fetchval(
            """INSERT INTO telemetry.batches (tenant_id, batch_id, device_id, site_id, received_at, points)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, batch_id) DO NOTHING RETURNING 1""",
            tenant_id, batch.batch_id, batch.device_id, batch.site_id, now, len(batch.samples))
        if inserted is None:  # the same batch committed by a concurrent request a moment ago
            row = await conn.fetchrow(_BATCH, tenant_id, batch.batch_id)
            return _ack(batch.batch_id, row, batch.device_id), True
        if method == "copy":
            accepted = await _copy_or_stage(conn, tenant_id, batch.site_id, points.records)
        elif method == "staging":
            accepted = await _stage(conn, tenant_id, batch.site_id, points.records)
        else:
            accepted = await _unnest(conn, tenant_id, batch.site_id, points.records)
        ack = TelemetryAck(batch_id=batch.batch_id, accepted=accepted, duplicates=len(points.records) - accepted,
                           expired=points.expired, future=points.future)
        await conn.execute(
            """UPDATE telemetry.batches SET accepted = $3, duplicates = $4, expired = $5, future = $6
               WHERE tenant_id = $1 AND batch_id = $2""",
            tenant_id, batch.batch_id, ack.accepted, ack.duplicates, ack.expired, ack.future)
        await _report_status(conn, tenant_id, batch, now)
    return ack, False


_COLUMNS = ("tenant_id", "equipment_id", "metric", "ts", "value", "site_id")


async def _copy_or_stage(conn: asyncpg.Connection, tenant_id: str, site_id: str, records: list[Record]) -> int:
    if not records:
        return 0
    try:
        async with conn.transaction():  # a savepoint: a refused COPY leaves the batch row in place
            await conn.copy_records_to_table(
                "samples", schema_name="telemetry", columns=_COLUMNS,
                records=[(tenant_id, e, m, t, v, site_id) for e, m, t, v in records])
        return len(records)
    except asyncpg.UniqueViolationError:
        return await _stage(conn, tenant_id, site_id, records)


async def _stage(conn: asyncpg.Connection, tenant_id: str, site_id: str, records: list[Record]) -> int:
    if not records:
        return 0
    await conn.execute("""CREATE TEMP TABLE telemetry_staging (equipment_id text, metric text, ts timestamptz,
                          value double precision) ON COMMIT DROP""")
    await conn.copy_records_to_table("telemetry_staging", records=records)
    status = await conn.execute(
        """INSERT INTO telemetry.samples (tenant_id, equipment_id, metric, ts, value, site_id)
           SELECT $1, equipment_id, metric, ts, value, $2 FROM telemetry_staging
           ON CONFLICT DO NOTHING""", tenant_id, site_id)
    return int(status.split()[-1])


async def _unnest(conn: asyncpg.Connection, tenant_id: str, site_id: str, records: list[Record]) -> int:
    if not records:
        return 0
    equipment, metric, ts, value = (list(c) for c in zip(*records, strict=True))
    status = await conn.execute(
        """INSERT INTO telemetry.samples (tenant_id, equipment_id, metric, ts, value, site_id)
           SELECT $1, e, m, t, v, $2
           FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::float8[]) AS u(e, m, t, v)
           ON CONFLICT DO NOTHING""", tenant_id, site_id, equipment, metric, ts, value)
    return int(status.split()[-1])


async def _report_status(conn: asyncpg.Connection, tenant_id: str, batch: TelemetryBatch, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO telemetry.device_status AS s (tenant_id, device_id, reported_at, last_batch_id, pending_samples,
                                                   outbox_depth, disk_bytes)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, device_id) DO UPDATE SET reported_at = EXCLUDED.reported_at,
             last_batch_id = EXCLUDED.last_batch_id,
             pending_samples = COALESCE(EXCLUDED.pending_samples, s.pending_samples),
             outbox_depth = COALESCE(EXCLUDED.outbox_depth, s.outbox_depth),
             disk_bytes = COALESCE(EXCLUDED.disk_bytes, s.disk_bytes)""",
        tenant_id, batch.device_id, now, batch.batch_id, batch.pending_samples, batch.outbox_depth, batch.disk_bytes)
