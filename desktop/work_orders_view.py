"""Work orders: the list (lazy, from the replica), the selected order's lifecycle with a button per step
(enabled only when the shared rules let the signed-in person take it now), its labour and parts, and the
forms to raise an order, book hours and consume parts. A step is a `maintenance.work_order_transition`
row plus the order's cached status, written together."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout

from desktop.filter_bar import FilterBar
from desktop.ops_screen import OpsScreen, table_view
from desktop.table_model import RecordTableModel
from desktop.work_order_forms import labour_form, new_work_order_form, parts_form
from shared.domain.maintenance import Actor, TransitionError, WorkOrderStatus, transition
from shared.domain.ops_views import legal_steps, work_order_replay
from shared.envelopes import Op
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft

S = WorkOrderStatus
STEP_LABELS = {S.APPROVED: "Approve", S.PLANNED: "Plan", S.IN_PROGRESS: "Start work", S.COMPLETED: "Complete",
               S.CLOSED: "Close", S.CANCELLED: "Cancel"}
COLUMNS = [("number", "Number"), ("equipment_id", "Equipment"), ("title", "Title"), ("priority", "Priority"),
           ("status", "Status")]


class WorkOrdersScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = RecordTableModel(store, "maintenance.work_order", COLUMNS)
        self.view = table_view(self.model, "table:maintenance.work_order")
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self.show_selected())
        self.title = QLabel("Choose a work order.")
        self.details = QLabel("")
        self.steps: dict[WorkOrderStatus, QPushButton] = {}
        buttons = QHBoxLayout()
        for to, label in STEP_LABELS.items():
            button = QPushButton(label)
            button.setObjectName(f"step:{to.value}")
            button.clicked.connect(lambda _checked=False, t=to: self.take_step(t))
            buttons.addWidget(button)
            self.steps[to] = button
        buttons.addStretch(1)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00020")
        self.new_form = new_work_order_form(store, actor)
        self.labour = labour_form(store, actor, self.selected_id)
        self.parts = parts_form(store, actor, self.selected_id)
        tabs = QTabWidget()
        for title, form in (("New work order", self.new_form), ("Labour", self.labour), ("Parts", self.parts)):
            form.saved.connect(lambda _id: self.after_write())
            tabs.addTab(form, title)
        left = QVBoxLayout()
        left.addWidget(FilterBar(self.model))
        left.addWidget(self.view, 1)
        left.addWidget(self.title)
        left.addLayout(buttons)
        left.addWidget(self.details)
        left.addWidget(self.message)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(tabs, 2)
        self.show_selected()

    def selected_id(self) -> str | None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.rows[index.row()].entity_id

    def select(self, work_order_id: str) -> bool:
        for row, record in enumerate(self.model.rows):
            if record.entity_id == work_order_id:
                self.view.selectRow(row)
                return True
        return False

    def _replay(self, work_order_id: str):  # type: ignore[no-untyped-def]
        record = self.store.get("maintenance.work_order", work_order_id)
        steps = self.store.query("maintenance.work_order_transition", where={"work_order_id": work_order_id})
        return work_order_replay(work_order_id, (record.state if record else None) or {},
                                 [(s.entity_id, s.state or {}) for s in steps])

    def show_selected(self) -> None:
        wo_id = self.selected_id()
        for button in self.steps.values():
            button.setEnabled(False)
        if wo_id is None:
            self.title.setText("Choose a work order.")
            self.details.setText("")
            return
        result = self._replay(wo_id)
        allowed = legal_steps(result.state, Actor(self.actor, self.roles), datetime.now(UTC))
        for to, button in self.steps.items():
            button.setEnabled(to in allowed)
        labour = self.store.query("maintenance.labour_entry", where={"work_order_id": wo_id})
        parts = self.store.query("maintenance.part_consumption", where={"work_order_id": wo_id})
        hours = sum(float((r.state or {}).get("hours") or 0) for r in labour)
        self.title.setText(f"{wo_id}: {result.state.status.value}")
        rejected = f"; {len(result.rejected)} step(s) not applied (made from an older status)" if result.rejected \
            else ""
        self.details.setText(f"Labour {hours:g} h in {len(labour)} entr(ies); {len(parts)} part line(s){rejected}")

    def take_step(self, to: WorkOrderStatus) -> bool:
        wo_id = self.selected_id()
        if wo_id is None:
            return False
        result = self._replay(wo_id)
        at = max(datetime.now(UTC), result.state.last_change_at)
        try:
            _state, step = transition(result.state, to, Actor(self.actor, self.roles), at, transition_id=new_ulid())
        except TransitionError as exc:
            self.message.setText(str(exc))
            return False
        cached: dict[str, object] = {"status": to.value}
        if to is S.COMPLETED:
            cached["completed_at"] = at.isoformat()
        self.store.enqueue_many([
            MutationDraft("maintenance.work_order_transition", step.id, Op.CREATE, step.as_payload(), self.actor),
            MutationDraft("maintenance.work_order", wo_id, Op.UPDATE, cached, self.actor)])
        self.message.setText("")
        self.after_write()
        return True

    def refresh(self) -> None:
        selected = self.selected_id()
        self.model.reload()
        if selected is not None:
            self.select(selected)
        self.show_selected()
