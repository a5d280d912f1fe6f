"""The reconciliation review list for one shift date: every operator line the shared rules flag (gateway vs
logged vs attendance hours, over the threshold) with its decision; open ones red. Those who may write
`hr.reconciliation_review` accept, correct or reject the selected line with a reason (checked by
`reconciliation.check_decision`, the message beside the field; nothing written when refused)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.fields_form import FieldsForm
from desktop.ops_screen import OpsScreen, table_view
from desktop.payroll_export import write_payroll_file
from desktop.payroll_import import PayrollImportPanel
from desktop.people_checks import employee_names
from desktop.reconciliation_lines import lines_for, unauthorised_logs
from desktop.record_form import SAVED_HERE, person_draft_key
from desktop.site_settings_store import current_settings
from shared.domain.reconciliation import Decision, Line, check_decision, flags, review_payload
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.permissions import allows
from shared.store import LocalStore, MutationDraft

REVIEW = "hr.reconciliation_review"
HEADERS = ["Operator", "Shift", "Equipment", "Gateway h", "Logged h", "Attendance h", "Flags", "Decision",
           "Paid h", "Reason"]
RECORDED = {"accept": "accepted", "correct": "corrected", "reject": "rejected"}


def _h(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _hours(text: str, name: str) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{name} is not a number", {name: "must be a number of hours"}) from None


class ReviewForm(FieldsForm):
    def __init__(self, owner: ReconciliationScreen) -> None:
        self.owner = owner
        super().__init__(owner.store, [("decision", "Decision (accept / correct / reject) *"),
                                        ("paid_hours", "Paid hours (correct)"),
                                        ("machine_hours", "Machine hours (correct)"), ("reason", "Reason *")],
                         draft_key=person_draft_key("form:hr.reconciliation_review", owner.actor),
                         save_label="Decide")

    def write(self) -> tuple[str, str]:
        picked = self.owner.selected()
        if picked is None:
            raise ValidationError("choose a line in the list first", {"decision": "choose a line in the list"})
        line, threshold = picked
        v = self.values()
        decision = Decision(line.key, str(v.get("decision", "")).lower(), str(v.get("reason", "")),
                            _hours(v.get("paid_hours", ""), "paid_hours"),
                            _hours(v.get("machine_hours", ""), "machine_hours"))
        check_decision(line, decision)
        fields: dict[str, object] = {"decision": RECORDED[decision.decision], "reason": decision.reason,
                                     "decided_by": self.owner.actor, "decided_at": datetime.now(UTC).isoformat()}
        for name, value in (("paid_hours", decision.paid_hours), ("machine_hours", decision.machine_hours)):
            if value is not None:
                fields[name] = float(value)
        actor = self.owner.actor
        if self.store.get(REVIEW, line.key) is None:
            payload = {**(review_payload(line, threshold) or {}), **fields}
            draft = MutationDraft(REVIEW, line.key, Op.CREATE, payload, actor)
        else:
            draft = MutationDraft(REVIEW, line.key, Op.UPDATE, fields, actor)
        self.store.enqueue_many([draft])
        return line.key, SAVED_HERE


class ReconciliationScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:hr.reconciliation_review")
        self.day = QLineEdit(datetime.now(current_settings(store).pattern.zone).date().isoformat())
        # The site's threshold (hr.site_settings, Site settings screen): shown, not typed, so every office of
        # the site flags the same lines.
        self.threshold = QLineEdit(str(current_settings(store).threshold))
        self.threshold.setReadOnly(True)
        self.threshold.setObjectName("reconciliation_threshold")
        self.day.returnPressed.connect(self.refresh)
        self.summary = QLabel("")
        left = QVBoxLayout()
        for label, edit in (("Shift date (Enter)", self.day), ("Site threshold hours (Site settings)", self.threshold)):
            left.addWidget(QLabel(label))
            left.addWidget(edit)
        left.addWidget(self.view, 1)
        left.addWidget(self.summary)
        # Logs whose operator may not run the machine (D81): for the supervisor, beside the hours they concern.
        self.unauthorised = ComputedTableModel(["Equipment", "Shift", "Operator", "Operating h", "Why"])
        self.unauthorised_view = table_view(self.unauthorised, "table:unauthorised_operator")
        left.addWidget(QLabel("Operators not authorised for the machine (unauthorised_operator)"))
        left.addWidget(self.unauthorised_view)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        self.form = ReviewForm(self) if allows(roles, "write", REVIEW) else None
        if self.form is not None:
            self.form.saved.connect(lambda _id: self.after_write())
            layout.addWidget(self.form, 2)
        self.lines: dict[str, tuple[Line, Decimal]] = {}
        self.export_button: QPushButton | None = None
        if allows(roles, "write", "hr.employee"):  # the payroll file is HR's to send
            self._add_payroll_export(left)
        self.refresh()

    def _add_payroll_export(self, layout: QVBoxLayout) -> None:
        first = date.today().replace(day=1)
        self.period_start, self.period_end = QLineEdit(first.isoformat()), QLineEdit(date.today().isoformat())
        self.export_folder = Path.home() / "Pitline exports"
        self.export_button = QPushButton("Export payroll CSV for the period")
        self.export_status = QLabel("")
        self.export_status.setWordWrap(True)
        row = QHBoxLayout()
        for label, edit in (("Payroll from", self.period_start), ("to", self.period_end)):
            row.addWidget(QLabel(label))
            row.addWidget(edit)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        layout.addWidget(self.export_status)
        self.export_button.clicked.connect(self.export_payroll)
        self.payroll_import = PayrollImportPanel(self.store, self.actor)  # the result file back (payroll_import.py)
        layout.addWidget(self.payroll_import)

    def export_payroll(self) -> None:
        try:
            start = date.fromisoformat(self.period_start.text().strip())
            end = date.fromisoformat(self.period_end.text().strip())
            threshold = Decimal(self.threshold.text().strip())
        except (ValueError, InvalidOperation):
            self.export_status.setText("Type the period as two dates (YYYY-MM-DD) and the threshold in hours.")
            return
        try:
            self.export_folder.mkdir(parents=True, exist_ok=True)
            path = write_payroll_file(self.store, start, end, threshold, self.export_folder)
        except ValidationError as exc:
            self.export_status.setText(f"Not exported: {exc}")
            self.export_status.setStyleSheet("color: #b00020")
            return
        except OSError as exc:
            self.export_status.setText(f"Not exported: cannot write to {self.export_folder}: {exc.strerror}")
            self.export_status.setStyleSheet("color: #b00020")
            return
        self.export_status.setStyleSheet("")
        self.export_status.setText(f"Payroll written to {path}")

    def selected(self) -> tuple[Line, Decimal] | None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.lines.get(self.model.rows[index.row()].key)

    def select(self, key: str) -> bool:
        for row, r in enumerate(self.model.rows):
            if r.key == key:
                self.view.selectRow(row)
                return True
        return False

    def refresh(self) -> None:
        self.threshold.setText(str(current_settings(self.store).threshold))
        try:
            day, threshold = date.fromisoformat(self.day.text().strip()), Decimal(self.threshold.text().strip())
        except (ValueError, InvalidOperation):
            self.summary.setText("Type a date as YYYY-MM-DD and the threshold in hours.")
            self.model.set_rows([])
            self.unauthorised.set_rows([])
            return
        names = employee_names(self.store)
        rows, self.lines = [], {}
        for line in lines_for(self.store, day):
            found = flags(line, threshold)
            review = self.store.get(REVIEW, line.key)
            s = (review.state or {}) if review else {}
            if not found and review is None:
                continue  # accepted as it stands: nothing to review
            decision = str(s.get("decision") or "open")
            paid = s.get("paid_hours")
            self.lines[line.key] = (line, threshold)
            rows.append(ComputedRow(line.key, [
                names.get(line.employee_id, line.employee_id), line.shift, ", ".join(line.equipment_ids),
                _h(line.gateway_hours), _h(line.logged_hours), _h(line.attendance_hours), ", ".join(found),
                decision, "" if paid is None else f"{float(paid):.2f}", str(s.get("reason") or "")],
                pending=bool(review and review.pending), needs_review=decision == "open"))
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        self.unauthorised.set_rows([ComputedRow(log_id, [str(s.get("equipment_id")), str(s.get("shift")),
                                                         str(s.get("operator")), str(s.get("operating_hours") or ""),
                                                         why], needs_review=True)
                                    for log_id, s, why in unauthorised_logs(self.store, day)])
        waiting = sum(1 for r in rows if r.needs_review)
        self.summary.setText(f"{len(rows)} line(s) to review on {day}; {waiting} open (red)")
