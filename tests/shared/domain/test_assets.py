"""The monthly depreciation run with hand-computed fixtures, both methods, posted month by month to a ledger:
a skipped month is caught up by the next run, a month runs once, the run goes forward only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.assets import (
    RunResult,
    acquisition_entry,
    asset_from_payload,
    depreciation_run,
    disposal_entries,
    hours_to_date,
)
from shared.domain.finance_errors import DepreciationError
from shared.domain.journal import LedgerEntry
from shared.domain.ledger import Ledger
from shared.domain.periods import Period, PeriodCalendar
from shared.domain.trial_balance import trial_balance
from shared.domain.usage_hours import deduplicate, engine_hours, usage_from_payload
from tests.shared.domain.finance_fixtures import chart

# 100,000.00 − 10,000.00 salvage over 60 months: 1,500.00 a month from August.
LINE = asset_from_payload("A-SL", {"equipment_id": "EX-01", "cost": "100000.00", "salvage": "10000.00",
                                   "in_service": "2026-08-15", "method": "straight_line", "life_months": 60}, "S1")
# 50,000.00 − 2,000.00 over 12,000 rated engine hours: 4.00 an hour.
UNITS = asset_from_payload("A-UP", {"equipment_id": "HT-07", "cost": "50000.00", "salvage": "2000.00",
                                    "in_service": "2026-10-01", "method": "units_of_production",
                                    "rated_hours": 12000}, "S1")


def usage(*days: tuple[str, float]) -> list:
    return deduplicate([usage_from_payload(f"HT-07:{d}:day", {"equipment_id": "HT-07", "shift_date": d,
                                                             "shift": "day", "operating_hours": h})
                        for d, h in days])


USAGE = usage(("2026-09-30", 12), ("2026-10-05", 200), ("2026-10-31", 100), ("2026-12-03", 450))


class Books:
    """What the hub keeps: the ledger, depreciation to date and the last month posted per asset."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.accumulated: dict[str, D] = {}
        self.last: dict[str, Period] = {}

    def run(self, month: str) -> RunResult:
        period = Period.parse(month)
        assets = [LINE, UNITS]
        result = depreciation_run(assets, period, accumulated=self.accumulated, last_posted=self.last,
                                  hours=hours_to_date(assets, USAGE, period))
        entries: list[LedgerEntry] = [c.entry for c in result.charges]
        self.ledger, _ = self.ledger.post_all(entries, chart(), PeriodCalendar())
        for c in result.charges:
            self.accumulated[c.asset_id] = self.accumulated.get(c.asset_id, D(0)) + c.amount
            self.last[c.asset_id] = period
        return result


def charges(result: RunResult) -> dict[str, D]:
    return {c.asset_id: c.amount for c in result.charges}


def test_both_methods_posted_monthly_with_catch_up() -> None:
    books = Books()
    aug = books.run("2026-08")
    assert charges(aug) == {"A-SL": D("1500.00")}
    assert [(s.asset_id, s.reason) for s in aug.skipped] == [("A-UP", "not in service until 2026-10-01")]
    assert aug.charges[0].entry.key == "depreciation:A-SL:2026-08"
    assert aug.charges[0].entry.posting_date == date(2026, 8, 31)
    # September is never run. October catches it up: 3/60 × 90,000 − 1,500 = 3,000.00. Units: 300 h since
    # 1 October (the 30 September shift is before service) × 4.00 = 1,200.00.
    assert charges(books.run("2026-10")) == {"A-SL": D("3000.00"), "A-UP": D("1200.00")}
    # November: no hours, nothing charged for the machine; the straight line goes on.
    nov = books.run("2026-11")
    assert charges(nov) == {"A-SL": D("1500.00")}
    assert [(s.asset_id, s.reason) for s in nov.skipped] == [("A-UP", "no engine hours to charge this month")]
    # December: 750 h to date × 4.00 = 3,000.00 − 1,200.00 = 1,800.00.
    assert charges(books.run("2026-12")) == {"A-SL": D("1500.00"), "A-UP": D("1800.00")}
    tb = trial_balance(books.ledger.entries)
    assert tb.accounts["1590"].credit == D("10500.00")  # 7,500.00 + 3,000.00
    assert tb.accounts["6500"].debit == D("10500.00")


def test_a_month_runs_once_and_the_run_goes_forward_only() -> None:
    books = Books()
    books.run("2026-10")
    again = books.run("2026-10")
    assert again.charges == ()
    assert {s.reason for s in again.skipped} == {"2026-10 is already posted"}
    earlier = books.run("2026-09")
    assert earlier.charges == ()
    assert {s.reason for s in earlier.skipped} == {"a later month (2026-10) is already posted; the run goes forward "
                                                   "only"}


def test_depreciation_stops_at_salvage() -> None:
    asset = asset_from_payload("A-S", {"equipment_id": "EX-01", "cost": "9000.00", "in_service": "2026-01-01",
                                       "method": "straight_line", "life_months": 7}, "S1")
    # Nothing posted for a year: the first run charges the whole 9,000.00, the next one nothing.
    first = depreciation_run([asset], Period(2026, 12), accumulated={}, last_posted={}, hours={})
    assert charges(first) == {"A-S": D("9000.00")}
    after = depreciation_run([asset], Period(2027, 1), accumulated={"A-S": D("9000.00")},
                             last_posted={"A-S": Period(2026, 12)}, hours={})
    assert [s.reason for s in after.skipped] == ["fully depreciated (book value at salvage)"]


def test_an_asset_record_that_cannot_be_depreciated_is_refused() -> None:
    base = {"equipment_id": "EX-01", "cost": "1000.00", "in_service": "2026-01-01"}
    with pytest.raises(DepreciationError, match="life in whole months"):
        asset_from_payload("A", {**base, "method": "straight_line"}, "S1")
    with pytest.raises(DepreciationError, match="rated for"):
        asset_from_payload("A", {**base, "method": "units_of_production", "rated_hours": 0}, "S1")
    with pytest.raises(DepreciationError, match="whole cents"):
        asset_from_payload("A", {**base, "cost": "1000.001", "method": "straight_line", "life_months": 5}, "S1")
    with pytest.raises(DepreciationError, match="salvage"):
        asset_from_payload("A", {**base, "salvage": "2000.00", "method": "straight_line", "life_months": 5}, "S1")


# --- acquisition and disposal (D66, D67) -----------------------------------------------------------------------
BOUGHT = {"equipment_id": "EX-01", "cost": "100000.00", "salvage": "10000.00", "in_service": "2026-08-15",
          "method": "straight_line", "life_months": 60, "paid_from": "payable", "acquired_on": "2026-08-10",
          "vendor_id": "V-CAT", "invoice_no": "CAT-9001"}


def figures(entry: LedgerEntry) -> set[tuple[str, D, D]]:
    return {(ln.account, ln.debit, ln.credit) for ln in entry.lines}


def test_acquisition_then_disposal_at_a_loss_removes_cost_and_depreciation_and_stops_the_run() -> None:
    bought = asset_from_payload("A-SL", BOUGHT, "S1")
    acquisition = acquisition_entry(bought)
    assert acquisition is not None and acquisition.key == "asset_acquisition:A-SL"
    assert acquisition.posting_date == date(2026, 8, 10)
    assert figures(acquisition) == {("1500", D("100000.00"), D(0)), ("2100", D(0), D("100000.00"))}
    assert acquisition_entry(asset_from_payload("A-SL", {**BOUGHT, "paid_from": "bank"}, "S1")).lines[1].account \
        == "1100"
    assert acquisition_entry(asset_from_payload("A-SL", {**BOUGHT, "paid_from": None}, "S1")) is None  # opening
    books = Books()
    for month in ("2026-08", "2026-09", "2026-10"):
        books.run(month)  # 1,500.00 a month: 4,500.00 to October
    sold = asset_from_payload("A-SL", {**BOUGHT, "disposed_on": "2026-12-10", "proceeds": "92000.00"}, "S1")
    catch_up, disposal = disposal_entries(sold, books.accumulated["A-SL"], books.last["A-SL"], None)
    # November and December are still due: 5/60 × 90,000.00 − 4,500.00 = 3,000.00, dated the disposal day.
    assert (catch_up.key, catch_up.posting_date) == ("depreciation:A-SL:2026-12", date(2026, 12, 10))
    assert figures(catch_up) == {("6500", D("3000.00"), D(0)), ("1590", D(0), D("3000.00"))}
    # Book value 100,000.00 − 7,500.00 = 92,500.00; sold for 92,000.00: a loss of 500.00.
    assert disposal.key == "asset_disposal:A-SL"
    assert figures(disposal) == {("1500", D(0), D("100000.00")), ("1590", D("7500.00"), D(0)),
                                 ("1100", D("92000.00"), D(0)), ("4900", D("500.00"), D(0))}
    ledger, _ = books.ledger.post_all([acquisition, catch_up, disposal], chart(), PeriodCalendar())
    tb = trial_balance(ledger.entries)
    assert tb.accounts["1500"].debit == tb.accounts["1500"].credit == D("100000.00")  # gone from the books
    # EX-01's 7,500.00 leaves 1590; what stays is HT-07's October 1,200.00 (the other asset in Books).
    assert (tb.accounts["1590"].debit, tb.accounts["1590"].credit) == (D("7500.00"), D("8700.00"))
    # The run charges nothing for the disposal month or after (the other asset is not in the register here).
    for month in (Period(2026, 12), Period(2027, 1)):
        run = depreciation_run([sold], month, accumulated={"A-SL": D("7500.00")}, last_posted={"A-SL": Period(2026,
                                                                                                           12)},
                               hours={})
        assert run.charges == ()
    nov = depreciation_run([sold], Period(2026, 11), accumulated={"A-SL": D("4500.00")},
                           last_posted={"A-SL": Period(2026, 10)}, hours={})
    assert charges(nov) == {"A-SL": D("1500.00")}  # before the disposal month the run goes on
    assert [s.reason for s in depreciation_run([sold], Period(2027, 1), accumulated={}, last_posted={},
                                               hours={}).skipped] == [
        "disposed on 2026-12-10 (its last month posts with the disposal)"]


def test_a_disposal_at_a_gain_a_scrapped_machine_and_a_disposal_before_later_depreciation() -> None:
    sold = asset_from_payload("A-SL", {**BOUGHT, "disposed_on": "2026-10-31", "proceeds": "95000.00"}, "S1")
    # Disposed on 31 October with October already run (4,500.00): nothing more is due; the book value is
    # 95,500.00, so 95,000.00 is a loss of 500.00 and 96,000.00 a gain of 500.00.
    [disposal] = disposal_entries(sold, D("4500.00"), Period(2026, 10), None)
    assert ("4900", D("500.00"), D(0)) in figures(disposal)
    gain = asset_from_payload("A-SL", {**BOUGHT, "disposed_on": "2026-10-31", "proceeds": "96000.00"}, "S1")
    [disposal] = disposal_entries(gain, D("4500.00"), Period(2026, 10), None)
    assert figures(disposal) == {("1500", D(0), D("100000.00")), ("1590", D("4500.00"), D(0)),
                                 ("1100", D("96000.00"), D(0)), ("4900", D(0), D("500.00"))}
    # The machine on units of production, scrapped on 2 December for nothing: 300 h to date × 4.00 = 1,200.00 is
    # already charged (the 450 h of 3 December come after), so no catch-up; the 48,800.00 left is a loss.
    scrapped = asset_from_payload("A-UP", {"equipment_id": "HT-07", "cost": "50000.00", "salvage": "2000.00",
                                           "in_service": "2026-10-01", "method": "units_of_production",
                                           "rated_hours": 12000, "disposed_on": "2026-12-02"}, "S1")
    hours = engine_hours(USAGE, "HT-07", scrapped.in_service, date(2026, 12, 2))
    assert hours == D(300)
    [disposal] = disposal_entries(scrapped, D("1200.00"), Period(2026, 10), hours)
    assert figures(disposal) == {("1500", D(0), D("50000.00")), ("1590", D("1200.00"), D(0)),
                                 ("4900", D("48800.00"), D(0))}
    with pytest.raises(DepreciationError, match="depreciated to 2026-11, after its disposal on 2026-10-31"):
        disposal_entries(sold, D("6000.00"), Period(2026, 11), None)


def test_acquisition_and_disposal_fields_are_checked() -> None:
    with pytest.raises(DepreciationError, match="payable or bank"):
        asset_from_payload("A", {**BOUGHT, "paid_from": "cash"}, "S1")
    with pytest.raises(DepreciationError, match="proceeds without a disposal date"):
        asset_from_payload("A", {**BOUGHT, "proceeds": "10.00"}, "S1")
    with pytest.raises(DepreciationError, match="before it was acquired or in service"):
        asset_from_payload("A", {**BOUGHT, "disposed_on": "2026-08-01"}, "S1")
    with pytest.raises(DepreciationError, match="whole cents"):
        asset_from_payload("A", {**BOUGHT, "disposed_on": "2026-12-01", "proceeds": "1.005"}, "S1")
