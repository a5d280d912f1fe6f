"""A form whose save writes one or more mutations in one transaction (a goods issue is a ledger row and
the running balance's adjustment): the same field messages, draft and pending marking as `RecordForm`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from desktop.record_form import RecordForm
from shared.errors import ValidationError
from shared.store import LocalStore, MutationDraft

Builder = Callable[[dict[str, Any]], list[MutationDraft]]


def need_number(values: Mapping[str, Any], name: str, *, positive: bool = True) -> float:
    """A number the builder needs, or a field message (the form shows it next to the field)."""
    value = values.get(name)
    if value is None or value == "":
        raise ValidationError(f"{name} is required", {name: "is required"})
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number", {name: "must be a number"})
    if positive and value <= 0:
        raise ValidationError(f"{name} must be positive", {name: "must be positive"})
    return float(value)


def need_text(values: Mapping[str, Any], name: str) -> str:
    value = str(values.get(name) or "").strip()
    if not value:
        raise ValidationError(f"{name} is required", {name: "is required"})
    return value


class MutationForm(RecordForm):
    """`fields` take their labels and types from `entity`; `build` turns the typed values into drafts and
    may raise ValidationError with field messages; every draft is validated by the store before writing."""

    def __init__(self, store: LocalStore, entity: str, fields: list[str], actor: str, build: Builder, *,
                 draft_key: str, save_label: str = "Save") -> None:
        self.build = build
        super().__init__(store, entity, fields, actor, draft_key=draft_key)
        self.save_button.setText(save_label)
        self.last_drafts: list[MutationDraft] = []

    def save(self) -> str | None:
        for label in self.errors.values():
            label.setText("")
        try:
            drafts = self.build(self.values())
            self.store.enqueue_many(drafts)
        except ValidationError as exc:
            shown = False
            for name, message in exc.field_errors.items():
                if name in self.errors:
                    self.errors[name].setText(message)
                    shown = True
            hint = "fix the fields marked in red" if shown else str(exc)
            self.status.setText(f"Not saved: {hint}. What you typed is kept.")
            return None
        self.last_drafts = drafts
        self.store.delete_draft(self.draft_key)
        for edit in self.inputs.values():
            edit.blockSignals(True)
            edit.clear()
            edit.blockSignals(False)
        self.status.setText("Saved here; waiting for the hub to confirm.")
        entity_id = drafts[0].entity_id
        self.saved.emit(entity_id)
        return entity_id
