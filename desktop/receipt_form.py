"""Goods receipt against a line of the chosen PO: checked by the shared receipt rule (partial receipts
welcome; past the ordered quantity refused), written as the receipt, its ledger row and the balance's
adjustment in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from desktop.mutation_form import MutationForm, need_number, need_text
from desktop.stock_writes import movement_drafts, now_iso
from shared.domain.inventory import MovementKind
from shared.domain.ops_views import as_decimal
from shared.domain.procurement import check_receipt, po_lines_from_payload
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft


def received_so_far(store: LocalStore, po_id: str, line_id: str) -> Decimal:
    rows = store.query("procurement.goods_receipt", where={"po_id": po_id})
    return sum((as_decimal((r.state or {}).get("quantity")) or Decimal(0) for r in rows
                if str((r.state or {}).get("line_id")) == line_id), Decimal(0))


def receipt_form(store: LocalStore, actor: str, selected_po: Callable[[], str | None]) -> MutationForm:
    def build(values: dict[str, Any]) -> list[MutationDraft]:
        po_id = selected_po()
        if not po_id:
            raise ValidationError("choose a purchase order first", {"po_id": "choose one in the list"})
        record = store.get("procurement.purchase_order", po_id)
        state = (record.state if record else None) or {}
        lines = {ln.line_id: ln for ln in po_lines_from_payload(state.get("lines"))}
        line_id = need_text(values, "line_id")
        quantity = need_number(values, "quantity")
        line = lines.get(line_id)
        if line is None:
            raise ValidationError(f"PO has no line {line_id}",
                                  {"line_id": f"not a line of this PO ({', '.join(lines)})"})
        check = check_receipt(line, received_so_far(store, po_id, line_id), Decimal(str(quantity)))
        if not check.accepted:
            raise ValidationError(check.message, {"quantity": check.message})
        movement_id, at = new_ulid(), now_iso()
        movement = {"kind": MovementKind.RECEIPT.value, "store_id": line.store_id, "item_id": line.item_id,
                    "quantity": quantity, "unit_cost": float(line.unit_price), "occurred_at": at, "po_id": po_id,
                    "po_line_id": line_id, "by": actor}
        receipt = {"po_id": po_id, "line_id": line_id, "item_id": line.item_id, "store_id": line.store_id,
                   "quantity": quantity, "unit_price": float(line.unit_price), "received_at": at,
                   "received_by": actor, "movement_id": movement_id}
        if values.get("delivery_note"):
            receipt["delivery_note"] = values["delivery_note"]
        return [*movement_drafts(store, movement_id, movement, actor),
                MutationDraft("procurement.goods_receipt", new_ulid(), Op.CREATE, receipt, actor)]

    return MutationForm(store, "procurement.goods_receipt", ["line_id", "quantity", "delivery_note"], actor, build,
                        draft_key="form:po.receipt", save_label="Receive")
