"""The disk budget on a real encrypted store: past it, acknowledged samples are thinned and dropped first,
unsent ones only when no acknowledged one is left, oldest first; the outbox, the derived state and the
samples derivation may still read are never touched; every removal is recorded."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge import storage
from edge.budget import (
    DERIVE_LOOKBACK,
    Budget,
    budget_status,
    enforce,
    ensure_incremental_vacuum,
    file_bytes,
    used_bytes,
)
from edge.derive import derive_breakdowns, derive_usage_logs
from edge.simulator import fleet, samples
from shared.domain.shifts import ShiftPattern, shift_at
from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider
from shared.telemetry import TelemetrySample

KEY = PassphraseKeyProvider("budget test", n=2**10)
PATTERN = ShiftPattern("UTC")
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
OLD_START = NOW - timedelta(days=12)  # nine old days (before the derive lookback), then the recent ones
STEP = timedelta(seconds=60)
WINDOW = shift_at(PATTERN, NOW - DERIVE_LOOKBACK).starts.isoformat()  # derivation still reads from here


def open_store(path: Path) -> LocalStore:
    store = LocalStore.open(path, KEY)
    storage.prepare(store)
    ensure_incremental_vacuum(store)
    if store.identity is None:
        store.set_identity(DeviceIdentity("gw-1", "t-budget", "north"))
    return store


def fill(store: LocalStore, start: datetime = OLD_START) -> None:
    rnd = random.Random(7)
    made = samples(fleet(2, rnd), start, int((NOW - start).total_seconds() // 60), rnd, step=STEP)
    rows = [("north", eq, TelemetrySample.model_validate(p)) for eq, p in made]
    for i in range(0, len(rows), 10_000):
        storage.write_batch(store, rows[i:i + 10_000], [])


def ack_before(store: LocalStore, until: datetime) -> int:
    """The samples before `until` went to the hub in batches it acknowledged (the uplink's own bookkeeping)."""
    keys = store.connection.execute("SELECT equipment_id, ts FROM samples WHERE ts < ? ORDER BY ts",
                                    (until.isoformat(),)).fetchall()
    for i in range(0, len(keys), 20_000):
        batch = f"batch-{i}"
        with store.transaction():
            storage.save_uplink_batch(store, batch, "north", keys[i:i + 20_000], 0, b"")
        storage.mark_uplink_sent(store, batch, 1, 0)
    return len(keys)


def count(store: LocalStore, where: str = "1", *args: object) -> int:
    return int(store.connection.execute(f"SELECT count(*) FROM samples WHERE {where}", args).fetchone()[0])


ACKED = "uplink_batch IN (SELECT batch_id FROM uplink_batches WHERE acked_at IS NOT NULL)"
UNSENT = f"NOT coalesce({ACKED}, 0)"  # in no batch, or in one the hub has not acknowledged


def snapshot(store: LocalStore) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    conn = store.connection
    return (conn.execute("SELECT * FROM outbox ORDER BY device_seq").fetchall(),
            conn.execute("SELECT * FROM derived ORDER BY key").fetchall(),
            conn.execute("SELECT * FROM records ORDER BY entity, entity_id").fetchall())


def test_past_the_budget_acked_samples_go_first_then_the_oldest_unsent_and_derived_records_stay(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "gw.db")
    fill(store)
    assert derive_usage_logs(store, PATTERN, now=NOW) > 0
    derive_breakdowns(store)
    acked = ack_before(store, OLD_START + timedelta(days=6))
    total, unsent = count(store), count(store, f"{UNSENT}")
    recent = count(store, "ts >= ?", WINDOW)
    before = snapshot(store)
    assert before[0] and acked > 0 and recent > 0

    # Past the budget: thinning what the hub has is enough.
    budget = Budget(int(used_bytes(store) * 0.8))
    report = enforce(store, budget, PATTERN, now=NOW)
    assert report.removed[True] > 0 and report.removed[False] == 0 and not report.over
    assert file_bytes(store) < budget.limit_bytes and used_bytes(store) <= budget.low * budget.limit_bytes
    assert count(store, f"{UNSENT}") == unsent  # every unsent sample kept
    assert count(store) == total - report.removed[True]
    assert snapshot(store) == before  # outbox, derived state and replica untouched
    events = store.connection.execute(
        "SELECT equipment_id, period_start, period_end, keep_every_minutes, sent, removed FROM budget_events"
    ).fetchall()
    assert events and all(e[4] == 1 for e in events) and sum(e[5] for e in events) == report.removed[True]
    assert min(e[1] for e in events) == OLD_START.replace(hour=0).isoformat()  # the oldest day first
    # One sample per equipment per 5 minutes is what the first step keeps (here: in the oldest day).
    per_bucket = store.connection.execute(
        f"SELECT max(n) FROM (SELECT count(*) AS n FROM samples WHERE {ACKED} AND ts < ? "
        "GROUP BY equipment_id, unixepoch(ts) / 300)", ((OLD_START + timedelta(days=1)).replace(hour=0).isoformat(),)
    ).fetchone()[0]
    assert per_bucket == 1
    shown = budget_status(store, budget)
    assert shown["budget_removed_sent"] == report.removed[True] and shown["budget_removed_unsent"] == 0
    assert shown["disk_bytes"] < budget.limit_bytes

    # A much smaller budget: every acknowledged sample goes before any unsent one, then the oldest unsent.
    small = Budget(int(used_bytes(store) * 0.85))
    again = enforce(store, small, PATTERN, now=NOW)
    assert again.removed[True] > 0 and again.removed[False] > 0 and not again.over
    assert count(store, ACKED) == 0
    assert count(store, f"{UNSENT} AND ts < ?", WINDOW) > 0  # not every unsent sample was needed
    assert file_bytes(store) < small.limit_bytes
    order = store.connection.execute("SELECT id, sent, period_start FROM budget_events ORDER BY id").fetchall()
    last_sent = max(i for i, s, _ in order if s == 1)
    assert all(i > last_sent for i, s, _ in order if s == 0)
    unsent_periods = sorted({p for _, s, p in order if s == 0})
    assert unsent_periods[0] == (OLD_START + timedelta(days=6)).replace(hour=0).isoformat()  # oldest unsent day
    assert count(store, "ts >= ?", WINDOW) == recent  # derivation's window kept
    assert snapshot(store) == before
    shown = budget_status(store, small)
    assert shown["budget_removed_unsent"] == again.removed[False]
    assert shown["budget_removed_sent"] == report.removed[True] + again.removed[True]

    # A budget nothing safe can meet: everything outside derivation's reach goes, the rest stays, and it says so.
    tiny = enforce(store, Budget(1024 * 1024), PATTERN, now=NOW)
    assert tiny.over
    assert count(store, "ts >= ?", WINDOW) == recent
    assert snapshot(store) == before
    store.close()


def test_under_the_high_mark_nothing_is_removed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "gw.db")
    fill(store, NOW - timedelta(days=5))
    derive_usage_logs(store, PATTERN, now=NOW)
    derive_breakdowns(store)
    total = count(store)
    report = enforce(store, Budget(int(used_bytes(store) / 0.89)), PATTERN, now=NOW)
    assert report.removed == {True: 0, False: 0} and count(store) == total
    assert store.connection.execute("SELECT count(*) FROM budget_events").fetchone()[0] == 0
    store.close()


def test_dead_letters_count_in_the_budget_and_past_their_share_the_oldest_go(tmp_path: Path) -> None:
    """A feed of distinct bad messages (each kept as a bounded 4 KiB prefix) must not fill the disk."""
    store = open_store(tmp_path / "gw.db")
    for batch in range(6):
        storage.write_batch(store, [], [(f"site/north/equipment/DT{n:04}/telemetry", f"{n:06}".encode() * 1000,
                                         "payload is not JSON") for n in range(batch * 500, batch * 500 + 500)])
    letters = store.connection.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    used = used_bytes(store)
    assert letters == 3000 and used > 12_000_000
    budget = Budget(used // 2)
    assert budget_status(store, budget)["dead_letter_bytes"] > budget.dead_letter_share * budget.limit_bytes
    report = enforce(store, budget, PATTERN, now=NOW)
    shown = budget_status(store, budget)
    kept = store.connection.execute("SELECT min(id), count(*) FROM dead_letters").fetchone()
    assert not report.over and used_bytes(store) <= budget.low * budget.limit_bytes
    assert shown["dead_letter_bytes"] <= budget.dead_letter_share * budget.limit_bytes
    assert shown["budget_removed_dead_letters"] == letters - kept[1] > 0 and kept[0] > 1  # the oldest went
    assert shown["budget_removed_sent"] == shown["budget_removed_unsent"] == 0  # no sample counted as removed
    assert "dead letters" in shown["budget_last_event"]
    store.close()
