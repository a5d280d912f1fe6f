"""The requisition forms: a new requisition (one item for one store), and converting the chosen
requisition to purchase orders (vendor and price; both prefilled from the requisition and the catalogue)."""

from __future__ import annotations

from collections.abc import Callable

from desktop.fields_form import FieldsForm
from desktop.requisition_writes import convert_to_po, new_requisition
from shared.errors import ValidationError
from shared.store import LocalStore


class NewRequisitionForm(FieldsForm):
    def __init__(self, store: LocalStore, actor: str) -> None:
        super().__init__(store, [("item_id", "Item *"), ("store_id", "Store *"), ("quantity", "Quantity *"),
                                 ("needed_by", "Needed by (YYYY-MM-DD)"), ("notes", "Notes")],
                         draft_key="form:requisition.new", save_label="Save requisition")
        self.actor = actor

    def write(self) -> tuple[str, str]:
        return new_requisition(self.store, self.values(), self.actor), "Saved here; waiting for the hub to confirm."


class ConvertForm(FieldsForm):
    def __init__(self, store: LocalStore, actor: str, selected: Callable[[], str | None]) -> None:
        super().__init__(store, [("vendor_id", "Vendor"), ("unit_price", "Unit price")],
                         draft_key="form:requisition.convert", save_label="Convert to PO")
        self.actor, self.selected = actor, selected
        self.inputs["vendor_id"].setPlaceholderText("empty: the requisition's preferred vendor")
        self.inputs["unit_price"].setPlaceholderText("empty: the item's standard price")

    def write(self) -> tuple[str, str]:
        req_id = self.selected()
        if req_id is None:
            raise ValidationError("choose a requisition in the list first")
        po_ids = convert_to_po(self.store, req_id, self.values(), self.actor)
        return po_ids[0], f"{len(po_ids)} purchase order(s) saved here and sent for approval; requisition ordered."
