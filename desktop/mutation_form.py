"""A form whose save writes one or more mutations in one transaction (a goods issue is a ledger row and
the running balance's adjustment): the same field messages, draft and pending marking as `RecordForm`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from desktop.record_form import SAVED_HERE, RecordForm
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
        self.last_drafts: list[MutationDraft] = []
        super().__init__(store, entity, fields, actor, draft_key=draft_key, save_label=save_label)

    def write(self) -> tuple[str, str]:
        drafts = self.build(self.values())
        self.store.enqueue_many(drafts)
        self.last_drafts = drafts
        return drafts[0].entity_id, SAVED_HERE
