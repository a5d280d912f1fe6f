"""The supervisor's approval of attendance (issue 14): approve or reject the selected completed row of the
attendance screen. A rejection needs a reason (kept in the row's notes); a row still on shift, an absence line
or a row already so decided is refused with the message beside the reason field. The decision is an update of
`status` and `approved_by` (field merge keeps a clerk's concurrent edit of the notes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desktop.fields_form import ERROR_STYLE
from desktop.record_form import SAVED_HERE
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.store import MutationDraft

if TYPE_CHECKING:
    from desktop.attendance_view import AttendanceScreen

ATTENDANCE = "hr.attendance"


class ApprovalBar(QWidget):
    def __init__(self, owner: AttendanceScreen) -> None:
        super().__init__()
        self.owner = owner
        self.reason = QLineEdit()
        self.reason.setObjectName("approval_reason")
        self.reason.setPlaceholderText("Reason (needed to reject)")
        self.error = QLabel("")
        self.error.setObjectName("approval_reason_error")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.status = QLabel("")
        self.approve_button, self.reject_button = QPushButton("Approve selected"), QPushButton("Reject selected")
        self.approve_button.clicked.connect(lambda: self.decide("approved"))
        self.reject_button.clicked.connect(lambda: self.decide("rejected"))
        row = QHBoxLayout()
        for w in (self.reason, self.approve_button, self.reject_button):
            row.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.status)

    def decide(self, status: str) -> str | None:
        self.error.setText("")
        try:
            row_id = self._write(status)
        except ValidationError as exc:
            self.error.setText(exc.field_errors.get("reason", str(exc)))
            self.status.setText("Not saved: see the message above. What you typed is kept.")
            return None
        self.reason.clear()
        self.status.setText(f"{status.capitalize()}. {SAVED_HERE}")
        self.owner.after_write()
        self.owner.select(row_id)
        return row_id

    def _write(self, status: str) -> str:
        key = self.owner.selected_key()
        record = self.owner.store.get(ATTENDANCE, key) if key else None
        if record is None or record.deleted:
            raise ValidationError("choose a row", {"reason": "choose an attendance row in the list first"})
        state = record.state or {}
        if not state.get("clock_out"):
            raise ValidationError("still on shift", {"reason": "still on shift: decide after the clock-out"})
        if state.get("status") == status:
            raise ValidationError(f"already {status}", {"reason": f"this row is already {status}"})
        reason = self.reason.text().strip()
        if status == "rejected" and not reason:
            raise ValidationError("a rejection needs a reason", {"reason": "type why this attendance is rejected"})
        change: dict[str, object] = {"status": status, "approved_by": self.owner.actor}
        if reason:
            notes = str(state.get("notes") or "")
            change["notes"] = f"{notes}\n{status}: {reason}".strip()[-2000:]
        self.owner.store.enqueue_many([MutationDraft(ATTENDANCE, record.entity_id, Op.UPDATE, change,
                                                      self.owner.actor)])
        return record.entity_id
