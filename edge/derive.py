"""Business records derived from samples, queued as mutations: usage logs per completed shift, meter
corrections and breakdowns. Derived records are what the hub and the KPIs need; they are never dropped
(docs: issue 4).

Each derivation is remembered in the `derived` table, so a recompute queues only what changed: a late
sample that alters a shift's hours becomes an update of the same usage log, never a second one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pydantic

from edge.storage import quarantine, release
from shared.domain.machine_hours import (
    EngineSample,
    HoursResult,
    MeterCorrection,
    machine_hours,
    usage_log_id,
    usage_log_payload,
)
from shared.domain.shifts import ShiftPattern, shift_at
from shared.errors import ValidationError
from shared.store import LocalStore
from shared.telemetry import TelemetrySample

log = logging.getLogger(__name__)

BREAKDOWN_SEVERITIES = ("high", "critical")
ACTOR = "device:edge"
USAGE_LOG, BREAKDOWN, METER_CORRECTION = "equipment.usage_log", "equipment.breakdown", "equipment.meter_correction"


def _remembered(store: LocalStore, key: str) -> Any:
    row = store.connection.execute("SELECT value FROM derived WHERE key = ?", (key,)).fetchone()
    return None if row is None else orjson.loads(row[0])


def _put(conn: Any, key: str, value: Any) -> None:
    conn.execute("INSERT INTO derived VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (key, orjson.dumps(value).decode()))


def _remember(store: LocalStore, key: str, value: Any) -> None:
    with store.transaction() as conn:
        _put(conn, key, value)


def _equipment_ids(store: LocalStore) -> list[str]:
    """Every equipment with samples, by skipping along the primary key (cheap at millions of samples)."""
    found: list[str] = []
    current = ""
    while True:
        row = store.connection.execute("SELECT min(equipment_id) FROM samples WHERE equipment_id > ?",
                                       (current,)).fetchone()
        if row is None or row[0] is None:
            return found
        current = row[0]
        found.append(current)


def _queue_usage_log(store: LocalStore, entity_id: str, payload: dict[str, Any], site_id: str, *,
                     only_new: bool = False) -> int:
    """Queue one shift's usage log if it is new or changed (1), else 0; `only_new`: never change a log
    already derived. A log the contract refuses is quarantined with the reason and retried next round; it
    never stops the shifts and machines after it."""
    before = _remembered(store, f"usage:{entity_id}")
    if before == payload or (only_new and before is not None):
        return 0
    try:
        if before is None and store.get(USAGE_LOG, entity_id) is None:
            store.enqueue(USAGE_LOG, entity_id, "create", payload, actor=ACTOR, site_id=site_id)
        else:
            changed = {k: v for k, v in payload.items() if (before or {}).get(k) != v}
            store.enqueue(USAGE_LOG, entity_id, "update", changed, actor=ACTOR, site_id=site_id)
    except ValidationError as exc:
        log.error("usage log %s quarantined: %s", entity_id, exc)
        quarantine(store, USAGE_LOG, entity_id, payload, str(exc))
        return 0
    with store.transaction() as conn:
        _put(conn, f"usage:{entity_id}", payload)
        release(store, USAGE_LOG, entity_id)
    return 1


def derive_usage_logs(store: LocalStore, pattern: ShiftPattern, now: datetime | None = None,
                      lookback: timedelta = timedelta(days=3), max_gap: timedelta = timedelta(minutes=5)) -> int:
    """Queue a usage log for every completed shift whose hours are new or changed, and each meter change
    (`_queue_meter_correction`). Returns how many mutations were queued.

    Each equipment is recomputed over the last `lookback` (late samples correct recent shifts) and, when
    it has a backlog older than that (the agent was down for days while the broker kept the messages, or a
    machine new to this gateway), from the end of the last shift derived for it, so no shift is skipped.
    A sample stored since the last round that is older than both (`late_samples`) recomputes from its shift:
    that shift's log is updated in place (same entity id), unless the disk budget has thinned it meanwhile."""
    now = now or datetime.now(UTC)
    # From the start of a shift: a shift seen only in part would be recomputed with less than its hours.
    recent = shift_at(pattern, now - lookback).starts
    late = {str(eq): (str(ts), int(v)) for eq, ts, v in
            store.connection.execute("SELECT equipment_id, since, version FROM late_samples").fetchall()}
    queued = 0
    for equipment_id in _equipment_ids(store):
        remembered = _remembered(store, f"through:{equipment_id}")
        through = None if remembered is None else datetime.fromisoformat(remembered)
        if through is None:
            first = store.connection.execute("SELECT min(ts) FROM samples WHERE equipment_id = ?",
                                             (equipment_id,)).fetchone()[0]
            since = min(recent, shift_at(pattern, datetime.fromisoformat(first)).starts)
        else:
            since = min(recent, shift_at(pattern, through - timedelta(seconds=1)).starts)
        thinned = None
        if equipment_id in late:
            late_start = shift_at(pattern, datetime.fromisoformat(late[equipment_id][0])).starts
            if late_start < since:
                since, thinned = late_start, _thinned_until(store, equipment_id)
        rows = store.connection.execute(
            "SELECT ts, engine_on, working, hour_meter, site_id FROM samples WHERE equipment_id = ? AND ts >= ? "
            "ORDER BY ts", (equipment_id, since.astimezone(UTC).isoformat())).fetchall()
        if not rows:
            continue
        site_id = rows[-1][4]
        samples = [EngineSample(datetime.fromisoformat(r[0]), bool(r[1]), r[2] is None or bool(r[2]), r[3])
                   for r in rows]
        result = machine_hours(samples, pattern, max_gap=max_gap)
        for hours in sorted(result.shifts.values(), key=lambda h: h.shift.starts.timestamp()):
            if hours.shift.ends > now:
                continue  # not over yet
            # A shift the budget thinned keeps the log it has: recomputed from fewer samples it would lose hours.
            keep = thinned is not None and hours.shift.starts < thinned
            queued += _queue_usage_log(store, usage_log_id(equipment_id, hours.shift),
                                       usage_log_payload(equipment_id, hours), site_id, only_new=keep)
        done = [h.shift.ends for h in result.shifts.values() if h.shift.ends <= now]
        if done and (through is None or max(done) > through):
            _remember(store, f"through:{equipment_id}", max(done).astimezone(UTC).isoformat())
        for correction in result.corrections:
            queued += _queue_meter_correction(store, pattern, equipment_id, correction, result, now, site_id)
    if late:
        with store.transaction() as conn:  # a mark written after the read above stays for the next round
            conn.executemany("DELETE FROM late_samples WHERE equipment_id = ? AND version = ?",
                             [(eq, version) for eq, (_, version) in late.items()])
    return queued


def _queue_meter_correction(store: LocalStore, pattern: ShiftPattern, equipment_id: str,
                            correction: MeterCorrection, result: HoursResult, now: datetime, site_id: str) -> int:
    """Queue a meter that went backwards as an `equipment.meter_correction` for the hub and PM (1), once the
    shift it happened in is over and still ends below the old reading: one bad sample is not a new meter."""
    shift = shift_at(pattern, correction.ts)
    hours = result.shifts.get(shift.key)
    entity_id = f"{equipment_id}:{correction.ts.isoformat()}:meter"
    if shift.ends > now or hours is None or hours.meter_end is None or hours.meter_end >= correction.before \
            or store.get(METER_CORRECTION, entity_id) is not None:
        return 0
    payload = {"equipment_id": equipment_id, "shift_date": shift.shift_date.isoformat(), "shift": shift.name,
               "at": correction.ts.isoformat(), "before": correction.before, "after": correction.after,
               "source": "telematics"}
    try:
        store.enqueue(METER_CORRECTION, entity_id, "create", payload, actor=ACTOR, site_id=site_id)
    except ValidationError as exc:
        log.error("meter correction %s quarantined: %s", entity_id, exc)
        quarantine(store, METER_CORRECTION, entity_id, payload, str(exc))
        return 0
    with store.transaction():
        release(store, METER_CORRECTION, entity_id)
    return 1


def _thinned_until(store: LocalStore, equipment_id: str) -> datetime | None:
    """The end of the latest period of this equipment's samples the disk budget removed or thinned."""
    row = store.connection.execute("SELECT max(period_end) FROM budget_events WHERE kind = 'samples' "
                                   "AND equipment_id = ?", (equipment_id,)).fetchone()
    return None if row[0] is None else datetime.fromisoformat(row[0])


def _queue_breakdown(store: LocalStore, entity_id: str, op: str, payload: dict[str, Any], site_id: str) -> bool:
    try:
        store.enqueue(BREAKDOWN, entity_id, op, payload, actor=ACTOR, site_id=site_id)
    except ValidationError as exc:
        log.error("breakdown %s (%s) quarantined: %s", entity_id, op, exc)
        quarantine(store, BREAKDOWN, entity_id, {"op": op, **payload}, str(exc))
        return False
    return True


def derive_breakdowns(store: LocalStore) -> int:
    """Open a breakdown on a severe fault code or a breakdown flag; close it when the machine works again."""
    cursor = _remembered(store, "breakdowns:cursor") or ""
    rows = store.connection.execute(
        "SELECT equipment_id, ts, site_id, body FROM samples WHERE ts > ? ORDER BY ts", (cursor,)).fetchall()
    queued = 0
    for equipment_id, ts, site_id, body in rows:
        cursor = ts
        try:
            sample = TelemetrySample.model_validate_json(body)
        except pydantic.ValidationError as exc:  # stored by a laxer version: skipped, not a stop for the rest
            first = exc.errors()[0]
            reason = f"stored sample unreadable: {'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}"
            # One row per machine (the latest, `times` counts them): a bad feed must not flood the operator.
            quarantine(store, "edge.sample", equipment_id, {"ts": ts, "body": body[:4096]}, reason)
            continue
        open_key = f"breakdown-open:{equipment_id}"
        current = _remembered(store, open_key)
        severe = [f for f in sample.fault_codes if f.severity in BREAKDOWN_SEVERITIES]
        if current is None and (severe or (sample.breakdown and sample.engine_status == "off")):
            entity_id = f"{equipment_id}:{ts}"
            fault = severe[0] if severe else None
            payload = {"equipment_id": equipment_id, "started_at": ts, "source": "telematics",
                       "fault_code": fault.code if fault else "operator-flag",
                       "severity": fault.severity if fault else "high", "cause": "reported by telematics"}
            if _queue_breakdown(store, entity_id, "create", payload, site_id):
                _remember(store, open_key, entity_id)
                queued += 1
        elif current is not None and sample.engine_status == "on" and sample.working and not severe:
            if _queue_breakdown(store, current, "update", {"ended_at": ts}, site_id):
                queued += 1
            with store.transaction() as conn:  # a close that could not be queued must not hold the next open
                conn.execute("DELETE FROM derived WHERE key = ?", (open_key,))
    if rows:
        _remember(store, "breakdowns:cursor", cursor)
    return queued
