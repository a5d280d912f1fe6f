"""The Finance report screens (desktop/finance_reports.py and desktop/report_*.py) against a real hub process:
the person signs in to the hub on the screen, the reports are fetched off the UI thread and shown, the ledger
pages through the hub's keyset pages, a stock difference is red, exports write the report's CSV and PDF, and
an unreachable hub is said on the screen while the window keeps running. Only finance.* readers see them."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtPdf import QPdfDocument

from desktop.report_client import HubSession
from desktop.report_ledger import LedgerScreen
from desktop.report_screen import RED, ReportScreen
from desktop.report_stock import StockValuationScreen
from desktop.report_trial_balance import TrialBalanceScreen
from tests.desktop.test_ops_maintenance import click, open_ops
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_finance_reports import at, entries, stock_record
from tests.hub.test_identity import setup_tenant
from tests.hub.test_identity_users import PASSWORD, add_user
from tests.hub.test_ledger_store import post

TENANT = "t-fin-desk"
ADDRESS = "127.0.0.62"  # this module's own sign-in rate bucket at the hub, not the suite's 127.0.0.1


@pytest.fixture(scope="module")
def hub(hub_server: HubProcess) -> HubProcess:
    setup_tenant(hub_server.dsn, TENANT, ("s1", "s2"))
    post(hub_server.dsn, TENANT, entries())
    stock_record(hub_server, TENANT, "s1", "WS:FILTER", [(at(20), 15500)])  # 1400 at s1 is 105.00 now
    stock_record(hub_server, TENANT, "s2", "PIT:HOSE", [(at(25), 5000)])  # 1400 at s2 is 50.00: reconciled
    add_user(hub_server.dsn, TENANT, "fran", [("finance", None)])
    add_user(hub_server.dsn, TENANT, "sid", [("finance", "s1")])  # finance at one site only
    return hub_server


class Url:
    """The hub address the screens ask, changeable mid-test (the office loses the hub)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self) -> str:
        return self.url


NAMES = {"1400": "Inventory", "2100": "Accounts payable"}  # as the office's chart names them


def screen_of(qtbot, kind: type[ReportScreen], session: HubSession, tmp_path: Path) -> ReportScreen:  # type: ignore[no-untyped-def]
    screen = kind(session, tmp_path / "exports", lambda: NAMES)
    qtbot.addWidget(screen)
    screen.show()
    return screen


def settle(qtbot, screen: ReportScreen) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not screen.busy, timeout=20000)


def sign_in(qtbot, screen: ReportScreen, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    assert screen.signin_row.isVisible()
    qtbot.keyClicks(screen.password, password)
    click(qtbot, screen.signin_button)
    settle(qtbot, screen)


def cells(screen: ReportScreen) -> list[list[str]]:
    t = screen.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_trial_balance_after_signing_in_to_the_hub_with_csv_and_pdf(qtbot, hub: HubProcess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session = HubSession(Url(hub.url), "fran", TENANT, local_address=ADDRESS)
    screen = screen_of(qtbot, TrialBalanceScreen, session, tmp_path)
    click(qtbot, screen.show_button)
    assert screen.signin_row.isVisible() and "Sign in" in screen.status.text()  # nothing asked yet
    sign_in(qtbot, screen, "wrong password")
    assert "did not sign fran in" in screen.password_error.text() and screen.table.rowCount() == 0
    sign_in(qtbot, screen)  # signing in goes on to show the report
    assert not screen.signin_row.isVisible() and screen.status.text().startswith("Balanced")
    assert cells(screen) == [["1400", "Inventory", "185.00", "30.00", "155.00"],
                             ["2100", "Accounts payable", "0.00", "185.00", "-185.00"],
                             ["5100", "", "30.00", "0.00", "30.00"], ["Total", "", "215.00", "215.00", "0.00"]]
    qtbot.keyClicks(screen.as_of, "2026-11-30")
    screen.by.setCurrentIndex(screen.by.findData("site"))
    click(qtbot, screen.show_button)
    settle(qtbot, screen)
    assert cells(screen)[:4] == [["1400", "Inventory", "", "175.00", "30.00", "145.00"],
                                 ["", "", "s1", "125.00", "30.00", "95.00"], ["", "", "s2", "50.00", "0.00", "50.00"],
                                 ["2100", "Accounts payable", "", "0.00", "175.00", "-175.00"]]
    click(qtbot, screen.csv_button)
    settle(qtbot, screen)
    assert screen.last_export is not None and screen.last_export.name == "trial-balance-as-of-2026-11-30-by-site.csv"
    lines = screen.last_export.read_bytes().decode().split("\r\n")
    assert lines[:3] == ["Account,Name,Site,Debit,Credit,Balance", "1400,Inventory,,175.00,30.00,145.00",
                         ",,s1,125.00,30.00,95.00"]
    assert lines[-2] == "Total,,,205.00,205.00,0.00"
    click(qtbot, screen.pdf_button)
    settle(qtbot, screen)
    doc = QPdfDocument()
    assert screen.last_export.suffix == ".pdf" and doc.load(str(screen.last_export)) == QPdfDocument.Error.None_
    assert doc.pageCount() == 1 and "Trial balance" in doc.getAllText(0).text()
    doc.close()
    # A field the screen can check is refused beside it, without asking the hub.
    screen.as_of.setText("30/11/2026")
    click(qtbot, screen.show_button)
    assert "YYYY-MM-DD" in screen.errors["as_of"].text() and not screen.busy


def test_the_ledger_pages_through_the_hub_and_exports_the_whole_range(qtbot, hub: HubProcess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = Url(hub.url)
    session = HubSession(url, "fran", TENANT, local_address=ADDRESS)
    session.sign_in(PASSWORD)
    screen = screen_of(qtbot, LedgerScreen, session, tmp_path)
    assert isinstance(screen, LedgerScreen)
    click(qtbot, screen.show_button)
    assert "which account" in screen.errors["account"].text()
    screen.page_size = 2
    qtbot.keyClicks(screen.account, "1400")
    qtbot.keyClicks(screen.start, "2026-11-01")
    click(qtbot, screen.show_button)
    settle(qtbot, screen)
    pages = [cells(screen)]
    assert pages[0][0][3:] == ["Opening balance", "", "", "", "", "100.00"]
    assert [r[8] for r in pages[0][1:-1]] == ["150.00", "175.00"] and pages[0][-1][8] == "155.00"  # closing
    assert screen.next_button.isEnabled() and not screen.previous_button.isEnabled()
    with socket.socket() as s:  # the hub goes away: Next says so and the screen stays on page 1
        s.bind(("127.0.0.1", 0))
        url.url = f"http://127.0.0.1:{s.getsockname()[1]}"
    click(qtbot, screen.next_button)
    click(qtbot, screen.next_button)  # a second click while the first is out is not a second page
    settle(qtbot, screen)
    assert "unreachable" in screen.status.text() and cells(screen) == pages[0] and screen.page == 0
    url.url = hub.url
    click(qtbot, screen.next_button)
    settle(qtbot, screen)
    pages.append(cells(screen))
    assert pages[1][0][3] == "Brought forward" and pages[1][0][8] == "175.00"
    assert [(r[1], r[8]) for r in pages[1][1:-1]] == [("goods_issue:B1", "145.00"), ("goods_receipt:A3", "155.00")]
    assert not screen.next_button.isEnabled() and screen.page_label.text() == "page 2"
    click(qtbot, screen.previous_button)
    settle(qtbot, screen)
    assert cells(screen) == pages[0]
    click(qtbot, screen.csv_button)
    settle(qtbot, screen)
    assert screen.last_export is not None
    rows = screen.last_export.read_bytes().decode().split("\r\n")
    assert screen.last_export.name == "general-ledger-account-1400-inventory-2026-11-01-to-the-last-line.csv"
    assert rows[0].startswith("Date,Entry,Line") and rows[1].endswith("Opening balance,,,,,100.00")
    assert [r.split(",")[-1] for r in rows[2:6]] == ["150.00", "175.00", "145.00", "155.00"]  # both pages
    assert rows[6] == ",,,\"Totals for the range, closing balance\",,,85.00,30.00,155.00" and rows[7] == ""
    # The dimension filter needs both halves; with them, only s2's line.
    screen.dimension.setCurrentIndex(screen.dimension.findData("site"))
    click(qtbot, screen.show_button)
    assert "which site" in screen.errors["value"].text()
    qtbot.keyClicks(screen.value, "s2")
    click(qtbot, screen.show_button)
    settle(qtbot, screen)
    assert [(r[5], r[8]) for r in cells(screen)[1:-1]] == [("site=s2", "50.00")]


def test_a_stock_difference_is_red_and_a_site_only_grant_is_refused(qtbot, hub: HubProcess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session = HubSession(Url(hub.url), "fran", TENANT, local_address=ADDRESS)
    session.sign_in(PASSWORD)
    screen = screen_of(qtbot, StockValuationScreen, session, tmp_path)
    screen.detail.setChecked(True)
    click(qtbot, screen.show_button)
    settle(qtbot, screen)
    table = cells(screen)
    # s1: stock 155.00 against 1400's 105.00 (100 + 25 − 30 + 10): 50.00 over, red. s2 agrees.
    assert table[0][:7] == ["s1", "", "", "", "155.00", "105.00", "50.00"] and table[0][7] == "DIFFERENCE"
    assert table[1][1:5] == ["WS", "FILTER", "10.0", "155.00"]
    assert table[2][:7] == ["s2", "", "", "", "50.00", "50.00", "0.00"] and table[2][7] == "reconciled"
    red = QColor(RED)
    assert screen.table.item(0, 6).foreground().color() == red
    assert screen.table.item(2, 6).foreground().color() != red
    assert screen.table.item(len(table) - 1, 6).foreground().color() == red  # the total differs too
    assert "differ by 50.00" in screen.status.text() and RED in screen.status.styleSheet()
    site_only = HubSession(Url(hub.url), "sid", TENANT, local_address=ADDRESS)
    site_only.sign_in(PASSWORD)
    refused = screen_of(qtbot, StockValuationScreen, site_only, tmp_path)
    click(qtbot, refused.show_button)
    settle(qtbot, refused)
    assert "may not read the stock valuation" in refused.status.text() and refused.table.rowCount() == 0


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hub that hangs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


def test_an_unreachable_hub_is_said_on_the_screen_and_the_window_keeps_running(qtbot, hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                                tmp_path: Path,
                                                                                silent_port: int) -> None:
    url = Url(hub.url)
    session = HubSession(url, "fran", TENANT, timeout=2.0, local_address=ADDRESS)
    session.sign_in(PASSWORD)
    screen = screen_of(qtbot, TrialBalanceScreen, session, tmp_path)
    url.url = f"http://127.0.0.1:{silent_port}"
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(50)
    click(qtbot, screen.show_button)
    assert screen.busy and screen.status.text() == "Loading from the hub…"  # the click returned at once
    settle(qtbot, screen)
    timer.stop()
    assert len(ticks) >= 10  # the event loop ran all through the 2 s the hub did not answer
    assert "unreachable" in screen.status.text() and RED in screen.status.styleSheet()
    assert screen.show_button.isEnabled() and screen.table.rowCount() == 0
    with socket.socket() as s:  # a port nobody listens on: refused at once, said the same way
        s.bind(("127.0.0.1", 0))
        url.url = f"http://127.0.0.1:{s.getsockname()[1]}"
    click(qtbot, screen.show_button)
    settle(qtbot, screen)
    assert "unreachable" in screen.status.text()
    url.url = hub.url  # back online: the same screen shows the report
    click(qtbot, screen.show_button)
    settle(qtbot, screen)
    assert screen.table.rowCount() == 4


@pytest.mark.parametrize(("roles", "shown"), [(frozenset({"finance"}), True), (frozenset({"site_manager"}), True),
                                               (frozenset({"storeman"}), False), (frozenset({"viewer"}), False)])
def test_the_finance_reports_are_in_the_navigation_for_finance_readers_only(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                            roles: frozenset[str], shown: bool) -> None:
    desk = open_ops(tmp_path / "desk.db", actor="fran", roles=roles)
    qtbot.addWidget(desk.window)
    titles = [desk.window.nav.item(n).text() for n in range(desk.window.nav.count())]
    finance = [t for t in titles if t.startswith("Finance:")]
    assert finance == (["Finance: trial balance", "Finance: general ledger", "Finance: stock valuation"]
                       if shown else [])
    if shown:
        desk.window.show_module("Finance: general ledger")
        assert desk.window.pages.currentWidget() is desk.window.reports["Finance: general ledger"]
    desk.close()

