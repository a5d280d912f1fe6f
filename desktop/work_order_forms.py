"""Forms of the work-order screen: raise a work order, book labour hours, consume parts (which issues the
stock from the store: a ledger row, the balance's adjustment and the job's consumption, in one transaction)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop.mutation_form import MutationForm, need_number, need_text
from desktop.stock_writes import movement_drafts, now_iso
from shared.domain.maintenance import part_consumption_payloads
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft

Selected = Callable[[], str | None]  # the work order chosen in the list


def _selected(selected: Selected) -> str:
    work_order_id = selected()
    if not work_order_id:
        raise ValidationError("choose a work order in the list first", {"work_order_id": "choose one in the list"})
    return work_order_id


def new_work_order_form(store: LocalStore, actor: str) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        wo_id = new_ulid()
        payload = {"number": f"WO-{wo_id[-6:]}", "requested_by": actor, "kind": "corrective", "priority": "medium",
                   **values, "status": "requested", "requested_at": now_iso()}
        return [MutationDraft("maintenance.work_order", wo_id, Op.CREATE, payload, actor)]

    return MutationForm(store, "maintenance.work_order",
                        ["equipment_id", "title", "kind", "priority", "description", "requested_by"], actor, build,
                        draft_key="form:wo.new", save_label="Raise work order")


def labour_form(store: LocalStore, actor: str, selected: Selected) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        need_number(values, "hours")
        payload = {"person": actor, "work_date": now_iso()[:10], **values, "work_order_id": _selected(selected)}
        return [MutationDraft("maintenance.labour_entry", new_ulid(), Op.CREATE, payload, actor)]

    return MutationForm(store, "maintenance.labour_entry", ["person", "work_date", "hours", "trade", "notes"], actor,
                        build, draft_key="form:wo.labour", save_label="Book hours")


def parts_form(store: LocalStore, actor: str, selected: Selected) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        quantity = need_number(values, "quantity")
        store_id, item_id = need_text(values, "store_id"), need_text(values, "item_id")
        movement_id = new_ulid()
        movement, consumption = part_consumption_payloads(
            work_order_id=_selected(selected), movement_id=movement_id, store_id=store_id, item_id=item_id,
            quantity=quantity, occurred_at=now_iso(), by=actor)
        return [*movement_drafts(store, movement_id, movement, actor),
                MutationDraft("maintenance.part_consumption", new_ulid(), Op.CREATE, consumption, actor)]

    return MutationForm(store, "maintenance.part_consumption", ["store_id", "item_id", "quantity"], actor, build,
                        draft_key="form:wo.parts", save_label="Consume parts")
