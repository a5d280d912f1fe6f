"""Transfers between stores, seen from the receiving side: what was shipped and is not yet booked in (in
transit, computed from the local ledger by `ops_views.in_transit_lines`, matched by transfer id), and the
"Receive transfer" form for the chosen one. Shipping is the Stock screen's Transfer form."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout

from desktop.computed_model import ComputedRow, ComputedTableModel, qty
from desktop.ops_screen import OpsScreen, table_view
from desktop.transfer_receipt_form import receive_transfer_form
from shared.domain.ops_views import TransferLine, transfer_lines
from shared.store import LocalStore

HEADERS = ["Transfer", "Item", "From", "To", "Shipped", "Received", "In transit", "Shipped at"]


class TransfersScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:transfers")
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self.show_selected())
        self.show_received = QCheckBox("Show received transfers too")
        self.show_received.toggled.connect(lambda _on: self.refresh())
        self.summary, self.chosen = QLabel(""), QLabel("")
        self.receive = receive_transfer_form(store, actor, self.selected)
        self.receive.saved.connect(lambda _id: self.after_write())
        left = QVBoxLayout()
        left.addWidget(self.show_received)
        left.addWidget(self.view)
        left.addWidget(self.summary)
        right = QVBoxLayout()
        right.addWidget(QLabel("Receive transfer"))
        right.addWidget(self.chosen)
        right.addWidget(self.receive)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 1)
        self.show_selected()

    def selected(self) -> TransferLine | None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        line: TransferLine = self.model.rows[index.row()].data["line"]
        return line if line.in_transit > 0 else None

    def select(self, transfer_id: str) -> bool:
        for row, r in enumerate(self.model.rows):
            if r.key == transfer_id:
                self.view.selectRow(row)
                return True
        return False

    def refresh(self) -> None:
        chosen = self.selected()
        records = [r for kind in ("transfer_out", "transfer_in")
                   for r in self.store.query("inventory.movement", where={"kind": kind})]
        lines = transfer_lines([(r.entity_id, r.state or {}) for r in records],
                               {r.entity_id for r in records if r.pending})
        everything = self.show_received.isChecked()
        rows = [ComputedRow(ln.transfer_id, [ln.transfer_id, ln.item_id, ln.from_store, ln.to_store or "?",
                                             qty(ln.shipped), qty(ln.received), qty(ln.in_transit), ln.shipped_at],
                            pending=ln.pending, needs_review=not ln.to_store, data={"line": ln})
                for ln in lines if everything or ln.in_transit > 0]
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        waiting = sum(1 for ln in lines if ln.in_transit > 0)
        self.summary.setText(f"{waiting} transfer(s) in transit")
        if chosen is not None:
            self.select(chosen.transfer_id)
        self.show_selected()

    def show_selected(self) -> None:
        line = self.selected()
        self.receive.save_button.setEnabled(line is not None)
        self.chosen.setText("choose a transfer in transit" if line is None else
                            f"{qty(line.in_transit)} × {line.item_id} from {line.from_store} into {line.to_store}")
