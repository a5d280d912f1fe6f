"""The poster of `inventory.movement`: each movement the hub books posts its entry at moving average
(shared/domain/stock_postings.py) and moves the store×item position kept on `inventory.stock` (value in
cents), so the inventory account equals the stock valuation to the cent.

Prices: a receipt against a PO line is valued at that line's price (the PO the movement names); without a PO,
at the row's own unit cost, else the item's standard price. A transfer in brings the value its transfer's
shipments put in transit. Posting date: the movement's own day, moved to the first open day when its period is
closed (D36).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hub.finance.posting import PostingWrite, open_posting_date, posted_entries, read_record, register_poster
from hub.sync.derived import booked_movement, set_stock_value, stock_key, stock_position
from shared.domain import stock_postings as sp
from shared.domain.accounts import Dimension
from shared.domain.costing import StockPosition
from shared.domain.finance import ZERO, as_decimal, money
from shared.domain.inventory import MovementKind
from shared.domain.journal import LedgerEntry
from shared.domain.procurement import ProcurementError, po_lines_from_payload

if TYPE_CHECKING:
    from hub.sync.apply import ApplyContext

MOVEMENT = "inventory.movement"
KEY_PREFIX = {MovementKind.RECEIPT: "goods_receipt", MovementKind.ISSUE: "goods_issue",
              MovementKind.TRANSFER_OUT: "stock_transfer_out", MovementKind.TRANSFER_IN: "stock_transfer_in",
              MovementKind.COUNT_ADJUSTMENT: "stock_count"}


def _day(occurred_at: str) -> date:
    return datetime.fromisoformat(occurred_at.replace("Z", "+00:00")).date()


def _number(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        return as_decimal(value)
    except ArithmeticError:
        return None


async def receipt_price(ctx: ApplyContext, data: Mapping[str, Any]) -> Decimal:
    po_id, line_id = data.get("po_id"), data.get("po_line_id")
    if po_id and line_id is not None:
        po = await read_record(ctx, ("procurement.purchase_order", str(po_id)))
        try:
            lines = {ln.line_id: ln for ln in po_lines_from_payload(po.get("lines"))} if po else {}
        except ProcurementError:
            lines = {}
        line = lines.get(str(line_id))
        if line is not None:
            return line.unit_price
    own = _number(data.get("unit_cost"))
    if own is not None:
        return own
    item = await read_record(ctx, ("inventory.item", str(data.get("item_id"))))
    standard = _number(item.get("standard_price")) if item else None
    return standard if standard is not None else ZERO


async def _transit(ctx: ApplyContext, transfer_id: str, movement_id: str) -> tuple[Decimal, Decimal, str | None]:
    """(quantity, value, site) still in transit on a transfer before this receipt: shipped minus received, the
    value from the shipments' and earlier receipts' posted entries."""
    rows = {r["entity_id"]: dict(r["data"]) for r in await ctx.conn.fetch(
        "SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND data->>'transfer_id' = $3 "
        "AND NOT deleted", ctx.principal.tenant_id, MOVEMENT, transfer_id)}
    for w in ctx.writes:  # this push's own rows
        if w.key[0] == MOVEMENT and w.data.get("transfer_id") == transfer_id:
            rows[w.key[1]] = w.data
    rows.pop(movement_id, None)
    kinds = {MovementKind.TRANSFER_OUT.value: "stock_transfer_out", MovementKind.TRANSFER_IN.value: "stock_transfer_in"}
    moved = {i: d for i, d in rows.items() if d.get("kind") in kinds}
    entries = await posted_entries(ctx, [f"{kinds[d['kind']]}:{i}" for i, d in moved.items()])
    qty, value, site = ZERO, ZERO, None
    for i, d in moved.items():
        sign = 1 if d["kind"] == MovementKind.TRANSFER_OUT.value else -1
        qty += sign * Decimal(str(d.get("quantity") or 0))
        entry = entries.get(f"{kinds[d['kind']]}:{i}")
        for ln in entry.lines if entry else ():
            if ln.account == sp.TRANSIT:
                value += ln.net
                site = site or dict(ln.dimensions).get(Dimension.SITE)
    return qty, value, site


async def _reverse_replaced(ctx: ApplyContext, w: PostingWrite, position: StockPosition, day: date
                            ) -> tuple[StockPosition, list[LedgerEntry]]:
    """A device re-creating its own booked row replaces it: its entry is reversed (never edited) and the
    position gives back the value that entry put in."""
    old = booked_movement(w.entity_id, dict(w.old) if w.old else None)
    if old is None:
        return position, []
    key = f"{KEY_PREFIX[old.kind]}:{w.entity_id}"
    found = (await posted_entries(ctx, [key])).get(key)
    if found is None:
        return position, []
    inventory = sum((ln.net for ln in found.lines if ln.account == sp.INVENTORY), ZERO)
    reversal = found.reversal(f"reversal:{key}:{w.correlation_id}", day,
                              f"replaced by the device's re-created row {w.entity_id}")
    return StockPosition(position.quantity, position.value - inventory, position.last_cost), [reversal]


async def post_movement(ctx: ApplyContext, w: PostingWrite) -> list[LedgerEntry]:
    if w.data is None:
        return []  # movements are never deleted; a correction is another movement
    movement = booked_movement(w.entity_id, dict(w.data))
    if movement is None:
        return []
    skey = stock_key(movement)
    stock = await ctx.state_of(skey)
    after_qty = stock_position(stock.data).quantity
    position = stock_position(stock.data)
    position = StockPosition(after_qty - movement.delta, position.value, position.last_cost)
    site = stock.site_id or w.site_id or ""
    day, note = await open_posting_date(ctx, _day(movement.occurred_at))
    position, entries = await _reverse_replaced(ctx, w, position, day) if w.old else (position, [])
    data, kind = w.data, movement.kind
    entry: LedgerEntry | None
    if kind is MovementKind.RECEIPT:
        price = await receipt_price(ctx, data)
        costed = sp.cost(position, sp.StockMove(kind, movement.quantity, price))
        entry = sp.receipt(movement.id, day, movement.quantity, costed, price, site)
    elif kind is MovementKind.ISSUE:
        costed = sp.cost(position, sp.StockMove(kind, movement.quantity))
        wo_id = data.get("work_order_id")
        wo = await read_record(ctx, ("maintenance.work_order", str(wo_id))) if wo_id else None
        equipment = str(wo["equipment_id"]) if wo and wo.get("equipment_id") else None
        entry = sp.issue_entry(movement.id, day, costed, site, data.get("cost_centre"), equipment,
                               str(wo_id) if wo_id else None)
    elif kind is MovementKind.TRANSFER_OUT:
        costed = sp.cost(position, sp.StockMove(kind, movement.quantity))
        entry = sp.transfer_out(movement.id, day, costed.amount, site, movement.transfer_id or "")
    elif kind is MovementKind.TRANSFER_IN:
        tqty, tvalue, tsite = await _transit(ctx, movement.transfer_id or "", movement.id)
        if tqty > 0 and tvalue > 0:
            value = tvalue if movement.quantity >= tqty else money(tvalue * movement.quantity / tqty)
        else:  # nothing known in transit: the row's own cost, and the transit account shows the gap
            value = money(movement.quantity * (movement.unit_cost or ZERO))
        costed = sp.cost(position, sp.StockMove(kind, movement.quantity, value=value))
        entry = sp.transfer_in(movement.id, day, costed, site, tsite or site, movement.transfer_id or "")
    else:
        costed = sp.cost(position, sp.StockMove(kind, movement.quantity))
        entry = sp.count_adjustment(movement.id, day, costed.amount, site, str(data.get("note") or ""))
    set_stock_value(ctx, skey, costed.position)
    entry = sp.with_memo(entry, note)
    if entries and entry is not None:  # the replaced row's entry keeps its key; the new one gets its own
        entry = LedgerEntry(f"{entry.key}:{w.correlation_id}", entry.posting_date, entry.lines, entry.description)
    return [*entries, *([entry] if entry is not None else [])]


register_poster(MOVEMENT, post_movement)
