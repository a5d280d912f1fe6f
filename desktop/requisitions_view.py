"""Requisitions: the list (pending rows marked), "Raise from reorder points" (the shared reorder rule over
the local stock, items, open requisitions and open POs: raising twice raises nothing new), a new
requisition, and "Convert to PO" for the chosen open requisition (the PO appears on the Purchase orders
screen with its approval waiting)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout

from desktop.computed_model import ComputedRow, ComputedTableModel, qty
from desktop.ops_screen import OpsScreen, table_view
from desktop.requisition_forms import ConvertForm, NewRequisitionForm
from desktop.requisition_writes import REQUISITION, raise_from_reorder_points
from shared.domain.ops_views import OPEN_REQUISITION, requisition_lines_from
from shared.store import LocalStore

HEADERS = ["Number", "Item", "Store", "Quantity", "Vendor", "Needed by", "Source", "Status", "Requested by"]


class RequisitionsScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:procurement.requisition")
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self.show_selected())
        self.reorder_button = QPushButton("Raise from reorder points")
        self.reorder_button.clicked.connect(self.raise_from_reorder)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.new_form = NewRequisitionForm(store, actor)
        self.convert = ConvertForm(store, actor, self.selected_id)
        for form in (self.new_form, self.convert):
            form.saved.connect(lambda _id: self.after_write())
        top = QHBoxLayout()
        top.addWidget(self.reorder_button)
        top.addWidget(self.message, 1)
        left = QVBoxLayout()
        left.addLayout(top)
        left.addWidget(self.view)
        forms = QTabWidget()
        forms.addTab(self.new_form, "New requisition")
        forms.addTab(self.convert, "Convert to PO")
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addWidget(forms, 1)
        self.show_selected()

    def selected_id(self) -> str | None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        row = self.model.rows[index.row()]
        return row.key if row.data.get("open") else None

    def select(self, req_id: str) -> bool:
        for n, r in enumerate(self.model.rows):
            if r.key == req_id:
                self.view.selectRow(n)
                return True
        return False

    def refresh(self) -> None:
        chosen = self.selected_id()
        rows = []
        for record in self.store.query(REQUISITION):
            data = record.state or {}
            lines = requisition_lines_from(data)
            first = lines[0] if lines else None
            more = f" +{len(lines) - 1}" if len(lines) > 1 else ""
            status = str(data.get("status") or "submitted")
            cells = [str(data.get("number") or record.entity_id),
                     (first.item_id + more) if first else "?", first.store_id if first else "",
                     qty(first.quantity) if first else "", (first.vendor_id or "") if first else "",
                     str(data.get("needed_by") or ""), str(data.get("source") or ""), status,
                     str(data.get("requested_by") or "")]
            rows.append(ComputedRow(record.entity_id, cells, record.pending, not lines,
                                    {"open": status in OPEN_REQUISITION and bool(lines)}))
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        if chosen is not None:
            self.select(chosen)
        self.show_selected()

    def show_selected(self) -> None:
        req_id = self.selected_id()
        self.convert.save_button.setEnabled(req_id is not None)
        if req_id is None:
            return
        row = self.model.row_by_key(req_id)
        if row is not None and not self.convert.inputs["vendor_id"].text():
            self.convert.set_text("vendor_id", row.cells[4])
        item = self.store.get("inventory.item", row.cells[1]) if row is not None else None
        price = (item.state or {}).get("standard_price") if item else None
        if price is not None and not self.convert.inputs["unit_price"].text():
            self.convert.set_text("unit_price", str(price))

    def raise_from_reorder(self) -> list[str]:
        raised = raise_from_reorder_points(self.store, self.actor)
        self.message.setText(f"Raised {len(raised)} requisition(s) here; waiting for the hub to confirm." if raised
                             else "Nothing at or below its reorder point that is not already on order.")
        self.after_write()
        return raised
