"""Changes the hub refused for good (a role this person does not hold at the hub, a record of another site, a
mutation replayed from a restored copy…): the store keeps each out of the outbox with the hub's reason, so the
queue goes on; this screen is where a person sees them, with every value they typed, to enter again or report.
Nothing here is lost by looking: the rows stay in the store."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.ops_screen import table_view
from shared.entities import get_spec
from shared.errors import UnknownEntityError
from shared.store import LocalStore

HEADERS = ["Refused at", "Record", "Change", "Why the hub refused it"]


def _label(entity: str, field: str) -> str:
    try:
        spec = get_spec(entity).fields.get(field)
    except UnknownEntityError:
        return field
    return (spec.label or field) if spec is not None else field


def rejection_row(rejection: dict[str, Any]) -> ComputedRow:
    mutation = rejection.get("mutation") or {}
    entity, entity_id = str(rejection["entity"]), str(rejection["entity_id"])
    reason = f"{rejection.get('code') or 'rejected'}: {rejection.get('message') or ''}".rstrip(": ")
    return ComputedRow(rejection["mutation_id"], [str(rejection.get("at") or ""), f"{entity} {entity_id}",
                                                  str(mutation.get("op") or ""), reason],
                       needs_review=True, data=rejection)


def typed_values(rejection: dict[str, Any]) -> str:
    """What the person had typed, field by field, so it can be entered again."""
    mutation = rejection.get("mutation") or {}
    payload = mutation.get("payload") or {}
    entity = str(rejection["entity"])
    lines = [f"{_label(entity, name)}: {value}" for name, value in payload.items()]
    who = mutation.get("actor")
    return "\n".join([f"typed by {who}" if who else "", *lines]).strip()


class RejectedChanges(QWidget):
    def __init__(self, store: LocalStore) -> None:
        super().__init__()
        self.store = store
        self.model = ComputedTableModel(HEADERS, sync_column=False)
        self.view = table_view(self.model, "table:sync.rejections")
        self.summary = QLabel("")
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.detail)
        self.view.selectionModel().currentRowChanged.connect(lambda current, _previous: self._show(current.row()))

    def refresh(self) -> None:
        rows = [rejection_row(r) for r in self.store.rejections()]
        self.model.set_rows(rows)
        self.summary.setText("No change was refused by the hub." if not rows else
                             f"{len(rows)} change(s) refused by the hub: they are kept here with the reason; "
                             "enter them again once the reason is fixed, or report it.")
        self.detail.setText("")

    def _show(self, row: int) -> None:
        self.detail.setText(typed_values(self.model.rows[row].data) if 0 <= row < len(self.model.rows) else "")
