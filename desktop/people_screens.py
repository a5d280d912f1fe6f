"""The people screens (issue 14) and who sees them: roles that may read `hr.*` (hr, site_manager, supervisor,
administrator) get the HR screens, each with its forms only for roles that may write what they save; a role
with own records (an operator, `shared.permissions.OWN_RECORDS`) gets its own roster and leave only."""

from __future__ import annotations

from desktop.attendance_view import AttendanceScreen
from desktop.leave_view import LeaveScreen
from desktop.ops_screen import OpsScreen
from desktop.org_tree_view import OrgTreeScreen
from desktop.people_view import PeopleScreen
from desktop.reconciliation_view import ReconciliationScreen
from desktop.roster_view import RosterScreen
from desktop.self_service_view import SelfServiceScreen
from desktop.site_settings_view import SiteSettingsScreen
from shared.permissions import allows, has_own_records

PEOPLE_SCREENS: list[tuple[str, type[OpsScreen]]] = [("People", PeopleScreen), ("Organisation", OrgTreeScreen),
                                                     ("Rosters", RosterScreen),
                                                     ("Attendance", AttendanceScreen),
                                                     ("Leave", LeaveScreen),
                                                     ("Hours reconciliation", ReconciliationScreen),
                                                     ("Site settings", SiteSettingsScreen)]
SELF_SERVICE: tuple[str, type[OpsScreen]] = ("My roster & leave", SelfServiceScreen)


def people_screens(roles: frozenset[str]) -> list[tuple[str, type[OpsScreen]]]:
    screens = list(PEOPLE_SCREENS) if allows(roles, "read", "hr.employee") else []
    if has_own_records(roles):
        screens.append(SELF_SERVICE)
    return screens
