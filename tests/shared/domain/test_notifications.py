"""What needs someone, computed from state; deterministic ids; inbox reconciliation keeps read state."""

from __future__ import annotations

from decimal import Decimal as D

from shared.domain.notifications import (
    Kind,
    LowStock,
    Notification,
    PendingApproval,
    PmDue,
    approval_needs,
    pm_needs,
    reconcile,
    stock_needs,
    unread,
)
from shared.entities import validate_mutation
from shared.envelopes import Op


def test_approval_waiting_for_each_approver() -> None:
    needs = approval_needs([PendingApproval("R1", "procurement.purchase_order", "PO 17", D(500),
                                            frozenset({"sup", "deputy"}))])
    assert [(n.user_id, n.kind) for n in needs] == [("deputy", Kind.APPROVAL_WAITING), ("sup", Kind.APPROVAL_WAITING)]
    assert needs[0].subject == "approvals.request:R1"


def test_stock_at_or_below_reorder_point_only_for_that_stores_storemen() -> None:
    rows = [LowStock("S1", "I1", "Filter", D(2), D(5)), LowStock("S1", "I2", "Oil", D(5), D(5)),
            LowStock("S1", "I3", "Bolt", D(9), D(5)), LowStock("S2", "I1", "Filter", D(0), D(5))]
    needs = stock_needs(rows, {"S1": frozenset({"ann"}), "S2": frozenset()})
    assert [n.subject for n in needs] == ["inventory.stock:S1:I1", "inventory.stock:S1:I2"]


def test_pm_due_only_inside_the_lead() -> None:
    due = [PmDue("P1", "EX01", "250 h service", "at 250 h", True), PmDue("P2", "EX02", "oil", "at 500 h", False)]
    assert [n.subject for n in pm_needs(due, frozenset({"pat"}))] == ["maintenance.pm_plan:P1:at 250 h"]


def test_ids_are_deterministic_and_payloads_valid() -> None:
    [a] = approval_needs([PendingApproval("R1", "t", "x", D(1), frozenset({"sup"}))])
    [b] = approval_needs([PendingApproval("R1", "t", "other title", D(2), frozenset({"sup"}))])
    assert a.id == b.id and a.id.startswith("ntf-")
    validate_mutation("notifications.notification", Op.CREATE, a.as_payload("2026-05-04T08:00:00+00:00"))


def test_reconcile_creates_resolves_reopens_and_is_idempotent() -> None:
    n1, n2, n3 = approval_needs([PendingApproval(r, "t", r, D(1), frozenset({"sup"})) for r in ("R1", "R2", "R3")])
    existing = [Notification(n1.id, "sup", read=True), Notification("gone", "sup"),
                Notification(n3.id, "sup", read=True, resolved=True)]
    changes = reconcile([n1, n2, n3], existing)
    assert [n.id for n in changes.create] == [n2.id]
    assert changes.resolve == ("gone",)
    assert changes.reopen == (n3.id,)
    after = [Notification(n1.id, "sup", read=True), Notification("gone", "sup", resolved=True),
             Notification(n3.id, "sup", read=True), Notification(n2.id, "sup")]
    again = reconcile([n1, n2, n3], after)
    assert (again.create, again.resolve, again.reopen) == ((), (), ())
    assert unread(after, "sup") == 1 and unread(after, "other") == 0
