"""People → Organisation: the org tree from `hr.employee.reports_to` (`shared.domain.org_tree.build`), each person
with position, crew and site; those whose manager is missing from the register or has left (and any loop that
reached the data) under "No manager" with the reason. Read-only: reporting lines are edited on the People form,
whose no-loop check this tree never needs to repeat."""

from __future__ import annotations

from datetime import date

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTreeView, QVBoxLayout

from desktop.ops_screen import OpsScreen
from shared.domain.org_tree import Node, OrgTree, build
from shared.store import LocalStore

HEADERS = ["Person", "Position", "Crew", "Site", "Why here"]
NO_MANAGER = "No manager"


def _row(texts: list[str]) -> list[QStandardItem]:
    items = [QStandardItem(t) for t in texts]
    for item in items:
        item.setEditable(False)
    return items


class OrgTreeModel(QStandardItemModel):
    """The tree as items: one row per person, the "No manager" group last."""

    def __init__(self) -> None:
        super().__init__()
        self.setHorizontalHeaderLabels(HEADERS)
        self.tree = OrgTree([], [])

    def load(self, store: LocalStore, today: date) -> None:
        people = {r.entity_id: dict(r.state or {}) for r in store.query("hr.employee")}
        crews = {r.entity_id: str((r.state or {}).get("name") or r.entity_id) for r in store.query("hr.crew")}

        def number(eid: str) -> str:
            return str(people[eid].get("number") or eid)

        names = {eid: f"{number(eid)} {p.get('name') or ''}".strip() for eid, p in people.items()}
        self.tree = build(people, today, sort_key=number, names=names)
        self.clear()
        self.setHorizontalHeaderLabels(HEADERS)
        root = self.invisibleRootItem()

        def add(parent: QStandardItem, nodes: list[Node]) -> None:
            # Breadth by stack, not recursion: a deep chain must not hit Python's recursion limit.
            stack = [(parent, n) for n in reversed(nodes)]
            while stack:
                into, n = stack.pop()
                p = people[n.employee_id]
                crew = str(p.get("crew_id") or "")
                row = _row([f"{number(n.employee_id)} {p.get('name') or ''}".strip(), str(p.get("position") or ""),
                            crews.get(crew, crew), str(p.get("site") or ""), n.reason or ""])
                into.appendRow(row)
                stack.extend((row[0], c) for c in reversed(n.children))

        add(root, self.tree.roots)
        if self.tree.no_manager:
            group = _row([f"{NO_MANAGER} ({len(self.tree.no_manager)})", "", "", "", ""])
            root.appendRow(group)
            add(group[0], self.tree.no_manager)


class OrgTreeScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = OrgTreeModel()
        self.view = QTreeView()
        self.view.setObjectName("tree:org")
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setUniformRowHeights(True)  # thousands of rows scroll without measuring each
        self.summary = QLabel("")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Who reports to whom (edit reporting lines on the People screen)"))
        layout.addWidget(self.view, 1)
        layout.addWidget(self.summary)
        self.refresh()

    def refresh(self) -> None:
        self.model.load(self.store, date.today())
        self.view.expandToDepth(1)
        total, orphans = self.model.tree.count(), len(self.model.tree.no_manager)
        self.summary.setText(f"{total} people; {len(self.model.tree.roots)} at the top; "
                             f"{orphans} with no manager")

    def find(self, text: str) -> QStandardItem | None:
        """The person's item whose first column starts with `text` (their number), anywhere in the tree."""
        stack = [self.model.item(r) for r in range(self.model.rowCount())]
        while stack:
            item = stack.pop()
            if item.text().startswith(text):
                return item
            stack.extend(item.child(r) for r in range(item.rowCount()))
        return None
