"""First run on a PC: enroll it with a hub (hub URL + enrollment token) or start a standalone demo site.
Both end with a person who can sign in offline (the demo site creates its own supervisor)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from desktop.signin import Verifiers
from shared.envelopes import Op
from shared.ids import new_ulid
from shared.store import DeviceIdentity, LocalStore, MutationDraft

HUB_URL_KEY, HUB_TOKEN_KEY, MODE_KEY = "desktop.hub_url", "desktop.hub_token", "desktop.mode"


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
    """Keep the hub address and device token (inside the encrypted store) for the sync worker."""
    store.set_meta(HUB_URL_KEY, hub_url.rstrip("/"))
    store.set_meta(HUB_TOKEN_KEY, token)
    store.set_meta(MODE_KEY, "enrolled")


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
    """Either the hub URL and enrollment token, or a standalone demo site with a local supervisor."""

    def __init__(self, store: LocalStore) -> None:
        super().__init__()
        self.store = store
        self.setWindowTitle("Set up this PC")
        self.hub_url, self.token = QLineEdit(), QLineEdit()
        self.username, self.password = QLineEdit("supervisor"), QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00020")
        enroll, demo = QPushButton("Join the hub"), QPushButton("Start a standalone demo site")
        enroll.clicked.connect(self._enroll)
        demo.clicked.connect(self._demo)
        form = QFormLayout()
        form.addRow("Hub URL", self.hub_url)
        form.addRow("Device token", self.token)
        form.addRow(enroll)
        form.addRow(QLabel("— or —"))
        form.addRow("Your name", self.username)
        form.addRow("Choose a password", self.password)
        form.addRow(demo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)

    def _enroll(self) -> None:
        if not self.hub_url.text().startswith(("http://", "https://")) or not self.token.text().strip():
            self.message.setText("Give the hub's address (http://… or https://…) and the token from HQ.")
            return
        remember_hub(self.store, self.hub_url.text().strip(), self.token.text().strip())
        self.accept()

    def _demo(self) -> None:
        if len(self.password.text()) < 8 or not self.username.text().strip():
            self.message.setText("Choose a name and a password of at least 8 characters.")
            return
        start_standalone(self.store, self.username.text().strip(), self.password.text())
        self.accept()
