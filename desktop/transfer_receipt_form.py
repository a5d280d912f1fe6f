"""Receiving a transfer at its store: the quantity that arrived (empty = everything in transit) and, when
short, the reason. The shared rule (`inventory.transfer_receipt`) books the transfer_in for everything in
transit at the shipping cost, so the transfer closes, and a shortfall as a count adjustment at the
receiving store with its reason (naming the transfer_in, so the hub refuses both if another office
already received the transfer, D27), in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel

from desktop.mutation_form import MutationForm
from desktop.stock_writes import movement_drafts, now_iso
from shared.domain.inventory import transfer_receipt
from shared.domain.ops_views import TransferLine
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft


def receipt_drafts(store: LocalStore, line: TransferLine, received: Decimal, reason: str,
                   actor: str) -> list[MutationDraft]:
    if not line.to_store:
        raise ValidationError(f"transfer {line.transfer_id} names no receiving store",
                              {"quantity": "the shipping row names no receiving store: ask the sender"})
    transfer_in_id = new_ulid()
    payloads = transfer_receipt(transfer_id=line.transfer_id, item_id=line.item_id, to_store=line.to_store,
                                outstanding=line.in_transit, unit_cost=line.unit_cost, received=received,
                                received_at=now_iso(), reason=reason, transfer_in_id=transfer_in_id)
    drafts: list[MutationDraft] = []
    for n, payload in enumerate(payloads):
        drafts += movement_drafts(store, transfer_in_id if n == 0 else new_ulid(), {**payload, "by": actor}, actor)
    return drafts


def receive_transfer_form(store: LocalStore, actor: str,
                          selected: Callable[[], TransferLine | None]) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        line = selected()
        if line is None:
            raise ValidationError("choose a transfer in transit first", {"transfer_id": "choose one in the list"})
        raw = values.get("quantity")
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float)):
            raise ValidationError("quantity must be a number", {"quantity": "must be a number"})
        received = line.in_transit if raw is None else Decimal(str(raw))
        return receipt_drafts(store, line, received, str(values.get("note") or ""), actor)

    form = MutationForm(store, "inventory.movement", ["quantity", "note"], actor, build,
                        draft_key="form:stock.transfer_receipt", save_label="Receive transfer")
    form.inputs["quantity"].setPlaceholderText("empty: everything in transit")
    rows, row = form.findChild(QFormLayout), form.inputs["quantity"].parentWidget()
    if rows is not None and row is not None:  # empty is allowed here: not marked required
        label = rows.labelForField(row)
        if isinstance(label, QLabel):
            label.setText("Quantity received")
    form.inputs["note"].setPlaceholderText("reason, when fewer arrived than were shipped")
    return form
