"""The people screens (issue 14) and who sees them: only roles that may read `hr.*` (hr, site_manager,
administrator); each screen shows its forms only to roles that may write what they save."""

from __future__ import annotations

from desktop.attendance_view import AttendanceScreen
from desktop.leave_view import LeaveScreen
from desktop.ops_screen import OpsScreen
from desktop.people_view import PeopleScreen
from desktop.reconciliation_view import ReconciliationScreen
from shared.permissions import allows

PEOPLE_SCREENS: list[tuple[str, type[OpsScreen]]] = [("People", PeopleScreen), ("Attendance", AttendanceScreen),
                                                     ("Leave", LeaveScreen),
                                                     ("Hours reconciliation", ReconciliationScreen)]


def people_screens(roles: frozenset[str]) -> list[tuple[str, type[OpsScreen]]]:
    return PEOPLE_SCREENS if allows(roles, "read", "hr.employee") else []
