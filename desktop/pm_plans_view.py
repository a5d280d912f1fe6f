"""Preventive maintenance plans with when each is next due, computed by the shared PM rules from the hour
meters in the local shift logs (the gateways' and people's) and the calendar; a plan inside its lead can
raise its work order, whose id comes from the plan and the due point (two PCs raising it make one order)."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from desktop import table_query
from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.ops_screen import OpsScreen, table_view
from desktop.stock_writes import now_iso
from shared.domain import pm
from shared.domain.ops_views import meter_readings, pm_due, pm_plan_from
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.store import LocalStore

RATE_WINDOW_DAYS = 30  # pm.daily_rate's default window
METER_FIELDS = ("equipment_id", "shift_date", "shift", "hour_meter_end", "source")  # what meter_readings reads


def plan_readings(store: LocalStore, today: date) -> dict[str, list[pm.MeterReading]]:
    """What the PM rules read of each machine's meter, without loading two years of shift logs: the highest
    reading (the meter never winds back, so it is the meter now) and the logs of the rate window."""
    logs = [r.state or {} for r in table_query.top_per_group(store, "equipment.usage_log", "equipment_id",
                                                             "hour_meter_end")]
    logs += table_query.fields_between(store, "equipment.usage_log", "shift_date",
                                       (today - timedelta(days=RATE_WINDOW_DAYS)).isoformat(),
                                       (today + timedelta(days=1)).isoformat(), METER_FIELDS)
    # A replaced meter reads below the old one's top: for those few machines every log counts, on one scale.
    corrections = [r.state or {} for r in store.query("equipment.meter_correction")]
    for equipment_id in sorted({str(c.get("equipment_id")) for c in corrections}):
        logs += [r.state or {} for r in table_query.page(store, "equipment.usage_log",
                                                         where={"equipment_id": equipment_id}, order_by=None,
                                                         limit=-1, offset=0)]
    return meter_readings(logs, corrections)

HEADERS = ["Plan", "Equipment", "Title", "Trigger", "Hour meter", "Due at (h)", "Due on", "Remaining", "State"]


def _remaining(status: pm.DueStatus) -> str:
    parts = []
    if status.hours_remaining is not None:
        parts.append(f"{status.hours_remaining:g} h")
    if status.days_remaining is not None:
        parts.append(f"{status.days_remaining} d")
    return " / ".join(parts)


class PmPlansScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.today = date.today
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:maintenance.pm_plan")
        self.raise_button = QPushButton("Raise work order for the chosen plan")
        self.raise_button.clicked.connect(self.raise_selected)
        self.message = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(self.raise_button)
        bar.addWidget(self.message, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(bar)

    def refresh(self) -> None:
        today = self.today()
        readings = plan_readings(self.store, today)
        wo_ids = table_query.ids(self.store, "maintenance.work_order")  # 12,000 at a site: ids only
        rows = []
        for record in self.store.query("maintenance.pm_plan"):
            data = record.state or {}
            equipment = str(data.get("equipment_id") or "")
            machine = readings.get(equipment, [])
            cells = [record.entity_id, equipment, str(data.get("title") or ""), str(data.get("trigger") or "")]
            meter = pm.meter_now(machine)
            try:
                status = pm_due(record.entity_id, data, machine, today)
            except ValidationError as exc:
                rows.append(ComputedRow(record.entity_id, [*cells, "", "", "", "", f"cannot schedule: {exc}"],
                                        record.pending, True))
                continue
            raised = pm.pm_work_order_id(record.entity_id, status.due) in wo_ids
            state = "raised" if raised else "due" if status.is_due else "raise now" if status.raise_now else "ok"
            rows.append(ComputedRow(record.entity_id, [
                *cells, "" if meter is None else f"{meter:g}",
                "" if status.due.hours is None else f"{status.due.hours:g}",
                "" if status.due.on is None else status.due.on.isoformat(), _remaining(status), state],
                record.pending, status.is_due and not raised, {"status": status, "data": data}))
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()

    def raise_selected(self) -> str | None:
        index = self.view.currentIndex()
        if not index.isValid():
            self.message.setText("Choose a plan first.")
            return None
        row = self.model.rows[index.row()]
        status: pm.DueStatus | None = row.data.get("status")
        if status is None:
            self.message.setText("This plan cannot be scheduled: fix it first.")
            return None
        data = row.data["data"]
        wo_ids = frozenset(table_query.ids(self.store, "maintenance.work_order"))
        raised = pm.work_order_to_raise(pm_plan_from(row.key, data), status, equipment_id=str(data["equipment_id"]),
                                        title=f"{data.get('equipment_id')}: {data.get('title')}",
                                        open_work_order_ids=wo_ids)
        if raised is None:
            self.message.setText("Not inside its lead yet, or its work order is already raised.")
            return None
        wo_id, payload = raised
        payload |= {"requested_by": self.actor, "requested_at": now_iso(), "number": f"PM-{wo_id[-12:]}"[:32]}
        self.store.enqueue("maintenance.work_order", wo_id, Op.CREATE, payload, actor=self.actor)
        self.message.setText(f"Work order {wo_id} raised; waiting for the hub to confirm.")
        self.after_write()
        return wo_id
