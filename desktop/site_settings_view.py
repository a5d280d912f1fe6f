"""Site settings (issue 14): what the people screens of this site run on, as synced records: the time zone and
shift starts (rosters, attendance), the hours-reconciliation threshold, the site's public holidays and the
tenant's allowance rules (payroll). Everyone who reads `hr.*` sees them; the forms are for those who may write
them (HR and administrators)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.mutation_form import MutationForm
from desktop.ops_screen import OpsScreen, table_view
from desktop.site_settings_forms import allowance_form, holiday_form, settings_form
from desktop.site_settings_store import current_settings, site_of
from shared.domain.allowances import ALLOWANCE_RULE
from shared.domain.site_calendar import PUBLIC_HOLIDAY, SITE_SETTINGS, settings_payload
from shared.permissions import allows
from shared.store import LocalStore


class SiteSettingsScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.summary = QLabel("")
        self.summary.setObjectName("site_settings_summary")
        self.summary.setWordWrap(True)
        self.holidays = ComputedTableModel(["Date", "Holiday"])
        self.rules = ComputedTableModel(["Code", "Allowance", "Paid per", "Rate (cents)", "Multiplier", "Site"])
        left = QVBoxLayout()
        left.addWidget(self.summary)
        left.addWidget(QLabel("Public holidays of this site"))
        left.addWidget(table_view(self.holidays, "table:hr.public_holiday"), 1)
        left.addWidget(QLabel("Allowance rules (every site unless one is named)"))
        left.addWidget(table_view(self.rules, "table:hr.allowance_rule"), 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        self.settings_form = settings_form(store, actor) if allows(roles, "write", SITE_SETTINGS) else None
        self.holiday_form = holiday_form(store, actor) if allows(roles, "write", PUBLIC_HOLIDAY) else None
        self.allowance_form = allowance_form(store, actor) if allows(roles, "write", ALLOWANCE_RULE) else None
        forms: list[MutationForm] = [f for f in (self.settings_form, self.holiday_form, self.allowance_form) if f]
        if forms:
            right = QVBoxLayout()
            for form in forms:
                form.saved.connect(lambda _id: self.after_write())
                right.addWidget(form)
            right.addStretch(1)
            layout.addLayout(right, 2)
        self.refresh()

    def refresh(self) -> None:
        settings = current_settings(self.store)
        p = settings.pattern
        text = (f"Site {site_of(self.store) or '?'}: time zone {p.time_zone}, day shift from "
                f"{p.day_start:%H:%M}, night shift from {p.night_start:%H:%M}; reconciliation threshold "
                f"{settings.threshold} h")
        if self.store.get(SITE_SETTINGS, site_of(self.store) or "") is None:
            text += " (defaults: nothing saved for this site yet)"
        if settings.problems:
            text += ". Stored values not understood, defaults used: " + "; ".join(settings.problems)
        self.summary.setText(text)
        if self.settings_form is not None and not any(e.text() for e in self.settings_form.inputs.values()):
            for name, value in settings_payload(settings).items():
                self.settings_form.set_text(name, f"{value:g}" if isinstance(value, float) else str(value))
        site = site_of(self.store)
        self.holidays.set_rows(sorted(
            (ComputedRow(r.entity_id, [str(s.get("day")), str(s.get("name"))], pending=r.pending)
             for r in self.store.query(PUBLIC_HOLIDAY) if (s := r.state or {})
             and (site is None or r.entity_id.startswith(f"{site}:"))), key=lambda row: row.cells[0]))
        self.rules.set_rows([
            ComputedRow(r.entity_id, [str(s.get("code")), str(s.get("name") or ""), str(s.get("basis")),
                                      "" if s.get("rate_cents") is None else str(s["rate_cents"]),
                                      "" if s.get("multiplier") is None else f"{float(s['multiplier']):g}",
                                      str(s.get("site") or "every site")], pending=r.pending)
            for r in self.store.query(ALLOWANCE_RULE, order_by="code") if (s := r.state or {})])
