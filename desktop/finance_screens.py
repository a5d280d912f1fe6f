"""The payables and receivables screens (issue 13) and who sees them: roles that read `finance.*` (finance, site
manager, administrator); each screen shows its form only to roles that may write what it saves."""

from __future__ import annotations

from desktop.ap_ar_ageing import AgeingScreen
from desktop.ap_views import PaymentsScreen, VendorInvoicesScreen
from desktop.ar_views import CustomerInvoicesScreen, CustomerReceiptsScreen
from desktop.journal_screen import JournalScreen
from desktop.ops_screen import OpsScreen
from desktop.tolerance_screen import TolerancesScreen
from shared.permissions import allows

FINANCE_SCREENS: list[tuple[str, type[OpsScreen]]] = [
    ("Vendor invoices", VendorInvoicesScreen), ("Payments", PaymentsScreen),
    ("Customer invoices", CustomerInvoicesScreen), ("Customer receipts", CustomerReceiptsScreen),
    ("AP/AR ageing", AgeingScreen), ("Match tolerances", TolerancesScreen),
    ("Manual journals", JournalScreen),
]


def finance_screens(roles: frozenset[str]) -> list[tuple[str, type[OpsScreen]]]:
    return FINANCE_SCREENS if allows(roles, "read", "finance.vendor_invoice") else []
