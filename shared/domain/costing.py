"""Moving-average cost, carried as value in cents so the inventory account equals the stock valuation.

The position keeps quantity and *value* (in cents), not an average: a receipt adds its cost in cents, an issue
takes value × issued / on hand rounded to the cent, and the last units out take whatever value is left. So the
sum of the amounts posted to inventory is the valuation to the cent, with no rounding drift over millions of
movements. The average (value / quantity) is derived, for display and for costing the next issue.

Stock may go negative offline (the goods physically left before the receipt was keyed). Units issued beyond
stock leave at the last known average; the receipt that later covers them brings the position to its own price,
and the difference (what those units really cost minus what they were issued at) is returned as `revaluation`
for the receipt's posting to send to price variance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shared.domain.finance import ZERO, money
from shared.domain.finance_errors import CostingError


@dataclass(frozen=True)
class StockPosition:
    quantity: Decimal = ZERO
    value: Decimal = ZERO  # in cents; what the inventory account holds for this item in this store
    last_cost: Decimal = ZERO  # unit cost of the last receipt: costs issues made while nothing is on hand

    @property
    def average_cost(self) -> Decimal:
        return self.value / self.quantity if self.quantity > 0 else self.last_cost


@dataclass(frozen=True)
class Receipt:
    quantity: Decimal
    unit_cost: Decimal


@dataclass(frozen=True)
class Issue:
    quantity: Decimal


@dataclass(frozen=True)
class Costed:
    """One movement's effect: the new position, the amount it moves into (receipt) or out of (issue) inventory,
    and for a receipt into negative stock the revaluation of the units issued before they were received."""

    position: StockPosition
    amount: Decimal
    revaluation: Decimal = ZERO


def receive(position: StockPosition, quantity: Decimal, unit_cost: Decimal) -> Costed:
    if quantity <= 0:
        raise CostingError(f"a receipt of {quantity} is not a receipt; a return to the vendor is its own movement",
                           {"quantity": "must be positive"})
    if unit_cost < 0:
        raise CostingError(f"unit cost {unit_cost} is negative; a cost is never negative",
                           {"unit_cost": "must not be negative"})
    amount = money(quantity * unit_cost)
    after_qty = position.quantity + quantity
    if position.quantity >= 0:
        return Costed(StockPosition(after_qty, position.value + amount, unit_cost), amount)
    # The units issued short were costed at the old average; at this receipt's price the position is worth
    # after_qty × unit_cost (negative while still short). The gap is a price difference, not inventory.
    target = money(after_qty * unit_cost)
    revaluation = target - (position.value + amount)
    return Costed(StockPosition(after_qty, target, unit_cost), amount, revaluation)


def issue(position: StockPosition, quantity: Decimal) -> Costed:
    if quantity <= 0:
        raise CostingError(f"an issue of {quantity} is not an issue; put returned stock back with a receipt",
                           {"quantity": "must be positive"})
    on_hand = max(position.quantity, ZERO)
    if quantity <= on_hand:
        # The last units out take exactly the value left, so a store emptied holds 0.00, not a stray cent.
        amount = position.value if quantity == on_hand else money(position.value * quantity / on_hand)
    else:
        covered = position.value if on_hand > 0 else ZERO
        short_cost = position.average_cost if on_hand > 0 else position.last_cost
        amount = covered + money((quantity - on_hand) * short_cost)
    return Costed(StockPosition(position.quantity - quantity, position.value - amount, position.last_cost), amount)


def cost_movements(movements: Iterable[Receipt | Issue], start: StockPosition = StockPosition()) -> list[Costed]:
    """Each movement costed in order (the order is the caller's: by when it happened, ties by id)."""
    out: list[Costed] = []
    position = start
    for mv in movements:
        costed = receive(position, mv.quantity, mv.unit_cost) if isinstance(mv, Receipt) else issue(position,
                                                                                                      mv.quantity)
        out.append(costed)
        position = costed.position
    return out
