"""Records the hub keeps from the rows it books (D27): `inventory.stock`, the running balance of one item in
one store, moves by each movement the hub applies, in the same transaction and event log. Devices never write
it: a device's own adjustment would still count a movement the hub refused."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from shared.domain.inventory import Movement, stock_adjustment
from shared.envelopes import Op, event_type

if TYPE_CHECKING:
    from hub.sync.apply import ApplyContext

STOCK = "inventory.stock"


def stock_key(movement: Movement) -> tuple[str, str]:
    return STOCK, stock_adjustment(movement)[0]


async def add_to_stock(ctx: ApplyContext, movement: Movement, *, site_id: str | None, mutation_id: str | None,
                       correlation_id: str) -> None:
    """Move the balance of the movement's store and item by its delta (created at that delta the first time)."""
    key = stock_key(movement)
    current = await ctx.state_of(key)
    if current.exists and current.data is not None:
        before = Decimal(str(current.data.get("on_hand") or 0))
        data = {**current.data, "on_hand": float(before + movement.delta)}
        op = Op.UPDATE
    else:
        data = {"store_id": movement.store_id, "item_id": movement.item_id, "on_hand": float(movement.delta)}
        op = Op.CREATE
    site = current.site_id if current.in_db and current.site_id is not None else site_id
    ctx.write(key, data, deleted=False, site_id=site, device_id=None, mutation_id=mutation_id,
              type_=event_type(STOCK, op), correlation_id=correlation_id)
