"""Depreciation of equipment: straight-line by month, or units of production (engine hours).

Both are computed cumulatively: the depreciation to date is rounded to the cent, and a month's charge is that
figure minus what was charged before. So the monthly charges never drift, they add up to exactly cost − salvage
at the end of the life (or of the rated hours), and the book value never falls below salvage, even when months
are posted late or usage arrives in odd amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.domain.finance import ZERO, money
from shared.domain.finance_errors import DepreciationError
from shared.domain.periods import Period


@dataclass(frozen=True)
class Asset:
    asset_id: str
    cost: Decimal
    salvage: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.cost <= 0:
            raise DepreciationError(f"asset {self.asset_id}: cost {self.cost} must be positive", {"cost": "positive"})
        if self.salvage < 0 or self.salvage > self.cost:
            raise DepreciationError(f"asset {self.asset_id}: salvage value {self.salvage} must be between 0 and the "
                                    f"cost {self.cost}", {"salvage": "between 0 and cost"})
        if self.cost != money(self.cost) or self.salvage != money(self.salvage):
            raise DepreciationError(f"asset {self.asset_id}: cost and salvage are in whole cents",
                                    {"cost": "whole cents"})

    @property
    def depreciable(self) -> Decimal:
        return self.cost - self.salvage


def _charge(asset: Asset, fraction_to_date: Decimal, accumulated: Decimal) -> Decimal:
    if accumulated < 0 or accumulated > asset.depreciable:
        raise DepreciationError(f"asset {asset.asset_id}: accumulated depreciation {accumulated} is outside 0 to "
                                f"{asset.depreciable} (cost − salvage)", {"accumulated": "out of range"})
    target = money(asset.depreciable * min(max(fraction_to_date, ZERO), Decimal(1)))
    # Never below salvage, and never negative (depreciation is not reversed by this rule).
    return max(target - accumulated, ZERO)


def straight_line(asset: Asset, in_service: Period, life_months: int, period: Period, accumulated: Decimal
                  ) -> Decimal:
    """The charge for `period`: the asset depreciates from its first month in service, evenly over its life."""
    if life_months <= 0:
        raise DepreciationError(f"asset {asset.asset_id}: a useful life of {life_months} months is not a life",
                                {"life_months": "must be positive"})
    months_to_date = period.months_since(in_service) + 1
    return _charge(asset, Decimal(months_to_date) / life_months, accumulated)


def units_of_production(asset: Asset, rated_units: Decimal, units_to_date: Decimal, accumulated: Decimal
                        ) -> Decimal:
    """The charge once the machine has run `units_to_date` (engine hours since in service, this period's
    included) out of the `rated_units` it is expected to run in its life."""
    if rated_units <= 0:
        raise DepreciationError(f"asset {asset.asset_id}: rated life of {rated_units} hours must be positive",
                                {"rated_units": "must be positive"})
    if units_to_date < 0:
        raise DepreciationError(f"asset {asset.asset_id}: {units_to_date} hours to date cannot be negative; check "
                                "the meter readings", {"units": "must not be negative"})
    return _charge(asset, units_to_date / rated_units, accumulated)


def book_value(asset: Asset, accumulated: Decimal) -> Decimal:
    return asset.cost - accumulated
