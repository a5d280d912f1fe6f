"""Gateway vs logged vs attendance hours: thresholds, the review decisions, and what is accepted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from shared.domain.reconciliation import Accepted, Decision, Line, flags, hours, reconcile, review_payload
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError

T = D("0.50")  # the site's threshold


def line(gateway: str | None, logged: str | None, attendance: str | None, who: str = "e1",
         day: int = 24) -> Line:
    return Line(who, date(2026, 11, day), "day", None if gateway is None else D(gateway),
                None if logged is None else D(logged), None if attendance is None else D(attendance), ("DT01",))


@pytest.mark.parametrize(
    ("gateway", "logged", "attendance", "expected"),
    [
        ("10.00", "10.50", "12.00", []),  # |10.50 − 10.00| = 0.50, not more than 0.50
        ("10.00", "10.51", "12.00", ["logged_vs_gateway"]),  # 0.51 > 0.50
        ("10.00", "9.49", "12.00", ["logged_vs_gateway"]),  # under-logging counts too
        ("9.00", "9.00", "8.50", []),  # machines 9.00 − clocked 8.50 = 0.50: passes
        ("9.00", "9.00", "8.40", ["machine_over_attendance"]),  # 0.60 > 0.50
        ("8.00", "9.10", "8.50", ["logged_vs_gateway", "machine_over_attendance"]),  # 1.10; 9.10 − 8.50 = 0.60
        ("3.00", None, None, ["no_attendance"]),
        (None, "11.00", "12.00", []),  # no gateway on the machine: nothing to compare it with
        (None, None, "12.00", []),  # on site, ran no machine
        ("0", None, None, []),  # machine idle all shift, operator not clocked: nothing to review
    ],
)
def test_lines_are_flagged_only_past_the_threshold(gateway: str | None, logged: str | None,
                                                   attendance: str | None, expected: list[str]) -> None:
    assert flags(line(gateway, logged, attendance), T) == expected


def test_the_same_variance_is_reviewed_at_one_site_and_accepted_at_another() -> None:
    # logged 10.80 vs gateway 10.00 = 0.80: over north's 0.50, within south's 1.00.
    a, b = line("10.00", "10.80", "12.00", "e1"), line("10.00", "10.80", "12.00", "e2")
    out = reconcile([a, b], {"north": D("0.50"), "south": D("1.00")}, site_of={a.key: "north", b.key: "south"})
    assert out.open == [a.key]
    assert out.accepted == {b.key: Accepted(D("12.00"), D("10.00"))}
    with pytest.raises(ValidationError) as err:
        reconcile([a], {"south": D("1.00")}, site_of={a.key: "north"})
    assert "north" in err.value.field_errors["threshold_hours"]
    with pytest.raises(ValidationError):
        flags(a, D("-1"))


def test_unflagged_lines_pay_attendance_and_bill_the_gateway_or_else_the_log() -> None:
    with_gateway, without = line("10.00", "10.20", "12.00", "e1"), line(None, "11.00", "12.00", "e2")
    out = reconcile([with_gateway, without], T)
    assert out.open == []
    assert out.accepted[with_gateway.key] == Accepted(D("12.00"), D("10.00"))
    assert out.accepted[without.key] == Accepted(D("12.00"), D("11.00"))


def test_each_decision_sets_the_accepted_hours() -> None:
    # Clocked 12 h, machine 4 h by the gateway, 11 h logged: flagged both ways.
    lines = [line("4.00", "11.00", "12.00", who) for who in ("accept", "correct", "correct-both", "reject", "open")]
    keys = {ln.employee_id: ln.key for ln in lines}
    decisions = [
        Decision(keys["accept"], "accept", "ran the loader (no gateway) for 7 h after the truck"),
        Decision(keys["correct"], "correct", "went home at 16:00", paid_hours=D("10.00")),
        Decision(keys["correct-both"], "correct", "log was the truck's, not the loader's", paid_hours=D("12"),
                 machine_hours=D("4.50")),
        Decision(keys["reject"], "reject", "logged under the wrong operator"),
    ]
    out = reconcile(lines, T, decisions)
    assert out.accepted == {
        keys["accept"]: Accepted(D("12.00"), D("4.00")),
        keys["correct"]: Accepted(D("10.00"), D("4.00")),  # machine hours not given: the gateway's
        keys["correct-both"]: Accepted(D("12"), D("4.50")),
        keys["reject"]: Accepted(D(0), D(0)),
    }
    assert out.open == [keys["open"]]


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        (Decision("k", "accept", "   "), "reason"),
        (Decision("k", "correct", "wrong"), "paid_hours"),
        (Decision("k", "correct", "wrong", paid_hours=D(25)), "paid_hours"),
        (Decision("k", "correct", "wrong", paid_hours=D(8), machine_hours=D(-1)), "machine_hours"),
        (Decision("k", "accept", "fine", paid_hours=D(8)), "paid_hours"),
        (Decision("k", "approve", "fine"), "decision"),
    ],
)
def test_an_incomplete_decision_is_a_message_on_its_field(decision: Decision, field: str) -> None:
    ln = line("4.00", "11.00", "12.00")
    bound = Decision(ln.key, decision.decision, decision.reason, decision.paid_hours, decision.machine_hours)
    with pytest.raises(ValidationError) as err:
        reconcile([ln], T, [bound])
    assert field in err.value.field_errors


def test_a_flagged_line_becomes_a_valid_review_payload_and_an_unflagged_one_none() -> None:
    ln = line("8.00", "9.10", "8.50")
    payload = review_payload(ln, T)
    assert payload == {
        "employee_id": "e1", "shift_date": "2026-11-24", "shift": "day", "equipment_ids": ["DT01"],
        "threshold_hours": 0.5, "flags": ["logged_vs_gateway", "machine_over_attendance"], "decision": "open",
        "gateway_hours": 8.0, "logged_hours": 9.1, "attendance_hours": 8.5,
    }
    validate_mutation("hr.reconciliation_review", Op.CREATE, payload)
    assert review_payload(line("10.00", "10.00", "12.00"), T) is None


def test_hours_round_floats_through_their_shortest_repr() -> None:
    # 0.1 + 0.2 = 0.30000000000000004 as a float; as hours it is 0.30. 10.125 rounds half up to 10.13.
    assert hours(0.1 + 0.2) == D("0.30")
    assert hours(D("10.125")) == D("10.13")
    assert hours(None) is None


def test_lines_are_built_from_usage_logs_and_attendance_sharing_a_machines_gateway_hours() -> None:
    from shared.domain.reconciliation import UsageLog, lines_from_logs

    d = date(2026, 11, 24)
    logs = [
        # DT01: the gateway measured 9.00 h; Ana logged 6 h and Ben 3 h on it → shares 9 × 6/9 = 6.00, 9 × 3/9 = 3.00.
        UsageLog("DT01", d, "day", D("9.00"), "telematics"),
        UsageLog("DT01", d, "day", D("6"), "manual", "Ana Soto"),
        UsageLog("DT01", d, "day", D("3"), "manual", "Ben Ruiz"),
        # EX02 (gateway 2.00 h) was Ben's too, logged 5 h: Ben's gateway = 3.00 + 2.00 = 5.00 vs 8 h logged.
        UsageLog("EX02", d, "day", D("2.00"), "telematics"),
        UsageLog("EX02", d, "day", D("5"), "manual", "Ben Ruiz"),
        # LV07 has no gateway: Cy's 4 h logged has nothing to be compared with.
        UsageLog("LV07", d, "day", D("4"), "manual", "Cy"),
        # DZ03 ran 1.5 h by its gateway and nobody logged it; "Dee" is on no employee list.
        UsageLog("DZ03", d, "day", D("1.5"), "telematics"),
        UsageLog("GR04", d, "day", D("2"), "manual", "Dee"),
    ]
    attendance = {("e-ana", d, "day"): D("12"), ("e-ben", d, "day"): D("12"), ("e-cy", d, "day"): D("12"),
                  ("e-eve", d, "day"): D("11.5")}
    built = lines_from_logs(logs, attendance, {"Ana Soto": "e-ana", "Ben Ruiz": "e-ben", "Cy": "e-cy"})
    by_who = {ln.employee_id: ln for ln in built.lines}
    assert (by_who["e-ana"].gateway_hours, by_who["e-ana"].logged_hours) == (D("6.00"), D("6.00"))
    assert (by_who["e-ben"].gateway_hours, by_who["e-ben"].logged_hours) == (D("5.00"), D("8.00"))
    assert by_who["e-ben"].equipment_ids == ("DT01", "EX02")
    assert (by_who["e-cy"].gateway_hours, by_who["e-cy"].logged_hours) == (None, D("4.00"))
    assert (by_who["e-eve"].gateway_hours, by_who["e-eve"].attendance_hours) == (None, D("11.50"))  # clocked only
    assert built.unattributed == [("DZ03", d, "day", D("1.50"))]
    assert built.unknown_operators == ["Dee"]
    # Only Ben is past 0.50 h: logged 8.00 vs gateway 5.00.
    assert reconcile(built.lines, T).open == [by_who["e-ben"].key]
