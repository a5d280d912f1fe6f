"""Finance → Chart of accounts: the tenant's `finance.account` records (shared/domain/finance_entities.py) in a
list and, for roles that write finance.*, a form that adds an account or edits the one chosen. Offline like
every record screen: a save goes to the outbox and the hub confirms it later.

Each save is held to the rules the hub builds the chart by (`ChartOfAccounts.build`, shared/domain/accounts.py)
over the whole local chart with the edit applied, because the hub posts nothing against a chart that does not
build: a parent must be a header of the same type, a header requires no dimensions (nothing posts to it), a
posting account has nothing under it, a required dimension must be a dimension, a code is used once. The
message is shown beside the field that breaks the rule.

While the tenant keeps no account records the hub posts against the standard chart; the screen offers to copy it
into records, so what is posted against is listed and editable here. The check builds the chart exactly as the
hub does (`chart_from_records` with the same fallback), so it follows that function's rule for records beside
the standard chart (at this commit the first record replaces it; branch `gl` changes it to an overlay).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from desktop.dimension_screen import DimensionScreen
from desktop.filter_bar import FilterBar
from desktop.ops_screen import OpsScreen, table_view
from desktop.record_form import SAVED_HERE, RecordForm
from desktop.table_model import RecordTableModel
from shared.domain.accounts import Account
from shared.domain.chart_guard import missing_posting_accounts
from shared.domain.finance_entities import ACCOUNT_ENTITY, DIMENSION_VALUE_ENTITY, chart_from_records
from shared.domain.finance_errors import ChartError
from shared.domain.stock_postings import default_accounts
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.permissions import allows
from shared.store import LocalStore

COLUMNS = [("code", "Code"), ("name", "Name"), ("type", "Type"), ("header", "Header"), ("parent", "Under"),
           ("required", "Required dimensions"), ("active", "Active")]
FIELDS = ["code", "name", "type", "header", "parent", "required", "active"]


def account_record(acc: Account) -> dict[str, Any]:
    rec: dict[str, Any] = {"code": acc.code, "name": acc.name, "type": acc.type.value, "header": acc.header,
                           "active": True}
    if acc.parent:
        rec["parent"] = acc.parent
    if acc.required:
        rec["required"] = ", ".join(sorted(d.value for d in acc.required))
    return rec


def _states(store: LocalStore, entity: str) -> dict[str, dict[str, Any]]:
    return {r.entity_id: dict(r.state) for r in store.query(entity) if r.state is not None}


def account_names(store: LocalStore) -> dict[str, str]:
    """Code → name for the report screens: the standard chart's, overlaid by the tenant's own records."""
    names = {a.code: a.name for a in default_accounts()}
    names.update({code: str(st.get("name") or "") for code, st in _states(store, ACCOUNT_ENTITY).items()})
    return names


def chart_problems(store: LocalStore, payload: Mapping[str, Any], editing: str | None) -> dict[str, str]:
    """Field → message for what the hub's chart would refuse once this record is saved; {} when it builds."""
    code = str(payload.get("code", "")).strip()
    accounts = _states(store, ACCOUNT_ENTITY)
    if editing is not None and code != editing:
        return {"code": f"the code names the account ({editing}): it cannot change; add a new account instead"}
    if editing is None and code in accounts:
        return {"code": f"account {code} exists already ({accounts[code].get('name')}): choose it in the list to "
                        "edit it"}
    accounts[code] = {**accounts.get(code, {}), **payload}
    try:
        chart, _ = chart_from_records(accounts.values(), _states(store, DIMENSION_VALUE_ENTITY).values(),
                                      default_accounts())
    except ChartError as exc:
        message = str(exc)
        if message.startswith(f"account {code} ") or message.startswith(f"header account {code} "):
            return {name: message for name in exc.field_errors} or {"code": message}
        # Another account broke: one under this one, which it no longer holds up.
        blame = "active" if payload.get("active") is False else "header" if not payload.get("header") else "type"
        return {blame: message}
    if code in missing_posting_accounts(chart):  # the hub's guard (D76, D86): it posts operations to this account
        field = "active" if payload.get("active") is False else "header"
        return {field: f"the hub posts operations to {code}: it must stay an active posting account"}
    return {}


class AccountForm(RecordForm):
    """Adds an account, or updates the one loaded with `edit` (only the fields that differ are sent, so an
    offline edit elsewhere to another field survives the field merge)."""

    def __init__(self, store: LocalStore, actor: str) -> None:
        self.editing: str | None = None
        self._loaded: dict[str, str] = {}
        super().__init__(store, ACCOUNT_ENTITY, FIELDS, actor, draft_key="form:finance.account",
                         save_label="Save account")
        self.mode = QLabel("New account")
        self.new_button = QPushButton("New account")
        self.new_button.clicked.connect(lambda: self.edit(None))
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)  # FieldsForm's
        layout.insertWidget(0, self.mode)
        layout.insertWidget(1, self.new_button)
        self.inputs["header"].setPlaceholderText("yes / no")
        self.inputs["active"].setPlaceholderText("yes / no (empty: yes)")
        self.inputs["required"].setPlaceholderText("e.g. site, cost_centre")

    def edit(self, code: str | None) -> None:
        record = self.store.get(ACCOUNT_ENTITY, code) if code else None
        state = (record.state or {}) if record else {}
        self.editing = code if record else None
        self._loaded = {n: _text(state.get(n)) for n in self.fields}
        for name in self.fields:
            self.set_text(name, self._loaded[name])
            self.errors[name].setText("")
        self.mode.setText(f"Editing {state.get('code')} {state.get('name')}" if record else "New account")

    def write(self) -> tuple[str, str]:
        payload = self.values()
        validate_mutation(self.entity, Op.CREATE, payload)  # the whole record must stand, new or edited
        problems = chart_problems(self.store, payload, self.editing)
        if problems:
            raise ValidationError("; ".join(problems.values()), field_errors=problems)
        code = str(payload["code"])
        if self.editing is None:
            self.store.enqueue(self.entity, code, Op.CREATE, payload, actor=self.actor)
        else:
            changed = {k: v for k, v in payload.items() if _text(v) != self._loaded.get(k, "")}
            cleared = [k for k in self.fields if self._loaded.get(k) and k not in payload]
            if cleared:
                raise ValidationError("clearing a field is not supported here",
                                      {k: "cannot be emptied here: type the new value" for k in cleared})
            if not changed:
                raise ValidationError("nothing changed", {"name": "nothing changed: edit a field first"})
            self.store.enqueue(self.entity, code, Op.UPDATE, changed, actor=self.actor)
        self.editing, self._loaded = None, {}
        self.mode.setText("New account")
        return code, SAVED_HERE


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class ChartScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.model = RecordTableModel(store, ACCOUNT_ENTITY, COLUMNS)
        self.view = table_view(self.model, "table:finance.account")
        left = QVBoxLayout()
        self.note = QLabel("")
        self.note.setWordWrap(True)
        left.addWidget(self.note)
        left.addWidget(FilterBar(self.model))
        left.addWidget(self.view, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        self.form: AccountForm | None = None
        self.standard_button: QPushButton | None = None
        if allows(roles, "write", ACCOUNT_ENTITY):
            self.standard_button = QPushButton("Start from the standard chart")
            self.standard_button.clicked.connect(self.start_from_standard)
            left.insertWidget(1, self.standard_button)
            self.form = AccountForm(store, actor)
            self.form.saved.connect(lambda _id: self.after_write())
            self.view.selectionModel().currentRowChanged.connect(lambda *_: self._edit_selected())
            layout.addWidget(self.form, 2)
        self.refresh()

    def _edit_selected(self) -> None:
        index = self.view.currentIndex()
        if self.form is not None and index.isValid() and index.row() < len(self.model.rows):
            self.form.edit(self.model.rows[index.row()].entity_id)

    def select_code(self, code: str) -> bool:
        for row, record in enumerate(self.model.rows):
            if record.entity_id == code:
                self.view.selectRow(row)
                return True
        return False

    def start_from_standard(self) -> None:
        """The standard chart as records: what the hub posts against, listed and editable here."""
        if _states(self.store, ACCOUNT_ENTITY):
            return
        for acc in default_accounts():
            self.store.enqueue(ACCOUNT_ENTITY, acc.code, Op.CREATE, account_record(acc), actor=self.actor)
        self.after_write()

    def refresh(self) -> None:
        self.model.reload()
        empty = not self.model.rows
        self.note.setText("This tenant keeps no chart records yet: the hub posts against the standard chart. "
                          "\"Start from the standard chart\" copies it into records you can edit." if empty else "")
        if self.standard_button is not None:
            self.standard_button.setVisible(empty)


def chart_screens(roles: frozenset[str]) -> list[tuple[str, type[OpsScreen]]]:
    """In the navigation for roles that read finance.* (finance, site manager, administrator)."""
    if not allows(roles, "read", ACCOUNT_ENTITY):
        return []
    return [("Chart of accounts", ChartScreen), ("Dimension values", DimensionScreen)]
