"""Receivables with hand-computed fixtures: a rental invoice from engine hours across a period edge (the night
shift of 31 October is October's; a contract ending mid-month bills its own days; a shift logged twice counts
once), no day billed twice, posting, receipts and AR ageing."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.ledger import Ledger
from shared.domain.open_items import AllocationError, ageing, check_allocation
from shared.domain.periods import PeriodCalendar
from shared.domain.receivables import (
    ReceivablesError,
    check_not_billed,
    check_reviewed,
    contract_from_payload,
    customer_receipt_entry,
    invoice_entries,
    invoice_from_payload,
    invoice_payload,
    receipt_from_payload,
    rental_invoice,
)
from shared.domain.reconciliation import Decision, Line, UsageLog, lines_from_logs
from shared.domain.usage_hours import (
    UsageShift,
    billable_usage,
    decisions_from_reviews,
    deduplicate,
    lines_from_records,
    threshold_from_settings,
    usage_from_payload,
)
from tests.shared.domain.finance_fixtures import chart

EX = contract_from_payload("C1", {"equipment_id": "EX-01", "customer": "Acme", "rate_per_hour": "150.00",
                                  "starts_on": "2026-10-20"})
HT = contract_from_payload("C2", {"equipment_id": "HT-07", "customer": "Acme", "rate_per_hour": 95.5,
                                  "ends_on": "2026-11-10"})


def log(eq: str, day: str, shift: str, op: float, idle: float = 0.0, source: str = "manual") -> object:
    suffix = ":telematics" if source == "telematics" else ""
    return usage_from_payload(f"{eq}:{day}:{shift}{suffix}", {
        "equipment_id": eq, "shift_date": day, "shift": shift, "operating_hours": op, "idle_hours": idle,
        "standby_hours": 1.0, "repair_hours": 2.0, "source": source})


USAGE = deduplicate([
    log("EX-01", "2026-10-19", "day", 10),           # before the contract starts
    log("EX-01", "2026-10-31", "night", 9.5, 1.0),   # runs into 1 November, but the shift date is October's
    log("EX-01", "2026-11-01", "day", 8, 0.5),       # typed by hand ...
    log("EX-01", "2026-11-01", "day", 8.25, 0.5, "telematics"),  # ... and measured: the gateway's 8.75 h count
    log("EX-01", "2026-11-30", "night", 10),         # the period's last shift
    log("EX-01", "2026-12-01", "day", 5),            # next period
    log("HT-07", "2026-11-10", "day", 11),           # the contract's last day
    log("HT-07", "2026-11-11", "day", 12),           # after the contract ended
])


def november(inv_id: str = "CI-11"):
    return rental_invoice(inv_id, [HT, EX], USAGE, date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1),
                          terms_days=14, number="AR-0011")


def test_invoice_from_rental_hours_across_the_period_edge() -> None:
    inv = november()
    # EX-01: 8.75 (telematics wins) + 10 = 18.75 h × 150.00 = 2,812.50; HT-07: 11 h × 95.50 = 1,050.50.
    assert [(ln.equipment_id, ln.hours, ln.rate, ln.amount, ln.first_day, ln.last_day) for ln in inv.lines] == [
        ("EX-01", D("18.75"), D("150.00"), D("2812.50"), date(2026, 11, 1), date(2026, 11, 30)),
        ("HT-07", D("11.0"), D("95.5"), D("1050.50"), date(2026, 11, 1), date(2026, 11, 10))]
    assert inv.total == D("3863.00")
    assert (inv.customer, inv.due_date) == ("Acme", date(2026, 12, 15))
    october = rental_invoice("CI-10", [EX], USAGE, date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1))
    # Only the night of the 31st (9.5 + 1.0 idle = 10.5 h; standby and repair are not engine hours); the 19th
    # is before the contract.
    assert [(ln.hours, ln.amount, ln.first_day) for ln in october.lines] == [(D("10.5"), D("1575.00"),
                                                                               date(2026, 10, 20))]


def test_a_period_without_hours_or_with_two_customers_is_refused() -> None:
    with pytest.raises(ReceivablesError, match="no engine hours"):
        rental_invoice("X", [HT], USAGE, date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1))
    other = contract_from_payload("C3", {"equipment_id": "EX-02", "customer": "Beta", "rate_per_hour": "10"})
    with pytest.raises(ReceivablesError, match="one customer"):
        rental_invoice("X", [EX, other], USAGE, date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1))


def test_no_contract_day_is_billed_twice() -> None:
    first = november()
    with pytest.raises(ReceivablesError, match="already billed from 2026-11-01 to 2026-11-30"):
        check_not_billed(rental_invoice("CI-11b", [EX], USAGE, date(2026, 11, 30), date(2026, 12, 31),
                                        date(2027, 1, 1)), [first])
    december = rental_invoice("CI-12", [EX], USAGE, date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1))
    check_not_billed(december, [first])  # the next period is fine
    check_not_billed(first, [first])  # an invoice does not overlap itself (re-saving it)


def test_the_invoice_travels_as_text_and_posts_ar_against_rental_income_per_machine() -> None:
    inv = november()
    payload = invoice_payload(inv)
    assert payload["lines"][0] == {"contract_id": "C1", "equipment_id": "EX-01", "hours": "18.75",
                                   "rate": "150.00", "amount": "2812.50", "first_day": "2026-11-01",
                                   "last_day": "2026-11-30"}
    again = invoice_from_payload("CI-11", payload)
    assert again == inv
    entries = invoice_entries(again, "S1")
    assert [e.key for e in entries] == ["customer_invoice:CI-11:1", "customer_invoice:CI-11:2"]
    assert {(ln.account, ln.debit, ln.credit, ln.dimensions) for ln in entries[0].lines} == {
        ("1200", D("2812.50"), D(0), (("site", "S1"),)),
        ("4100", D(0), D("2812.50"), (("equipment", "EX-01"), ("site", "S1")))}
    Ledger().post_all(entries, chart(), PeriodCalendar())
    tampered = {**payload, "lines": [{**payload["lines"][0], "amount": "2900.00"}]}
    with pytest.raises(ReceivablesError, match=re.escape("amount 2900.00 is not 18.75 h")):
        invoice_from_payload("CI-11", tampered)
    assert invoice_entries(invoice_from_payload("CI-11", {**payload, "status": "draft"}), "S1") == []


def test_receipts_partial_over_allocated_and_ar_ageing() -> None:
    inv = november().as_document()  # 3,863.00 due 2026-12-15
    receipt = receipt_from_payload("R1", {"customer": "Acme", "received_on": "2026-12-10", "amount": "1000.00",
                                          "allocations": [{"invoice_id": "CI-11", "amount": "1000.00"}]})
    check_allocation(receipt, {"CI-11": inv}, {})
    with pytest.raises(AllocationError, match=re.escape("2863.00 open")):
        check_allocation(receipt_from_payload("R2", {"customer": "Acme", "received_on": "2026-12-11",
                                                     "amount": "3000.00", "allocations": [
                                                         {"invoice_id": "CI-11", "amount": "3000.00"}]}),
                         {"CI-11": inv}, {"CI-11": D("1000.00")})
    # At 2027-01-20 the invoice is 36 days past due: 2,863.00 in 31-60.
    report = ageing([inv], [receipt], date(2027, 1, 20))
    assert report.rows[0].buckets["31-60"] == D("2863.00") and report.total == D("2863.00")
    assert ageing([inv], [receipt], date(2026, 12, 15)).rows[0].buckets["current"] == D("2863.00")
    entry = customer_receipt_entry("R1", date(2026, 12, 10), receipt.amount, "S1")
    assert {(ln.account, ln.debit, ln.credit) for ln in entry.lines} == {("1100", D("1000.00"), D(0)),
                                                                        ("1200", D(0), D("1000.00"))}


# --- billing the accepted hours (D64) ----------------------------------------------------------------------
# (machine, day, operating, idle, source, operator): ann and bob are emp-ann and emp-bob.
RECON_LOGS = [
    ("EX-01", "2026-11-01", 8.0, 0.5, "telematics", None),  # 8.5 engine hours measured
    ("EX-01", "2026-11-01", 8.0, 0.0, "manual", "ann"),     # logged 8 = gateway 8: not flagged
    ("EX-01", "2026-11-02", 10.0, 0.0, "telematics", None),
    ("EX-01", "2026-11-02", 6.0, 0.0, "manual", "ann"),
    ("HT-07", "2026-11-02", 4.0, 0.0, "telematics", None),
    ("HT-07", "2026-11-02", 2.0, 0.0, "manual", "ann"),     # ann: logged 8 against gateway 14: flagged
    ("EX-01", "2026-11-03", 12.0, 0.0, "telematics", None),
    ("EX-01", "2026-11-03", 5.0, 0.0, "manual", "ann"),     # gateway share 12 × 5/9 = 6.67 vs 5: flagged
    ("EX-01", "2026-11-03", 4.0, 0.0, "manual", "bob"),     # gateway share 12 × 4/9 = 5.33 vs 4: flagged
    ("EX-01", "2026-11-04", 8.0, 0.0, "manual", "ann"),     # no attendance that day: flagged, never decided
]
CLOCKED = {("emp-ann", date(2026, 11, 1), "day"): D(9), ("emp-ann", date(2026, 11, 2), "day"): D(14),
           ("emp-ann", date(2026, 11, 3), "day"): D(10), ("emp-bob", date(2026, 11, 3), "day"): D(10)}
NAMES = {"ann": "emp-ann", "bob": "emp-bob"}
DECIDED = [
    Decision("emp-ann:2026-11-02:day", "correct", "the gateway ran on while parked", D(10), D(7)),
    Decision("emp-ann:2026-11-03:day", "reject", "ann was on training that day"),
    Decision("emp-bob:2026-11-03:day", "accept", "bob forgot his last hour"),
]


def _recon_usage() -> tuple[list[UsageShift], list[Line]]:
    shifts, logs = [], []
    for n, (eq, day, op, idle, src, who) in enumerate(RECON_LOGS):
        shifts.append(usage_from_payload(f"{eq}:{day}:day:{src}:{n}", {
            "equipment_id": eq, "shift_date": day, "shift": "day", "operating_hours": op, "idle_hours": idle,
            "source": src, **({"operator": who} if who else {})}))
        logs.append(UsageLog(eq, date.fromisoformat(day), "day", D(str(op)), src, who))
    return [s for s in shifts if s is not None], lines_from_logs(logs, CLOCKED, NAMES).lines


def test_the_invoice_bills_the_supervisors_accepted_hours_and_says_where_each_came_from() -> None:
    shifts, lines = _recon_usage()
    got = billable_usage(shifts, lines, DECIDED, D("0.5"), NAMES)
    billed = {(k[0], k[1].day): (d.measured, d.billed, d.source) for k, d in got.details.items()}
    assert billed == {
        ("EX-01", 1): (D("8.5"), D("8.5"), "gateway"),           # not flagged: the gateway's engine hours
        # ann corrected to 7 machine hours over her two machines, split by her parts 10 : 4 -> 5 and 2
        ("EX-01", 2): (D("10.0"), D("5.00"), "reconciled"), ("HT-07", 2): (D("4.0"), D("2.00"), "reconciled"),
        # ann rejected: her part 12 × 5/9 = 6.67 out; bob accepted: his 5.33 stands
        ("EX-01", 3): (D("12.0"), D("5.33"), "reconciled"),
        ("EX-01", 4): (D("8.0"), D("8.0"), "log")}
    # The 4th is ann's undecided no-attendance line: the whole period cannot be billed yet, naming the shift.
    with pytest.raises(ReceivablesError, match=re.escape("EX-01 2026-11-04 day shift: operator emp-ann's hours "
                                                         "are flagged (no_attendance) and not decided")):
        check_reviewed([EX, HT], got.open, date(2026, 11, 1), date(2026, 11, 4))
    check_reviewed([EX, HT], got.open, date(2026, 11, 1), date(2026, 11, 3))  # up to the 3rd all is decided
    check_reviewed([HT], got.open, date(2026, 11, 1), date(2026, 11, 4))  # HT-07 is not on the open line
    inv = rental_invoice("CI-R", [EX, HT], got.shifts, date(2026, 11, 1), date(2026, 11, 3), date(2026, 11, 4),
                         details=got.details)
    # EX-01: 8.5 + 5.00 + 5.33 = 18.83 h × 150 = 2,824.50; HT-07: 2.00 h × 95.50 = 191.00.
    assert [(ln.equipment_id, ln.hours, ln.amount) for ln in inv.lines] == [
        ("EX-01", D("18.83"), D("2824.50")), ("HT-07", D("2.00"), D("191.00"))]
    assert inv.total == D("3015.50")
    assert inv.lines[0].source == (
        "gateway 8.50 h; reconciled 10.33 h (2026-11-02 day: 10.00 measured, 5.00 billed, emp-ann corrected to "
        "5.00 h (measured 10.00 h); 2026-11-03 day: 12.00 measured, 5.33 billed, emp-ann rejected (6.67 h taken "
        "out))")
    assert invoice_from_payload("CI-R", invoice_payload(inv)) == inv  # the source travels with the line


def test_without_decisions_every_flagged_shift_is_open_and_an_accept_bills_the_measure() -> None:
    shifts, lines = _recon_usage()
    got = billable_usage(shifts, lines, [], D("0.5"), NAMES)
    assert [(o.equipment_id, o.shift_date.day, o.line_key) for o in got.open] == [
        ("EX-01", 2, "emp-ann:2026-11-02:day"), ("EX-01", 3, "emp-ann:2026-11-03:day"),
        ("EX-01", 3, "emp-bob:2026-11-03:day"), ("EX-01", 4, "emp-ann:2026-11-04:day"),
        ("HT-07", 2, "emp-ann:2026-11-02:day")]
    accepted = [Decision(o.line_key, "accept", "checked") for o in got.open]
    again = billable_usage(shifts, lines, accepted, D("0.5"), NAMES)
    assert again.open == [] and {d.source for d in again.details.values()} == {"gateway", "log"}
    assert [s.engine_hours for s in again.shifts] == [s.engine_hours for s in deduplicate(shifts)]
    # A threshold of 10 h flags nothing but the no-attendance line.
    assert [o.line_key for o in billable_usage(shifts, lines, [], D(10), NAMES).open] == ["emp-ann:2026-11-04:day"]


def test_the_sites_threshold_is_read_tolerantly() -> None:
    assert threshold_from_settings({"threshold_hours": 1.25}) == D("1.25")
    assert threshold_from_settings(None) == D("0.5")
    assert threshold_from_settings({"threshold_hours": "lots"}) == D("0.5")
    assert threshold_from_settings({"threshold_hours": 30}) == D("0.5")


def test_the_reconciliation_read_from_records_gives_the_same_lines_and_decisions() -> None:
    _, lines = _recon_usage()
    usage = [{"equipment_id": eq, "shift_date": day, "shift": "day", "operating_hours": op, "source": src,
              **({"operator": who} if who else {})} for eq, day, op, _idle, src, who in RECON_LOGS]
    attendance = [{"employee_id": e, "shift_date": d.isoformat(), "shift": s,
                   "clock_in": f"{d.isoformat()}T06:00:00+00:00",
                   "clock_out": f"{d.isoformat()}T{6 + int(h):02d}:00:00+00:00"} for (e, d, s), h in CLOCKED.items()]
    attendance.append({"employee_id": "emp-bob", "shift_date": "2026-11-04", "shift": "day",
                       "clock_in": "2026-11-04T06:00:00+00:00"})  # still on shift: not compared
    employees = {"emp-ann": {"number": "E1", "name": "ann"}, "emp-bob": {"number": "E2", "name": "bob"}}
    assert lines_from_records(usage, attendance, employees) == lines
    reviews = {"emp-ann:2026-11-02:day": {"decision": "corrected", "reason": "the gateway ran on while parked",
                                          "paid_hours": 10, "machine_hours": 7},
               "emp-ann:2026-11-03:day": {"decision": "rejected", "reason": "ann was on training that day"},
               "emp-bob:2026-11-03:day": {"decision": "accepted", "reason": "bob forgot his last hour"},
               "emp-ann:2026-11-04:day": {"decision": "open"}}
    assert decisions_from_reviews(reviews) == DECIDED
