"""Local store: batched enqueue into the encrypted store vs the same schema and transactions in plain SQLite."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import orjson

from bench.report import Row
from shared.ids import new_ulid
from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.store.schema import CORE_STEPS

BATCH = 5000


def drafts(n: int) -> list[MutationDraft]:
    return [MutationDraft("forms.submission", f"F{i}", "create", {"form": "pre-start", "title": f"check {i}"}, "u1")
            for i in range(n)]


def ours(tmp: Path, n: int) -> float:
    store = LocalStore.open(tmp / "enc.db", PassphraseKeyProvider("bench", n=2**14))
    store.set_identity(DeviceIdentity("dev1", "t1", "s1"))
    work = drafts(n)
    started = time.perf_counter()
    for i in range(0, n, BATCH):
        store.enqueue_many(work[i : i + BATCH])
    elapsed = time.perf_counter() - started
    store.close()
    return n / elapsed


def plain_sqlite(tmp: Path, n: int) -> float:
    """The same rows, statements and durability (WAL, synchronous=FULL) without encryption or validation."""
    conn = sqlite3.connect(tmp / "plain.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(CORE_STEPS[0])
    started = time.perf_counter()
    seq = 1
    for i in range(0, n, BATCH):
        conn.execute("BEGIN IMMEDIATE")
        outbox, records = [], []
        for k in range(i, min(n, i + BATCH)):
            state = {"form": "pre-start", "title": f"check {k}"}
            body = {"id": new_ulid(), "device_id": "dev1", "device_seq": seq, "tenant_id": "t1", "site_id": "s1",
                    "actor": "u1", "entity": "forms.submission", "entity_id": f"F{k}", "op": "create",
                    "base_version": 0, "payload": state, "created_at": "2026-11-24T00:00:00+00:00"}
            outbox.append((seq, body["id"], "forms.submission", f"F{k}", orjson.dumps(body).decode()))
            records.append(("forms.submission", f"F{k}", "s1", 0, orjson.dumps(state).decode(), 0, 1))
            seq += 1
        conn.executemany("INSERT INTO outbox (device_seq, id, entity, entity_id, body) VALUES (?, ?, ?, ?, ?)", outbox)
        conn.executemany("INSERT INTO records (entity, entity_id, site_id, server_version, local_state, deleted, "
                         "pending) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", records)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return n / elapsed


def run(tmp: Path, n: int) -> Row:
    peer = plain_sqlite(tmp, n)
    mine = ours(tmp, n)
    return Row("local store: enqueue (batched)", mine, "mut/s", "plain SQLite, same schema", peer,
               "≥ 50,000/s", mine >= 50_000, note=f"{n:,} mutations in batches of {BATCH}, synchronous=FULL, WAL")
