"""The tenant's three-way-match tolerances (`finance.match_tolerance`, the one record `default`, D45): what the
match accepts now, as a table and said in words with an example, and for those who may write it a form
pre-filled with the current figures. A figure that is not a number, is negative, or a percentage over 100 is
refused beside its field and nothing is written; the first save creates the record, a later one updates only the
fields changed (field merge: another desk's edit of another field stands)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from desktop.computed_model import ComputedRow, ComputedTableModel
from desktop.mutation_form import MutationForm
from desktop.ops_screen import OpsScreen, table_view
from shared.domain import payables as ap
from shared.domain.matching import MatchTolerances
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.permissions import allows
from shared.store import LocalStore, MutationDraft

FIELDS = ["price_pct", "price_abs", "quantity_pct", "quantity_abs"]
EXAMPLE_PRICE = Decimal("100.00")  # the PO price the summary's example uses
EXAMPLE_RECEIVED = Decimal(100)


def current(store: LocalStore) -> tuple[dict[str, Any] | None, MatchTolerances]:
    """The stored record (None when there is none) and the tolerances the match uses with it."""
    rec = store.get(ap.TOLERANCE, ap.TOLERANCE_ID)
    state = dict(rec.state) if rec is not None and rec.state and not rec.deleted else None
    try:
        return state, ap.tolerances_from_payload(state)
    except ValidationError:
        return state, MatchTolerances()  # an unreadable record: the match's defaults, and the form says so


def _figure(value: Decimal) -> str:
    return f"{value.normalize():f}"  # 2 not 2.00, 0.5 not 0.50: as a person types it


def describe(t: MatchTolerances) -> str:
    """The rule in words, with what it accepts for a PO price of 100.00 and 100 units received."""
    price = max(EXAMPLE_PRICE * t.price.pct / 100, t.price.absolute)
    qty = max(EXAMPLE_RECEIVED * t.quantity.pct / 100, t.quantity.absolute)
    return (f"Price: an invoice price passes within the larger of {_figure(t.price.pct)} % of the PO price and "
            f"{_figure(t.price.absolute)} per unit; at a PO price of {EXAMPLE_PRICE}: "
            f"{EXAMPLE_PRICE - price:.2f} to {EXAMPLE_PRICE + price:.2f}.\n"
            f"Quantity: invoiced may exceed received by the larger of {_figure(t.quantity.pct)} % and "
            f"{_figure(t.quantity.absolute)} units; with {EXAMPLE_RECEIVED} received: up to "
            f"{_figure(EXAMPLE_RECEIVED + qty)}. Never more than ordered.")


TABLE_HEADERS = ["Check", "Percent", "Absolute", "Passes at the example", "Record"]


def table_rows(t: MatchTolerances, where: str) -> list[ComputedRow]:
    """The two tolerances as a table (the figures a person compares with an invoice), beside the words."""
    price = max(EXAMPLE_PRICE * t.price.pct / 100, t.price.absolute)
    qty = max(EXAMPLE_RECEIVED * t.quantity.pct / 100, t.quantity.absolute)
    return [
        ComputedRow("price", ["Price", f"{_figure(t.price.pct)} %", f"{_figure(t.price.absolute)} per unit",
                              f"{EXAMPLE_PRICE - price:.2f} to {EXAMPLE_PRICE + price:.2f} at a PO price of "
                              f"{EXAMPLE_PRICE}", where]),
        ComputedRow("quantity", ["Quantity", f"{_figure(t.quantity.pct)} %", f"{_figure(t.quantity.absolute)} units",
                                 f"up to {_figure(EXAMPLE_RECEIVED + qty)} with {EXAMPLE_RECEIVED} received, never "
                                 "more than ordered", where]),
    ]


def tolerance_form(store: LocalStore, actor: str) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        problems = {n: "is required (0 for none)" for n in FIELDS if n not in values}
        for n in FIELDS:
            v = values.get(n)
            if isinstance(v, str):
                problems[n] = "must be a number"
            elif isinstance(v, int | float) and v < 0:
                problems[n] = "must be 0 or more"
            elif isinstance(v, int | float) and n.endswith("_pct") and v > 100:
                problems[n] = "a percentage from 0 to 100"
        if problems:
            raise ValidationError("; ".join(f"{n} {m}" for n, m in problems.items()), problems)
        payload = {n: values[n] for n in FIELDS}
        ap.tolerances_from_payload(payload)  # the record check the hub runs
        state, _ = current(store)
        if state is None:
            return [MutationDraft(ap.TOLERANCE, ap.TOLERANCE_ID, Op.CREATE, payload, actor)]
        changed = {n: v for n, v in payload.items() if state.get(n) != v}
        if not changed:
            raise ValidationError("nothing changed: the tolerances are already these", {})
        return [MutationDraft(ap.TOLERANCE, ap.TOLERANCE_ID, Op.UPDATE, changed, actor)]

    return MutationForm(store, ap.TOLERANCE, FIELDS, actor, build, draft_key="form:finance.match_tolerance",
                        save_label="Save tolerances")


class TolerancesScreen(OpsScreen):
    def __init__(self, store: LocalStore, actor: str, roles: frozenset[str]) -> None:
        super().__init__(store, actor, roles)
        self.summary = QLabel("")
        self.summary.setObjectName("tolerance_summary")
        self.summary.setWordWrap(True)
        self.model = ComputedTableModel(TABLE_HEADERS, sync_column=False)
        self.view = table_view(self.model, "table:finance.match_tolerance")
        left = QVBoxLayout()
        left.addWidget(self.view)
        left.addWidget(self.summary)
        left.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        self.form = tolerance_form(store, actor) if allows(roles, "write", ap.TOLERANCE) else None
        if self.form is not None:
            self.form.saved.connect(lambda _id: self.after_write())
            layout.addWidget(self.form, 2)
        self.refresh()

    def refresh(self) -> None:
        state, t = current(self.store)
        rec = self.store.get(ap.TOLERANCE, ap.TOLERANCE_ID)
        where = ("No tolerance record yet: the match uses the defaults." if state is None else
                 "Saved here; waiting for the hub to confirm." if rec is not None and rec.pending else
                 "The tenant's tolerances, as the hub holds them.")
        self.summary.setText(f"{describe(t)}\n{where}")
        record = "defaults (no record)" if state is None else "saved here" if rec is not None and rec.pending else \
            "the tenant's"
        self.model.set_rows(table_rows(t, record))
        if self.form is not None:
            figures = {"price_pct": t.price.pct, "price_abs": t.price.absolute, "quantity_pct": t.quantity.pct,
                       "quantity_abs": t.quantity.absolute}
            for name, value in figures.items():
                if not self.form.inputs[name].text():
                    self.form.set_text(name, _figure(value))
