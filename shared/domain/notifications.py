"""Notifications: what needs someone, computed from state by pure functions, kept per user with read state.

Each need has a deterministic id (user, kind, subject), so computing the inbox again, on the hub or on
any desktop, finds the same notifications instead of adding copies; a notification whose need has gone
(the PO was approved, the stock was received) is resolved, and its read state is never reset.

Strategy: `notifications.notification` is field_merge: one desktop marking it read while the hub resolves
it keeps both changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shared.conflicts import Strategy
from shared.entities import EntitySpec, FieldSpec, register


class Kind(StrEnum):
    APPROVAL_WAITING = "approval_waiting"
    STOCK_BELOW_REORDER = "stock_below_reorder"
    PM_DUE = "pm_due"


@dataclass(frozen=True)
class Need:
    user_id: str
    kind: Kind
    subject: str  # what it is about, e.g. "procurement.purchase_order:01H…"
    title: str
    body: str = ""

    @property
    def id(self) -> str:
        digest = hashlib.sha256(f"{self.user_id}\x00{self.kind}\x00{self.subject}".encode()).hexdigest()
        return f"ntf-{digest[:32]}"

    def as_payload(self, created_at: str) -> dict[str, object]:
        return {
            "user_id": self.user_id,
            "kind": self.kind.value,
            "subject": self.subject,
            "title": self.title,
            "body": self.body,
            "created_at": created_at,
            "resolved": False,
        }


@dataclass(frozen=True)
class PendingApproval:
    request_id: str
    document_type: str
    title: str
    amount: Decimal
    approvers: frozenset[str]  # who can decide now (see approvals.waiting_on)


def approval_needs(pending: Iterable[PendingApproval]) -> list[Need]:
    return [
        Need(user, Kind.APPROVAL_WAITING, f"approvals.request:{p.request_id}",
             f"Approval waiting: {p.title}", f"{p.document_type} for {p.amount}")
        for p in pending
        for user in sorted(p.approvers)
    ]


@dataclass(frozen=True)
class LowStock:
    store_id: str
    item_id: str
    description: str
    on_hand: Decimal
    reorder_point: Decimal


def stock_needs(low: Iterable[LowStock], storemen: Mapping[str, frozenset[str]]) -> list[Need]:
    """One need per storeman of the store (`storemen`: store id → users) per item at or below its
    reorder point; items above it are ignored, so callers may pass every item."""
    needs: list[Need] = []
    for s in low:
        if s.on_hand > s.reorder_point:
            continue
        for user in sorted(storemen.get(s.store_id, frozenset())):
            needs.append(
                Need(user, Kind.STOCK_BELOW_REORDER, f"inventory.stock:{s.store_id}:{s.item_id}",
                     f"Below reorder point: {s.description}", f"on hand {s.on_hand}, reorder at {s.reorder_point}")
            )
    return needs


@dataclass(frozen=True)
class PmDue:
    plan_id: str
    equipment: str
    title: str
    due: str  # e.g. "at 1000 h" or "on 2026-12-01"
    raise_now: bool


def pm_needs(due: Iterable[PmDue], planners: frozenset[str]) -> list[Need]:
    return [
        Need(user, Kind.PM_DUE, f"maintenance.pm_plan:{d.plan_id}:{d.due}", f"PM due: {d.equipment} {d.title}", d.due)
        for d in due
        if d.raise_now
        for user in sorted(planners)
    ]


@dataclass(frozen=True)
class Notification:
    id: str
    user_id: str
    read: bool = False
    resolved: bool = False


@dataclass(frozen=True)
class InboxChanges:
    create: tuple[Need, ...]  # new needs
    resolve: tuple[str, ...]  # ids whose need has gone
    reopen: tuple[str, ...]  # ids resolved earlier whose need came back (read state kept)


def reconcile(needs: Iterable[Need], existing: Iterable[Notification]) -> InboxChanges:
    """What to write so the inbox matches the needs. Idempotent: applying the result and running again
    gives no changes."""
    by_id = {n.id: n for n in needs}
    current = {n.id: n for n in existing}
    create = tuple(n for i, n in sorted(by_id.items()) if i not in current)
    resolve = tuple(sorted(i for i, n in current.items() if i not in by_id and not n.resolved))
    reopen = tuple(sorted(i for i, n in current.items() if i in by_id and n.resolved))
    return InboxChanges(create, resolve, reopen)


def unread(notifications: Iterable[Notification], user_id: str) -> int:
    return sum(1 for n in notifications if n.user_id == user_id and not n.read and not n.resolved)


NOTIFICATION = register(
    EntitySpec(
        name="notifications.notification",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "user_id": FieldSpec("str", required=True, max_length=128, label="For"),
            "kind": FieldSpec("str", required=True, choices=tuple(k.value for k in Kind), label="Kind"),
            "subject": FieldSpec("str", required=True, max_length=200, label="About"),
            "title": FieldSpec("str", required=True, max_length=200, label="Title"),
            "body": FieldSpec("str", max_length=2000, label="Details"),
            "created_at": FieldSpec("datetime", label="Created"),
            "read_at": FieldSpec("datetime", label="Read at"),
            "resolved": FieldSpec("bool", label="Resolved"),
        },
    )
)
