"""The desktop's own indexes and the stock ledger's versions (desktop/table_query.py), on a small store: reads
through them work on a store no window has opened, and every write to a movement is seen by the next fold."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from desktop.reconciliation_lines import lines_for
from desktop.stock_ledger import StockLedger, fingerprints
from shared.domain.ops_views import stock_lines
from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider
from tests.desktop.test_ops_maintenance import from_hub

KEY = PassphraseKeyProvider("desk indexes", n=2**10)
DAY = date(2026, 11, 30)


def _movement(store: str, item: str, kind: str, qty: float, at: str, cost: float | None = None) -> dict[str, object]:
    out: dict[str, object] = {"kind": kind, "store_id": store, "item_id": item, "quantity": qty,
                              "occurred_at": f"{at}T06:00:00+00:00"}
    return out if cost is None else out | {"unit_cost": cost}


def test_reconciliation_lines_read_a_store_no_window_has_opened(tmp_path: Path) -> None:
    # lines_for reads the day's logs INDEXED BY the shift-date index: "no such index" before page() made them.
    with LocalStore.open(tmp_path / "desk.db", KEY) as store:
        from_hub(store, [("hr.employee", "emp-1", {"number": "E1", "name": "Ann Operator"}),
                         ("equipment.usage_log", "L1", {"equipment_id": "EQ-1", "shift_date": DAY.isoformat(),
                                                        "shift": "day", "operator": "E1", "operating_hours": 8.0,
                                                        "source": "manual"})])
        lines = lines_for(store, DAY)
    assert [(ln.employee_id, ln.shift, ln.logged_hours, ln.equipment_ids) for ln in lines] == [
        ("emp-1", "day", 8, ("EQ-1",))]


def test_every_write_to_a_movement_bumps_its_store_items_version_and_the_fold_follows(tmp_path: Path) -> None:
    with LocalStore.open(tmp_path / "desk.db", KEY) as store:
        store.set_identity(DeviceIdentity("desk-1", "t-ops", "north"))
        from_hub(store, [("inventory.movement", "M1", _movement("MAIN", "F", "receipt", 10, "2026-07-01", 12.0)),
                         ("inventory.movement", "M2", _movement("MAIN", "G", "receipt", 5, "2026-07-01", 3.0))])
        ledger = StockLedger()

        def full() -> list[object]:
            return list(stock_lines([(r.entity_id, r.state or {}) for r in store.query("inventory.movement")]))

        assert ledger.balances(store).lines == full()
        before = fingerprints(store)
        # An offline issue booked late, dated before a receipt: the part is replayed, not added to.
        store.enqueue("inventory.movement", "M3", "create", _movement("MAIN", "F", "issue", 12, "2026-06-30"),
                      actor="storeman")
        from_hub(store, [("inventory.movement", "M4", _movement("MAIN", "F", "receipt", 4, "2026-07-05", 20.0))])
        after = fingerprints(store)
        assert after[("MAIN", "F")] != before[("MAIN", "F")] and after[("MAIN", "G")] == before[("MAIN", "G")]
        balances = ledger.balances(store)
        assert balances.lines == full() and balances.pending == {("MAIN", "F")}
        f = next(ln for ln in balances.lines if ln.item_id == "F")
        assert f.quantity == 2 and f.needs_review and "below zero" in f.reason
        # An unreadable row (no kind) is said once, as the full fold says it; a removed row leaves its part.
        from_hub(store, [("inventory.movement", "M5", {"store_id": "MAIN", "item_id": "G", "quantity": 1})])
        assert ledger.balances(store).lines == full() and full()[-1].reason.startswith("1 unreadable")
        with store.transaction():
            store.connection.execute("DELETE FROM records WHERE entity = 'inventory.movement' AND entity_id "
                                     "IN ('M2', 'M5')")
        assert ledger.balances(store).lines == full() and [ln.item_id for ln in full()] == ["F"]


def test_the_stock_fold_off_the_ui_thread_is_what_the_screen_then_shows(tmp_path: Path) -> None:
    with LocalStore.open(tmp_path / "desk.db", KEY) as store:
        from_hub(store, [("inventory.movement", f"M{n}", _movement("MAIN", f"I{n % 7}", "receipt", 1 + n,
                                                                   f"2026-07-{1 + n % 28:02d}", 2.0 + n))
                         for n in range(200)])
        ledger = StockLedger()
        ledger.warm(store.open_another)
        assert ledger.wait(30.0) and ledger.folded == 7  # every store/item folded before any open
        assert ledger.balances(store).lines == stock_lines(
            [(r.entity_id, r.state or {}) for r in store.query("inventory.movement")])
