"""The edge agent's own tables in its encrypted store: raw samples, dead letters, derived state, quarantine."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from edge.decode import SampleRow, sample_row
from shared.store import LocalStore
from shared.telemetry import TelemetrySample

EDGE_STEPS = [
    """
    CREATE TABLE samples (
        equipment_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        site_id TEXT NOT NULL,
        engine_on INTEGER NOT NULL,
        working INTEGER,
        hour_meter REAL,
        body TEXT NOT NULL,
        PRIMARY KEY (equipment_id, ts)
    ) WITHOUT ROWID;
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE derived (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # A redelivered bad message (the broker never got our PUBACK) is one dead letter, received twice.
    """
    ALTER TABLE dead_letters ADD COLUMN digest TEXT;
    ALTER TABLE dead_letters ADD COLUMN times INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE dead_letters ADD COLUMN last_received_at TEXT;
    UPDATE dead_letters SET digest = 'legacy-' || id;
    CREATE UNIQUE INDEX dead_letters_digest ON dead_letters (digest);
    """,
    # A derived record (or a stored sample) that cannot be queued: held here with the reason for a person, so
    # the records after it still go. A usage log is retried while its shift is recomputed and leaves once it
    # goes through. One row per record, however often it failed.
    """
    CREATE TABLE quarantine (
        entity TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        reason TEXT NOT NULL,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        times INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (entity, entity_id)
    );
    """,
    # A dead letter keeps its first DEAD_LETTER_PREFIX bytes; `size` is how large the message was.
    """
    ALTER TABLE dead_letters ADD COLUMN size INTEGER;
    UPDATE dead_letters SET size = length(payload);
    """,
    # Per equipment, the oldest sample written since derivation last looked (edge/derive.py): a sample that
    # arrives days late still recomputes its shift. `version` tells derivation whether a write came after
    # its read, so it never clears a mark it has not acted on.
    """
    CREATE TABLE late_samples (equipment_id TEXT PRIMARY KEY, since TEXT NOT NULL, version INTEGER NOT NULL)
        WITHOUT ROWID;
    """,
]
DEAD_LETTER_PREFIX = 4096
"""Bytes of a dead letter's payload kept: enough to see what sent it, never a 5 MB message per row."""


def prepare(store: LocalStore) -> None:
    store.migrate("edge", EDGE_STEPS)
    store.migrate("edge-uplink", UPLINK_STEPS)
    store.migrate("edge-budget", BUDGET_STEPS)


def write_batch(store: LocalStore, samples: list[tuple[str, str, TelemetrySample]],
                dead: list[tuple[str, bytes, str]]) -> int:
    """One transaction for a batch of validated samples; see write_rows."""
    return write_rows(store, [sample_row(site, eq, s) for site, eq, s in samples], dead)


def write_rows(store: LocalStore, rows: list[SampleRow], dead: list[tuple[str, bytes, str]]) -> int:
    """One transaction for a batch of messages; duplicates (same equipment and ts) are ignored.
    Returns how many samples were new."""
    now = datetime.now(UTC).isoformat()
    with store.transaction() as conn:
        before = conn.total_changes()
        conn.executemany(
            "INSERT OR IGNORE INTO samples (equipment_id, ts, site_id, engine_on, working, hour_meter, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        new = conn.total_changes() - before
        oldest: dict[str, str] = {}
        for row in rows:
            ts = row[1]
            if ts < oldest.setdefault(row[0], ts):
                oldest[row[0]] = ts
        conn.executemany("""INSERT INTO late_samples VALUES (?, ?, 1) ON CONFLICT (equipment_id) DO UPDATE
                            SET since = min(since, excluded.since), version = version + 1""", oldest.items())
        if dead:
            conn.executemany(
                """INSERT INTO dead_letters (received_at, topic, payload, reason, digest, last_received_at, size)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (digest) DO UPDATE SET times = times + 1,
                     last_received_at = excluded.last_received_at""",
                [(now, topic, payload[:DEAD_LETTER_PREFIX], reason, _digest(topic, payload), now, len(payload))
                 for topic, payload, reason in dead])
    return int(new)


def _digest(topic: str, payload: bytes) -> str:
    return hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest()


def quarantine(store: LocalStore, entity: str, entity_id: str, payload: Any, reason: str) -> None:
    """Hold one record that cannot be queued (see EDGE_STEPS); the next ones go on."""
    now = datetime.now(UTC).isoformat()
    with store.transaction() as conn:
        conn.execute("""INSERT INTO quarantine (entity, entity_id, payload, reason, first_at, last_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (entity, entity_id) DO UPDATE SET payload = excluded.payload,
                          reason = excluded.reason, last_at = excluded.last_at, times = times + 1""",
                     (entity, entity_id, orjson.dumps(payload).decode(), reason[:1000], now, now))


def release(store: LocalStore, entity: str, entity_id: str) -> None:
    """A record that went through after all is no longer held (call inside store.transaction())."""
    store.connection.execute("DELETE FROM quarantine WHERE entity = ? AND entity_id = ?", (entity, entity_id))


def status(store: LocalStore) -> dict[str, Any]:
    conn = store.connection
    last = conn.execute("SELECT max(ts) FROM samples").fetchone()[0]
    reasons = conn.execute("SELECT reason, count(*) FROM dead_letters GROUP BY reason ORDER BY 2 DESC LIMIT 5")
    return {
        "samples": conn.execute("SELECT count(*) FROM samples").fetchone()[0],
        "equipment": conn.execute("SELECT count(DISTINCT equipment_id) FROM samples").fetchone()[0],
        "last_sample_at": last,
        "dead_letters": conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0],
        "dead_letter_reasons": {r: n for r, n in reasons},
        "quarantined": conn.execute("SELECT count(*) FROM quarantine").fetchone()[0],
        "quarantine_reasons": {r: n for r, n in conn.execute(
            "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC LIMIT 5")},
        "outbox_depth": store.outbox_depth(),
        "cursor": store.cursor,
    }


# --- Uplink of raw samples to the hub (edge/uplink.py) ------------------------------------------------
# Its own migration module ("edge-uplink"), so its steps never interleave with EDGE_STEPS.
# samples.uplink_batch: NULL = not yet in a batch; else the batch that carries it. A sample is *sent* once
# its batch has acked_at set (the hub committed it). uplink_batches keeps each batch's compressed body
# until the hub acknowledges it, so a retry after a crash sends the same batch id and the same bytes.
UPLINK_STEPS = [
    """
    ALTER TABLE samples ADD COLUMN uplink_batch TEXT;
    CREATE INDEX samples_unsent ON samples (ts, equipment_id) WHERE uplink_batch IS NULL;
    CREATE TABLE uplink_batches (
        batch_id TEXT PRIMARY KEY,
        site_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        samples INTEGER NOT NULL,
        points INTEGER NOT NULL,
        body BLOB,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        acked_at TEXT,
        accepted INTEGER,
        duplicates INTEGER,
        rejected_at TEXT
    );
    CREATE INDEX uplink_batches_open ON uplink_batches (created_at) WHERE acked_at IS NULL AND rejected_at IS NULL;
    """,
    # The index also holds uplink_batch (always NULL in it), so "how many are unsent" is read from the index
    # alone: SQLite does not drop the WHERE term a partial index implies, and checked it row by row in the
    # table (a 4.3 M-sample backlog: 163 s per count, every 30 s in the uplink and on every status write).
    """
    DROP INDEX samples_unsent;
    CREATE INDEX samples_unsent ON samples (ts, equipment_id, uplink_batch) WHERE uplink_batch IS NULL;
    """,
]


def unsent_samples(store: LocalStore, limit: int) -> list[tuple[str, str, str, str]]:
    """(site_id, equipment_id, ts, body) of the oldest samples in no batch yet, one site at a time."""
    conn = store.connection
    first = conn.execute("SELECT site_id FROM samples WHERE uplink_batch IS NULL ORDER BY ts LIMIT 1").fetchone()
    if first is None:
        return []
    rows = conn.execute("""SELECT site_id, equipment_id, ts, body FROM samples WHERE uplink_batch IS NULL
                           AND site_id = ? ORDER BY ts, equipment_id LIMIT ?""", (first[0], limit))
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def save_uplink_batch(store: LocalStore, batch_id: str, site_id: str, keys: list[tuple[str, str]], points: int,
                      body: bytes) -> None:
    """Record a batch and claim its samples (call inside store.transaction(), with the read that chose them)."""
    conn = store.connection
    conn.execute("INSERT INTO uplink_batches (batch_id, site_id, created_at, samples, points, body) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 (batch_id, site_id, datetime.now(UTC).isoformat(), len(keys), points, body))
    conn.executemany("UPDATE samples SET uplink_batch = ? WHERE equipment_id = ? AND ts = ?",
                     [(batch_id, eq, ts) for eq, ts in keys])


def mark_unsendable(store: LocalStore, equipment_id: str, ts: str) -> None:
    """A stored sample this version cannot turn into points: never offered again (inside a transaction)."""
    store.connection.execute("UPDATE samples SET uplink_batch = 'unsendable' WHERE equipment_id = ? AND ts = ?",
                             (equipment_id, ts))


def open_uplink_batches(store: LocalStore, limit: int = 1) -> list[tuple[str, bytes]]:
    """(batch_id, body) of batches made but not yet acknowledged, oldest first."""
    rows = store.connection.execute(
        "SELECT batch_id, body FROM uplink_batches WHERE acked_at IS NULL AND rejected_at IS NULL "
        "ORDER BY created_at LIMIT ?", (limit,))
    return [(str(r[0]), bytes(r[1])) for r in rows]


def mark_uplink_sent(store: LocalStore, batch_id: str, accepted: int, duplicates: int) -> None:
    """The hub committed the batch: its samples count as sent and the stored body is dropped."""
    with store.transaction() as conn:
        conn.execute("UPDATE uplink_batches SET acked_at = ?, accepted = ?, duplicates = ?, body = NULL "
                     "WHERE batch_id = ?", (datetime.now(UTC).isoformat(), accepted, duplicates, batch_id))


def mark_uplink_failed(store: LocalStore, batch_id: str, error: str, *, final: bool) -> None:
    """A failed attempt; `final` (the hub refused it for good) parks the batch for a person to look at."""
    with store.transaction() as conn:
        conn.execute("UPDATE uplink_batches SET attempts = attempts + 1, last_error = ?, rejected_at = ? "
                     "WHERE batch_id = ?", (error[:500], datetime.now(UTC).isoformat() if final else None, batch_id))


def uplink_status(store: LocalStore) -> dict[str, Any]:
    conn = store.connection
    unsent = conn.execute("SELECT count(*) FROM samples WHERE uplink_batch IS NULL").fetchone()[0]
    row = conn.execute(
        """SELECT count(*) FILTER (WHERE acked_at IS NULL AND rejected_at IS NULL),
                  count(*) FILTER (WHERE rejected_at IS NOT NULL), coalesce(sum(accepted), 0), max(acked_at)
           FROM uplink_batches""").fetchone()
    return {"uplink_unsent_samples": unsent, "uplink_open_batches": row[0], "uplink_rejected_batches": row[1],
            "uplink_points_accepted": row[2], "uplink_last_ack_at": row[3]}


# --- Disk budget (edge/budget.py) ----------------------------------------------------------------------
# Its own migration module ("edge-budget"). One row per removal: which equipment, which period
# [period_start, period_end), the resolution kept (one sample per keep_every_minutes; 0 = all removed),
# whether the removed samples had been acknowledged by the hub, and how many.
BUDGET_STEPS = [
    """
    CREATE TABLE budget_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        equipment_id TEXT NOT NULL,
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        keep_every_minutes INTEGER NOT NULL,
        sent INTEGER NOT NULL,
        removed INTEGER NOT NULL
    );
    """,
    # kind 'dead_letters': the oldest dead letters past their share (equipment_id '', period: received_at).
    "ALTER TABLE budget_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'samples';",
]
