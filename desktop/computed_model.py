"""A table of rows computed from the local replica by the shared rules (stock on hand, PM due, PO progress):
rows not yet confirmed by the hub are marked like the record tables do, rows that need review are red."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

Index = QModelIndex | QPersistentModelIndex
REVIEW = QColor("#fde2e1")


@dataclass(frozen=True)
class ComputedRow:
    key: str
    cells: list[str]
    pending: bool = False
    needs_review: bool = False
    data: dict[str, Any] = field(default_factory=dict)  # what a screen needs to act on the row
    bold: bool = False  # e.g. an unread notification, a field that differs


class ComputedTableModel(QAbstractTableModel):
    def __init__(self, headers: list[str], *, sync_column: bool = True) -> None:
        super().__init__()
        self.headers = headers
        # Off for rows that are not records (totals, a comparison, a PO's lines): "confirmed" would be a claim.
        self.sync_column = sync_column
        self.rows: list[ComputedRow] = []

    def set_rows(self, rows: list[ComputedRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def cell(self, row: int, column: int) -> str:
        """What the table shows at (row, column), the sync column included."""
        return str(self.data(self.index(row, column)))

    def row_by_key(self, key: str) -> ComputedRow | None:
        return next((r for r in self.rows if r.key == key), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(self.headers) + self.sync_column

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return "sync" if section == len(self.headers) else self.headers[section]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == len(self.headers):
                return "pending" if row.pending else "confirmed"
            return row.cells[index.column()]
        if role == Qt.ItemDataRole.FontRole and (row.pending or row.bold):
            font = QFont()
            font.setItalic(row.pending)
            font.setBold(row.bold)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and row.pending:
            return QBrush(QColor("#8a6d00"))
        if role == Qt.ItemDataRole.BackgroundRole and row.needs_review:
            return QBrush(REVIEW)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column >= len(self.headers):
            return

        def key(r: ComputedRow) -> tuple[int, float, str]:
            text = r.cells[column]
            try:
                return (0, float(text), "")
            except ValueError:
                return (1, 0.0, text)

        self.layoutAboutToBeChanged.emit()
        self.rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()


def qty(value: Decimal) -> str:
    """A quantity as people write it: 13, 2.5, -5 (never 13.0 or 1E+2)."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text
