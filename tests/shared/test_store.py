"""The encrypted local store: encryption proofs, outbox and replica semantics, crash safety."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.envelopes import Event, Outcome, OutcomeStatus
from shared.errors import (
    KeyUnavailableError,
    PlaintextStoreError,
    StoreBusyError,
    StoreError,
    ValidationError,
    WrongKeyError,
)
from shared.store import DeviceIdentity, KeyFileKeyProvider, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.store.encrypted import open_encrypted
from shared.store.keys import key_file_for, rewrap_data_key, unwrap_data_key

FAST = {"n": 2**10}  # scrypt cost kept low in tests; production uses 2**15


def provider(secret: str = "correct horse") -> PassphraseKeyProvider:
    return PassphraseKeyProvider(secret, **FAST)


def new_store(tmp_path: Path) -> LocalStore:
    store = LocalStore.open(tmp_path / "site.db", provider())
    store.set_identity(DeviceIdentity("desk-1", "t1", "s1"))
    return store


def fingerprint(path: Path) -> tuple[str, float]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


def unit(n: int) -> dict[str, object]:
    return {"fleet_no": f"DT{n:02}", "equipment_class": "truck"}


def event(seq: int, entity_id: str, version: int, payload: dict[str, object], type_: str = "equipment.unit.updated",
          entity: str = "equipment.unit") -> Event:
    return Event(seq=seq, id=f"E{seq}", tenant_id="t1", site_id="s1", type=type_, entity=entity, entity_id=entity_id,
                 version=version, timestamp=datetime.now(UTC), payload=payload, correlation_id=None)


def test_the_file_is_encrypted_and_a_wrong_key_changes_nothing(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.enqueue("equipment.unit", "DT01", "create", {**unit(1), "make": "SECRETMAKE"}, actor="u1")
    store.close()
    db = tmp_path / "site.db"
    assert not db.read_bytes().startswith(b"SQLite format 3")
    for f in (db, tmp_path / "site.db-wal"):
        if f.exists():
            assert b"SECRETMAKE" not in f.read_bytes()
    before_db, before_key = fingerprint(db), fingerprint(key_file_for(db))
    time.sleep(0.01)
    with pytest.raises(WrongKeyError):
        LocalStore.open(db, provider("wrong"))
    assert fingerprint(db) == before_db and fingerprint(key_file_for(db)) == before_key
    with LocalStore.open(db, provider()) as again:
        assert again.get("equipment.unit", "DT01").state["make"] == "SECRETMAKE"  # type: ignore[index,union-attr]


def test_a_plaintext_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "plain.db"
    with sqlite3.connect(db) as plain:
        plain.execute("CREATE TABLE t (x)")
    before = fingerprint(db)
    with pytest.raises((PlaintextStoreError, KeyUnavailableError)):
        LocalStore.open(db, provider())
    key_file_for(db).write_text("{}")  # even with a key file beside it
    with pytest.raises(Exception):  # noqa: B017 - a damaged key file or the plaintext refusal, never an open
        LocalStore.open(db, provider())
    assert fingerprint(db) == before


def test_key_file_provider_refuses_loose_permissions_and_rewrap_works(tmp_path: Path) -> None:
    kek = tmp_path / "kek"
    store = LocalStore.open(tmp_path / "edge.db", KeyFileKeyProvider(kek, credential=None))
    store.close()
    assert (kek.stat().st_mode & 0o777) == 0o600
    os.chmod(kek, 0o644)
    with pytest.raises(KeyUnavailableError):
        LocalStore.open(tmp_path / "edge.db", KeyFileKeyProvider(kek, credential=None))
    os.chmod(kek, 0o600)
    rewrap_data_key(tmp_path / "edge.db", KeyFileKeyProvider(kek, credential=None), provider("new passphrase"))
    LocalStore.open(tmp_path / "edge.db", provider("new passphrase")).close()


def test_invalid_input_writes_nothing(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with pytest.raises(ValidationError) as info:
        store.enqueue_many([MutationDraft("equipment.unit", "DT01", "create", unit(1), "u1"),
                            MutationDraft("equipment.unit", "DT02", "create", {"fleet_no": "DT02"}, "u1")])
    assert "equipment_class" in info.value.field_errors
    assert store.outbox_depth() == 0 and store.get("equipment.unit", "DT01") is None


def test_a_payload_nested_past_the_hubs_limit_is_refused_at_enqueue_and_writes_nothing(tmp_path: Path) -> None:
    from shared.envelopes import MAX_PAYLOAD_DEPTH

    # The hub refuses a push carrying one (422 too_deep) as a whole request: queued, it would block the outbox.
    store = new_store(tmp_path)
    deep: object = 1
    for _ in range(MAX_PAYLOAD_DEPTH):  # `data` this deep makes the payload one level past the limit
        deep = {"n": deep}
    with pytest.raises(ValidationError) as info:
        store.enqueue_many([MutationDraft("forms.submission", "F1", "create", {"form": "f"}, "u1"),
                            MutationDraft("forms.submission", "F2", "create", {"form": "f", "data": deep}, "u1")])
    assert "nests deeper" in str(info.value) and "payload" in info.value.field_errors
    assert store.outbox_depth() == 0 and store.get("forms.submission", "F1") is None
    store.enqueue("forms.submission", "F3", "create", {"form": "f", "data": deep["n"]}, actor="u1")  # type: ignore[index]
    assert store.outbox_depth() == 1


@pytest.mark.parametrize("where", ["payload", "key", "entity_id", "actor"])
def test_a_nul_character_is_refused_at_enqueue_and_writes_nothing(tmp_path: Path, where: str) -> None:
    # The hub refuses a push carrying one as a whole (422 nul_character): queued, it would block the outbox.
    store = new_store(tmp_path)
    payload: dict[str, object] = {"form": "f", "title": "a\x00b" if where == "payload" else "ok"}
    if where == "key":
        payload["data"] = {"k\x00": 1}
    draft = MutationDraft("forms.submission", "F\x002" if where == "entity_id" else "F2", "create", payload,
                          "u\x001" if where == "actor" else "u1")
    with pytest.raises(ValidationError) as info:
        store.enqueue_many([MutationDraft("forms.submission", "F1", "create", {"form": "f"}, "u1"), draft])
    assert "NUL" in str(info.value)
    assert store.outbox_depth() == 0 and store.get("forms.submission", "F1") is None


def test_enqueue_then_ack_then_event_confirms(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    m = store.enqueue("equipment.unit", "DT01", "create", unit(1), actor="u1")
    assert m.device_seq == 1 and m.base_version == 0 and m.site_id == "s1"
    rec = store.get("equipment.unit", "DT01")
    assert rec is not None and rec.pending and rec.state == unit(1)
    store.apply_outcomes([Outcome(mutation_id=m.id, device_seq=1, status=OutcomeStatus.APPLIED, version=1, seq=7)])
    rec = store.get("equipment.unit", "DT01")
    assert rec is not None and not rec.pending and rec.state == unit(1)  # acknowledged; still shown
    assert store.outbox_depth() == 0
    assert store.apply_events([event(7, "DT01", 1, unit(1), "equipment.unit.created")]) == 1
    assert store.apply_events([event(7, "DT01", 1, unit(1), "equipment.unit.created")]) == 0  # idempotent
    assert store.connection.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert store.cursor == 7


def test_a_rejection_is_kept_for_the_person_and_rebased_away(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.apply_events([event(1, "DT01", 1, unit(1), "equipment.unit.created")])
    m = store.enqueue("equipment.unit", "DT01", "update", {"status": "down"}, actor="u1")
    assert m.base_version == 1
    assert store.get("equipment.unit", "DT01").state["status"] == "down"  # type: ignore[union-attr,index]
    store.apply_outcomes([Outcome(mutation_id=m.id, device_seq=1, status=OutcomeStatus.REJECTED, code="nope",
                                  message="not allowed")])
    rec = store.get("equipment.unit", "DT01")
    assert rec is not None and "status" not in rec.state and not rec.pending  # type: ignore[operator]
    [r] = store.rejections()
    assert r["code"] == "nope" and r["mutation"]["payload"] == {"status": "down"}


def test_pending_changes_stay_on_top_of_incoming_events(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.apply_events([event(1, "DT01", 1, unit(1), "equipment.unit.created")])
    store.enqueue("equipment.unit", "DT01", "update", {"status": "down"}, actor="u1")
    store.apply_events([event(2, "DT01", 2, {**unit(1), "make": "CAT"})])  # someone else's change arrives
    rec = store.get("equipment.unit", "DT01")
    assert rec is not None and rec.state == {**unit(1), "make": "CAT", "status": "down"} and rec.pending


def test_adjustments_compose_and_queries_filter_and_sort(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.enqueue_many([MutationDraft("equipment.unit", f"DT{i:02}", "create", {**unit(i), "make": mk}, "u1")
                        for i, mk in enumerate(["CAT", "Komatsu", "CAT", "Hitachi"])])
    assert [r.entity_id for r in store.query("equipment.unit", where={"make": "CAT"})] == ["DT00", "DT02"]
    assert [r.state["make"] for r in store.query("equipment.unit", order_by="-make")][:2] == [  # type: ignore[index]
        "Komatsu", "Hitachi"]
    assert store.count("equipment.unit") == 4
    store.enqueue("finance.cash_float", "S1:BOLT", "create", {"custodian": "S1", "currency": "AUD", "balance": 10},
                  actor="u1")
    store.enqueue("finance.cash_float", "S1:BOLT", "adjust", {"balance": -3}, actor="u1")
    store.enqueue("finance.cash_float", "S1:BOLT", "adjust", {"balance": -4}, actor="u1")
    assert store.get("finance.cash_float", "S1:BOLT").state["balance"] == 3  # type: ignore[union-attr,index]
    assert [m.device_seq for m in store.outbox_batch()] == list(range(1, 8))


def test_drafts_survive_reopening(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.save_draft("breakdown-form", {"cause": "hydraulic hose", "notes": "half typed"})
    store.close()
    with LocalStore.open(tmp_path / "site.db", provider()) as again:
        assert again.load_draft("breakdown-form") == {"cause": "hydraulic hose", "notes": "half typed"}


WRITER = """
import sys
from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
store = LocalStore.open(sys.argv[1], PassphraseKeyProvider("correct horse", n=2**10))
if store.identity is None:
    store.set_identity(DeviceIdentity("desk-1", "t1", "s1"))
i = 0
while True:
    store.enqueue_many([MutationDraft("forms.submission", f"F{i}-{k}", "create", {"form": "f"}, "u1")
                        for k in range(20)])
    print(i, flush=True)
    i += 1
"""


@pytest.mark.parametrize("trials", [pytest.param(5, id="5"), pytest.param(50, id="50", marks=pytest.mark.slow)])
def test_kill_9_while_writing_never_corrupts_or_loses_a_committed_batch(tmp_path: Path, trials: int) -> None:
    db = tmp_path / "crash.db"
    root = Path(__file__).resolve().parents[2]
    committed = 0
    for trial in range(trials):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=root, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        lines = 0
        deadline = time.monotonic() + 30
        target = 3 + (trial * 7) % 25
        while lines < target and time.monotonic() < deadline:
            if proc.stdout.readline():
                lines += 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        committed += lines  # batches reported after their commit
        with LocalStore.open(db, provider()) as store:
            assert store.integrity_check() == "ok"
            seqs = [r[0] for r in store.connection.execute("SELECT device_seq FROM outbox ORDER BY device_seq")]
            assert seqs == list(range(1, len(seqs) + 1))  # contiguous: no gap, no duplicate
            assert len(seqs) >= committed * 20  # nothing reported as committed was lost
            assert len(seqs) % 20 == 0  # batches are all-or-nothing
            committed = len(seqs) // 20


def test_own_event_before_the_push_response_is_not_counted_twice(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.apply_events([event(1, "S1:BOLT", 1, {"custodian": "S1", "currency": "AUD", "balance": 100},
                              "finance.cash_float.created", "finance.cash_float")])
    m = store.enqueue("finance.cash_float", "S1:BOLT", "adjust", {"balance": -45}, actor="u1")
    own = event(2, "S1:BOLT", 2, {"custodian": "S1", "currency": "AUD", "balance": 55}, "finance.cash_float.adjusted",
                "finance.cash_float").model_copy(update={"correlation_id": m.id})
    store.apply_events([own])  # the stream was faster than the push response
    rec = store.get("finance.cash_float", "S1:BOLT")
    assert rec is not None and rec.state is not None and rec.state["balance"] == 55 and not rec.pending
    store.apply_outcomes([Outcome(mutation_id=m.id, device_seq=1, status=OutcomeStatus.APPLIED, version=2, seq=2)])
    rec = store.get("finance.cash_float", "S1:BOLT")
    assert rec is not None and rec.state is not None and rec.state["balance"] == 55
    assert store.connection.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_push_response_before_own_event_keeps_the_change_until_the_event(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.apply_events([event(1, "S1:BOLT", 1, {"custodian": "S1", "currency": "AUD", "balance": 100},
                              "finance.cash_float.created", "finance.cash_float")])
    m = store.enqueue("finance.cash_float", "S1:BOLT", "adjust", {"balance": -45}, actor="u1")
    store.apply_outcomes([Outcome(mutation_id=m.id, device_seq=1, status=OutcomeStatus.APPLIED, version=3, seq=3)])
    assert store.get("finance.cash_float", "S1:BOLT").state["balance"] == 55  # type: ignore[union-attr,index]
    other = event(2, "S1:BOLT", 2, {"custodian": "S1", "currency": "AUD", "balance": 90}, "finance.cash_float.adjusted",
                  "finance.cash_float")  # someone else's -10 committed before ours
    store.apply_events([other])
    assert store.get("finance.cash_float", "S1:BOLT").state["balance"] == 45  # type: ignore[union-attr,index]
    mine = event(3, "S1:BOLT", 3, {"custodian": "S1", "currency": "AUD", "balance": 45}, "finance.cash_float.adjusted",
                 "finance.cash_float").model_copy(update={"correlation_id": m.id})
    store.apply_events([mine])
    assert store.get("finance.cash_float", "S1:BOLT").state["balance"] == 45  # type: ignore[union-attr,index]
    assert store.connection.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_a_store_busy_past_its_timeout_raises_the_stores_own_error(tmp_path: Path) -> None:
    holder = new_store(tmp_path)
    other = LocalStore.open(tmp_path / "site.db", provider())  # a second connection to the same encrypted file
    other.connection.set_busy_timeout(50)
    holder.connection.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        with pytest.raises(StoreBusyError) as caught:
            other.enqueue("equipment.unit", "DT01", "create", unit(1), actor="u1")
        assert isinstance(caught.value, StoreError)
        assert "busy" in str(caught.value)
        with pytest.raises(StoreBusyError):
            other.set_meta("k", "v")
    finally:
        holder.connection.execute("ROLLBACK")
    assert other.outbox_depth() == 0 and other.mutations_numbered == 0  # nothing half-saved
    other.enqueue("equipment.unit", "DT01", "create", unit(1), actor="u1")  # usable once the lock is gone
    assert holder.outbox_depth() == 1 and other.get_meta("k") is None
    other.close()
    holder.close()


def _hold_exclusively(store: LocalStore) -> None:
    """Take the file's lock and keep it, as a checkpoint or another process's migration does."""
    store.connection.execute("PRAGMA locking_mode = EXCLUSIVE")
    store.set_meta("held", "yes")


def _release(store: LocalStore) -> None:
    store.connection.execute("PRAGMA locking_mode = NORMAL")
    store.connection.execute("SELECT count(*) FROM meta").fetchall()  # the next access drops the lock


def test_opening_waits_for_a_connection_that_holds_the_file_instead_of_failing(tmp_path: Path) -> None:
    new_store(tmp_path).close()
    holder = LocalStore.open(tmp_path / "site.db", provider())
    _hold_exclusively(holder)
    opened: dict[str, object] = {}

    def open_it() -> None:
        try:
            opened["store"] = LocalStore.open(tmp_path / "site.db", provider())
        except Exception as exc:  # recorded for the assertion below
            opened["error"] = exc

    opener = threading.Thread(target=open_it)
    opener.start()
    time.sleep(0.5)
    assert opener.is_alive() and not opened  # waiting for the lock, not failed
    _release(holder)
    opener.join(15)
    store = opened.get("store")
    assert isinstance(store, LocalStore), opened
    assert store.get_meta("held") == "yes"
    store.close()
    holder.close()


def test_a_thread_opens_its_store_patiently_and_gives_up_only_when_stopped(tmp_path: Path) -> None:
    new_store(tmp_path).close()
    path = tmp_path / "site.db"
    data_key = unwrap_data_key(path, provider())

    def impatient_open() -> LocalStore:  # a 100 ms busy timeout, so the retries show within the test
        return LocalStore(path, open_encrypted(path, data_key, busy_timeout_ms=100))

    holder = LocalStore.open(path, provider())
    _hold_exclusively(holder)
    with pytest.raises(StoreBusyError):
        impatient_open()
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    assert LocalStore.open_patiently(impatient_open, stop) is None  # stopped while the file stayed busy

    threading.Timer(1.0, _release, args=(holder,)).start()
    store = LocalStore.open_patiently(impatient_open, threading.Event())
    assert store is not None and store.get_meta("held") == "yes"
    store.close()
    holder.close()


def test_opening_patiently_does_not_retry_a_wrong_key(tmp_path: Path) -> None:
    new_store(tmp_path).close()
    before = fingerprint(tmp_path / "site.db")
    started = time.monotonic()
    with pytest.raises(WrongKeyError):
        LocalStore.open_patiently(lambda: LocalStore.open(tmp_path / "site.db", provider("wrong")), threading.Event())
    assert time.monotonic() - started < 5  # raised at once: only a busy file is worth waiting for
    assert fingerprint(tmp_path / "site.db") == before
