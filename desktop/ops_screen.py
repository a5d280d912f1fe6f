"""What every operations screen shares: who is signed in, a `changed` signal after each write (the window
then refreshes its counts and wakes the sync worker), and a table helper."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QObject, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget

from shared.store import LocalStore


class OpsScreen(QWidget):
    changed = Signal()

    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__()
        self.store, self.actor, self.roles = store, actor, roles

    def refresh(self) -> None:
        """Recompute from the local replica (called when the screen is shown and after sync brings events)."""

    def after_write(self) -> None:
        self.refresh()
        self.changed.emit()


def table_view(model: QAbstractItemModel, name: str, parent: QObject | None = None) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSortingEnabled(True)
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return view
