"""The desktop on a site-sized replica (200 machines, two years of daily shift logs, work orders, stock):
every screen opens again and again in a real Qt event loop and shows rows, and the app stays up.

Issue 12: with PySide6 6.12.0 on CPython 3.11 each call that returns nothing (QTableWidget.setItem above all)
dropped a reference to None, and the app aborted with "Fatal Python error: none_dealloc" on the first
screen with a few thousand cells. An abort here takes the whole pytest run down, which fails it too."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QAbstractItemView, QListWidget, QTableView, QTreeView, QWidget

from desktop import ap_replica, table_query
from desktop.ap_ar_ageing import KINDS, AgeingScreen
from desktop.ap_views import VendorInvoicesScreen
from desktop.app import build
from desktop.approval_actions import request_views
from desktop.binding_check import drops_none_references
from desktop.computed_model import qty
from desktop.finance_screens import FINANCE_SCREENS as FINANCE
from desktop.hours_views import last_meter_reading
from desktop.people_screens import PEOPLE_SCREENS as PEOPLE
from desktop.pm_plans_view import plan_readings
from desktop.report_screen import ReportScreen
from desktop.self_service_view import SelfServiceScreen
from desktop.stock_view import StockScreen
from desktop.table_query import top_per_group_sql
from shared.domain import payables as ap
from shared.domain import pm
from shared.domain import receivables as ar
from shared.domain.open_items import BUCKETS, Ageing, ageing, ageing_csv_rows, open_items
from shared.domain.ops_views import meter_readings, stock_lines
from shared.store import LocalStore, PassphraseKeyProvider
from tests.desktop.site_store import build_site_store, site_spec

KEY = PassphraseKeyProvider("site test", n=2**10)
ROUNDS = 3
SCREEN_BUDGET_S = 1.5
# PM plans (1.1-1.9 s when it grouped every shift log) and Stock (1.0-1.8 s re-reading every movement), D87/D88.
INDEXED_SCREENS_BUDGET_S = {"PM plans": 1.0, "Stock": 1.0}
FINANCE_TITLES = [title for title, _cls in FINANCE]
PEOPLE_TITLES = [title for title, _cls in PEOPLE]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("site") / "desk.db"
    started = time.perf_counter()
    counts = build_site_store(path, KEY, site_spec())
    print(f"site store: {sum(counts.values()):,} records in {time.perf_counter() - started:.1f} s")
    return path, counts


def rows_shown(page: QWidget) -> int:
    """The most rows any list or table on the screen holds (a screen's detail tables may rightly be empty)."""
    views: list[QAbstractItemView] = [*page.findChildren(QTableView), *page.findChildren(QTreeView),
                                      *page.findChildren(QListWidget)]
    return max((v.model().rowCount() for v in views if v.model() is not None), default=0)


def test_the_installed_qt_binding_keeps_its_references_to_none() -> None:
    """PySide6 6.12.0 on CPython 3.11 fails this (pyproject.toml pins below it; the app refuses to start)."""
    assert not drops_none_references()


def test_every_screen_of_a_200_machine_two_year_site_opens_three_times_and_shows_rows(qtbot, site) -> None:  # type: ignore[no-untyped-def]
    path, counts = site
    assert counts["equipment.unit"] == 200 and counts["equipment.usage_log"] == 200 * 730 * 2 + 40  # + today's
    assert counts["maintenance.work_order"] > 10_000 and counts["inventory.movement"] > 50_000
    assert counts["finance.vendor_invoice"] > 5_000 and counts["finance.payment"] > 1_500
    assert counts["finance.customer_invoice"] > 80 and counts["finance.customer_receipt"] > 80
    assert counts["finance.asset"] == 200 and counts["finance.match_tolerance"] == 1
    desk = build(path, KEY, actor="supervisor", roles=frozenset({"supervisor", "administrator"}), start_sync=False)
    qtbot.addWidget(desk.window)
    window = desk.window
    window.show()
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert len(titles) >= 15
    slowest: dict[str, float] = {}
    for _round in range(ROUNDS):
        for row, title in enumerate(titles):
            started = time.perf_counter()
            window.nav.setCurrentRow(row)
            page = window.pages.currentWidget()
            page.grab()  # paint it, so the views ask their models for every visible cell
            qtbot.wait(1)
            slowest[title] = max(slowest.get(title, 0.0), time.perf_counter() - started)
            assert window.isVisible(), title
            # The HQ reports read from the hub, which this test has none of (tests/desktop/test_finance_reports.py).
            assert isinstance(page, ReportScreen) or rows_shown(page) > 0, f"{title} shows no rows"
    print("slowest open per screen (s):", {t: round(s, 2) for t, s in sorted(slowest.items(), key=lambda i: -i[1])})
    # The finance and people screens (issues 13, 14) at site size: the Vendor invoices list took 4 s when it
    # folded every approval request per invoice. Bounded loosely: a shared 2-core machine doubles the ~0.3 s.
    late = {t: round(slowest[t], 2) for t in (*FINANCE_TITLES, *PEOPLE_TITLES) if slowest[t] > SCREEN_BUDGET_S}
    assert not late, f"finance/people screens slower than {SCREEN_BUDGET_S} s to open at site size: {late}"
    late = {t: round(slowest[t], 2) for t, budget in INDEXED_SCREENS_BUDGET_S.items() if slowest[t] > budget}
    assert not late, f"screens slower than {INDEXED_SCREENS_BUDGET_S} to open at site size: {late}"
    assert window.kpis.model.rowCount() == 200  # a row per machine over the last 30 days
    assert window.rental.model.rowCount() == 20
    assert window.ops["Inbox"].approvals.model().rowCount() == 1
    assert window.conflicts_inbox.list.count() == 30
    tolerances = window.ops["Match tolerances"].model  # type: ignore[attr-defined]
    assert tolerances.cell(0, 3) == "98.00 to 102.00 at a PO price of 100.00"
    assert tolerances.cell(0, 4) == "the tenant's"
    desk.close()


def test_pm_plans_read_the_meter_from_the_top_reading_and_the_window_like_from_every_log(site) -> None:  # type: ignore[no-untyped-def]
    path, _counts = site
    today = date.today()
    with LocalStore.open(path, KEY) as store:
        every = meter_readings(r.state or {} for r in store.query("equipment.usage_log"))
        fast = plan_readings(store, today)
    assert set(fast) == set(every) and len(fast) == 200
    for machine, readings in every.items():
        assert pm.meter_now(fast[machine]) == pm.meter_now(readings), machine
        assert pm.daily_rate(fast[machine], today=today) == pm.daily_rate(readings, today=today), machine


def test_the_last_meter_reading_through_the_index_is_the_highest_of_every_log(site) -> None:  # type: ignore[no-untyped-def]
    # Checked on every save of a shift log: it read all of a machine's logs by scanning the site's 300,000.
    path, _counts = site
    with LocalStore.open(path, KEY) as store:
        highest: dict[str, float] = {}
        for r in store.query("equipment.usage_log"):
            end = (r.state or {}).get("hour_meter_end")
            if isinstance(end, int | float):
                machine = str((r.state or {})["equipment_id"])
                highest[machine] = max(highest.get(machine, end), end)
        assert len(highest) == 200
        for machine, end in list(highest.items())[:20]:
            assert last_meter_reading(store, machine) == end, machine
        assert last_meter_reading(store, "NO-SUCH-MACHINE") is None
        started = time.perf_counter()
        for machine in highest:
            last_meter_reading(store, machine)
        per_check = (time.perf_counter() - started) / len(highest)
    print(f"last meter reading: {per_check * 1000:.1f} ms per check on {sum(1 for _ in highest)} machines")


def _direct_ageing(store: LocalStore, kind: str, as_of: date) -> Ageing:
    """The shared rule over every record as stored, read without the desktop's replica helpers: the invoices'
    payloads (a vendor invoice due by its vendor's terms), the settlements' payloads, `open_items.ageing`."""
    if kind == "ap":
        terms = {r.entity_id: (r.state or {}).get("payment_terms_days") for r in store.query("procurement.vendor")}
        invoices = [ap.invoice_from_payload(r.entity_id, r.state or {}, terms[(r.state or {})["vendor_id"]])
                    for r in store.query(ap.INVOICE)]
        documents = [i.as_document() for i in invoices if i.status != "cancelled"]
        settlements = [ap.payment_from_payload(r.entity_id, r.state or {}) for r in store.query(ap.PAYMENT)]
    else:
        billed = [ar.invoice_from_payload(r.entity_id, r.state or {}) for r in store.query(ar.INVOICE)]
        documents = [i.as_document() for i in billed if i.status == "issued"]
        settlements = [ar.receipt_from_payload(r.entity_id, r.state or {}) for r in store.query(ar.RECEIPT)]
    return ageing(documents, settlements, as_of)


def test_the_ageing_screen_at_site_size_shows_the_shared_rule_over_every_invoice_and_payment(qtbot, site) -> None:  # type: ignore[no-untyped-def]
    path, _counts = site
    today = date.today()
    with LocalStore.open(path, KEY) as store:
        screen = AgeingScreen(store, "finance", frozenset({"finance"}))
        qtbot.addWidget(screen)
        for as_of in (today, today - timedelta(days=200)):
            screen.as_of.setText(as_of.isoformat())
            for label, kind in KINDS.items():
                screen.kind.setCurrentText(label)
                want = _direct_ageing(store, kind, as_of)
                shown = [[screen.model.cell(r, c) for c in range(screen.model.columnCount())]
                         for r in range(screen.model.rowCount())]
                assert shown == ageing_csv_rows(want)[1:], f"{kind} ageing at {as_of}"
                # Not a trivially equal pair: the site's ledger has open items in every state.
                assert len(want.rows) >= 4 and want.total > 0, (kind, as_of)
                if as_of == today:  # invoices not yet due, and late ones (held by AP, a slow customer)
                    assert want.totals["current"] > 0, kind
                    assert sum(want.totals[b] for b in BUCKETS[1:]) > 0, kind
        today_ap = _direct_ageing(store, "ap", today)
        assert today_ap.totals["90+"] > 0 and today_ap.unapplied > 0  # disputed invoices; cash paid on account
        assert len(today_ap.items) < len(ap_replica.ap_documents(store)) / 3  # most invoices are paid


def test_an_operators_roster_and_leave_at_site_size_opens_fast_with_their_rows(qtbot, site) -> None:  # type: ignore[no-untyped-def]
    # Not in an administrator's window (it is the operators' own screen): opened here as op001 would.
    path, _counts = site
    with LocalStore.open(path, KEY) as store:
        started = time.perf_counter()
        screen = SelfServiceScreen(store, "op001", frozenset({"operator"}))
        qtbot.addWidget(screen)
        screen.show()
        screen.grab()
        opened = time.perf_counter() - started
        assert screen.roster.rowCount() == 28 and screen.attendance.rowCount() == 1  # four weeks; clocked today
        assert opened < SCREEN_BUDGET_S, f"My roster & leave took {opened:.2f} s"
    print(f"My roster & leave: {opened:.3f} s")


def test_the_sites_rental_invoices_are_what_the_desks_billing_makes_of_the_same_hours(site) -> None:  # type: ignore[no-untyped-def]
    # The history's invoices were made by the shared rules; the desk's own path (accepted hours over the
    # period's logs and reconciliation lines, per customer's contracts) must agree, or the AR ageing tests
    # figures no desk could have issued.
    path, _counts = site
    this_month = date.today().replace(day=1)
    months = [(this_month - timedelta(days=1)).replace(day=1), (this_month - timedelta(days=365)).replace(day=1)]
    with LocalStore.open(path, KEY) as store:
        for first in months:
            last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
            usage = ap_replica.billable(store, first, last)
            for c in range(1, 5):
                contracts = ap_replica.contracts(store, f"Customer {c}")
                ar.check_reviewed(contracts, usage.open, first, last)
                again = ar.rental_invoice("again", contracts, usage.shifts, first, last, this_month,
                                          details=usage.details)
                record = store.get(ar.INVOICE, f"ar-{first:%Y-%m}-c{c}")
                assert record is not None and record.state is not None, (first, c)
                stored = ar.invoice_from_payload(record.entity_id, record.state)
                assert [(ln.contract_id, ln.hours, ln.rate, ln.amount, ln.source) for ln in stored.lines] == [
                    (ln.contract_id, ln.hours, ln.rate, ln.amount, ln.source) for ln in again.lines], (first, c)
                assert stored.total > 0 and stored.due_date == last + timedelta(days=31)


def test_the_vendor_invoice_list_at_site_size_says_what_folding_every_approval_says(qtbot, site) -> None:  # type: ignore[no-untyped-def]
    # The list folds only the mismatch requests, once; the Inbox's fold of every request must give the same
    # approval state for every invoice, and the paid column the shared open-items rule over every payment.
    path, _counts = site
    with LocalStore.open(path, KEY) as store:
        screen = VendorInvoicesScreen(store, "finance", frozenset({"finance"}))
        qtbot.addWidget(screen)
        shown = {r.key: (r.cells[6], r.cells[8]) for r in screen.model.rows}
        every = [v for v in request_views(store) if v.document_type == ap.APPROVAL_TYPE]
        invoices = ap_replica.vendor_invoices(store)
        payments = [ap.payment_from_payload(r.entity_id, r.state or {}) for r in store.query(ap.PAYMENT)]
        paid = open_items([i.as_document() for i in invoices if i.status != "cancelled"], payments).settled
        want = {}
        for inv in invoices:
            status = "paid" if inv.total <= paid[inv.invoice_id] else inv.status
            if status == "awaiting_approval":
                needed = ap.mismatch_amount(ap_replica.match(store, inv))
                decided = ap_replica.status_of([v for v in every if v.document_id == inv.invoice_id], needed)
                status = {"approved": "approved", "rejected": "approval rejected", "pending": "waits for approval",
                          "approved for less": "approval covers less", "": "no approval asked"}[decided]
            want[inv.invoice_id] = (str(paid[inv.invoice_id]), status)
    assert shown == want
    seen = Counter(status for _paid, status in shown.values())
    assert seen["paid"] > 4_000 and seen["posted"] > 0  # paid by the runs; not yet due
    assert seen["waits for approval"] > 0 and seen["approval rejected"] > 0 and seen["approved"] > 0, seen


def test_each_machines_top_meter_reading_is_read_by_index_searches_alone_and_is_its_highest(site) -> None:  # type: ignore[no-untyped-def]
    # The PM plans screen grouped all 292,000 shift logs for it (0.9 s): now one seek per machine.
    path, _counts = site
    args = ("equipment.usage_log", "equipment_id", "hour_meter_end")
    with LocalStore.open(path, KEY) as store:
        table_query.ensure_indexes(store)
        plan = [row[3] for row in store.connection.execute("EXPLAIN QUERY PLAN " + top_per_group_sql(*args))]
        started = time.perf_counter()
        top = table_query.top_per_group(store, *args)
        took = time.perf_counter() - started
        highest: dict[str, float] = {}
        for r in store.query("equipment.usage_log"):
            end = (r.state or {}).get("hour_meter_end")
            if isinstance(end, int | float):
                machine = str((r.state or {})["equipment_id"])
                highest[machine] = max(highest.get(machine, end), end)
    assert not [step for step in plan if step.startswith("SCAN records")], plan
    assert any(table_query.top_index_name(*args) in step for step in plan), plan
    assert {str((r.state or {})["equipment_id"]): (r.state or {})["hour_meter_end"] for r in top} == highest
    assert len(top) == 200
    print(f"top meter reading of 200 machines: {took * 1000:.1f} ms")


def _full_fold_rows(store: LocalStore) -> list[tuple[str, list[str], bool, bool]]:
    """What the Stock screen showed before D87, computed as it did: every movement read and folded."""
    records = store.query("inventory.movement")
    pending = {(str((r.state or {}).get("store_id")), str((r.state or {}).get("item_id"))) for r in records
               if r.pending}
    names = {r.entity_id: str((r.state or {}).get("description") or "") for r in store.query("inventory.item")}
    return [(f"{ln.store_id}:{ln.item_id}", [ln.store_id, ln.item_id, names.get(ln.item_id, ""), qty(ln.quantity),
                                             f"{ln.average_cost:.2f}", f"{ln.value:.2f}", ln.reason],
             (ln.store_id, ln.item_id) in pending, ln.needs_review)
            for ln in stock_lines([(r.entity_id, r.state or {}) for r in records])]


def test_the_stock_screen_at_site_size_shows_the_full_fold_of_the_ledger_before_and_after_writes(qtbot, site) -> None:  # type: ignore[no-untyped-def]
    path, _counts = site
    with LocalStore.open(path, KEY) as store:
        screen = StockScreen(store, "storeman", frozenset({"storeman"}))
        qtbot.addWidget(screen)
        assert screen.ledger.wait(60.0)
        screen.refresh()

        def shown() -> list[tuple[str, list[str], bool, bool]]:
            return [(r.key, r.cells, r.pending, r.needs_review) for r in screen.model.rows]

        want = _full_fold_rows(store)
        assert shown() == want and len(want) > 1_000
        assert any(review for *_rest, review in want)  # not a trivially equal pair: some balances are red
        # Rows written past the screen's back (as the sync worker writes them): an issue of a stocked item
        # dated a year ago (replayed into the middle of its history), a row waiting for the hub, a new item.
        key = next(k for k, cells, _p, review in want if not review and cells[3] != "0")
        store_id, item_id = key.split(":", 1)
        year_ago = (date.today() - timedelta(days=365)).isoformat()
        added = {"mv-late": {"kind": "issue", "store_id": store_id, "item_id": item_id, "quantity": 3.0,
                             "occurred_at": f"{year_ago}T06:00:00+00:00"},
                 "mv-new": {"kind": "receipt", "store_id": "store-main", "item_id": "item-new", "quantity": 2.0,
                            "unit_cost": 9.5, "occurred_at": f"{year_ago}T07:00:00+00:00"}}
        try:
            with store.transaction() as conn:
                conn.executemany("INSERT INTO records (entity, entity_id, site_id, server_version, server_state, "
                                 "local_state, deleted, pending) VALUES ('inventory.movement', ?, 'north', 1, ?, ?, "
                                 "0, ?)", [(i, orjson.dumps(p).decode(), orjson.dumps(p).decode(), int(i == "mv-new"))
                                           for i, p in added.items()])
            started = time.perf_counter()
            screen.refresh()
            took = time.perf_counter() - started
            again = _full_fold_rows(store)
            assert shown() == again and again != want
            assert next(p for k, _c, p, _r in again if k == "store-main:item-new")
        finally:
            with store.transaction() as conn:
                conn.execute("DELETE FROM records WHERE entity = 'inventory.movement' AND entity_id IN "
                             "('mv-late', 'mv-new')")
        screen.refresh()
        assert shown() == want
    print(f"Stock refresh after two movements: {took:.3f} s")
