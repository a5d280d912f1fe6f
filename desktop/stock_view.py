"""Stock on hand per store and item, derived from the local ledger by the shared valuation (moving average);
a negative balance, or one that went below zero offline, is shown red for review. Beside it the storeman's
forms: goods issue, transfer, stock count (goods receipts are booked against a PO line on the PO screen)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QTabWidget, QVBoxLayout

from desktop.computed_model import ComputedRow, ComputedTableModel, qty
from desktop.ops_screen import OpsScreen, table_view
from desktop.stock_forms import count_form, issue_form, transfer_form
from desktop.stock_ledger import StockLedger
from shared.store import LocalStore

HEADERS = ["Store", "Item", "Description", "On hand", "Average cost", "Value", "Review"]


class StockScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = ComputedTableModel(HEADERS)
        self.view = table_view(self.model, "table:stock")
        self.search = QLineEdit()
        self.search.setPlaceholderText("store or item contains… (Enter)")
        self.search.returnPressed.connect(self.refresh)
        self.summary = QLabel("")
        self.ledger = StockLedger()  # folds again only the store/items whose movements changed (D87)
        self.ledger.warm(store.open_another)
        self.issue, self.transfer, self.count = issue_form(store, actor), transfer_form(store, actor), count_form(
            store, actor)
        tabs = QTabWidget()
        for title, form in (("Goods issue", self.issue), ("Transfer", self.transfer), ("Stock count", self.count)):
            form.saved.connect(lambda _id: self.after_write())
            tabs.addTab(form, title)
        left = QVBoxLayout()
        left.addWidget(self.search)
        left.addWidget(self.view)
        left.addWidget(self.summary)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addWidget(tabs, 1)

    def refresh(self) -> None:
        balances = self.ledger.balances(self.store)
        names = {r.entity_id: str((r.state or {}).get("description") or "") for r in self.store.query("inventory.item")}
        needle = self.search.text().strip().lower()
        rows = []
        for line in balances.lines:
            if needle and needle not in f"{line.store_id} {line.item_id}".lower():
                continue
            rows.append(ComputedRow(
                f"{line.store_id}:{line.item_id}",
                [line.store_id, line.item_id, names.get(line.item_id, ""), qty(line.quantity),
                 f"{line.average_cost:.2f}", f"{line.value:.2f}", line.reason],
                pending=(line.store_id, line.item_id) in balances.pending, needs_review=line.needs_review,
                data={"quantity": line.quantity}))
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        review = sum(1 for r in rows if r.needs_review)
        self.summary.setText(f"{len(rows)} store/item balances; {review} need review (red)")

