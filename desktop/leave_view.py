"""Leave: the requests on this PC and a request form that shows the person's balance for the chosen leave
type as they type. The shared leave check refuses an overlap (beside the first day) and a request over the
balance (beside the last day); nothing is written then and what was typed stays."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.leave_balance import balance_on, cancel_leave, decide_leave, leave_type, requests_of
from desktop.mutation_form import MutationForm, need_text
from desktop.ops_screen import OpsScreen, table_view
from desktop.people_checks import employee_id_for, employee_names
from shared.domain.approvals import Verdict
from shared.domain.leave import LeaveRequest, check_request
from shared.domain.leave_approval import approval_payload, approval_request_id, carried_into
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.permissions import allows
from shared.store import LocalStore, MutationDraft

LEAVE = "hr.leave_request"
HEADERS = ["Employee", "Type", "First day", "Last day", "Days", "Status"]


def _date(values: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(need_text(values, name))
    except ValueError:
        raise ValidationError(f"{name} is not a date", {name: "must be a date (YYYY-MM-DD)"}) from None


def _person_and_rule(store: LocalStore, values: dict[str, Any]):  # type: ignore[no-untyped-def]
    employee_id = employee_id_for(store, need_text(values, "employee_id"))
    code = need_text(values, "leave_type")
    rule = leave_type(store, code)
    if rule is None:
        raise ValidationError(f"no leave type {code}", {"leave_type": f"no leave type {code}"})
    employee = (r.state or {}) if (r := store.get("hr.employee", employee_id)) else {}
    return employee_id, employee, rule


def leave_form(store: LocalStore, actor: str) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        employee_id, employee, rule = _person_and_rule(store, values)
        start, end = _date(values, "start_date"), _date(values, "end_date")
        request = LeaveRequest(new_ulid(), employee_id, rule.code, start, end)
        others = requests_of(store, employee_id)
        hire = date.fromisoformat(str(employee["hire_date"]))
        last = date.fromisoformat(str(employee["end_date"])) if employee.get("end_date") else None
        cost = check_request(request, rule, hire, carried_into(rule, start.year, hire, others, last), others,
                             end_date=last)
        approval_id = approval_request_id(request.id)  # the request goes through the `leave` approval chain
        payload = {**values, "employee_id": employee_id, "leave_type": rule.code, "days": float(cost),
                   "status": "requested", "approval_request_id": approval_id}
        return [MutationDraft(LEAVE, request.id, Op.CREATE, payload, actor),
                MutationDraft("approvals.request", approval_id, Op.CREATE,
                              approval_payload(request.id, payload, actor, datetime.now(UTC)), actor)]

    return MutationForm(store, LEAVE, ["employee_id", "leave_type", "start_date", "end_date", "reason"], actor,
                        build, draft_key="form:hr.leave_request", save_label="Request leave")


class LeaveScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:hr.leave_request")
        layout = QHBoxLayout(self)
        layout.addWidget(self.view, 3)
        self.balance = QLabel("")
        self.balance.setObjectName("leave_balance")
        self.balance.setWordWrap(True)
        self.form = leave_form(store, actor) if allows(roles, "write", LEAVE) else None
        self.leave_actions: LeaveActions | None = None
        if self.form is not None:
            right = QVBoxLayout()
            right.addWidget(self.balance)
            right.addWidget(self.form)
            for name in ("employee_id", "leave_type", "start_date"):
                self.form.inputs[name].textChanged.connect(self.show_balance)
            self.form.saved.connect(lambda _id: self.after_write())
            layout.addLayout(right, 2)
            self.leave_actions = LeaveActions(self)
            right.addWidget(self.leave_actions)
        self.refresh()

    def show_balance(self) -> None:
        """The balance on the first day typed (today until then), after the person's other live requests."""
        assert self.form is not None
        values = self.form.values()
        try:
            employee_id, employee, rule = _person_and_rule(self.store, values)
        except ValidationError:
            self.balance.setText("Type an employee number and a leave type to see the balance.")
            return
        try:
            as_of = _date(values, "start_date")
        except ValidationError:
            as_of = date.today()
        b = balance_on(rule, employee, requests_of(self.store, employee_id), as_of)
        self.balance.setText(f"{rule.code} balance on {as_of}: {b.available:.2f} days (carried in "
                             f"{b.carried_in:.2f}, accrued {b.accrued:.2f}, booked {b.booked:.2f})")

    def select(self, leave_id: str) -> bool:
        for row, r in enumerate(self.model.rows):
            if r.key == leave_id:
                self.view.selectRow(row)
                return True
        return False

    def selected_id(self) -> str | None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.rows[index.row()].key

    def refresh(self) -> None:
        names = employee_names(self.store)
        rows = [ComputedRow(r.entity_id, [names.get(str(s.get("employee_id")), str(s.get("employee_id"))),
                                          str(s.get("leave_type")), str(s.get("start_date")),
                                          str(s.get("end_date")), f"{float(s.get('days') or 0):g}",
                                          str(s.get("status"))], pending=r.pending)
                for r in self.store.query(LEAVE) if (s := r.state or {})]
        self.model.set_rows(rows)
        if self.form is not None:
            self.show_balance()


class LeaveActions(QWidget):
    """Approve, reject or cancel the selected request. A decision is an `approvals.decision` on the leave's
    approval request and, once the chain is decided, the leave's new status, written together; refusals (not this
    person's level, over the balance without the below-zero tick) show beside the control and write nothing."""

    def __init__(self, screen: LeaveScreen) -> None:
        super().__init__()
        self.owner = screen  # not `screen`: QWidget.screen() is Qt's
        layout = QVBoxLayout(self)
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Comment on the decision")
        self.below_zero = QCheckBox("Approve below zero (the balance may go negative)")
        self.approve_button, self.reject_button = QPushButton("Approve"), QPushButton("Reject")
        self.cancel_button = QPushButton("Cancel request")
        self.errors = {name: QLabel("") for name in ("decision", "below_zero")}
        for label in self.errors.values():
            label.setStyleSheet("color: #b00020")
            label.setWordWrap(True)
        buttons = QHBoxLayout()
        for b in (self.approve_button, self.reject_button, self.cancel_button):
            buttons.addWidget(b)
        for w in (self.comment, self.below_zero, self.errors["below_zero"]):
            layout.addWidget(w)
        layout.addLayout(buttons)
        layout.addWidget(self.errors["decision"])
        self.approve_button.clicked.connect(lambda: self._act("approve"))
        self.reject_button.clicked.connect(lambda: self._act("reject"))
        self.cancel_button.clicked.connect(lambda: self._act("cancel"))

    def _act(self, what: str) -> None:
        for label in self.errors.values():
            label.setText("")
        s = self.owner
        leave_id = s.selected_id()
        try:
            if leave_id is None:
                raise ValidationError("choose a leave request", {"decision": "choose a leave request in the list"})
            if what == "cancel":
                cancel_leave(s.store, leave_id, s.actor)
            else:
                decide_leave(s.store, leave_id, Verdict(what), s.actor, s.roles,
                             below_zero=self.below_zero.isChecked(), comment=self.comment.text().strip())
        except ValidationError as exc:
            for name, message in (exc.field_errors or {"decision": str(exc)}).items():
                if name in self.errors:
                    self.errors[name].setText(message)
                else:
                    self.errors["decision"].setText(f"{name}: {message}")
            return
        self.comment.clear()
        self.below_zero.setChecked(False)
        s.after_write()
        s.select(leave_id)
