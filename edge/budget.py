"""The edge store's disk budget: near it, raw samples are downsampled oldest first, and the loss is recorded.

What may go, in this order (`enforce`):
1. samples the hub has acknowledged (their uplink batch has `acked_at`): first thinned to one sample per
   equipment per 5 minutes, then per 60 minutes, one day at a time from the oldest day, then
   dropped altogether (the hub has them);
2. only when no acknowledged sample is left in reach: the samples not (yet) at the hub, the same way.

Dead letters count too: each keeps at most a 4 KiB prefix (edge/storage.py), and past `dead_letter_share`
of the limit the oldest go first, before any sample (a flood of distinct bad messages must not fill the disk).

Never touched: the outbox (derived usage logs and breakdowns waiting for the hub), the `derived` table,
dead letters within their share, uplink batches, and any sample derivation may still read. `edge/derive.py`
recomputes each equipment's shifts from the start of the shift holding `now - lookback`, holding its last
derived shift end (`derived.through:<equipment>`) or holding a late sample it has yet to look at
(`late_samples`), and breakdowns from `derived.breakdowns:cursor`; a sample is only thinned when it is older
than all of them, so a recompute can never see a thinned shift and queue an update with fewer hours (a
sample arriving even later into a thinned shift leaves that shift's log as it was). An equipment nothing has
been derived for yet is not touched.

Every removal is a row in `budget_events` (equipment, period, the resolution kept, whether the samples
had been sent, how many were removed); `pitline edge status` shows the totals.

Size: the decision uses the store's live pages ((page_count - freelist_count) × page_size); the file is
then shrunk by `PRAGMA incremental_vacuum` (the agent switches its store to auto_vacuum = INCREMENTAL
once, `ensure_incremental_vacuum`; a store that is not gets a full VACUUM) and the WAL is checkpointed."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from edge.derive import derive_usage_logs
from shared.domain.shifts import ShiftPattern, shift_at
from shared.store import LocalStore

log = logging.getLogger(__name__)

DERIVE_LOOKBACK: timedelta = inspect.signature(derive_usage_logs).parameters["lookback"].default
# Keep one sample per N minutes per equipment; 0 = remove them all. The first step removes at least 90% of
# the samples of a 30 s (or faster) feed: SQLite merges B-tree pages left under a third full, so the pages are
# freed; a gentler step (keep one in two) would leave every page half full and free nothing.
LADDER = (5, 60, 0)
ACKED = "SELECT batch_id FROM uplink_batches WHERE acked_at IS NOT NULL"
CATEGORY = {True: f"uplink_batch IN ({ACKED})",
            False: f"(uplink_batch IS NULL OR uplink_batch NOT IN ({ACKED}))"}


@dataclass(frozen=True)
class Budget:
    limit_bytes: int
    high: float = 0.90  # start downsampling above this share of the limit
    low: float = 0.80  # and stop once under this share
    ladder: tuple[int, ...] = LADDER
    lookback: timedelta = DERIVE_LOOKBACK
    dead_letter_share: float = 0.05  # dead letters beyond this share of the limit are removed, oldest first

    @classmethod
    def from_mb(cls, megabytes: float) -> Budget:
        return cls(int(megabytes * 1024 * 1024))


@dataclass
class BudgetReport:
    used_before: int
    used_after: int
    removed: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})  # sent? -> samples
    events: int = 0
    removed_dead_letters: int = 0
    over: bool = False  # still above the low mark: nothing more was safe to remove


def ensure_incremental_vacuum(store: LocalStore) -> bool:
    """Switch the store to auto_vacuum = INCREMENTAL (one VACUUM; call before other connections are busy).
    Returns True if it had to switch."""
    conn = store.connection
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:
        return False
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    log.info("edge store switched to incremental auto-vacuum")
    return True


def used_bytes(store: LocalStore) -> int:
    """Bytes in live pages of the main file (freed pages are reusable and get vacuumed away)."""
    conn = store.connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int(pages * conn.execute("PRAGMA page_size").fetchone()[0])


def file_bytes(store: LocalStore) -> int:
    """What the store occupies on disk: the file and its WAL."""
    size = 0
    for suffix in ("", "-wal"):
        try:
            size += store.path.with_name(store.path.name + suffix).stat().st_size
        except OSError:
            pass
    return size


def reclaim(store: LocalStore) -> None:
    """Give freed pages back to the file system and empty the WAL."""
    conn = store.connection
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:
        conn.execute("PRAGMA incremental_vacuum").fetchall()
    elif conn.execute("PRAGMA freelist_count").fetchone()[0] > 0:
        conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def dead_letter_bytes(store: LocalStore) -> int:
    """Bytes of the pages the dead letters and their index hold (overflow pages included)."""
    row = store.connection.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat "
                                   "WHERE name IN ('dead_letters', 'dead_letters_digest')").fetchone()
    return int(row[0])


def _trim_dead_letters(store: LocalStore, budget: Budget) -> int:
    """Remove the oldest dead letters until they fit their share; one budget event per step. Returns how many."""
    share = budget.dead_letter_share * budget.limit_bytes
    conn = store.connection
    removed = 0
    while (size := dead_letter_bytes(store)) > share:
        count = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        if count == 0:
            break
        # Rows are of similar size (payloads are capped): aim a tenth under the share, as pages are not shared
        # out exactly; a second step takes what the first left.
        drop = min(count, max(1, round(count * (size - 0.9 * share) / size)))
        with store.transaction():
            first, last = conn.execute("SELECT min(received_at), max(received_at) FROM (SELECT received_at FROM "
                                       "dead_letters ORDER BY id LIMIT ?)", (drop,)).fetchone()
            conn.execute("DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY id LIMIT ?)",
                         (drop,))
            conn.execute("INSERT INTO budget_events (at, kind, equipment_id, period_start, period_end, "
                         "keep_every_minutes, sent, removed) VALUES (?, 'dead_letters', '', ?, ?, 0, 0, ?)",
                         (datetime.now(UTC).isoformat(), first, last, drop))
        removed += drop
    return removed


def horizons(store: LocalStore, pattern: ShiftPattern, lookback: timedelta, now: datetime) -> dict[str, str]:
    """Per equipment, the UTC ISO time before which no derivation reads its samples again."""
    conn = store.connection
    recent = shift_at(pattern, now - lookback).starts
    row = conn.execute("SELECT value FROM derived WHERE key = 'breakdowns:cursor'").fetchone()
    if row is None:
        return {}
    cursor = str(orjson.loads(row[0]))
    late = dict(conn.execute("SELECT equipment_id, since FROM late_samples").fetchall())
    out: dict[str, str] = {}
    for key, value in conn.execute("SELECT key, value FROM derived WHERE key LIKE 'through:%'").fetchall():
        equipment = key.removeprefix("through:")
        through = datetime.fromisoformat(orjson.loads(value))
        edge = min(recent, shift_at(pattern, through - timedelta(seconds=1)).starts)
        if equipment in late:  # a late sample not derived yet: derivation will read from its shift
            edge = min(edge, shift_at(pattern, datetime.fromisoformat(late[equipment])).starts)
        out[equipment] = min(edge.astimezone(UTC).isoformat(), cursor)
    return out


def _oldest_day(store: LocalStore, sent: bool, reach: dict[str, str]) -> datetime | None:
    if not reach:
        return None
    oldest = store.connection.execute(
        f"SELECT min(ts) FROM samples WHERE ts < ? AND {CATEGORY[sent]}", (max(reach.values()),)).fetchone()[0]
    if oldest is None:
        return None
    return datetime.fromisoformat(oldest).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _thin(store: LocalStore, equipment: str, lo: str, hi: str, sent: bool, keep_minutes: int) -> int:
    """Remove one equipment's samples of a category in [lo, hi), keeping the first of each keep_minutes."""
    where = f"equipment_id = ? AND ts >= ? AND ts < ? AND {CATEGORY[sent]}"
    sql = f"DELETE FROM samples WHERE {where}"
    args: tuple[Any, ...] = (equipment, lo, hi)
    if keep_minutes:
        sql += f" AND ts NOT IN (SELECT min(ts) FROM samples WHERE {where} GROUP BY unixepoch(ts) / ?)"
        args += (equipment, lo, hi, keep_minutes * 60)
    with store.transaction() as conn:
        before = conn.total_changes()
        conn.execute(sql, args)
        removed = int(conn.total_changes() - before)
        if removed:
            conn.execute("INSERT INTO budget_events (at, equipment_id, period_start, period_end, keep_every_minutes, "
                         "sent, removed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (datetime.now(UTC).isoformat(), equipment, lo, hi, keep_minutes, int(sent), removed))
    return removed


def enforce(store: LocalStore, budget: Budget, pattern: ShiftPattern, now: datetime | None = None) -> BudgetReport:
    """Bring the store under `budget.low` of its limit if it is above `budget.high` (see the module doc)."""
    now = now or datetime.now(UTC)
    report = BudgetReport(used_bytes(store), 0)
    goal = budget.low * budget.limit_bytes
    if report.used_before <= budget.high * budget.limit_bytes:
        report.used_after = report.used_before
        return report
    report.removed_dead_letters = _trim_dead_letters(store, budget)
    reach = horizons(store, pattern, budget.lookback, now) if used_bytes(store) > goal else {}
    for sent in (True, False):  # what the hub already has goes first
        for keep in budget.ladder:
            day = _oldest_day(store, sent, reach)
            while day is not None and used_bytes(store) > goal:
                lo, hi = day.isoformat(), (day + timedelta(days=1)).isoformat()
                for equipment, edge in reach.items():
                    if edge > lo:
                        removed = _thin(store, equipment, lo, min(hi, edge), sent, keep)
                        report.removed[sent] += removed
                        report.events += removed > 0
                store.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                day = day + timedelta(days=1) if hi < max(reach.values()) else None
            if used_bytes(store) <= goal:
                break
        if used_bytes(store) <= goal:
            break
    reclaim(store)
    report.used_after = used_bytes(store)
    report.over = report.used_after > goal
    if report.removed[True] or report.removed[False] or report.removed_dead_letters:
        log.warning("disk budget: removed %d sent and %d unsent samples (%d events) and %d dead letters; "
                    "%d → %d bytes", report.removed[True], report.removed[False], report.events,
                    report.removed_dead_letters, report.used_before, report.used_after)
    if report.over:
        log.error("disk budget: still %d bytes over %d and nothing more is safe to remove (samples derivation "
                  "may still read, the outbox, dead letters within their share)", report.used_after - int(goal),
                  int(goal))
    return report


def budget_status(store: LocalStore, budget: Budget | None) -> dict[str, Any]:
    """What `pitline edge status` shows about the budget and what it cost."""
    conn = store.connection
    rows = dict((bool(s), (n, r)) for s, n, r in conn.execute(
        "SELECT sent, count(*), sum(removed) FROM budget_events WHERE kind = 'samples' GROUP BY sent").fetchall())
    letters = conn.execute("SELECT count(*), coalesce(sum(removed), 0) FROM budget_events "
                           "WHERE kind = 'dead_letters'").fetchone()
    last = conn.execute("SELECT at, equipment_id, period_start, keep_every_minutes, kind, removed FROM budget_events "
                        "ORDER BY id DESC LIMIT 1").fetchone()
    return {
        "disk_bytes": file_bytes(store),
        "disk_budget_bytes": None if budget is None else budget.limit_bytes,
        "budget_removed_sent": rows.get(True, (0, 0))[1] or 0,
        "budget_removed_unsent": rows.get(False, (0, 0))[1] or 0,
        "budget_removed_dead_letters": letters[1],
        "budget_events": sum(n for n, _ in rows.values()) + letters[0],
        "budget_last_event": None if last is None else _describe(*last),
        "dead_letter_bytes": dead_letter_bytes(store),
    }


def _describe(at: str, equipment: str, period_start: str, keep: int, kind: str, removed: int) -> str:
    if kind == "dead_letters":
        return f"{at}: {removed} dead letters received from {period_start} on, oldest first"
    kept = f"kept one per {keep} min" if keep else "all removed"
    return f"{at}: {equipment} from {period_start}, {kept}"
