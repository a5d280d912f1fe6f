"""The payroll result file: the documented layout parsed whole, every bad row reported with its line number and
nothing planned, the same file twice planning nothing, another file for an imported period refused unless
replaced explicitly, and the records' ids the same at every office."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.domain.payroll_import import (
    IMPORT,
    RESULT,
    ImportRefused,
    PayrollFileError,
    parse,
    plan,
    result_id,
    same_figures,
)

PEOPLE = {"E100": "emp-ana", "e 200": "emp-luis"}
AT = datetime(2026, 4, 7, 9, tzinfo=UTC)
HEADER = "period,employee_number,gross,deductions,net,hours_paid,leave_days_paid\n"
GOOD = (HEADER + "2026-03-30..2026-04-05,E100,1500.00,300.00,1200.00,85.00,0\n"
        "2026-03-30..2026-04-05,E200,1400.50,280.25,1120.25,84,2\n").encode()


def _apply(changes, imported, results):  # type: ignore[no-untyped-def]
    """What a replica holds after the planned changes (updates merge, deletes drop)."""
    results = dict(results)
    for c in changes:
        if c.entity == IMPORT:
            imported = {**(imported or {}), **c.payload}
        elif c.op == "delete":
            results.pop(c.entity_id)
        else:
            results[c.entity_id] = {**results.get(c.entity_id, {}), **c.payload}
    return imported, results


def test_a_good_file_becomes_one_result_per_employee_with_ids_from_period_and_number() -> None:
    f = parse(GOOD, PEOPLE)
    assert (f.period_id, len(f.rows)) == ("2026-03-30..2026-04-05", 2)
    luis = f.rows[1]
    assert (luis.line, luis.employee_id, luis.gross, luis.net, luis.hours_paid) == (
        3, "emp-luis", Decimal("1400.50"), Decimal("1120.25"), Decimal("84.00"))
    changes = plan(f, None, {}, actor="hr1", at=AT, file_name="week14.csv")
    assert [(c.entity, c.entity_id, c.op) for c in changes] == [
        (IMPORT, "2026-03-30..2026-04-05", "create"),
        (RESULT, "2026-03-30..2026-04-05:E100", "create"), (RESULT, "2026-03-30..2026-04-05:E200", "create")]
    assert changes[2].payload["gross"] == "1400.50" and changes[2].payload["leave_days_paid"] == "2.00"
    assert changes[0].payload["file_sha256"] == f.sha256 and changes[0].payload["rows"] == 2
    assert result_id(f.period_id, " e 100 ") == "2026-03-30..2026-04-05:E100"


def test_columns_may_come_in_any_order_with_a_bom_and_crlf() -> None:
    text = ("\ufeffemployee_number,period,net,gross,deductions,leave_days_paid,hours_paid\r\n"
            "E100,2026-03-30..2026-04-05,1200.00,1500.00,300.00,,85\r\n")
    f = parse(text.encode(), PEOPLE)
    assert f.rows[0].net == Decimal("1200.00") and f.rows[0].leave_days_paid == Decimal(0)


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_planned() -> None:
    bad = (HEADER + "2026-03-30..2026-04-05,E100,1500.00,300.00,1200.00,85,0\n"
           "2026-03-30..2026-04-05,E999,1.00,0,1.00,1,0\n"
           "2026-03-30..2026-04-05,E200,1400.005,0,1400.005,1,0\n"
           "2026-03-30..2026-04-05,e100,10,0,10,1,0\n"
           "2026-03-30..2026-04-05,E200,100,10,80,1,0\n"
           "2026-03-30..2026-04-05,E200,100,0,100,800,0\n"
           "2026-03-30..2026-04-05,E200,-5,0,-5,1,0\n"
           "2026-03-30..2026-04-05,E200,100\n").encode()
    with pytest.raises(PayrollFileError) as err:
        parse(bad, PEOPLE)
    lines = dict(err.value.problems)
    assert lines[3] == "employee number E999 is nobody's"
    assert lines[4] == "gross 1400.005 has more than two decimals"
    assert lines[5] == "employee E100 appears again (first on line 2)"
    assert lines[6] == "net 80.00 is not gross 100.00 less deductions 10.00"
    assert lines[7] == "hours_paid 800 is more than 744"
    assert lines[8] == "gross -5 is negative"
    assert lines[9] == "3 columns, the header has 7"
    assert str(err.value).startswith("7 problem(s), nothing imported: line 3:")


def test_a_header_without_the_layout_and_a_file_of_two_periods_are_refused_whole() -> None:
    with pytest.raises(PayrollFileError, match="missing net"):
        parse(b"period,employee_number,gross,deductions,hours_paid,leave_days_paid\n", PEOPLE)
    two = (HEADER + "2026-03-30..2026-04-05,E100,10,0,10,1,0\n2026-04-06..2026-04-12,E200,10,0,10,1,0\n").encode()
    with pytest.raises(PayrollFileError, match="more than one period"):
        parse(two, PEOPLE)
    with pytest.raises(PayrollFileError, match="not UTF-8"):
        parse(b"\xff\xfe" + GOOD, PEOPLE)
    with pytest.raises(PayrollFileError, match="no rows"):
        parse(HEADER.encode(), PEOPLE)


def test_the_same_file_twice_plans_nothing_and_another_file_is_refused_unless_replacing() -> None:
    f = parse(GOOD, PEOPLE)
    imported, results = _apply(plan(f, None, {}, actor="hr1", at=AT), None, {})
    assert plan(f, imported, results, actor="hr2", at=AT) == []  # the same bytes again: no change
    corrected = GOOD.replace(b"1500.00,300.00,1200.00", b"1550.00,300.00,1250.00").replace(
        b"2026-03-30..2026-04-05,E200,1400.50,280.25,1120.25,84,2\n", b"")
    g = parse(corrected, PEOPLE)
    with pytest.raises(ImportRefused) as err:
        plan(g, imported, results, actor="hr2", at=AT)
    assert f"SHA-256 {f.sha256[:12]}" in str(err.value) and "by hr1" in str(err.value)
    changes = plan(g, imported, results, actor="hr2", at=AT, replace=True)
    assert [(c.entity, c.op) for c in changes] == [(IMPORT, "update"), (RESULT, "update"), (RESULT, "delete")]
    assert changes[1].payload == {"gross": "1550.00", "net": "1250.00", "file_sha256": g.sha256}
    imported, results = _apply(changes, imported, results)
    assert plan(g, imported, results, actor="hr3", at=AT) == []  # and replacing is idempotent too


def test_two_offices_importing_one_file_write_the_same_figures() -> None:
    a = plan(parse(GOOD, PEOPLE), None, {}, actor="hr-north", at=AT, file_name="a.csv")
    b = plan(parse(GOOD, PEOPLE), None, {}, actor="hr-south", at=datetime(2026, 4, 8, tzinfo=UTC))
    assert [(c.entity_id, c.payload) for c in a[1:]] == [(c.entity_id, c.payload) for c in b[1:]]
    assert same_figures(a[0].payload, b[0].payload)  # who and when aside
    assert not same_figures(a[1].payload, {**a[1].payload, "net": "0.00"})
