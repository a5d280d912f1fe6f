"""A filter over one table: a column and the value it must equal (the model pages through an index)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from desktop.table_model import RecordTableModel
from shared.entities import get_spec


class FilterBar(QWidget):
    def __init__(self, model: RecordTableModel) -> None:
        super().__init__()
        self.model = model
        self.column = QComboBox()
        for field, header in model.columns:
            self.column.addItem(header, field)
        self.value = QLineEdit()
        self.value.setPlaceholderText("value (Enter to filter, empty for all)")
        self.value.returnPressed.connect(self.apply)
        self.column.currentIndexChanged.connect(lambda _i: self.apply() if self.value.text() else None)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Filter"))
        layout.addWidget(self.column)
        layout.addWidget(self.value, 1)

    def apply(self) -> None:
        text = self.value.text().strip()
        field = str(self.column.currentData())
        if not text:
            self.model.set_filter({})
            return
        kind = get_spec(self.model.entity).fields[field].type if field in get_spec(self.model.entity).fields else ""
        value: object = text
        if kind in ("number", "int"):
            try:
                value = float(text)
            except ValueError:
                value = text
        self.model.set_filter({field: value})
