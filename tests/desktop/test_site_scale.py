"""The desktop on a site-sized replica (200 machines, two years of daily shift logs, work orders, stock):
every screen opens again and again in a real Qt event loop and shows rows, and the app stays up.

Issue 12: with PySide6 6.12.0 on CPython 3.11 each call that returns nothing (QTableWidget.setItem above all)
dropped a reference to None, and the app aborted with "Fatal Python error: none_dealloc" on the first
screen with a few thousand cells. An abort here takes the whole pytest run down, which fails it too."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QAbstractItemView, QListWidget, QTableView, QWidget

from desktop.app import build
from desktop.binding_check import drops_none_references
from desktop.hours_views import last_meter_reading
from desktop.pm_plans_view import plan_readings
from desktop.report_screen import ReportScreen
from shared.domain import pm
from shared.domain.ops_views import meter_readings
from shared.store import LocalStore, PassphraseKeyProvider
from tests.desktop.site_store import build_site_store, site_spec

KEY = PassphraseKeyProvider("site test", n=2**10)
ROUNDS = 3


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("site") / "desk.db"
    started = time.perf_counter()
    counts = build_site_store(path, KEY, site_spec())
    print(f"site store: {sum(counts.values()):,} records in {time.perf_counter() - started:.1f} s")
    return path, counts


def rows_shown(page: QWidget) -> int:
    """The most rows any list or table on the screen holds (a screen's detail tables may rightly be empty)."""
    views: list[QAbstractItemView] = [*page.findChildren(QTableView), *page.findChildren(QListWidget)]
    return max((v.model().rowCount() for v in views if v.model() is not None), default=0)


def test_the_installed_qt_binding_keeps_its_references_to_none() -> None:
    """PySide6 6.12.0 on CPython 3.11 fails this (pyproject.toml pins below it; the app refuses to start)."""
    assert not drops_none_references()


def test_every_screen_of_a_200_machine_two_year_site_opens_three_times_and_shows_rows(qtbot, site) -> None:  # type: ignore[no-untyped-def]
    path, counts = site
    assert counts["equipment.unit"] == 200 and counts["equipment.usage_log"] == 200 * 730 * 2 + 40  # + today's
    assert counts["maintenance.work_order"] > 10_000 and counts["inventory.movement"] > 50_000
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
    print("slowest open per screen (s):", {t: round(s, 2) for t, s in slowest.items()})
    assert window.kpis.model.rowCount() == 200  # a row per machine over the last 30 days
    assert window.rental.model.rowCount() == 20
    assert window.ops["Inbox"].approvals.model().rowCount() == 1
    assert window.conflicts_inbox.list.count() == 30
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
