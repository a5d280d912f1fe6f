"""The storeman's forms: goods issue (to a work order or a cost centre), transfer between stores, stock count.
Each builds ledger rows through `stock_writes`, so the balance moves by deltas and the ledger stays the truth."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from desktop.mutation_form import MutationForm, need_number, need_text
from desktop.stock_writes import movement_drafts, now_iso, position
from shared.domain.inventory import MovementKind, count_adjustment_quantity, transfer_pair
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft

MOVEMENT = "inventory.movement"


def issue_form(store: LocalStore, actor: str) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        quantity = need_number(values, "quantity")
        store_id, item_id = need_text(values, "store_id"), need_text(values, "item_id")
        if not values.get("work_order_id") and not values.get("cost_centre"):
            raise ValidationError("an issue goes to a work order or a cost centre",
                                  {"work_order_id": "give a work order or a cost centre",
                                   "cost_centre": "give a work order or a cost centre"})
        payload = {**values, "kind": MovementKind.ISSUE.value, "store_id": store_id, "item_id": item_id,
                   "quantity": quantity, "occurred_at": now_iso(), "by": actor}
        return movement_drafts(store, new_ulid(), payload, actor)

    return MutationForm(store, MOVEMENT, ["store_id", "item_id", "quantity", "work_order_id", "cost_centre", "note"],
                        actor, build, draft_key="form:stock.issue", save_label="Issue")


def transfer_form(store: LocalStore, actor: str) -> MutationForm:
    """Ships from one store: the goods are in transit (valued at the source's average) until booked in."""

    def build(values: dict[str, Any]) -> list[MutationDraft]:
        quantity = need_number(values, "quantity")
        source, target, item_id = need_text(values, "store_id"), need_text(values, "to_store_id"), need_text(
            values, "item_id")
        line = position(store, source, item_id)
        payload = transfer_pair(transfer_id=new_ulid(), item_id=item_id, from_store=source, to_store=target,
                                quantity=Decimal(str(quantity)), unit_cost=line.average_cost if line else Decimal(0),
                                shipped_at=now_iso())
        payload["by"] = actor
        if values.get("note"):
            payload["note"] = values["note"]
        return movement_drafts(store, new_ulid(), payload, actor)

    return MutationForm(store, MOVEMENT, ["store_id", "to_store_id", "item_id", "quantity", "note"], actor, build,
                        draft_key="form:stock.transfer", save_label="Ship transfer")


def count_form(store: LocalStore, actor: str) -> MutationForm:
    """A counted quantity becomes the signed adjustment against what the ledger says (nothing when equal)."""

    def build(values: dict[str, Any]) -> list[MutationDraft]:
        counted = need_number(values, "counted_qty", positive=False)
        store_id, item_id = need_text(values, "store_id"), need_text(values, "item_id")
        line = position(store, store_id, item_id)
        system = line.quantity if line else Decimal(0)
        delta = count_adjustment_quantity(system, Decimal(str(counted)))
        if delta == 0:
            raise ValidationError("the count agrees with the ledger", {"counted_qty": f"agrees with the ledger "
                                                                                      f"({system}): nothing to adjust"})
        payload = {"kind": MovementKind.COUNT_ADJUSTMENT.value, "store_id": store_id, "item_id": item_id,
                   "quantity": float(delta), "counted_qty": counted, "occurred_at": now_iso(), "by": actor}
        if values.get("note"):
            payload["note"] = values["note"]
        return movement_drafts(store, new_ulid(), payload, actor)

    return MutationForm(store, MOVEMENT, ["store_id", "item_id", "counted_qty", "note"], actor, build,
                        draft_key="form:stock.count", save_label="Record count")
