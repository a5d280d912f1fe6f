"""The edge agent's own tables in its encrypted store: raw samples, dead letters, derived state."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

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
]


def prepare(store: LocalStore) -> None:
    store.migrate("edge", EDGE_STEPS)


def write_batch(store: LocalStore, samples: list[tuple[str, str, TelemetrySample]],
                dead: list[tuple[str, bytes, str]]) -> int:
    """One transaction for a batch of messages; duplicates (same equipment and ts) are ignored.
    Returns how many samples were new."""
    now = datetime.now(UTC).isoformat()
    with store.transaction() as conn:
        before = conn.total_changes()
        conn.executemany(
            "INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(eq, s.ts.isoformat(), site, int(s.engine_status == "on"),
              None if s.working is None else int(s.working), s.hour_meter, s.model_dump_json())
             for site, eq, s in samples],
        )
        new = conn.total_changes() - before
        if dead:
            conn.executemany(
                """INSERT INTO dead_letters (received_at, topic, payload, reason, digest, last_received_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (digest) DO UPDATE SET times = times + 1,
                     last_received_at = excluded.last_received_at""",
                [(now, topic, payload, reason, _digest(topic, payload), now) for topic, payload, reason in dead])
    return int(new)


def _digest(topic: str, payload: bytes) -> str:
    return hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest()


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
        "outbox_depth": store.outbox_depth(),
        "cursor": store.cursor,
    }
