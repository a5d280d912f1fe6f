"""The Stock screen's balances, folded incrementally (D87): the same `stock_lines` over the same ledger rows,
but a store/item is folded again only when its rows changed.

Moving-average valuation is a replay in time order, so a balance cannot be updated by adding a row's delta (an
offline issue booked late lands in the middle of its item's history). It can be replayed per store/item,
though: `value_ledger`'s positions and flags of one (store, item) depend only on that pair's rows. So the
ledger is split by (store_id, item_id), each part folded by the shared `stock_lines` and kept with the part's
version, which triggers on the records table bump on every insert, update and delete of one of its movements
(table_query.FINGERPRINTED): whoever writes (this screen's forms, the sync worker, a snapshot), the next open
folds again exactly the parts written since. Re-reading the 55,000 movements of a two-year site was 0.7 s of
every open; the versions are one read of a table of ~1,100 rows.

The first fold of a store reads every row; `StockLedger.warm` does it on a connection of its own in a thread
(LocalStore.open_another, the roster worker's pattern), so the first open of the screen finds it done."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from desktop import table_query
from shared.domain.ops_views import StockLine, movements_from, stock_lines
from shared.store import LocalStore

log = logging.getLogger(__name__)
MOVEMENT = "inventory.movement"
Key = tuple[str, str]  # (store_id, item_id) as the ledger's Movement names them (str of the JSON value)
RawKey = tuple[Any, Any]  # the JSON values, as the index holds them


@dataclass(frozen=True)
class Part:
    """One store/item's rows folded: its lines (one, or none when no row of it reads), the ids of its rows that
    are not readable movements, whether a row of it waits for the hub, and the fingerprint it was folded at."""

    fingerprint: tuple[Any, ...]
    lines: tuple[StockLine, ...]
    bad: tuple[str, ...]
    pending: bool


@dataclass(frozen=True)
class Balances:
    lines: list[StockLine]  # what stock_lines over every row gives, in its order
    pending: set[Key]  # store/items with a row not yet confirmed by the hub


def fingerprints(store: LocalStore) -> dict[Key, tuple[tuple[Any, ...], ...]]:
    """Per store/item, the versions the triggers keep of it: ((quoted store, quoted item, store, item, version),
    ...) for each JSON spelling of the pair (5 and "5" are one item to the ledger, two groups to the table)."""
    table_query.ensure_indexes(store)
    rows = store.connection.execute(
        f"SELECT k0, k1, v0, v1, version FROM {table_query.versions_table(MOVEMENT)}").fetchall()
    out: dict[Key, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault((str(row[2]), str(row[3])), []).append(tuple(row))
    return {key: tuple(sorted(parts)) for key, parts in out.items()}


def _rows(store: LocalStore, raw: list[RawKey] | None) -> list[tuple[Key, str, dict[str, Any], bool]]:
    """(key, id, state, pending) of every live movement, or of those with these raw (store, item) values."""
    s, i = (table_query.json_field(f) for f in table_query.FINGERPRINTED[MOVEMENT])
    # Every row: in key order off the primary key (0.1 s); through the index, a seek per row (0.5 s).
    hint = "" if raw is None else f"INDEXED BY {table_query.fingerprint_index_name(MOVEMENT)} "
    sql = (f"SELECT {s}, {i}, entity_id, local_state, pending FROM records {hint}"
           f"WHERE entity = '{MOVEMENT}' AND deleted = 0")
    found = []
    for key in [None] if raw is None else raw:
        where, params = ("", []) if key is None else (f" AND {s} IS ? AND {i} IS ?", list(key))
        found += store.connection.execute(sql + where, params).fetchall()
    return [((str(r[0]), str(r[1])), r[2], {} if r[3] is None else orjson.loads(r[3]) or {}, bool(r[4]))
            for r in found]


def _fold(fingerprint: tuple[Any, ...], rows: list[tuple[str, dict[str, Any]]], pending: bool) -> Part:
    lines = stock_lines(rows)
    bad: list[str] = []
    if any(line.movements == 0 for line in lines):  # stock_lines' line for unreadable rows (a real one has rows)
        bad = movements_from(rows)[1]
        unreadable = set(bad)
        lines = stock_lines([r for r in rows if r[0] not in unreadable])
    return Part(fingerprint, tuple(lines), tuple(bad), pending)


class StockLedger:
    """The folded parts of one store's ledger, brought up to date on each `balances` (UI thread) or `warm`."""

    def __init__(self) -> None:
        self._parts: dict[Key, Part] = {}
        self._lock = threading.Lock()
        self._warming: threading.Thread | None = None

    @property
    def folded(self) -> int:
        """How many store/items are folded (and kept)."""
        with self._lock:
            return len(self._parts)

    def balances(self, store: LocalStore) -> Balances:
        self.wait(60.0)  # a warm-up still running has the rows read already: folding them twice is slower
        with self._lock:
            self._update(store)
            parts = dict(self._parts)
        lines = sorted((ln for p in parts.values() for ln in p.lines), key=lambda ln: (ln.store_id, ln.item_id))
        bad = sorted(b for p in parts.values() for b in p.bad)  # in the ledger's (id) order, as stock_lines read it
        if bad:
            lines.append(StockLine("?", "?", Decimal(0), Decimal(0), 0, True,
                                   f"{len(bad)} unreadable movement(s): {', '.join(bad[:5])}"))
        return Balances(lines, {key for key, p in parts.items() if p.pending})

    def _update(self, store: LocalStore) -> None:
        now = fingerprints(store)
        changed = {key: fp for key, fp in now.items() if (p := self._parts.get(key)) is None or p.fingerprint != fp}
        for gone in set(self._parts) - set(now):
            del self._parts[gone]
        if not changed:
            return
        # A few changed parts are a few index seeks; many (the first fold, a big sync) one read of every row.
        raw = None if len(changed) > 50 else [(p[2], p[3]) for fp in changed.values() for p in fp]
        grouped: dict[Key, list[tuple[str, dict[str, Any]]]] = {key: [] for key in changed}
        waiting: set[Key] = set()
        for key, entity_id, state, pending in _rows(store, raw):
            if key in grouped:
                grouped[key].append((entity_id, state))
                if pending:
                    waiting.add(key)
        for key, rows in grouped.items():
            self._parts[key] = _fold(changed[key], rows, key in waiting)

    def warm(self, opener: Callable[[], LocalStore]) -> None:
        """Fold the whole ledger in a thread, on a connection from `opener` (the first open then finds it)."""
        if self._warming is not None:
            return
        self._warming = threading.Thread(target=self._warm, args=(opener,), name="desktop-stock-fold", daemon=True)
        self._warming.start()

    def wait(self, seconds: float) -> bool:
        thread = self._warming
        if thread is not None:
            thread.join(seconds)
        return thread is None or not thread.is_alive()

    def _warm(self, opener: Callable[[], LocalStore]) -> None:
        collecting = gc.isenabled()
        gc.disable()  # 55,000 rows of containers: full collections would stop the UI thread too (roster_worker)
        try:
            store = opener()
            try:
                with self._lock:
                    self._update(store)
            finally:
                store.close()
        except Exception as exc:  # the screen's own open folds what is missing: a failed warm-up costs only time
            log.warning("stock fold off the UI thread failed: %s", exc)
        finally:
            if collecting:
                gc.enable()
