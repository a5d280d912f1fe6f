"""The signed-in person's inbox: approvals waiting for them (worked out offline by the shared approval rules,
delegations included) with approve/reject that become decisions in the outbox, and their notifications with
read state. Approval notifications are kept in step with what waits (`notifications.reconcile`: ids are
derived from the need, so every PC and the hub write the same record, and read state is never reset)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QTableView, QVBoxLayout

from desktop.approval_actions import decide, delegations, request_views, today
from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.ops_screen import OpsScreen, table_view
from desktop.stock_writes import now_iso
from shared.domain.approvals import Verdict
from shared.domain.leave_approval import DOCUMENT_TYPE as LEAVE_DOCUMENT
from shared.domain.notifications import Kind, Notification, PendingApproval, approval_needs, reconcile
from shared.domain.ops_views import RequestView, may_decide
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.store import LocalRecord, LocalStore, MutationDraft

ENTITY = "notifications.notification"


def _table(headers: list[str], name: str) -> QTableView:
    # The notifications carry their own Sync column (a notification is a record; an approval waiting is not).
    view = table_view(ComputedTableModel(headers, sync_column=False), name)
    view.setSortingEnabled(False)  # rows keep the order worked out here (newest notification first)
    return view


def _model(view: QTableView) -> ComputedTableModel:
    model = view.model()
    assert isinstance(model, ComputedTableModel)
    return model


def current_row(view: QTableView) -> int:
    index = view.currentIndex()
    return index.row() if index.isValid() else -1


class InboxScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.waiting: list[RequestView] = []
        self.notes: list[LocalRecord] = []
        self.approvals = _table(["Document", "Type", "Amount", "Level", "Requested by"], "inbox:approvals")
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("comment (optional)")
        self.approve_button, self.reject_button = QPushButton("Approve"), QPushButton("Reject")
        self.approve_button.clicked.connect(lambda: self.decide(Verdict.APPROVE))
        self.reject_button.clicked.connect(lambda: self.decide(Verdict.REJECT))
        self.notifications = _table(["Title", "Details", "Created", "Read", "Sync"], "inbox:notifications")
        self.read_button = QPushButton("Mark read")
        self.read_button.clicked.connect(self.mark_read)
        self.message = QLabel("")
        decide_bar = QHBoxLayout()
        for widget in (self.comment, self.approve_button, self.reject_button):
            decide_bar.addWidget(widget)
        layout = QVBoxLayout(self)
        self.waiting_title = QLabel("Waiting for you")
        layout.addWidget(self.waiting_title)
        layout.addWidget(self.approvals, 1)
        layout.addLayout(decide_bar)
        self.notes_title = QLabel("Notifications")
        layout.addWidget(self.notes_title)
        layout.addWidget(self.notifications, 1)
        layout.addWidget(self.read_button)
        layout.addWidget(self.message)

    def refresh(self) -> None:
        delegated = delegations(self.store)
        on = today()
        self.waiting = [v for v in request_views(self.store) if may_decide(v, self.actor, self.roles, delegated, on)]
        chosen = current_row(self.approvals)
        rows = []
        for v in self.waiting:
            level = (v.state.current_level or 0) + 1 if v.state else 0
            rows.append(ComputedRow(v.request_id, [v.title or v.document_id, v.document_type, f"{v.amount:.2f}",
                                                   f"{level} of {len(v.levels)}", v.requested_by]))
        _model(self.approvals).set_rows(rows)
        if self.waiting:
            self.approvals.selectRow(min(max(chosen, 0), len(self.waiting) - 1))
        if self._sync_approval_notifications():
            self.changed.emit()
        self._show_notifications()

    def _mine(self) -> list[LocalRecord]:
        return [r for r in self.store.query(ENTITY, where={"user_id": self.actor}) if r.state]

    def _sync_approval_notifications(self) -> bool:
        """Create, resolve or reopen this person's approval notifications to match what waits for them."""
        needs = approval_needs(PendingApproval(v.request_id, v.document_type, v.title or v.document_id, v.amount,
                                               frozenset({self.actor})) for v in self.waiting)
        existing = [Notification(r.entity_id, self.actor, bool((r.state or {}).get("read_at")),
                                 bool((r.state or {}).get("resolved"))) for r in self._mine()
                    if (r.state or {}).get("kind") == Kind.APPROVAL_WAITING.value]
        changes = reconcile(needs, existing)
        drafts = [MutationDraft(ENTITY, n.id, Op.CREATE, n.as_payload(now_iso()), self.actor) for n in changes.create]
        drafts += [MutationDraft(ENTITY, i, Op.UPDATE, {"resolved": True}, self.actor) for i in changes.resolve]
        drafts += [MutationDraft(ENTITY, i, Op.UPDATE, {"resolved": False}, self.actor) for i in changes.reopen]
        if drafts:
            self.store.enqueue_many(drafts)
        return bool(drafts)

    def _show_notifications(self) -> None:
        self.notes = sorted((r for r in self._mine() if not (r.state or {}).get("resolved")),
                            key=lambda r: str((r.state or {}).get("created_at") or ""), reverse=True)
        chosen = current_row(self.notifications)
        unread = 0
        rows = []
        for r in self.notes:
            s = r.state or {}
            read = bool(s.get("read_at"))
            unread += not read
            cells = [str(s.get("title") or ""), str(s.get("body") or ""), str(s.get("created_at") or "")[:16],
                     "read" if read else "unread", "pending" if r.pending else "confirmed"]
            rows.append(ComputedRow(r.entity_id, cells, bold=not read))
        _model(self.notifications).set_rows(rows)
        if 0 <= chosen < len(rows):
            self.notifications.selectRow(chosen)
        self.approvals.resizeColumnsToContents()
        self.notifications.resizeColumnsToContents()
        self.waiting_title.setText(f"Waiting for you ({len(self.waiting)})")
        self.notes_title.setText(f"Notifications ({unread} unread)")

    def decide(self, verdict: Verdict) -> bool:
        row = current_row(self.approvals)
        if not 0 <= row < len(self.waiting):
            self.message.setText("Choose what to decide first.")
            return False
        view = self.waiting[row]
        try:
            decide(self.store, view, verdict, self.actor, self.roles, self.comment.text().strip())
        except ValidationError as exc:  # an ApprovalError, or a leave the Leave screen would refuse too
            hint = (": tick \"Approve below zero\" on the Leave screen to approve it anyway"
                    if "below_zero" in exc.field_errors else "")
            self.message.setText(f"{exc}{hint}")
            return False
        self.comment.clear()
        moved = ""
        if view.document_type == LEAVE_DOCUMENT:
            leave = self.store.get("hr.leave_request", view.document_id)
            moved = f" The leave request is {((leave.state or {}) if leave else {}).get('status', '?')}."
        self.message.setText(f"Decision saved here; the hub applies it at the next sync.{moved}")
        self.after_write()
        return True

    def mark_read(self) -> bool:
        row = current_row(self.notifications)
        if not 0 <= row < len(self.notes):
            return False
        self.store.enqueue(ENTITY, self.notes[row].entity_id, Op.UPDATE, {"read_at": now_iso()}, actor=self.actor)
        self.after_write()
        return True

