"""The permission matrix, as data: which role may read or write which entity, and which administrative
actions each role may take. Pure (no I/O); the hub enforces it on push and on its admin surfaces, the
desktop uses it to show only the forms a signed-in person may use.

Entity rules are looked up most specific first: the exact entity name (`inventory.stock`), then its
context (`inventory.*`), then `*`. `write` implies `read`; `none` denies (it overrides a broader
pattern). Anything not listed is denied.
Site scopes are not here: a role is granted at one site or tenant-wide (`auth.role_grants`), and the
caller passes the roles that apply where the change happens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

Access = Literal["none", "read", "write"]

ROLES: Final[tuple[str, ...]] = (
    "administrator",
    "site_manager",
    "supervisor",
    "storeman",
    "maintenance_planner",
    "finance",
    "hr",
    "operator",
    "viewer",
)

ENTITY_ACTIONS: Final[tuple[str, ...]] = ("read", "write")

ADMIN_ACTIONS: Final[tuple[str, ...]] = (
    "tenants.manage",
    "sites.manage",
    "users.manage",
    "roles.grant",
    "devices.enroll",
    "devices.list",
    "devices.revoke",
    "conflicts.resolve",
    "audit.read",
    "metrics.read",
)

_N: Final = "none"
_R: Final = "read"
_W: Final = "write"

# role -> {entity pattern: access}; "none" denies explicitly (overrides a broader pattern).
ENTITY_RULES: Final[Mapping[str, Mapping[str, Access]]] = MappingProxyType({
    "administrator": {"*": _W},
    "site_manager": {"*": _W, "finance.*": _R, "hr.*": _R},
    "supervisor": {
        "equipment.*": _W, "forms.*": _W, "approvals.*": _W, "notifications.*": _W,
        "maintenance.*": _R, "maintenance.work_order": _W, "maintenance.labour_entry": _W,
        "inventory.*": _R, "procurement.*": _R, "procurement.requisition": _W,
        "sync.conflict_resolution": _W,
        # The crew's supervisor approves attendance and decides the hours reconciliation (issue 14); sees the
        # people, rosters and leave of the site to plan shifts, but keeps the employee master and leave to HR.
        "hr.*": _R, "hr.attendance": _W, "hr.reconciliation_review": _W,
    },
    "storeman": {
        "inventory.*": _W, "procurement.*": _R, "procurement.requisition": _W, "procurement.goods_receipt": _W,
        "maintenance.*": _R, "maintenance.part_consumption": _W, "equipment.*": _R,
        "forms.*": _W, "approvals.*": _R, "approvals.request": _W, "notifications.*": _W,
    },
    "maintenance_planner": {
        "maintenance.*": _W, "equipment.*": _W, "inventory.*": _R, "procurement.*": _R,
        "procurement.requisition": _W, "forms.*": _W, "approvals.*": _R, "approvals.request": _W,
        "notifications.*": _W,
    },
    "finance": {
        "finance.*": _W, "procurement.*": _W, "inventory.*": _R, "equipment.*": _R,
        "equipment.rental_contract": _W, "maintenance.*": _R, "approvals.*": _W, "forms.*": _R,
        "notifications.*": _W,
    },
    # hr.* holds the people entities (shared.domain.people); the equipment register is read to link operators to
    # the classes they may run, the usage logs to reconcile hours.
    "hr": {"hr.*": _W, "approvals.*": _W, "forms.*": _W, "notifications.*": _W, "equipment.usage_log": _R,
           "equipment.unit": _R},
    "operator": {
        "equipment.*": _R, "equipment.usage_log": _W, "equipment.breakdown": _W, "forms.submission": _W,
        "maintenance.work_order": _R, "notifications.*": _W, "approvals.request": _W,
    },
    "viewer": {"*": _R, "finance.*": _N, "hr.*": _N},
})

# role -> administrative actions
ADMIN_RULES: Final[Mapping[str, frozenset[str]]] = MappingProxyType({
    "administrator": frozenset(ADMIN_ACTIONS),
    "site_manager": frozenset({"devices.enroll", "devices.list", "devices.revoke", "conflicts.resolve"}),
    "supervisor": frozenset({"conflicts.resolve"}),
    "storeman": frozenset(),
    "maintenance_planner": frozenset(),
    "finance": frozenset(),
    "hr": frozenset(),
    "operator": frozenset(),
    "viewer": frozenset(),
})


def entity_access(role: str, entity: str) -> Access:
    """The access one role has to one entity: the most specific rule wins; no rule is "none"."""
    rules = ENTITY_RULES.get(role, {})
    context = entity.split(".", 1)[0]
    for pattern in (entity, f"{context}.*", "*"):
        if pattern in rules:
            return rules[pattern]
    return _N


def allows(roles: Iterable[str], action: str, entity: str | None = None) -> bool:
    """Whether any of `roles` may take `action`: 'read'/'write' on `entity`, or an administrative action
    (then `entity` is ignored). Unknown roles and unknown actions allow nothing."""
    roles = tuple(roles)
    if action in ENTITY_ACTIONS:
        if entity is None:
            return False
        for role in roles:
            access = entity_access(role, entity)
            if access == _W or (access == _R and action == _R):
                return True
        return False
    if action in ADMIN_ACTIONS:
        return any(action in ADMIN_RULES.get(role, frozenset()) for role in roles)
    return False


def allowed_sites(grants: Iterable[tuple[str, str | None]], action: str,
                  entity: str | None = None) -> frozenset[str] | None:
    """Where a person holding `grants` ((role, site id or None for tenant-wide) pairs) may take `action`:
    None when a tenant-wide grant allows it (every site), else the sites whose grants allow it (empty: nowhere)."""
    sites: set[str] = set()
    for role, site in grants:
        if allows((role,), action, entity):
            if site is None:
                return None
            sites.add(site)
    return frozenset(sites)


def unknown_roles(roles: Iterable[str]) -> list[str]:
    """The names in `roles` that are not roles of the matrix (for input validation)."""
    return [r for r in roles if r not in ROLES]


def readable(roles: Iterable[str], entities: Iterable[str]) -> frozenset[str]:
    """The entities of `entities` that any of `roles` may read (write implies read)."""
    roles = tuple(roles)
    return frozenset(e for e in entities if allows(roles, "read", e))


CONFLICT_RECORD: Final = "sync.conflict"
"""Conflict records carry both versions of the record they are about (`data.entity`), so they are as
readable as that entity, whoever may resolve them."""


def event_visible(allowed: frozenset[str] | None, entity: str, about: str | None = None) -> bool:
    """Whether a caller whose readable entities are `allowed` (None: no entity rule applies) may see an event
    or record of `entity`; `about` is the entity a conflict record is about (its payload's `entity`).
    The site rule is separate (a caller sees its sites and tenant-wide rows)."""
    if allowed is None:
        return True
    if entity == CONFLICT_RECORD:
        return about is not None and about in allowed
    return entity in allowed


# --- own records (issue 14, D58) --------------------------------------------------------------------------
# A role may write some records only when they are about the person themselves: an operator requests leave for
# themselves, never for a colleague. The matrix above gives such a role nothing on the entity (so `allows`
# stays false and every entity-level check is unchanged); this table adds the row-level grant. "Themselves" is
# the employee whose `hr.employee.user_id` is the acting user; the record names the employee in `owner_field`.
@dataclass(frozen=True)
class OwnRule:
    owner_field: str  # the record's field holding the employee id it is about
    fields: frozenset[str]  # the fields the person may write (never the approver's)
    statuses: tuple[str, ...]  # the statuses the person may set
    open_statuses: tuple[str, ...]  # an existing record may be changed only while it has one of these


OWN_RECORDS: Final[Mapping[str, Mapping[str, OwnRule]]] = MappingProxyType({
    "operator": {
        "hr.leave_request": OwnRule(
            "employee_id", frozenset({"employee_id", "leave_type", "start_date", "end_date", "days", "status",
                                      "reason"}),
            statuses=("requested", "cancelled"), open_statuses=("requested",)),
        # Clocking in and out for themselves (D71): the row stays pending until a supervisor decides it, and once
        # decided it is the supervisor's; never `approved_by`.
        "hr.attendance": OwnRule(
            "employee_id", frozenset({"employee_id", "shift_date", "shift", "clock_in", "clock_out", "source",
                                      "status", "notes"}),
            statuses=("pending",), open_statuses=("pending",)),
    },
})

# What a role with own records sees of the people entities at the desktop: only the rows about the person
# (the desktop filters; the hub's read rules stay entity-level and give these roles no hr.* read).
OWN_READS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "operator": ("hr.employee", "hr.roster_assignment", "hr.attendance", "hr.leave_request", "hr.leave_type",
                 "hr.reconciliation_review"),
})


def own_rule(roles: Iterable[str], entity: str) -> OwnRule | None:
    """The own-records rule that lets `roles` write `entity` when no entity-level grant does; None when an
    entity grant already allows it (nothing row-level applies) or no role has one."""
    roles = tuple(roles)
    if allows(roles, "write", entity):
        return None
    return next((OWN_RECORDS[r][entity] for r in roles if entity in OWN_RECORDS.get(r, {})), None)


def has_own_records(roles: Iterable[str]) -> bool:
    return any(r in OWN_RECORDS for r in roles)


def own_write_refusal(rule: OwnRule, op: str, payload: Mapping[str, object], current: Mapping[str, object] | None,
                      user_of: Mapping[str, str | None], actor: str) -> str | None:
    """Why `actor` may not make this write under `rule` (None: allowed). `current` is the record's state before
    it (None: new), `user_of` maps employee ids to their sign-in users (only those the check needs)."""
    if op not in ("create", "update"):
        return f"may only create or update their own {rule.owner_field} records, not {op}"
    extra = sorted(set(payload) - rule.fields)
    if extra:
        return "may not set " + ", ".join(extra) + " (an approver's fields)"
    status = payload.get("status")
    if status is not None and status not in rule.statuses:
        return f"may not set status {status!r} (only " + ", ".join(rule.statuses) + ")"
    if op == "update":
        if current is None:
            return "the record does not exist"
        if current.get("status") not in rule.open_statuses:
            return f"the record is {current.get('status')!r}: only an approver changes it now"
        owner = payload.get(rule.owner_field, current.get(rule.owner_field))
        if owner != current.get(rule.owner_field):
            return "may not move the record to another person"
    else:
        owner = payload.get(rule.owner_field)
    if not owner or user_of.get(str(owner)) != actor:
        return f"{owner} is not the employee signed in as {actor}: only their own records"
    return None
