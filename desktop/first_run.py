"""First run on a PC: enroll it with a hub (hub URL + enrollment token) or start a standalone demo site.
Both end with a person who can sign in offline (the demo site creates its own supervisor)."""

from __future__ import annotations

import ipaddress
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from desktop.enrollment import HUB_URL_KEY, MODE_KEY, EnrollResult, EnrollWorker, record_enrollment
from desktop.signin import Verifiers
from shared.envelopes import Op
from shared.ids import new_ulid
from shared.store import DeviceIdentity, LocalStore, MutationDraft

HUB_TOKEN_KEY = "desktop.hub_token"
__all__ = ["HUB_TOKEN_KEY", "HUB_URL_KEY", "MODE_KEY", "FirstRunDialog", "add_demo_data", "is_set_up",
           "remember_hub", "start_standalone"]


PLAIN_HTTP_WARNING = ("Plain http: the enrollment token, and later this PC's sign-ins and the office's data, "
                      "travel unencrypted and can be read on the way. Use https:// unless the hub is on this PC.")


def unencrypted_remote(url: str) -> bool:
    """True for an http:// address of another machine (http to this PC itself never leaves it)."""
    if not url.strip().lower().startswith("http://"):
        return False
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:  # half typed ("http://[::1"): not yet known to be this PC
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def is_set_up(store: LocalStore) -> bool:
    return store.get_meta(MODE_KEY) is not None


def start_standalone(store: LocalStore, username: str, password: str, *, with_demo_data: bool = True) -> None:
    if store.identity is None:
        store.set_identity(DeviceIdentity(f"desk-{new_ulid()[-8:].lower()}", "demo", "demo-site"))
    # The only person of a standalone site does every job (approves, plans, issues stock).
    Verifiers(store).add_local_user(username, password, roles=["supervisor", "admin"])
    if with_demo_data:
        add_demo_data(store, actor=username)
    store.set_meta(MODE_KEY, "standalone")


def remember_hub(store: LocalStore, hub_url: str, token: str) -> None:
    """A provisioned device's static access token (demo and tests; enrolled PCs sign challenges instead), kept
    inside the encrypted store with the hub address for the sync worker."""
    store.set_meta(HUB_URL_KEY, hub_url.rstrip("/"))
    store.set_meta(HUB_TOKEN_KEY, token)
    store.set_meta(MODE_KEY, "hub-token")


def add_demo_data(store: LocalStore, actor: str, days: int = 14) -> None:
    """A small fleet with a fortnight of shifts and a few breakdowns, so every screen has something to show."""
    units = [("DT01", "truck", "CAT", "777G", True, 310.0, "Kumba Haulage"), ("DT02", "truck", "CAT", "777G", False,
             None, None), ("EX01", "excavator", "Komatsu", "PC2000", False, None, None),
             ("DZ01", "dozer", "CAT", "D10T", True, 250.0, "Ridge Contracting")]
    drafts = []
    for fleet_no, cls, make, model, rental, rate, customer in units:
        state = {"fleet_no": fleet_no, "equipment_class": cls, "make": make, "model": model, "status": "operating",
                 "rental": rental, "serial": f"SN-{fleet_no}-0042"}
        if rental:
            state |= {"rental_rate": rate, "customer": customer}
        drafts.append(MutationDraft("equipment.unit", fleet_no, Op.CREATE, state, actor))
    today = date.today()
    for u, (fleet_no, *_rest) in enumerate(units):
        meter = 12_000.0 + 1000 * u
        for d in range(days, 0, -1):
            day = today - timedelta(days=d)
            for shift in ("day", "night"):
                operating = 7.0 + ((d + u) % 4)
                repair = 2.0 if (d + u) % 5 == 0 else 0.0
                standby = max(0.0, 12 - operating - repair)
                drafts.append(MutationDraft("equipment.usage_log", new_ulid(), Op.CREATE, {
                    "equipment_id": fleet_no, "shift_date": day.isoformat(), "shift": shift, "operator": "J. Mokoena",
                    "operating_hours": operating, "standby_hours": standby, "repair_hours": repair,
                    "hour_meter_start": meter, "hour_meter_end": meter + operating, "source": "manual"}, actor))
                drafts.append(MutationDraft("equipment.usage_log", new_ulid(), Op.CREATE, {
                    "equipment_id": fleet_no, "shift_date": day.isoformat(), "shift": shift,
                    "operating_hours": operating - 0.3 * ((d + u) % 3), "source": "telematics"}, "gateway"))
                meter += operating
                if repair:
                    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=8)
                    drafts.append(MutationDraft("equipment.breakdown", new_ulid(), Op.CREATE, {
                        "equipment_id": fleet_no, "started_at": start.isoformat(),
                        "ended_at": (start + timedelta(hours=repair)).isoformat(), "cause": "hydraulic hose",
                        "fault_code": "HYD-114", "severity": "medium"}, actor))
    store.enqueue_many(drafts)


class FirstRunDialog(QDialog):
    """Either enroll with the hub (hub URL, one-time enrollment token from HQ, a name for this PC) or start a
    standalone demo site with a local supervisor. Enrolling runs off the UI thread; its errors appear next to
    the field they concern and nothing typed is cleared."""

    def __init__(self, store: LocalStore) -> None:
        super().__init__()
        self.store = store
        self.result_: EnrollResult | None = None
        self.setWindowTitle("Set up this PC")
        self.hub_url, self.token = QLineEdit(), QLineEdit()
        self.hub_url.setPlaceholderText("https://hub.example.com")
        self.token.setPlaceholderText("pe_… (from HQ)")
        self.pc_name = QLineEdit(socket.gethostname())
        self.username, self.password = QLineEdit("supervisor"), QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.errors = {name: self._error_label() for name in ("hub_url", "token", "pc_name")}
        self.http_warning = self._error_label()
        self.http_warning.setObjectName("http_warning")
        self.http_warning.setStyleSheet("color: #8a4b00; font-weight: bold")
        self.hub_url.textChanged.connect(self._warn_plain_http)
        self.status = QLabel("")
        self.message = self._error_label()
        self.enroll_button = QPushButton("Enroll with the hub")
        self.demo_button = QPushButton("Start a standalone demo site")
        self.enroll_button.clicked.connect(self._enroll)
        self.demo_button.clicked.connect(self._demo)
        self.worker = EnrollWorker()
        queued = Qt.ConnectionType.QueuedConnection  # emitted from the worker thread
        self.worker.succeeded.connect(self._enrolled, queued)
        self.worker.failed.connect(self._enroll_failed, queued)
        form = QFormLayout()
        for label, edit, name in (("Hub URL", self.hub_url, "hub_url"), ("Enrollment token", self.token, "token"),
                                  ("Name of this PC", self.pc_name, "pc_name")):
            form.addRow(label, edit)
            if name == "hub_url":
                form.addRow("", self.http_warning)
            form.addRow("", self.errors[name])
        form.addRow(self.enroll_button)
        form.addRow(self.status)
        form.addRow(QLabel("— or —"))
        form.addRow("Your name", self.username)
        form.addRow("Choose a password", self.password)
        form.addRow(self.demo_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        self._warn_plain_http("")

    @staticmethod
    def _error_label() -> QLabel:
        label = QLabel("")
        label.setStyleSheet("color: #b00020")
        label.setWordWrap(True)
        return label

    def _warn_plain_http(self, url: str) -> None:
        plain = unencrypted_remote(url)
        self.http_warning.setText(PLAIN_HTTP_WARNING if plain else "")
        self.http_warning.setVisible(plain)
        self.enroll_button.setText("Enroll over unencrypted http" if plain else "Enroll with the hub")

    def _busy(self, busy: bool, status: str = "") -> None:
        self.enroll_button.setEnabled(not busy)
        self.demo_button.setEnabled(not busy)
        self.status.setText(status)

    def _enroll(self) -> None:
        if not self.enroll_button.isEnabled():  # one enrollment at a time (the worker answers by signal)
            return
        for label in self.errors.values():
            label.setText("")
        url, token, name = self.hub_url.text().strip(), self.token.text().strip(), self.pc_name.text().strip()
        if not url.startswith(("http://", "https://")):
            self.errors["hub_url"].setText("Give the hub's address: http://… or https://…")
        if not token:
            self.errors["token"].setText("Paste the one-time enrollment token from HQ.")
        if not name:
            self.errors["pc_name"].setText("Name this PC (HQ sees it in the device list).")
        if not (url.startswith(("http://", "https://")) and token and name):
            return
        self._busy(True, "Enrolling with the hub…")
        self.worker.start(Path(self.store.path), url, token, name)

    def _enroll_failed(self, field: str, message: str) -> None:
        self._busy(False)
        self.errors.get(field, self.errors["hub_url"]).setText(message)

    def _enrolled(self, result: EnrollResult) -> None:
        record_enrollment(self.store, result)
        self.result_ = result
        people = "" if result.users is None else f"; {len(result.users)} people may sign in"
        self._busy(False, f"Enrolled as device {result.enrollment.device_id}{people}.")
        self.accept()

    def _demo(self) -> None:
        if len(self.password.text()) < 8 or not self.username.text().strip():
            self.message.setText("Choose a name and a password of at least 8 characters.")
            return
        start_standalone(self.store, self.username.text().strip(), self.password.text())
        self.accept()
