"""Procurement: purchase orders with their approval (routed by the shared approval rules) and receiving
progress (derived from the goods receipts by the shared PO rules), the chosen PO's lines, approve/reject
for whoever the request waits on, receipts against a line, a new PO, and the requisitions list."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.approval_actions import decide, delegations, today, views_by_document
from desktop.computed_model import ComputedRow, ComputedTableModel, qty
from desktop.ops_screen import OpsScreen, table_view
from desktop.po_form import PurchaseOrderForm
from desktop.receipt_form import receipt_form
from desktop.table_model import RecordTableModel
from shared.domain.approvals import ApprovalError, Verdict
from shared.domain.ops_views import RequestView, may_decide, po_progress_from
from shared.domain.procurement import ProcurementError
from shared.store import LocalStore

HEADERS = ["PO", "Vendor", "Total", "Approval", "Receiving", "Outstanding lines"]
REQ_COLUMNS = [("number", "Number"), ("requested_by", "Requested by"), ("source", "Source"), ("status", "Status"),
               ("needed_by", "Needed by")]


def approval_text(view: RequestView | None, fallback: str) -> str:
    if view is None:
        return fallback or "not sent"
    if view.state is None:
        return f"cannot route: {view.problem}"
    if view.state.current_level is not None:
        level = view.levels[view.state.current_level]
        who = level.approver_user or f"role {level.approver_role}"
        return f"waiting: level {view.state.current_level + 1} of {len(view.levels)} ({who})"
    return view.state.status.value


class PurchaseOrdersScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:procurement.purchase_order")
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self.show_selected())
        self.requisitions = RecordTableModel(store, "procurement.requisition", REQ_COLUMNS)
        self.line_model = ComputedTableModel(["Line", "Item", "Store", "Ordered", "Received", "Outstanding"],
                                             sync_column=False)
        self.lines = table_view(self.line_model, "table:po_lines")
        self.approve_button, self.reject_button = QPushButton("Approve"), QPushButton("Reject")
        self.approve_button.clicked.connect(lambda: self.decide(Verdict.APPROVE))
        self.reject_button.clicked.connect(lambda: self.decide(Verdict.REJECT))
        self.message = QLabel("")
        self.po_form = PurchaseOrderForm(store, actor)
        self.receipt = receipt_form(store, actor, self.selected_id)
        for form in (self.po_form, self.receipt):
            form.saved.connect(lambda _id: self.after_write())
        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.message, 1)
        orders = QWidget()
        left = QVBoxLayout(orders)
        left.addWidget(self.view, 2)
        left.addLayout(buttons)
        left.addWidget(self.lines, 1)
        lists = QTabWidget()
        lists.addTab(orders, "Purchase orders")
        lists.addTab(table_view(self.requisitions, "table:procurement.requisition"), "Requisitions")
        forms = QTabWidget()
        forms.addTab(self.receipt, "Receive goods")
        forms.addTab(self.po_form, "New purchase order")
        layout = QHBoxLayout(self)
        layout.addWidget(lists, 2)
        layout.addWidget(forms, 1)
        self.show_selected()

    def selected_id(self) -> str | None:
        index = self.view.currentIndex()
        return self.model.rows[index.row()].key if index.isValid() and index.row() < len(self.model.rows) else None

    def select(self, po_id: str) -> bool:
        for row, r in enumerate(self.model.rows):
            if r.key == po_id:
                self.view.selectRow(row)
                return True
        return False

    def refresh(self) -> None:
        selected = self.selected_id()
        approvals = views_by_document(self.store)
        receipts: dict[str, list[tuple[str, dict]]] = {}  # type: ignore[type-arg]
        pending_receipt: set[str] = set()
        for r in self.store.query("procurement.goods_receipt"):
            po_id = str((r.state or {}).get("po_id"))
            receipts.setdefault(po_id, []).append((r.entity_id, r.state or {}))
            if r.pending:
                pending_receipt.add(po_id)
        rows = []
        for record in self.store.query("procurement.purchase_order"):
            data = record.state or {}
            view = approvals.get(record.entity_id)
            cells = [str(data.get("number") or record.entity_id), str(data.get("vendor_id") or ""),
                     f"{Decimal(str(data.get('total') or 0)):.2f}",
                     approval_text(view, str(data.get("approval") or ""))]
            try:
                lines, progress = po_progress_from(data, receipts.get(record.entity_id, []))
            except ProcurementError as exc:
                rows.append(ComputedRow(record.entity_id, [*cells, f"unreadable lines: {exc}", ""], record.pending,
                                        True))
                continue
            outstanding = sum(1 for q in progress.outstanding.values() if q > 0)
            rows.append(ComputedRow(
                record.entity_id, [*cells, progress.status.value, str(outstanding)],
                record.pending or record.entity_id in pending_receipt,
                bool(progress.over_received or progress.unknown_lines),
                {"lines": lines, "progress": progress, "approval": view}))
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        self.requisitions.reload()
        if selected is not None:
            self.select(selected)
        self.show_selected()

    def show_selected(self) -> None:
        po_id = self.selected_id()
        row = self.model.row_by_key(po_id) if po_id else None
        lines = row.data.get("lines", []) if row else []
        progress = row.data.get("progress") if row else None
        line_rows = []
        for line in lines:
            got = progress.received.get(line.line_id, Decimal(0)) if progress else Decimal(0)
            left = progress.outstanding.get(line.line_id, Decimal(0)) if progress else Decimal(0)
            line_rows.append(ComputedRow(line.line_id, [line.line_id, line.item_id, line.store_id, qty(line.quantity),
                                                        qty(got), qty(left)]))
        self.line_model.set_rows(line_rows)
        view: RequestView | None = row.data.get("approval") if row else None
        can = view is not None and may_decide(view, self.actor, self.roles, delegations(self.store), today())
        self.approve_button.setEnabled(can)
        self.reject_button.setEnabled(can)

    def decide(self, verdict: Verdict) -> bool:
        po_id = self.selected_id()
        row = self.model.row_by_key(po_id) if po_id else None
        view: RequestView | None = row.data.get("approval") if row else None
        if view is None:
            return False
        try:
            decide(self.store, view, verdict, self.actor, self.roles)
        except ApprovalError as exc:
            self.message.setText(str(exc))
            return False
        done = "Approved" if verdict is Verdict.APPROVE else "Rejected"
        self.message.setText(f"{done} here; the hub applies it at the next sync.")
        self.after_write()
        return True
