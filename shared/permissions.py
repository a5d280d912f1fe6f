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
