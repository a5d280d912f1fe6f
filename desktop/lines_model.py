"""Rows of text a person types into a table (a purchase order's lines): a model for a QTableView, so no
QTableWidgetItem is made per cell, with `edited` after every change a person or the form makes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

Index = QModelIndex | QPersistentModelIndex


class EditableRowsModel(QAbstractTableModel):
    edited = Signal()

    def __init__(self, headers: list[str]) -> None:
        super().__init__()
        self.headers = headers
        self.rows: list[list[str]] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return self.headers[section]

    def flags(self, index: Index) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self.rows[index.row()][index.column()]
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        self.rows[index.row()][index.column()] = "" if value is None else str(value)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        self.edited.emit()
        return True

    def cell(self, row: int, column: int) -> str:
        return self.rows[row][column]

    def set_cell(self, row: int, column: int, text: str) -> None:
        self.setData(self.index(row, column), text)

    def append(self, values: list[str] | None = None) -> int:
        """Add a row (blank, or these values) at the end; returns its number."""
        cells = [*(values or []), *[""] * len(self.headers)][: len(self.headers)]
        row = len(self.rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self.rows.append([str(c) for c in cells])
        self.endInsertRows()
        self.edited.emit()
        return row

    def set_rows(self, rows: list[list[str]]) -> None:
        self.beginResetModel()
        self.rows = [[*[str(c) for c in r], *[""] * len(self.headers)][: len(self.headers)] for r in rows]
        self.endResetModel()
        self.edited.emit()
