"""The Finance reports in the navigation (issue 13): trial balance, general ledger and stock valuation, read
from the hub (HQ, online) by the person signed in, so only for roles that read finance.* (finance, site
manager, administrator; shared/permissions.py). One hub session is shared by the three screens: signing in on
one signs in all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtWidgets import QWidget

from desktop.report_client import HubSession
from desktop.report_ledger import LedgerScreen
from desktop.report_screen import ReportScreen
from desktop.report_stock import StockValuationScreen
from desktop.report_trial_balance import TrialBalanceScreen
from shared.permissions import allows

SCREENS: list[tuple[str, type[ReportScreen]]] = [("Finance: trial balance", TrialBalanceScreen),
                                                 ("Finance: general ledger", LedgerScreen),
                                                 ("Finance: stock valuation", StockValuationScreen)]


def reads_finance(roles: frozenset[str]) -> bool:
    return allows(roles, "read", "finance.ledger")


def finance_report_screens(roles: frozenset[str], hub_url: Callable[[], str | None], username: str,
                           tenant_id: str | None, export_folder: Path | None = None,
                           names: Callable[[], Mapping[str, str]] | None = None) -> list[tuple[str, QWidget]]:
    """(navigation title, screen) for each report, or none for a role that does not read finance.*."""
    if not reads_finance(roles):
        return []
    session = HubSession(hub_url, username, tenant_id)
    return [(title, screen(session, export_folder, names)) for title, screen in SCREENS]
