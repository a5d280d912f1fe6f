"""Records the hub keeps from the rows it books (D27): `inventory.stock`, the running balance of one item in
one store, moves by each movement the hub applies, in the same transaction and event log. It also holds the
moving-average position (`value_cents`, `last_cost`) the stock poster keeps in step with the ledger (D37).
Devices never write it: a device's own adjustment would still count a movement the hub refused."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.domain.costing import StockPosition
from shared.domain.inventory import Movement, MovementError, stock_adjustment
from shared.envelopes import Op, event_type

if TYPE_CHECKING:
    from hub.sync.apply import ApplyContext

STOCK = "inventory.stock"


def stock_key(movement: Movement) -> tuple[str, str]:
    return STOCK, stock_adjustment(movement)[0]


async def add_to_stock(ctx: ApplyContext, movement: Movement, *, site_id: str | None, mutation_id: str | None,
                       correlation_id: str, sign: int = 1) -> None:
    """Move the balance of the movement's store and item by its delta (created at that delta the first time);
    `sign=-1` takes a row's delta back out (a device re-creating its own row replaces it)."""
    key = stock_key(movement)
    current = await ctx.state_of(key)
    delta = movement.delta * sign
    if current.exists and current.data is not None:
        before = Decimal(str(current.data.get("on_hand") or 0))
        data = {**current.data, "on_hand": float(before + delta)}
        op = Op.UPDATE
    else:
        data = {"store_id": movement.store_id, "item_id": movement.item_id, "on_hand": float(delta)}
        op = Op.CREATE
    pending = ctx.derived.get(key)
    if pending is not None:
        # One new version of the balance per push, however many movements the push books: the push commits as
        # one, so no reader could see the steps, and a hot bin no longer doubles the versions and events written.
        ctx.amend(key, data)
        return
    site = current.site_id if current.in_db and current.site_id is not None else site_id
    ctx.keep_derived(key, ctx.write(key, data, deleted=False, site_id=site, device_id=None, mutation_id=mutation_id,
                                    type_=event_type(STOCK, op), correlation_id=correlation_id))


def stock_position(data: Mapping[str, Any] | None) -> StockPosition:
    """The moving-average position a balance record holds (value in cents, the last receipt's unit cost)."""
    if not data:
        return StockPosition()
    return StockPosition(Decimal(str(data.get("on_hand") or 0)), Decimal(int(data.get("value_cents") or 0)).scaleb(-2),
                         Decimal(str(data.get("last_cost") or 0)))


def set_stock_value(ctx: ApplyContext, key: tuple[str, str], position: StockPosition) -> None:
    """Keep the balance's value in step with what its movement posted to inventory (after `add_to_stock` moved
    its quantity, in the same pending version)."""
    data = {**(ctx.states[key].data or {}), "value_cents": int(position.value.scaleb(2)),
            "last_cost": str(position.last_cost)}
    ctx.amend(key, data)


def booked_movement(entity_id: str, data: dict[str, Any] | None) -> Movement | None:
    """A stored movement as the ledger row it was booked as (None for a row the ledger never took)."""
    try:
        return None if data is None else Movement.from_payload(entity_id, data)
    except (MovementError, KeyError, ValueError):
        return None
