"""People (the `hr` context): employees, crews, rotation patterns, rosters, attendance, leave and the
reconciliation review queue. Only the entity declarations live here; the rules are in `rosters`, `attendance`,
`leave`, `reconciliation` and `payroll` (issue 14).

Strategies:
- master data (`hr.employee`, `hr.crew`, `hr.rotation_pattern`, `hr.leave_type`) is field_merge: an HR clerk
  fixing a name and a supervisor moving someone to another crew offline both keep their edit.
- `hr.roster_assignment` is field_merge: one row per person per date (id `<employee>:<date>`), generated
  ahead from the crew's rotation and then edited; a regenerate and a hand edit touch different fields
  (`kind` vs `notes`) or the hand edit is the newer one.
- `hr.attendance` is field_merge: the office clerk corrects a clock-out while the supervisor approves; both stay.
- `hr.leave_request` is manual: an approval on one desktop and a cancellation on another cannot both be
  right, and a person must decide which one stands (it moves a balance).
- `hr.reconciliation_review` is manual: two supervisors deciding one variance differently offline decide
  what payroll pays and rental billing bills; the hub must not pick one silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.conflicts import Strategy
from shared.entities import EntitySpec, FieldSpec, register

EMPLOYEE_STATUSES = ("active", "on_leave", "suspended", "terminated")
ROSTER_KINDS = ("day", "night", "travel", "off", "leave")  # a rostered date: which shift, or why none
SHIFT_NAMES = ("day", "night")
ATTENDANCE_SOURCES = ("office", "usage_log", "gateway")
ATTENDANCE_STATUSES = ("pending", "approved", "rejected")
LEAVE_STATUSES = ("requested", "approved", "rejected", "cancelled")
REVIEW_DECISIONS = ("open", "accepted", "corrected", "rejected")
# Clocked time in one attendance row: a 13 h night plus overtime fits, a forgotten clock-out the next day does not.
MAX_ATTENDANCE_HOURS = 24

EMPLOYEE = register(
    EntitySpec(
        name="hr.employee",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "number": FieldSpec("str", required=True, max_length=32, label="Employee number"),
            "name": FieldSpec("str", required=True, max_length=128, label="Name"),
            "position": FieldSpec("str", max_length=64, label="Position"),
            "department": FieldSpec("str", max_length=64, label="Department"),
            "site": FieldSpec("str", max_length=64, label="Home site"),
            "crew_id": FieldSpec("str", max_length=64, label="Crew"),
            "reports_to": FieldSpec("str", max_length=64, label="Reports to"),  # the org tree: an employee id
            "hire_date": FieldSpec("date", required=True, label="Hire date"),
            "end_date": FieldSpec("date", label="Last day"),
            "status": FieldSpec("str", required=True, choices=EMPLOYEE_STATUSES, label="Status"),
            "user_id": FieldSpec("str", max_length=128, label="Sign-in user"),  # for self-service leave
            # Equipment classes (core_entities.EQUIPMENT_CLASSES) this operator is trained and allowed to run.
            "equipment_classes": FieldSpec("list", label="May operate"),
        },
    )
)

CREW = register(
    EntitySpec(
        name="hr.crew",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "name": FieldSpec("str", required=True, max_length=64, label="Crew"),
            "site": FieldSpec("str", max_length=64, label="Site"),
            "rotation_id": FieldSpec("str", max_length=64, label="Rotation"),
            # The date the crew is on day 1 of its rotation; crews on one rotation differ by their anchor.
            "rotation_anchor": FieldSpec("date", label="Rotation day 1"),
            "supervisor_id": FieldSpec("str", max_length=64, label="Supervisor"),
        },
    )
)

ROTATION_PATTERN = register(
    EntitySpec(
        name="hr.rotation_pattern",
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,  # a 14/7 is the same everywhere in the company
        fields={
            "name": FieldSpec("str", required=True, max_length=64, label="Rotation"),
            # [{"kind": "day"|"night"|"travel"|"off", "days": n}, ...]; checked by rosters.parse_blocks
            "blocks": FieldSpec("list", required=True, label="Blocks"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)

ROSTER_ASSIGNMENT = register(
    EntitySpec(
        name="hr.roster_assignment",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "employee_id": FieldSpec("str", required=True, max_length=64, label="Employee"),
            "crew_id": FieldSpec("str", max_length=64, label="Crew"),
            "shift_date": FieldSpec("date", required=True, label="Date"),
            "kind": FieldSpec("str", required=True, choices=ROSTER_KINDS, label="Rostered"),
            "source": FieldSpec("str", choices=("generated", "edited"), label="Source"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
    )
)


def _check_attendance(record: Mapping[str, Any]) -> None:
    from shared.domain.attendance import check_clock  # attendance imports this module's limits

    clock_out = record.get("clock_out")
    check_clock(datetime.fromisoformat(record["clock_in"]),
                None if clock_out is None else datetime.fromisoformat(clock_out))


ATTENDANCE = register(
    EntitySpec(
        name="hr.attendance",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "employee_id": FieldSpec("str", required=True, max_length=64, label="Employee"),
            "shift_date": FieldSpec("date", required=True, label="Shift date"),
            "shift": FieldSpec("str", required=True, choices=SHIFT_NAMES, label="Shift"),
            "clock_in": FieldSpec("datetime", required=True, label="Clock in"),
            "clock_out": FieldSpec("datetime", label="Clock out"),  # empty while on shift
            "source": FieldSpec("str", choices=ATTENDANCE_SOURCES, label="Source"),
            "status": FieldSpec("str", choices=ATTENDANCE_STATUSES, label="Status"),
            "approved_by": FieldSpec("str", max_length=128, label="Approved by"),
            "notes": FieldSpec("str", max_length=2000, label="Notes"),
        },
        record_check=_check_attendance,
    )
)



LEAVE_TYPE = register(
    EntitySpec(
        name="hr.leave_type",
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,
        fields={
            "code": FieldSpec("str", required=True, max_length=16, label="Code"),
            "name": FieldSpec("str", required=True, max_length=64, label="Leave type"),
            "days_per_month": FieldSpec("number", required=True, min=0, max=31, label="Accrues per month (days)"),
            "carry_over_cap": FieldSpec("number", min=0, label="Carry-over cap (days; empty: no cap)"),
            "paid": FieldSpec("bool", label="Paid"),
            "payroll_code": FieldSpec("str", max_length=16, label="Payroll code"),
        },
    )
)

LEAVE_REQUEST = register(
    EntitySpec(
        name="hr.leave_request",
        strategy=Strategy.MANUAL,
        fields={
            "employee_id": FieldSpec("str", required=True, max_length=64, label="Employee"),
            "leave_type": FieldSpec("str", required=True, max_length=16, label="Leave type"),
            "start_date": FieldSpec("date", required=True, label="First day"),
            "end_date": FieldSpec("date", required=True, label="Last day"),
            "days": FieldSpec("number", min=0, label="Days"),
            "status": FieldSpec("str", required=True, choices=LEAVE_STATUSES, label="Status"),
            # Set only by an approver: lets this request take the balance below zero (leave.check_request).
            "approved_negative": FieldSpec("bool", label="Approved below zero"),
            "approved_by": FieldSpec("str", max_length=128, label="Approved by"),
            "approval_request_id": FieldSpec("str", max_length=64, label="Approval"),  # approvals.request
            "reason": FieldSpec("str", max_length=2000, label="Reason"),
        },
    )
)

RECONCILIATION_REVIEW = register(
    EntitySpec(
        name="hr.reconciliation_review",
        strategy=Strategy.MANUAL,
        fields={
            "employee_id": FieldSpec("str", required=True, max_length=64, label="Operator"),
            "shift_date": FieldSpec("date", required=True, label="Shift date"),
            "shift": FieldSpec("str", required=True, choices=SHIFT_NAMES, label="Shift"),
            "equipment_ids": FieldSpec("list", label="Equipment"),
            "gateway_hours": FieldSpec("number", min=0, max=MAX_ATTENDANCE_HOURS, label="Gateway hours"),
            "logged_hours": FieldSpec("number", min=0, max=MAX_ATTENDANCE_HOURS, label="Logged hours"),
            "attendance_hours": FieldSpec("number", min=0, max=MAX_ATTENDANCE_HOURS, label="Attendance hours"),
            "threshold_hours": FieldSpec("number", min=0, label="Site threshold (hours)"),
            "flags": FieldSpec("list", label="Why it is in the queue"),
            "decision": FieldSpec("str", required=True, choices=REVIEW_DECISIONS, label="Decision"),
            "paid_hours": FieldSpec("number", min=0, max=MAX_ATTENDANCE_HOURS, label="Accepted paid hours"),
            "machine_hours": FieldSpec("number", min=0, max=MAX_ATTENDANCE_HOURS, label="Accepted machine hours"),
            "reason": FieldSpec("str", max_length=2000, label="Reason"),
            "decided_by": FieldSpec("str", max_length=128, label="Decided by"),
            "decided_at": FieldSpec("datetime", label="Decided at"),
        },
    )
)

# --- payroll results (issue 14, the import; rules in `payroll_import`) --------------------------------------------
# Both are server_wins and tenant-wide (one payroll file per period for the company): the ids are deterministic
# (`<period>` and `<period>:<employee number>`), so two offices importing the same file write the same rows; the hub
# acknowledges a second create with the same figures and holds one with other figures for a person (hub/people).
PAYROLL_IMPORT = register(
    EntitySpec(
        name="hr.payroll_import",
        strategy=Strategy.SERVER_WINS,
        site_scoped=False,
        fields={
            "period_start": FieldSpec("date", required=True, label="Period from"),
            "period_end": FieldSpec("date", required=True, label="Period to"),
            "file_sha256": FieldSpec("str", required=True, max_length=64, label="File (SHA-256)"),
            "file_name": FieldSpec("str", max_length=255, label="File"),
            "rows": FieldSpec("int", required=True, min=0, label="Employees"),
            "imported_by": FieldSpec("str", max_length=128, label="Imported by"),
            "imported_at": FieldSpec("datetime", label="Imported at"),
        },
    )
)

PAYROLL_RESULT = register(
    EntitySpec(
        name="hr.payroll_result",
        strategy=Strategy.SERVER_WINS,
        site_scoped=False,
        fields={
            "period_start": FieldSpec("date", required=True, label="Period from"),
            "period_end": FieldSpec("date", required=True, label="Period to"),
            "employee_id": FieldSpec("str", required=True, max_length=64, label="Employee"),
            "employee_number": FieldSpec("str", required=True, max_length=32, label="Employee number"),
            # Money travels as text in cents' precision ("1234.50"), never as a float (docs/finance.md).
            "gross": FieldSpec("str", required=True, max_length=20, label="Gross"),
            "deductions": FieldSpec("str", required=True, max_length=20, label="Deductions"),
            "net": FieldSpec("str", required=True, max_length=20, label="Net"),
            "hours_paid": FieldSpec("str", required=True, max_length=12, label="Hours paid"),
            "leave_days_paid": FieldSpec("str", max_length=12, label="Leave days paid"),
            "file_sha256": FieldSpec("str", required=True, max_length=64, label="File (SHA-256)"),
            "line": FieldSpec("int", min=2, label="Line in the file"),
        },
    )
)
