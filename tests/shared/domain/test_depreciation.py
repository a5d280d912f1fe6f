"""Depreciation by hand: straight-line with a remainder spread by cumulative rounding, units of production from
engine hours; never below salvage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.depreciation import Asset, book_value, straight_line, units_of_production
from shared.domain.finance_errors import DepreciationError
from shared.domain.ledger import Ledger
from shared.domain.periods import Period, PeriodCalendar
from shared.domain.postings import ACCOUNTS as A
from shared.domain.postings import depreciation_entry
from shared.domain.trial_balance import trial_balance
from tests.shared.domain.finance_fixtures import chart

JAN = Period(2026, 1)


def test_straight_line_even_months() -> None:
    truck = Asset("HT-07", D("1200000.00"), D("120000.00"))
    # (1,200,000 − 120,000) / 60 months = 18,000.00 a month
    assert straight_line(truck, JAN, 60, JAN, D(0)) == D("18000.00")
    assert straight_line(truck, JAN, 60, Period(2026, 2), D("18000.00")) == D("18000.00")


def test_straight_line_spreads_the_cents_and_ends_exactly_at_salvage() -> None:
    pump = Asset("PUMP-3", D("10000.00"), D("1000.00"))
    # 9,000.00 over 7 months = 1,285.714285…; depreciation to date, rounded: 1285.71, 2571.43, 3857.14, 5142.86,
    # 6428.57, 7714.29, 9000.00; each month is the difference:
    expected = [D("1285.71"), D("1285.72"), D("1285.71"), D("1285.72"), D("1285.71"), D("1285.72"), D("1285.71")]
    charges, accumulated, period = [], D(0), JAN
    for _ in range(9):  # two months past the end of its life
        charge = straight_line(pump, JAN, 7, period, accumulated)
        charges.append(charge)
        accumulated += charge
        period = period.next()
    assert charges == [*expected, D(0), D(0)]
    assert accumulated == D("9000.00") and book_value(pump, accumulated) == D("1000.00")  # salvage, not below


def test_straight_line_before_service_is_nothing_and_a_late_month_catches_up() -> None:
    pump = Asset("PUMP-3", D("10000.00"), D("1000.00"))
    assert straight_line(pump, JAN, 7, Period(2025, 12), D(0)) == 0
    # March posted with January and February never posted: 3 months to date = 3857.14
    assert straight_line(pump, JAN, 7, Period(2026, 3), D(0)) == D("3857.14")


def test_units_of_production_from_engine_hours() -> None:
    excavator = Asset("EX-01", D("850000.00"), D("50000.00"))
    base, rated = D("800000.00"), D(30000)  # 26.666… a hour
    # month 1: 312.5 h → 800,000 × 312.5 / 30,000 = 8,333.333… → 8,333.33
    m1 = units_of_production(excavator, rated, D("312.5"), D(0))
    assert m1 == D("8333.33")
    # month 2: +287.3 h, 599.8 to date → 15,994.666… → 15,994.67 − 8,333.33 = 7,661.34
    m2 = units_of_production(excavator, rated, D("599.8"), m1)
    assert m2 == D("7661.34")
    # near the end: 29,950 h to date → 798,666.666… → 798,666.67 accumulated
    near_end = D("798666.67")
    assert units_of_production(excavator, rated, D(29950), D(0)) == near_end
    # +200 h runs past the rated 30,000: only what is left to salvage, 1,333.33, then nothing
    last = units_of_production(excavator, rated, D(30150), near_end)
    assert last == D("1333.33") and near_end + last == base
    assert units_of_production(excavator, rated, D(30400), base) == 0
    assert book_value(excavator, base) == D("50000.00")


def test_depreciation_refuses_impossible_assets_and_readings() -> None:
    with pytest.raises(DepreciationError, match=r"salvage value 2000\.00 must be between 0 and the cost 1000\.00"):
        Asset("A", D("1000.00"), D("2000.00"))
    with pytest.raises(DepreciationError, match="must be positive"):
        Asset("A", D(0))
    asset = Asset("A", D("1000.00"))
    with pytest.raises(DepreciationError, match="not a life"):
        straight_line(asset, JAN, 0, JAN, D(0))
    with pytest.raises(DepreciationError, match="check the meter readings"):
        units_of_production(asset, D(100), D(-1), D(0))
    with pytest.raises(DepreciationError, match=r"outside 0 to 1000\.00"):
        units_of_production(asset, D(100), D(1), D("1000.01"))


def test_a_month_of_depreciation_posts_once_per_asset_and_period() -> None:
    entry = depreciation_entry("EX-01", Period(2026, 11), date(2026, 11, 30), D("8333.33"), "S1", "EX-01")
    assert entry.key == "depreciation:EX-01:2026-11"
    ledger, _ = Ledger().post(entry, chart(), PeriodCalendar())
    ledger, outcome = ledger.post(entry, chart(), PeriodCalendar())
    tb = trial_balance(ledger.entries)
    assert outcome == "duplicate" and tb.balance(A.depreciation) == D("8333.33")
    assert tb.balance(A.accumulated_depreciation) == D("-8333.33")
