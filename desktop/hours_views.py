"""Hours seen from the office: the hour-meter rule for a new shift log, rental hours per customer and period,
and the gateway-measured hours beside the logged ones (usage logs with source=telematics come from the
edge through the hub). Both read only the shift logs of the period, through the desktop's shift-date index:
two years of a 200-machine site are ~300,000 logs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QHBoxLayout, QLabel, QTableView, QVBoxLayout, QWidget

from desktop import table_query
from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.ops_screen import table_view
from shared.domain.core_entities import MAX_SHIFT_HOURS
from shared.domain.ops_views import current_meter_reading
from shared.store import LocalRecord, LocalStore


def _num(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def last_meter_reading(store: LocalStore, equipment_id: str) -> float | None:
    """The highest reading of the unit's meter as fitted now (meters never wind back, but are replaced: after an
    `equipment.meter_correction` the new meter's readings count). On every save of a shift log, so through the
    equipment index rather than every log of the site."""
    corrections = [r.state or {} for r in store.query("equipment.meter_correction",
                                                       where={"equipment_id": equipment_id})]
    if not corrections:
        return table_query.max_number(store, "equipment.usage_log", "hour_meter_end",
                                      {"equipment_id": equipment_id})
    logs = table_query.page(store, "equipment.usage_log", where={"equipment_id": equipment_id}, order_by=None,
                            limit=-1, offset=0)
    return current_meter_reading((r.state or {} for r in logs), corrections)


def hour_meter_check(store: LocalStore) -> Callable[[Mapping[str, Any]], dict[str, str]]:
    """Field errors for a shift log whose readings contradict the last reading or the hours worked."""

    def check(payload: Mapping[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        start, end = _num(payload.get("hour_meter_start")), _num(payload.get("hour_meter_end"))
        last = last_meter_reading(store, str(payload.get("equipment_id")))
        if last is not None and start is not None and start < last:
            errors["hour_meter_start"] = f"below the last reading for this unit ({last:g} h)"
        if last is not None and end is not None and end < last:
            errors["hour_meter_end"] = f"below the last reading for this unit ({last:g} h)"
        if start is not None and end is not None:
            if end < start:
                errors["hour_meter_end"] = "the end reading is below the start reading"
            elif end - start > MAX_SHIFT_HOURS + 0.0001:
                errors["hour_meter_end"] = (f"{end - start:g} h in one shift is not possible (at most "
                                            f"{MAX_SHIFT_HOURS:g} h, a night when the clocks go back)")
        return errors

    return check


def _day(edit: QDateEdit) -> date:
    value = edit.date().toPython()
    assert isinstance(value, date)
    return value


def _period_bar(owner: QWidget, on_change: Callable[[], None]) -> tuple[QHBoxLayout, QDateEdit, QDateEdit]:
    today = date.today()
    start, end = QDateEdit(QDate(today - timedelta(days=30))), QDateEdit(QDate(today))
    bar = QHBoxLayout()
    bar.addWidget(QLabel("From"))
    for i, edit in enumerate((start, end)):
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.dateChanged.connect(on_change)
        if i:
            bar.addWidget(QLabel("to"))
        bar.addWidget(edit)
    bar.addStretch(1)
    return bar, start, end


def logs_in_period(store: LocalStore, start: date, end: date) -> list[LocalRecord]:
    """The shift logs dated start..end (both included)."""
    return table_query.between(store, "equipment.usage_log", "shift_date", start.isoformat(),
                               (end + timedelta(days=1)).isoformat())


def _fill(view: QTableView, model: ComputedTableModel, rows: list[list[str]]) -> None:
    model.set_rows([ComputedRow("\t".join(row[:3]), row) for row in rows])
    view.resizeColumnsToContents()


def rental_hours(units: Mapping[str, Mapping[str, Any]], logs: Sequence[Mapping[str, Any]], start: date,
                 end: date) -> list[list[str]]:
    """Per customer and unit: logged operating hours in the period, rate and amount."""
    hours: dict[tuple[str, str], float] = defaultdict(float)
    for log in logs:
        unit = units.get(str(log.get("equipment_id"))) or {}
        day = str(log.get("shift_date") or "")[:10]
        if not unit.get("rental") or (log.get("source") or "manual") != "manual":
            continue
        if start.isoformat() <= day <= end.isoformat():
            hours[(str(unit.get("customer") or "—"), str(log.get("equipment_id")))] += _num(
                log.get("operating_hours")) or 0.0
    rows = []
    for (customer, eq), h in sorted(hours.items()):
        rate = _num(units[eq].get("rental_rate")) or 0.0
        rows.append([customer, eq, f"{h:.1f}", f"{rate:.2f}", f"{h * rate:.2f}"])
    return rows


class RentalHoursView(QWidget):
    def __init__(self, store: LocalStore) -> None:
        super().__init__()
        self.store = store
        bar, self.start, self.end = _period_bar(self, self.refresh)
        self.model = ComputedTableModel(["Customer", "Unit", "Operating h", "Rate / h", "Amount"], sync_column=False)
        self.table = table_view(self.model, "table:rental_hours")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self.refresh()

    def refresh(self) -> None:
        start, end = _day(self.start), _day(self.end)
        units = {r.entity_id: r.state or {} for r in self.store.query("equipment.unit")}
        logs = [r.state or {} for r in logs_in_period(self.store, start, end)]
        _fill(self.table, self.model, rental_hours(units, logs, start, end))


def gateway_beside_logged(logs: Sequence[Mapping[str, Any]], start: date, end: date) -> list[list[str]]:
    """Per unit, date and shift: operating hours logged by people beside those the gateway measured."""
    cells: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    for log in logs:
        day = str(log.get("shift_date") or "")[:10]
        if not start.isoformat() <= day <= end.isoformat():
            continue
        key = (str(log.get("equipment_id")), day, str(log.get("shift") or ""))
        src = str(log.get("source") or "manual")
        cells[key][src] = cells[key].get(src, 0.0) + (_num(log.get("operating_hours")) or 0.0)
    rows = []
    for (eq, day, shift), by_source in sorted(cells.items()):
        logged, measured = by_source.get("manual"), by_source.get("telematics")
        diff = "" if logged is None or measured is None else f"{logged - measured:+.1f}"
        rows.append([eq, day, shift, "" if logged is None else f"{logged:.1f}",
                     "" if measured is None else f"{measured:.1f}", diff])
    return rows


class GatewayHoursView(QWidget):
    def __init__(self, store: LocalStore) -> None:
        super().__init__()
        self.store = store
        bar, self.start, self.end = _period_bar(self, self.refresh)
        self.model = ComputedTableModel(["Unit", "Date", "Shift", "Logged operating h", "Gateway-measured h",
                                         "Difference"], sync_column=False)
        self.table = table_view(self.model, "table:gateway_hours")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self.refresh()

    def refresh(self) -> None:
        start, end = _day(self.start), _day(self.end)
        logs = [r.state or {} for r in logs_in_period(self.store, start, end)]
        _fill(self.table, self.model, gateway_beside_logged(logs, start, end))
