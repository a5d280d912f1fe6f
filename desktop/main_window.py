"""The site office's main window: modules on the left, the status of sync always at the bottom."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.chart_screen import account_names, chart_screens
from desktop.conflicts_view import ConflictsInbox
from desktop.enrollment import HUB_URL_KEY
from desktop.equipment_checks import fleet_number_check
from desktop.filter_bar import FilterBar
from desktop.finance_reports import finance_report_screens
from desktop.finance_screens import finance_screens
from desktop.hours_views import GatewayHoursView, RentalHoursView, hour_meter_check
from desktop.inbox_view import InboxScreen
from desktop.kpi_view import KpiDashboard
from desktop.ops_screen import OpsScreen
from desktop.people_screens import people_screens
from desktop.pm_plans_view import PmPlansScreen
from desktop.purchase_orders_view import PurchaseOrdersScreen
from desktop.record_form import RecordForm
from desktop.rejections_view import RejectedChanges
from desktop.requisitions_view import RequisitionsScreen
from desktop.stock_view import StockScreen
from desktop.table_model import RecordTableModel
from desktop.table_query import ensure_indexes
from desktop.transfers_view import TransfersScreen
from desktop.usage_log_form import UsageLogForm
from desktop.work_orders_view import WorkOrdersScreen
from shared.store import LocalStore
from shared.sync import SyncState

MODULES = [
    ("Equipment", "equipment.unit", [("fleet_no", "Fleet no."), ("equipment_class", "Class"), ("make", "Make"),
                                     ("model", "Model"), ("status", "Status")],
     ["fleet_no", "equipment_class", "make", "model", "serial"]),
    ("Hours per shift", "equipment.usage_log", [("equipment_id", "Equipment"), ("shift_date", "Date"),
                                                ("shift", "Shift"), ("operating_hours", "Operating"),
                                                ("idle_hours", "Idle"), ("source", "Source")],
     ["equipment_id", "shift_date", "shift", "operator", "operating_hours", "standby_hours", "repair_hours",
      "hour_meter_start", "hour_meter_end"]),
    ("Breakdowns", "equipment.breakdown", [("equipment_id", "Equipment"), ("started_at", "Start"),
                                           ("ended_at", "End"), ("cause", "Cause"), ("fault_code", "Fault")],
     ["equipment_id", "started_at", "ended_at", "cause", "fault_code", "notes"]),
    ("Conflict history", "sync.conflict", [("entity", "Record type"), ("entity_id", "Record"),
                                           ("strategy", "Rule"), ("resolution", "What happened"),
                                           ("status", "Status")], []),
]


# The operations screens (issue 6), after the equipment modules in the navigation.
OPS_SCREENS: list[tuple[str, type[OpsScreen]]] = [
    ("Work orders", WorkOrdersScreen), ("PM plans", PmPlansScreen), ("Stock", StockScreen),
    ("Transfers", TransfersScreen), ("Requisitions", RequisitionsScreen),
    ("Purchase orders", PurchaseOrdersScreen), ("Inbox", InboxScreen),
]


REVOKED_TEXT = "this PC was revoked: ask HQ to enroll it again"


class MainWindow(QMainWindow):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._sync_detached = False
        self.revoked: str | None = None
        self.store = store
        self.actor, self.roles = actor, roles  # who is signed in (the idle lock names them)
        self.setWindowTitle(f"Pitline — site office — {actor}")
        self.resize(1100, 700)
        self.nav = QListWidget()
        self.pages = QStackedWidget()
        self.models: dict[str, RecordTableModel] = {}
        self.forms: dict[str, RecordForm] = {}
        self.filters: dict[str, FilterBar] = {}
        ensure_indexes(store)
        for title, entity, columns, form_fields in MODULES:
            page = QWidget()
            layout = QHBoxLayout(page)
            model = RecordTableModel(store, entity, columns)
            view = QTableView()
            view.setObjectName(f"table:{entity}")
            view.setModel(model)
            view.setSortingEnabled(True)
            view.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # Qt's default indicator would sort descending
            view.setAlternatingRowColors(True)
            self.filters[entity] = FilterBar(model)
            left = QVBoxLayout()
            left.addWidget(self.filters[entity])
            left.addWidget(view)
            layout.addLayout(left, 3)
            if form_fields:
                check = {"equipment.usage_log": hour_meter_check(store),
                         "equipment.unit": fleet_number_check(store)}.get(entity)
                form = (UsageLogForm(store, form_fields, actor, extra_check=check) if entity == "equipment.usage_log"
                        else RecordForm(store, entity, form_fields, actor, extra_check=check))  # operator check: D81
                form.saved.connect(lambda _id, m=model: self._after_save(m))
                layout.addWidget(form, 2)
                self.forms[entity] = form
            self.models[entity] = model
            self.nav.addItem(title)
            self.pages.addWidget(page)
        self.kpis = KpiDashboard(store)
        self.conflicts_inbox = ConflictsInbox(store, actor)
        self.conflicts_inbox.resolved.connect(lambda _id: self._after_save(self.models["sync.conflict"]))
        self.rental = RentalHoursView(store)
        self.gateway = GatewayHoursView(store)
        self.rejected = RejectedChanges(store)
        self.ops: dict[str, OpsScreen] = {}
        for title, screen_class in [*OPS_SCREENS, *people_screens(roles), *chart_screens(roles),
                                    *finance_screens(roles)]:
            screen = screen_class(store, actor, roles)
            screen.changed.connect(self._after_ops_write)
            self.ops[title] = screen
            self.nav.addItem(title)
            self.pages.addWidget(screen)
        for title, widget in (("Gateway vs logged hours", self.gateway), ("Rental hours", self.rental),
                              ("KPI dashboard", self.kpis), ("Conflicts inbox", self.conflicts_inbox),
                              ("Refused by the hub", self.rejected)):
            self.nav.addItem(title)
            self.pages.addWidget(widget)
        # Set by desktop.app.build; an enrolled PC keeps it in the store (read here: the reports' threads must not).
        self.hub_url: str | None = store.get_meta(HUB_URL_KEY)
        self.reports = dict(finance_report_screens(roles, lambda: self.hub_url, actor,
                                                   store.identity.tenant_id if store.identity else None,
                                                   names=lambda: account_names(store)))
        for title, report in self.reports.items():  # HQ reports, read from the hub (finance.* readers only)
            self.nav.addItem(title)
            self.pages.addWidget(report)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.currentRowChanged.connect(lambda _row: self._refresh_current())
        self.nav.setCurrentRow(0)
        splitter = QSplitter()
        splitter.addWidget(self.nav)
        splitter.addWidget(self.pages)
        splitter.setSizes([180, 920])
        central = QWidget()
        QVBoxLayout(central).addWidget(splitter)
        self.setCentralWidget(central)
        self.online = QLabel("offline")
        self.outbox = QLabel("")
        self.last_sync = QLabel("never synced")
        self.conflicts = QLabel("")
        self.refused = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self._outbox_peak = 0
        for label in (self.progress, self.online, self.outbox, self.last_sync, self.conflicts, self.refused):
            self.statusBar().addPermanentWidget(label)
        self.on_outbox_changed: Callable[[], None] = lambda: None
        self.refresh_counts()

    def _after_save(self, model: RecordTableModel) -> None:
        model.reload()
        self.refresh_views()
        self.refresh_counts()
        self.on_outbox_changed()

    def _after_ops_write(self) -> None:
        self.refresh_counts()
        self.on_outbox_changed()

    def refresh_counts(self) -> None:
        self.outbox.setText(f"outbox: {self.store.outbox_depth()}")
        waiting = len(self.store.conflicts("open"))
        self.conflicts.setText(f"conflicts waiting: {waiting}")
        refused = self.store.rejection_count()
        self.refused.setText(f"refused by the hub: {refused}" if refused else "")
        self.refused.setStyleSheet("color: #b00020; font-weight: bold" if refused else "")

    def show_revoked(self, message: str) -> None:
        """The hub no longer knows this PC (an administrator revoked it): say so for good, not "offline"."""
        self.revoked = message
        self.online.setText(REVOKED_TEXT)
        self.online.setToolTip(message)
        self.online.setStyleSheet("color: #b00020; font-weight: bold")

    def show_sync_state(self, state: SyncState) -> None:
        if self._sync_detached:
            return
        reason = f": {state.last_error}" if state.last_error else ""
        if self.revoked is None:
            self.online.setText("online" if state.online else f"offline{reason}")
        if state.last_push_at or state.last_event_at:
            when = max(t for t in (state.last_push_at, state.last_event_at) if t is not None)
            self.last_sync.setText(f"last sync {when:%H:%M:%S} UTC")
        self.outbox.setText(f"outbox: {state.outbox_depth}")
        if state.rejected and self.refused.text() != f"refused by the hub: {state.rejected}":
            self.refresh_counts()  # the push loop moved a refused change out of the outbox
            if self.pages.currentWidget() is self.rejected:
                self.rejected.refresh()
        self._show_progress(state)

    def _show_progress(self, state: SyncState) -> None:
        """A bar while a large outbox drains or a backfill arrives (the work itself runs off the UI thread)."""
        self._outbox_peak = max(self._outbox_peak, state.outbox_depth) if state.outbox_depth else 0
        if state.head_seq - state.cursor > 1000:
            self.progress.setFormat("receiving %v / %m")
            self.progress.setRange(0, state.head_seq)
            self.progress.setValue(state.cursor)
            self.progress.setVisible(True)
        elif self._outbox_peak > 1000:
            self.progress.setFormat("sending %v / %m")
            self.progress.setRange(0, self._outbox_peak)
            self.progress.setValue(self._outbox_peak - state.outbox_depth)
            self.progress.setVisible(True)
        else:
            self.progress.setVisible(False)

    def on_events_arrived(self, _count: int) -> None:
        """Events from the hub were applied to the store (delivered on the GUI thread)."""
        if not self._sync_detached:
            self.refresh_tables()

    @property
    def sync_detached(self) -> bool:
        return self._sync_detached

    def detach_sync(self) -> None:
        """Ignore sync signals from now on: the window and its store are closing."""
        self._sync_detached = True

    def refresh_tables(self) -> None:
        for model in self.models.values():
            model.reload()
        self.refresh_views()
        self.refresh_counts()

    def refresh_views(self) -> None:
        """The conflicts inbox always (it feeds the status bar); the computed views only when on screen, since
        they read whole entities and an arriving backfill would otherwise recompute them on every batch."""
        self.conflicts_inbox.reload()
        self._refresh_current()

    def _refresh_current(self) -> None:
        page = self.pages.currentWidget()
        if page in (self.kpis, self.rental, self.gateway, self.rejected) or isinstance(page, OpsScreen):
            page.refresh()

    def show_module(self, title: str) -> None:
        matches = self.nav.findItems(title, Qt.MatchFlag.MatchExactly)
        if matches:
            self.nav.setCurrentItem(matches[0])
