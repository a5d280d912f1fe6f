"""The conflicts inbox: the conflicts that need a person, the hub's version and this office's change side by
side field by field, and resolve actions that become mutations on `sync.conflict_resolution` (so resolving
works offline and reaches the hub through the outbox like any other write)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.ops_screen import table_view
from shared.domain.consume_once import ClaimKind, can_book_anyway
from shared.envelopes import Op
from shared.ids import new_ulid
from shared.store import LocalRecord, LocalStore

RESOLUTION_ENTITY = "sync.conflict_resolution"


def field_rows(conflict: dict[str, Any]) -> list[tuple[str, Any, Any, bool]]:
    """(field, hub's value, this office's value, differs) for every field either side touches."""
    server = conflict.get("server_data") or {}
    client = conflict.get("client_payload") or {}
    marked = set(conflict.get("fields") or [])
    names = sorted(set(server) | set(client), key=lambda n: (n not in marked, n))
    return [(n, server.get(n), client.get(n, server.get(n)),
             n in marked or (n in client and client[n] != server.get(n))) for n in names]


CANNOT_BOOK_TWICE = {
    ClaimKind.TRANSFER_RECEIPT: "A transfer arrives once: this receipt cannot be booked after all. Goods beyond "
                                "what was shipped are recorded as a stock count.",
}


def is_consume_once(conflict: dict[str, Any]) -> bool:
    """A claim the hub refused (D27: a second receipt, a second order), not two edits of one record."""
    return conflict.get("kind") == "consume_once" or conflict.get("code") == "consumed_once"


def book_anyway(conflict: dict[str, Any]) -> tuple[bool, str]:
    """Whether a person may book a refused claim after all (the shared rule on the claim's kind, and the
    hub's word in the record when it sent one), and why not when not."""
    try:
        kind: ClaimKind | None = ClaimKind(str(conflict.get("claim")))
    except ValueError:
        kind = None
    allowed = (kind is None or can_book_anyway(kind)) and conflict.get("can_book_anyway", kind is not None) is True
    if allowed:
        return True, ""
    why = CANNOT_BOOK_TWICE.get(kind, "The hub says this cannot be booked after all.") if kind else \
        "The hub did not say which document this consumed, so it cannot be booked after all."
    return False, why


class ConflictsInbox(QWidget):
    resolved = Signal(str)  # conflict id

    def __init__(self, store: LocalStore, actor: str) -> None:
        super().__init__()
        self.store, self.actor = store, actor
        self.conflicts: list[LocalRecord] = []
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._show)
        self.title = QLabel("No conflicts waiting.")
        self.side_model = ComputedTableModel(["Field", "Hub's version", "This office's change"], sync_column=False)
        self.sides = table_view(self.side_model, "table:conflict_sides")
        self.sides.setSortingEnabled(False)  # the fields that differ come first
        self.keep_server = QPushButton("Keep the hub's version")
        self.keep_client = QPushButton("Apply this office's change")
        self.keep_server.clicked.connect(lambda: self.resolve("server"))
        self.keep_client.clicked.connect(lambda: self.resolve("client"))
        self.status = QLabel("")
        buttons = QHBoxLayout()
        buttons.addWidget(self.keep_server)
        buttons.addWidget(self.keep_client)
        buttons.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.title)
        right.addWidget(self.sides, 1)
        right.addLayout(buttons)
        right.addWidget(self.status)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(right, 3)
        self.reload()

    def _waiting(self) -> list[LocalRecord]:
        already = {str((r.state or {}).get("conflict_id")) for r in self.store.query(RESOLUTION_ENTITY)}
        return [c for c in self.store.conflicts("open")
                if (c.state or {}).get("needs_person", True) and c.entity_id not in already]

    def reload(self) -> None:
        self.conflicts = self._waiting()
        self.list.clear()
        for c in self.conflicts:
            s = c.state or {}
            self.list.addItem(QListWidgetItem(f"{s.get('entity')} {s.get('entity_id')} — {s.get('actor', '')}"))
        if self.conflicts:
            self.list.setCurrentRow(0)
        else:
            self._show(-1)

    def _show(self, row: int) -> None:
        has = 0 <= row < len(self.conflicts)
        self.keep_server.setEnabled(has)
        self.keep_client.setEnabled(has)
        self.keep_server.setText("Keep the hub's version")
        self.keep_client.setText("Apply this office's change")
        self.keep_client.setToolTip("")
        if not has:
            self.title.setText("No conflicts waiting.")
            self.side_model.set_rows([])
            return
        s = self.conflicts[row].state or {}
        if is_consume_once(s):  # D27: the hub did not book it; say why and what it had booked
            self.title.setText(f"{s.get('entity')} {s.get('entity_id')} by {s.get('actor')} was not booked: "
                               f"{s.get('reason')}")
            allowed, why = book_anyway(s)
            self.keep_server.setText("Keep what was booked")
            self.keep_client.setText("Book it anyway")
            self.keep_client.setEnabled(allowed)
            self.keep_client.setToolTip(why)
        else:
            self.title.setText(f"{s.get('entity')} {s.get('entity_id')}: changed here by {s.get('actor')} while "
                               f"the hub moved from version {s.get('base_version')} to {s.get('server_version')}")
        self.side_model.set_rows([ComputedRow(name, ["" if v is None else str(v) for v in (name, server, client)],
                                              bold=differs) for name, server, client, differs in field_rows(s)])
        self.sides.resizeColumnsToContents()

    def resolve(self, choice: str, data: dict[str, Any] | None = None) -> str | None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.conflicts):
            return None
        state = self.conflicts[row].state or {}
        if choice == "client" and is_consume_once(state) and not book_anyway(state)[0]:
            self.status.setText(book_anyway(state)[1])
            return None
        conflict_id = self.conflicts[row].entity_id
        payload: dict[str, Any] = {"conflict_id": conflict_id, "choice": choice}
        if data is not None:
            payload["data"] = data
        self.store.enqueue(RESOLUTION_ENTITY, new_ulid(), Op.CREATE, payload, actor=self.actor)
        self.status.setText("Resolution saved here; the hub applies it at the next sync.")
        self.resolved.emit(conflict_id)
        self.reload()
        return conflict_id
