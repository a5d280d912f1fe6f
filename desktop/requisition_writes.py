"""Requisitions written the way the contract wants them: a new one (one line), the ones the reorder rule
raises from the local replica (`ops_views.reorder_requisitions`: on hand from the ledger plus what is
already on order, so raising twice raises nothing new), and the conversion to purchase orders
(`procurement.purchase_orders_from_requisition`: one PO per vendor, each with its approval request, as the
PO form writes them) that marks the requisition ordered, all in one transaction each."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from desktop.stock_writes import now_iso
from shared.domain.ops_views import (
    OPEN_REQUISITION,
    Rec,
    reorder_requisition_id,
    reorder_requisitions,
    requisition_lines_from,
)
from shared.domain.procurement import RequisitionLine, purchase_orders_from_requisition
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import LocalStore, MutationDraft

REQUISITION = "procurement.requisition"


def rows(store: LocalStore, entity: str) -> list[Rec]:
    return [(r.entity_id, r.state or {}) for r in store.query(entity)]


def decimal_field(values: Mapping[str, str], name: str, *, required: bool = True) -> Decimal | None:
    text = values.get(name, "")
    if not text:
        if required:
            raise ValidationError(f"{name} is required", {name: "is required"})
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{name} must be a number", {name: "must be a number"}) from None
    if not number.is_finite() or number <= 0:
        raise ValidationError(f"{name} must be positive", {name: "must be positive"})
    return number


def requisition_payload(line: RequisitionLine, actor: str, source: str, *, needed_by: str = "",
                        notes: str = "") -> dict[str, Any]:
    raw: dict[str, Any] = {"item_id": line.item_id, "store_id": line.store_id, "quantity": float(line.quantity)}
    if line.vendor_id:
        raw["vendor_id"] = line.vendor_id
    if line.note:
        raw["note"] = line.note
    payload: dict[str, Any] = {"requested_by": actor, "source": source, "status": "submitted", "lines": [raw]}
    if needed_by:
        payload["needed_by"] = needed_by
    if notes:
        payload["notes"] = notes
    return payload


def new_requisition(store: LocalStore, values: Mapping[str, str], actor: str) -> str:
    problems = {n: "is required" for n in ("item_id", "store_id") if not values.get(n)}
    if problems:
        raise ValidationError("item and store are required", problems)
    quantity = decimal_field(values, "quantity")
    assert quantity is not None
    req_id = new_ulid()
    line = RequisitionLine(values["item_id"], values["store_id"], quantity)
    payload = {"number": f"RQ-{req_id[-6:]}", **requisition_payload(
        line, actor, "manual", needed_by=values.get("needed_by", ""), notes=values.get("notes", ""))}
    validate_mutation(REQUISITION, Op.CREATE, payload)  # the needed-by date, the notes' length
    store.enqueue_many([MutationDraft(REQUISITION, req_id, Op.CREATE, payload, actor)])
    return req_id


def raise_from_reorder_points(store: LocalStore, actor: str) -> list[str]:
    """One requisition per (store, item) at or below its reorder point; [] when nothing is."""
    known = rows(store, REQUISITION)
    lines = reorder_requisitions(rows(store, "inventory.item"), rows(store, "inventory.movement"), known,
                                 rows(store, "procurement.purchase_order"), rows(store, "procurement.goods_receipt"),
                                 stores=[r.entity_id for r in store.query("inventory.store")])
    drafts = []
    for line in lines:
        req_id = reorder_requisition_id(line, known)  # the same id at every office: raised once per site
        payload = {"number": "RQ-" + hashlib.sha1(req_id.encode()).hexdigest()[:6].upper(),
                   **requisition_payload(line, actor, "reorder", notes="raised from the reorder point")}
        drafts.append(MutationDraft(REQUISITION, req_id, Op.CREATE, payload, actor))
    if drafts:
        store.enqueue_many(drafts)
    return [d.entity_id for d in drafts]


def convert_to_po(store: LocalStore, req_id: str, values: Mapping[str, str], actor: str) -> list[str]:
    """The requisition's purchase orders (one per vendor, each sent for approval) and the requisition
    marked ordered. A typed vendor orders every line from it; a typed price is for a one-item
    requisition, otherwise each item's standard price is used. Returns the PO ids."""
    record = store.get(REQUISITION, req_id)
    data = (record.state if record else None) or {}
    status = str(data.get("status") or "submitted")
    if status not in OPEN_REQUISITION:
        raise ValidationError(f"requisition is {status}", {"vendor_id": f"this requisition is {status}"})
    lines = requisition_lines_from(data)
    if not lines:
        raise ValidationError("the requisition has no readable lines", {"vendor_id": "nothing to order"})
    vendor = values.get("vendor_id", "")
    if vendor:
        lines = [RequisitionLine(ln.item_id, ln.store_id, ln.quantity, vendor, ln.note) for ln in lines]
    price = decimal_field(values, "unit_price", required=False)
    items = {ln.item_id for ln in lines}
    if price is not None and len(items) > 1:
        raise ValidationError("one price for several items", {"unit_price": "leave empty: each item's standard "
                                                                            "price is used"})
    prices: dict[str, Decimal] = {}
    for item_id in items:
        item = store.get("inventory.item", item_id)
        standard = (item.state or {}).get("standard_price") if item else None
        if price is not None:
            prices[item_id] = price
        elif isinstance(standard, int | float) and not isinstance(standard, bool):
            prices[item_id] = Decimal(str(standard))
    missing = sorted(items - prices.keys())
    if missing:
        raise ValidationError("no price", {"unit_price": f"no standard price for {', '.join(missing)}: type one"})
    if any(ln.vendor_id is None for ln in lines):
        raise ValidationError("no vendor", {"vendor_id": "is required (no preferred vendor on the requisition)"})
    drafts, po_ids = [], []
    for vendor_id, po_lines in purchase_orders_from_requisition(lines, prices).items():
        po_id = new_ulid()
        total = sum((ln.amount for ln in po_lines), Decimal(0))
        number = f"PO-{po_id[-6:]}"
        po = {"number": number, "vendor_id": vendor_id, "requisition_id": req_id, "total": float(total),
              "approval": "submitted",
              "lines": [{"line_id": ln.line_id, "item_id": ln.item_id, "store_id": ln.store_id,
                         "quantity": float(ln.quantity), "unit_price": float(ln.unit_price)} for ln in po_lines]}
        request = {"document_type": "procurement.purchase_order", "document_id": po_id, "amount": float(total),
                   "requested_by": actor, "requested_at": now_iso(), "title": f"{number} {vendor_id}"}
        drafts += [MutationDraft("procurement.purchase_order", po_id, Op.CREATE, po, actor),
                   MutationDraft("approvals.request", new_ulid(), Op.CREATE, request, actor)]
        po_ids.append(po_id)
    drafts.append(MutationDraft(REQUISITION, req_id, Op.UPDATE, {"status": "ordered"}, actor))
    store.enqueue_many(drafts)
    return po_ids
