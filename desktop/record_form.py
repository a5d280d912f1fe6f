"""A form for one entity built from the shared registry: the same validation the hub applies, the fields'
labels and types from the entity's spec (required ones starred), on the common `FieldsForm`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from desktop.fields_form import FieldsForm
from shared.entities import get_spec, validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore

SAVED_HERE = "Saved here; waiting for the hub to confirm."


class RecordForm(FieldsForm):
    def __init__(self, store: LocalStore, entity: str, fields: list[str], actor: str,
                 extra_check: Callable[[Mapping[str, Any]], dict[str, str]] | None = None,
                 draft_key: str | None = None, save_label: str = "Save") -> None:
        self.entity, self.fields, self.actor = entity, fields, actor
        self.extra_check = extra_check  # rules that need the local data (e.g. the last hour-meter reading)
        self.spec = get_spec(entity)
        labels = [(name, (self.spec.fields[name].label or name) + (" *" if self.spec.fields[name].required else ""))
                  for name in fields]
        # Two forms on one entity need their own draft keys, and each person their own drafts: whoever signs in
        # next at this PC must not see (or save) what the last person half typed.
        super().__init__(store, labels, draft_key=person_draft_key(draft_key or f"form:{entity}", actor),
                         save_label=save_label)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, edit in self.inputs.items():
            text = edit.text().strip()
            if not text:
                continue
            kind = self.spec.fields[name].type
            if kind in ("number", "int"):
                try:
                    out[name] = int(text) if kind == "int" else float(text)
                except ValueError:
                    out[name] = text  # validation names it
            elif kind == "bool":
                out[name] = text.lower() in ("yes", "true", "1", "y")
            else:
                out[name] = text
        return out

    def write(self) -> tuple[str, str]:
        payload = self.values()
        validate_mutation(self.entity, Op.CREATE, payload)
        problems = self.extra_check(payload) if self.extra_check else {}
        if problems:
            raise ValidationError("; ".join(problems.values()), field_errors=problems)
        entity_id = str(payload.get("fleet_no") or new_ulid())
        self.store.enqueue(self.entity, entity_id, Op.CREATE, payload, actor=self.actor)
        return entity_id, SAVED_HERE


def person_draft_key(form_key: str, actor: str) -> str:
    return f"{form_key}@{actor}"
