"""A full disk under the local store: every write path raises the store's own error (never apsw's), saves
nothing of the failed write, and leaves a store that reopens with everything committed before.

The disk is filled for real, the SQLite way: `PRAGMA max_page_count` at the current size makes the database file
full, so the next page SQLite needs fails with SQLITE_FULL in whichever statement asks for it (an INSERT, an index
update, a CREATE TABLE), not only at COMMIT."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.envelopes import Event
from shared.errors import StoreDiskError, StoreError
from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider


def provider() -> PassphraseKeyProvider:
    return PassphraseKeyProvider("correct horse", n=2**10)


def unit(n: int) -> dict[str, object]:
    return {"fleet_no": f"DT{n:04}", "equipment_class": "truck", "make": "m" * 64, "model": "o" * 64,
            "serial": "s" * 64}


def fill_the_disk(store: LocalStore) -> None:
    pages = store.connection.execute("PRAGMA page_count").fetchone()[0]
    store.connection.execute(f"PRAGMA max_page_count = {pages}")


def many_drafts(store: LocalStore) -> None:
    store.enqueue_many([MutationDraft("equipment.unit", f"NEW{i}", "create", unit(i), "u1") for i in range(2000)])


def many_events(store: LocalStore) -> None:
    store.apply_events([Event(seq=100 + i, id=f"E{i}", tenant_id="t1", site_id="s1", type="equipment.unit.created",
                              entity="equipment.unit", entity_id=f"EV{i}", version=1, timestamp=datetime.now(UTC),
                              payload=unit(i), correlation_id=None) for i in range(2000)])


def big_draft(store: LocalStore) -> None:
    store.save_draft("form-1", {"notes": "n" * 500_000})


def program_table(store: LocalStore) -> None:
    store.migrate("bench", ["CREATE TABLE big (x TEXT)",
                            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) "
                            "INSERT INTO big SELECT hex(randomblob(400)) FROM s"])


def program_rows(store: LocalStore) -> None:  # a program writing its own rows in the store's transaction
    with store.transaction() as conn:
        conn.executemany("INSERT INTO drafts VALUES (?, ?, ?)", [(f"d{i}", "y" * 300, "now") for i in range(3000)])


@pytest.mark.parametrize("write", [many_drafts, many_events, big_draft, program_table, program_rows],
                         ids=lambda f: f.__name__)
def test_a_full_disk_is_a_store_error_and_the_store_reopens_intact(tmp_path: Path,
                                                                   write: Callable[[LocalStore], None]) -> None:
    path = tmp_path / "site.db"
    store = LocalStore.open(path, provider())
    store.set_identity(DeviceIdentity("desk-1", "t1", "s1"))
    store.enqueue_many([MutationDraft("equipment.unit", f"DT{i}", "create", unit(i), "u1") for i in range(20)])
    store.save_draft("kept", {"a": 1})
    fill_the_disk(store)

    with pytest.raises(StoreError) as caught:
        write(store)
    assert isinstance(caught.value, StoreDiskError), repr(caught.value)
    assert "full" in str(caught.value) and "nothing" in str(caught.value)

    # The same connection still answers, and nothing of the failed write is there.
    assert store.outbox_depth() == 20 and store.mutations_numbered == 20
    assert store.connection.getautocommit()  # no transaction left open behind the caller's back
    store.close()

    with LocalStore.open(path, provider()) as again:  # a new connection: no page limit
        assert again.integrity_check() == "ok"
        assert again.outbox_depth() == 20 and again.mutations_numbered == 20
        assert again.get("equipment.unit", "DT19") is not None and again.get("equipment.unit", "NEW0") is None
        assert again.load_draft("kept") == {"a": 1} and again.load_draft("form-1") is None
        assert again.cursor == 0
        again.enqueue("equipment.unit", "DT99", "create", unit(99), actor="u1")  # writable again
        assert again.outbox_depth() == 21
