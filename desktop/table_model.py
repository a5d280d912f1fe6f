"""A lazily loaded table over one entity of the local replica; rows not yet confirmed by the hub are marked."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from desktop import table_query
from shared.store import LocalRecord, LocalStore

PAGE = 200
Index = QModelIndex | QPersistentModelIndex


class RecordTableModel(QAbstractTableModel):
    def __init__(self, store: LocalStore, entity: str, columns: list[tuple[str, str]]) -> None:
        super().__init__()
        self.store, self.entity, self.columns = store, entity, columns  # (field, header)
        self.rows: list[LocalRecord] = []
        self._total: int | None = None
        self._more = False
        self.order_by: str | None = None
        self.where: dict[str, Any] = {}
        self.reload()

    @property
    def total(self) -> int:
        """All matching rows; counted only when asked (a count scans every match)."""
        if self._total is None:
            self._total = table_query.count(self.store, self.entity, self.where)
        return self._total

    def _page(self, offset: int) -> list[LocalRecord]:
        if self.entity in table_query.INDEXED:
            return table_query.page(self.store, self.entity, where=self.where, order_by=self.order_by, limit=PAGE,
                                    offset=offset)
        return self.store.query(self.entity, where=self.where, order_by=self.order_by, limit=PAGE, offset=offset)

    def reload(self) -> None:
        self.beginResetModel()
        self._total = None
        self.rows = self._page(0)
        self._more = len(self.rows) == PAGE
        self.endResetModel()

    def set_filter(self, where: dict[str, Any]) -> None:
        self.where = where
        self.reload()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(self.columns) + 1

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._more

    def fetchMore(self, parent: Index) -> None:
        more = self._page(len(self.rows))
        self._more = len(more) == PAGE
        if more:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
            self.rows += more
            self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return "sync" if section == len(self.columns) else self.columns[section][1]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        record = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == len(self.columns):
                return "pending" if record.pending else "confirmed"
            value = (record.state or {}).get(self.columns[index.column()][0])
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.FontRole and record.pending:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and record.pending:
            return QBrush(QColor("#8a6d00"))
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column < len(self.columns):
            name = self.columns[column][0]
            self.order_by = name if order == Qt.SortOrder.AscendingOrder else f"-{name}"
            self.reload()
