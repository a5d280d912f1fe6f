"""The permission matrix (shared/permissions.py), tested as a table: role × action × entity → allowed."""

from __future__ import annotations

import pytest

from shared.entities import all_specs
from shared.permissions import ADMIN_ACTIONS, ADMIN_RULES, ENTITY_RULES, ROLES, allows, entity_access, unknown_roles

# (role, action, entity or None, allowed)
TABLE: list[tuple[str, str, str | None, bool]] = [
    # administrators do everything
    ("administrator", "write", "finance.journal_entry", True),
    ("administrator", "write", "sync.conflict_resolution", True),
    ("administrator", "users.manage", None, True),
    ("administrator", "audit.read", None, True),
    # site managers run the site, read the money
    ("site_manager", "write", "equipment.unit", True),
    ("site_manager", "write", "inventory.stock", True),
    ("site_manager", "read", "finance.vendor_invoice", True),
    ("site_manager", "write", "finance.vendor_invoice", False),
    ("site_manager", "devices.enroll", None, True),
    ("site_manager", "devices.revoke", None, True),
    ("site_manager", "users.manage", None, False),
    ("site_manager", "audit.read", None, False),
    # supervisors: equipment, hours, breakdowns, forms, conflicts of their shift
    ("supervisor", "write", "equipment.usage_log", True),
    ("supervisor", "write", "equipment.breakdown", True),
    ("supervisor", "write", "maintenance.work_order", True),
    ("supervisor", "write", "maintenance.pm_plan", False),
    ("supervisor", "read", "maintenance.pm_plan", True),
    ("supervisor", "write", "inventory.movement", False),
    ("supervisor", "write", "procurement.requisition", True),
    ("supervisor", "write", "procurement.purchase_order", False),
    ("supervisor", "write", "sync.conflict_resolution", True),
    ("supervisor", "read", "finance.journal_entry", False),
    ("supervisor", "conflicts.resolve", None, True),
    # storemen: the stores
    ("storeman", "write", "inventory.movement", True),
    ("storeman", "write", "inventory.stock", True),
    ("storeman", "write", "procurement.goods_receipt", True),
    ("storeman", "write", "procurement.purchase_order", False),
    ("storeman", "write", "maintenance.part_consumption", True),
    ("storeman", "write", "maintenance.work_order", False),
    ("storeman", "write", "equipment.unit", False),
    ("storeman", "read", "equipment.unit", True),
    ("storeman", "write", "sync.conflict_resolution", False),
    # maintenance planners: work orders, PM, equipment
    ("maintenance_planner", "write", "maintenance.pm_plan", True),
    ("maintenance_planner", "write", "maintenance.work_order_transition", True),
    ("maintenance_planner", "write", "equipment.breakdown", True),
    ("maintenance_planner", "write", "inventory.stock", False),
    ("maintenance_planner", "read", "inventory.stock", True),
    # finance: ledgers, payables, purchasing, rental contracts
    ("finance", "write", "finance.journal_entry", True),
    ("finance", "write", "procurement.purchase_order", True),
    ("finance", "write", "equipment.rental_contract", True),
    ("finance", "write", "equipment.usage_log", False),
    ("finance", "write", "inventory.movement", False),
    # HR: people, approvals (leave), forms
    ("hr", "write", "hr.employee", True),
    ("supervisor", "read", "hr.employee", True),
    ("supervisor", "write", "hr.employee", False),
    ("supervisor", "write", "hr.attendance", True),
    ("supervisor", "write", "hr.reconciliation_review", True),
    ("supervisor", "write", "hr.leave_request", False),
    ("storeman", "read", "hr.employee", False),
    ("hr", "write", "approvals.request", True),
    ("hr", "read", "equipment.usage_log", True),
    ("hr", "write", "equipment.usage_log", False),
    ("hr", "read", "finance.journal_entry", False),
    # operators: their hours and breakdowns, their own forms
    ("operator", "write", "equipment.usage_log", True),
    ("operator", "write", "equipment.breakdown", True),
    ("operator", "write", "forms.submission", True),
    ("operator", "write", "equipment.unit", False),
    ("operator", "read", "equipment.unit", True),
    ("operator", "read", "maintenance.work_order", True),
    ("operator", "read", "maintenance.pm_plan", False),
    ("operator", "write", "inventory.movement", False),
    ("operator", "conflicts.resolve", None, False),
    # viewers read operations, not money or people
    ("viewer", "read", "equipment.unit", True),
    ("viewer", "read", "inventory.stock", True),
    ("viewer", "write", "equipment.unit", False),
    ("viewer", "read", "finance.journal_entry", False),
    ("viewer", "read", "hr.employee", False),
    ("viewer", "devices.list", None, False),
    # nonsense allows nothing
    ("king", "write", "equipment.unit", False),
    ("administrator", "fly", "equipment.unit", False),
    ("administrator", "write", None, False),
]


@pytest.mark.parametrize(("role", "action", "entity", "allowed"), TABLE,
                         ids=[f"{r}-{a}-{e or ''}" for r, a, e, _ in TABLE])
def test_matrix(role: str, action: str, entity: str | None, allowed: bool) -> None:
    assert allows([role], action, entity) is allowed


def test_several_roles_combine() -> None:
    assert not allows(["operator"], "write", "inventory.movement")
    assert allows(["operator", "storeman"], "write", "inventory.movement")
    assert not allows([], "read", "equipment.unit")


def test_every_role_has_rules_and_every_rule_names_a_role_or_action() -> None:
    assert set(ENTITY_RULES) == set(ROLES) == set(ADMIN_RULES)
    for actions in ADMIN_RULES.values():
        assert actions <= set(ADMIN_ACTIONS)
    for rules in ENTITY_RULES.values():
        assert set(rules.values()) <= {"none", "read", "write"}
    assert unknown_roles(["viewer", "king"]) == ["king"]


def test_every_registered_entity_is_writable_by_someone_and_administrators_write_all() -> None:
    for spec in all_specs():
        writers = [r for r in ROLES if entity_access(r, spec.name) == "write"]
        assert "administrator" in writers, spec.name
        assert len(writers) >= 2, f"{spec.name}: only {writers}"


def test_allowed_sites_are_where_a_grant_allows_the_action() -> None:
    from shared.permissions import allowed_sites

    grants = [("site_manager", "s2"), ("viewer", "s1"), ("supervisor", "s3")]
    assert allowed_sites(grants, "devices.list") == frozenset({"s2"})
    assert allowed_sites(grants, "conflicts.resolve") == frozenset({"s2", "s3"})
    assert allowed_sites(grants, "write", "procurement.purchase_order") == frozenset({"s2"})
    assert allowed_sites([*grants, ("site_manager", None)], "devices.list") is None  # tenant-wide: every site
    assert allowed_sites([("viewer", None)], "devices.list") == frozenset()  # nowhere
