"""Inventory: stores, items, and the stock-movement ledger with moving-average valuation.

Every movement of stock is one row of `inventory.movement` (receipt, issue, transfer out/in, count
adjustment). Stock on hand is *derived* from the ledger, never stored as a fact of its own; the
`inventory.stock` balance (core_entities) is a running figure the hub keeps: each movement it books adds
its delta (devices never write it, D27), and a desktop reads its own stock from its local ledger.

Strategies:
- `inventory.movement` is create-only: two storemen issuing the same item offline are two rows and
  both count; a row is never edited (a mistake is corrected by another movement), so nothing is lost.
- `inventory.store` and `inventory.item` are master data with field_merge: a planner changing the
  reorder point and a storeman fixing the description offline both keep their edit.

Valuation is moving average per (store, item): a receipt changes the average, an issue leaves at the
current average. A balance may go negative offline (the goods physically left); that is flagged for
review, never refused and never dropped. Quantities and money are Decimal so the ledger sums the same in
any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shared.conflicts import Strategy
from shared.domain.finance import ZERO, as_decimal
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError

ITEM_CATEGORIES = ("spares", "consumables", "fuel", "lubricants", "tyres", "ppe", "tools", "ground_engaging", "other")
UNITS = ("ea", "l", "kg", "m", "set", "box", "pair", "drum")


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    COUNT_ADJUSTMENT = "count_adjustment"


# Receipts, issues and transfers carry a positive quantity and the kind gives the sign; a count
# adjustment carries the signed difference the count found.
_SIGN = {
    MovementKind.RECEIPT: 1,
    MovementKind.ISSUE: -1,
    MovementKind.TRANSFER_OUT: -1,
    MovementKind.TRANSFER_IN: 1,
    MovementKind.COUNT_ADJUSTMENT: 1,
}


class MovementError(ValidationError):
    """A movement that cannot be a ledger row (zero quantity, missing transfer, negative cost…)."""


@dataclass(frozen=True)
class Movement:
    id: str  # ULID: orders movements made at the same instant
    kind: MovementKind
    store_id: str
    item_id: str
    quantity: Decimal
    occurred_at: str  # ISO 8601 with zone; the valuation order
    unit_cost: Decimal | None = None  # receipts and transfers in carry a cost
    transfer_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind is MovementKind.COUNT_ADJUSTMENT:
            if self.quantity == 0:
                raise MovementError("a count adjustment of zero is not a movement", {"quantity": "must not be 0"})
        elif self.quantity <= 0:
            raise MovementError(f"a {self.kind} needs a positive quantity", {"quantity": "must be positive"})
        if self.unit_cost is not None and self.unit_cost < 0:
            raise MovementError("unit cost is never negative", {"unit_cost": "must not be negative"})
        if self.kind in (MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN) and not self.transfer_id:
            raise MovementError("a transfer movement needs its transfer id", {"transfer_id": "is required"})

    @property
    def delta(self) -> Decimal:
        return self.quantity * _SIGN[self.kind]

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.item_id)

    @classmethod
    def from_payload(cls, movement_id: str, payload: Mapping[str, object]) -> Movement:
        cost = payload.get("unit_cost")
        return cls(
            id=movement_id,
            kind=MovementKind(str(payload["kind"])),
            store_id=str(payload["store_id"]),
            item_id=str(payload["item_id"]),
            quantity=as_decimal(_num(payload["quantity"])),
            occurred_at=str(payload["occurred_at"]),
            unit_cost=None if cost is None else as_decimal(_num(cost)),
            transfer_id=None if payload.get("transfer_id") is None else str(payload["transfer_id"]),
        )


def _num(value: object) -> Decimal | int | float | str:
    if isinstance(value, Decimal | int | float | str) and not isinstance(value, bool):
        return value
    raise MovementError(f"not a number: {value!r}")


def on_hand(movements: Iterable[Movement]) -> dict[tuple[str, str], Decimal]:
    """Stock on hand per (store, item): the sum of the ledger, independent of order."""
    result: dict[tuple[str, str], Decimal] = {}
    for m in movements:
        result[m.key] = result.get(m.key, ZERO) + m.delta
    return result


def stock_record_id(store_id: str, item_id: str) -> str:
    """The id of the `inventory.stock` running balance of one item in one store (deterministic, so
    every device adjusts the same record)."""
    return f"{store_id}:{item_id}"[:128]


def stock_adjustment(movement: Movement) -> tuple[str, dict[str, float]]:
    """(stock record id, adjust payload) that keeps `inventory.stock` in step with one ledger row:
    deltas commute, so two offline issues both move the balance."""
    return stock_record_id(movement.store_id, movement.item_id), {"on_hand": float(movement.delta)}


def count_adjustment_quantity(system_qty: Decimal, counted_qty: Decimal) -> Decimal:
    """The signed movement a stock count produces (counted minus what the ledger says).
    Zero means the count agreed and no movement is written."""
    if counted_qty < 0:
        raise MovementError("a counted quantity is never negative", {"counted_qty": "must not be negative"})
    return counted_qty - system_qty


# --- moving-average valuation ---------------------------------------------------------------------
@dataclass(frozen=True)
class Position:
    """Quantity and moving-average unit cost of one item in one store."""

    quantity: Decimal = ZERO
    average_cost: Decimal = ZERO

    @property
    def value(self) -> Decimal:
        return self.quantity * self.average_cost


@dataclass(frozen=True)
class ReviewFlag:
    """Something a person must look at; the movement itself stands."""

    movement_id: str
    store_id: str
    item_id: str
    reason: str
    balance: Decimal


def value_movement(position: Position, movement: Movement) -> Position:
    """The position after one movement.

    - Receipts and transfers in (with a cost) move the average: (value + qty*cost) / (qty + received).
      When the position was at or below zero, the goods arriving set the average (the negative part was
      issued at the old average; costing it again would invent value).
    - Issues, transfers out and negative count adjustments leave at the current average.
    - A positive count adjustment is valued at the current average (found stock)."""
    qty = position.quantity + movement.delta
    incoming = movement.delta > 0 and movement.unit_cost is not None
    if not incoming:
        return Position(qty, position.average_cost)
    cost = movement.unit_cost if movement.unit_cost is not None else position.average_cost
    if position.quantity <= 0:
        return Position(qty, cost)
    average = (position.quantity * position.average_cost + movement.delta * cost) / qty
    return Position(qty, average)


def _ordered(movements: Iterable[Movement]) -> list[Movement]:
    # Valuation depends on order: by when it happened, ties by id (ULIDs sort by creation).
    return sorted(movements, key=lambda m: (m.occurred_at, m.id))


@dataclass(frozen=True)
class Valuation:
    positions: dict[tuple[str, str], Position]
    flags: tuple[ReviewFlag, ...]


def value_ledger(movements: Iterable[Movement]) -> Valuation:
    """Replay the ledger: positions per (store, item) and the review flags for negative balances."""
    positions: dict[tuple[str, str], Position] = {}
    flags: list[ReviewFlag] = []
    for m in _ordered(movements):
        before = positions.get(m.key, Position())
        after = value_movement(before, m)
        positions[m.key] = after
        if after.quantity < 0 and m.delta < 0:
            flags.append(
                ReviewFlag(m.id, m.store_id, m.item_id, f"{m.kind} takes the balance below zero", after.quantity)
            )
    return Valuation(positions, tuple(flags))


# --- transfers ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transit:
    transfer_id: str
    item_id: str
    from_store: str | None
    to_store: str | None
    shipped: Decimal
    received: Decimal

    @property
    def in_transit(self) -> Decimal:
        return self.shipped - self.received


def transfers(movements: Iterable[Movement]) -> dict[str, Transit]:
    """Each transfer's shipped and received quantities: what left one store is in transit (on
    nobody's shelf, still owned) until the receiving store books it in."""
    result: dict[str, Transit] = {}
    for m in movements:
        if m.transfer_id is None or m.kind not in (MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN):
            continue
        t = result.get(m.transfer_id) or Transit(m.transfer_id, m.item_id, None, None, ZERO, ZERO)
        if m.kind is MovementKind.TRANSFER_OUT:
            t = Transit(t.transfer_id, t.item_id, m.store_id, t.to_store, t.shipped + m.quantity, t.received)
        else:
            t = Transit(t.transfer_id, t.item_id, t.from_store, m.store_id, t.shipped, t.received + m.quantity)
        result[m.transfer_id] = t
    return result


def in_transit(movements: Iterable[Movement]) -> dict[str, Decimal]:
    """Quantity in transit per item (over-receipt of a transfer counts as nothing in transit)."""
    result: dict[str, Decimal] = {}
    for t in transfers(movements).values():
        if t.in_transit > 0:
            result[t.item_id] = result.get(t.item_id, ZERO) + t.in_transit
    return result


def transfer_pair(
    *,
    transfer_id: str,
    item_id: str,
    from_store: str,
    to_store: str,
    quantity: Decimal,
    unit_cost: Decimal,
    shipped_at: str,
) -> dict[str, object]:
    """The payload of the transfer_out row (the receiving store later books a transfer_in with the
    same transfer id and this unit cost, so value moves between stores unchanged)."""
    if from_store == to_store:
        raise MovementError("a transfer needs two different stores", {"to_store_id": "must differ from the source"})
    return {
        "kind": MovementKind.TRANSFER_OUT.value,
        "store_id": from_store,
        "item_id": item_id,
        "quantity": float(quantity),
        "unit_cost": float(unit_cost),
        "transfer_id": transfer_id,
        "to_store_id": to_store,
        "occurred_at": shipped_at,
    }


# --- entities -------------------------------------------------------------------------------------
STORE = register(
    EntitySpec(
        name="inventory.store",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "code": FieldSpec("str", required=True, max_length=32, label="Store code"),
            "name": FieldSpec("str", required=True, max_length=128, label="Name"),
            "kind": FieldSpec("str", choices=("main", "satellite", "fuel_farm", "workshop"), label="Kind"),
            "active": FieldSpec("bool", label="Active"),
        },
    )
)

ITEM = register(
    EntitySpec(
        name="inventory.item",
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,  # one catalogue for the tenant; stock levels are per store
        fields={
            "code": FieldSpec("str", required=True, max_length=40, label="Item code"),
            "description": FieldSpec("str", required=True, max_length=200, label="Description"),
            "unit": FieldSpec("str", required=True, choices=UNITS, label="Unit"),
            "category": FieldSpec("str", choices=ITEM_CATEGORIES, label="Category"),
            "min_qty": FieldSpec("number", min=0, label="Minimum"),
            "max_qty": FieldSpec("number", min=0, label="Maximum"),
            "reorder_point": FieldSpec("number", min=0, label="Reorder point"),
            "preferred_vendor_id": FieldSpec("str", label="Preferred vendor"),
            "standard_price": FieldSpec("number", min=0, label="Standard price"),
            "active": FieldSpec("bool", label="Active"),
        },
    )
)

MOVEMENT = register(
    EntitySpec(
        name="inventory.movement",
        strategy=Strategy.SERVER_WINS,  # irrelevant for create-only rows: they are never stale
        create_only=True,
        fields={
            "kind": FieldSpec("str", required=True, choices=tuple(k.value for k in MovementKind), label="Movement"),
            "store_id": FieldSpec("str", required=True, label="Store"),
            "item_id": FieldSpec("str", required=True, label="Item"),
            "quantity": FieldSpec("number", required=True, label="Quantity"),
            "unit_cost": FieldSpec("number", min=0, label="Unit cost"),
            "occurred_at": FieldSpec("datetime", required=True, label="When"),
            "transfer_id": FieldSpec("str", label="Transfer"),
            # On a transfer shortfall: the transfer_in it belongs to (it stands or falls with it, D27).
            "transfer_in_id": FieldSpec("str", max_length=128, label="Transfer receipt"),
            "to_store_id": FieldSpec("str", label="To store"),
            "work_order_id": FieldSpec("str", label="Work order"),
            "cost_centre": FieldSpec("str", max_length=32, label="Cost centre"),
            "po_id": FieldSpec("str", label="Purchase order"),
            "po_line_id": FieldSpec("str", label="PO line"),
            "counted_qty": FieldSpec("number", min=0, label="Counted quantity"),
            "by": FieldSpec("str", max_length=128, label="By"),
            "note": FieldSpec("str", max_length=1000, label="Note"),
        },
    )
)


def transfer_receipt(
    *,
    transfer_id: str,
    item_id: str,
    to_store: str,
    outstanding: Decimal,
    unit_cost: Decimal,
    received: Decimal,
    received_at: str,
    reason: str = "",
    transfer_in_id: str | None = None,
) -> list[dict[str, object]]:
    """The receiving store's rows for one transfer in transit (payloads, in this order).

    A transfer is received in one go: the transfer_in always books everything still in transit at the
    shipping cost, so the transfer closes and value moves between stores unchanged. When fewer arrived
    (broken, lost on the road) the shortfall is a negative count adjustment at the receiving store with
    its reason, naming the transfer, so the loss is visible in that store's ledger rather than hidden as
    stock in transit forever. More than was shipped is refused: extra goods are a count, not a transfer.
    `transfer_in_id`, the id the caller gives the transfer_in row, is named on the shortfall row so the hub
    refuses both together when another office already received the transfer (D27)."""
    if outstanding <= 0:
        raise MovementError(f"transfer {transfer_id} has nothing in transit", {"quantity": "nothing to receive"})
    if received < 0:
        raise MovementError("a received quantity is never negative", {"quantity": "must not be negative"})
    if received > outstanding:
        raise MovementError(
            f"{_q(received)} received but only {_q(outstanding)} in transit",
            {"quantity": f"at most {_q(outstanding)} in transit"},
        )
    shortfall = outstanding - received
    if shortfall and not reason.strip():
        raise MovementError(
            f"{_q(shortfall)} short: say why", {"note": f"{_q(shortfall)} short of what was shipped: give the reason"}
        )
    rows: list[dict[str, object]] = [{
        "kind": MovementKind.TRANSFER_IN.value,
        "store_id": to_store,
        "item_id": item_id,
        "quantity": float(outstanding),
        "unit_cost": float(unit_cost),
        "transfer_id": transfer_id,
        "occurred_at": received_at,
    }]
    if shortfall:
        rows.append({
            "kind": MovementKind.COUNT_ADJUSTMENT.value,
            "store_id": to_store,
            "item_id": item_id,
            "quantity": float(-shortfall),
            "transfer_id": transfer_id,
            "occurred_at": received_at,
            "note": f"transfer {transfer_id} short by {_q(shortfall)}: {reason.strip()}",
            **({"transfer_in_id": transfer_in_id} if transfer_in_id else {}),
        })
    return rows


def _q(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text
