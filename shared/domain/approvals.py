"""Approvals: chains by document type and amount, delegation for a period, decisions and history.

A chain lists levels in order, each with the amount from which it is needed (a PO of 5,000 needs the
supervisor; of 50,000 the supervisor then the manager). Levels are decided in order: an approver sees
what the earlier ones decided. A person may delegate for a period; the delegate acts within the dates
(delegations chain, A→B→C lets C act for A, but loops are refused). Decisions are made offline and
synced.

Strategies:
- `approvals.decision` is create-only: a decision is a fact with who/when; two people deciding the same
  level offline are both kept, and `evaluate()` takes the first valid one in time (the other stays in the
  history, marked superseded): every desktop and the hub reach the same result.
- `approvals.chain`, `approvals.delegation` and `approvals.request` are field_merge (master data and a
  document's header).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from shared.conflicts import Strategy
from shared.entities import EntitySpec, FieldSpec, register
from shared.errors import ValidationError


class ApprovalError(ValidationError):
    """A chain, delegation or decision that cannot be used."""


@dataclass(frozen=True)
class Level:
    min_amount: Decimal  # this level is needed when amount >= min_amount
    approver_user: str | None = None
    approver_role: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if (self.approver_user is None) == (self.approver_role is None):
            raise ApprovalError("a level names either one approver or one role", {"levels": "approver or role"})


@dataclass(frozen=True)
class Chain:
    document_type: str
    levels: tuple[Level, ...]
    active: bool = True
    site_id: str | None = None  # None: the tenant-wide chain, used where a site has none of its own


def route(chains: Iterable[Chain], document_type: str, amount: Decimal,
          site_id: str | None = None) -> tuple[Level, ...]:
    """The levels a document of this type and amount must pass, in order. A site's own chain wins over
    the tenant-wide one (each site manager approves their site's orders; HQ sets the default)."""
    typed = [c for c in chains if c.active and c.document_type == document_type]
    candidates = [c for c in typed if site_id is not None and c.site_id == site_id] or [
        c for c in typed if c.site_id is None]
    if not candidates:
        raise ApprovalError(f"no approval chain for {document_type}", {"document_type": "has no approval chain"})
    if len(candidates) > 1:
        raise ApprovalError(f"two active approval chains for {document_type}", {"document_type": "ambiguous chain"})
    if amount < 0:
        raise ApprovalError("an amount to approve is never negative", {"amount": "must not be negative"})
    levels = tuple(lv for lv in candidates[0].levels if amount >= lv.min_amount)
    if not levels:
        raise ApprovalError(f"the {document_type} chain has no level for {amount}", {"amount": "no level applies"})
    return levels


@dataclass(frozen=True)
class Delegation:
    delegator: str
    delegate: str
    starts_on: date
    ends_on: date  # inclusive
    document_types: frozenset[str] = frozenset()  # empty: every type
    active: bool = True

    def covers(self, on: date, document_type: str) -> bool:
        return (
            self.active
            and self.starts_on <= on <= self.ends_on
            and (not self.document_types or document_type in self.document_types)
        )


def check_delegation(new: Delegation, existing: Iterable[Delegation]) -> None:
    """Refuse a delegation that is to oneself, ends before it starts, or closes a loop with the
    delegations overlapping its period (A→B while B→A: nobody would be left to decide)."""
    if new.delegator == new.delegate:
        raise ApprovalError("nobody delegates to themselves", {"delegate": "must be someone else"})
    if new.ends_on < new.starts_on:
        raise ApprovalError("a delegation ends after it starts", {"ends_on": "is before the start"})
    overlapping = [
        d for d in existing if d.active and d.starts_on <= new.ends_on and new.starts_on <= d.ends_on
    ]
    graph: dict[str, set[str]] = {}
    for d in overlapping:
        graph.setdefault(d.delegator, set()).add(d.delegate)
    # A loop exists if the delegator can be reached from the new delegate.
    seen: set[str] = set()
    stack = [new.delegate]
    while stack:
        person = stack.pop()
        if person == new.delegator:
            raise ApprovalError(
                f"{new.delegator} → {new.delegate} would close a delegation loop", {"delegate": "closes a loop"}
            )
        if person in seen:
            continue
        seen.add(person)
        stack.extend(graph.get(person, ()))


def acts_for(user: str, delegations: Iterable[Delegation], on: date, document_type: str) -> frozenset[str]:
    """Everyone `user` may decide for on that day: themselves and, through delegations in force
    (followed transitively, loop-safe), the people who delegated to them."""
    back: dict[str, set[str]] = {}
    for d in delegations:
        if d.covers(on, document_type):
            back.setdefault(d.delegate, set()).add(d.delegator)
    result = {user}
    stack = [user]
    while stack:
        for delegator in back.get(stack.pop(), ()):
            if delegator not in result:
                result.add(delegator)
                stack.append(delegator)
    return frozenset(result)


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class Decision:
    id: str
    level: int  # index into the routed levels
    verdict: Verdict
    by: str
    roles: frozenset[str]  # the decider's roles when deciding (synced with the decision)
    at: datetime
    amount: Decimal  # the amount the decider saw: a later increase needs a new decision
    comment: str = ""


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class HistoryEntry:
    decision: Decision
    counted: bool
    on_behalf_of: str | None  # who the decider stood in for (None: in their own right)
    note: str


@dataclass(frozen=True)
class ApprovalState:
    status: ApprovalStatus
    current_level: int | None  # the level waiting for a decision (None when done)
    history: tuple[HistoryEntry, ...]


# A role level is decided by anyone holding the role when deciding; delegation applies to named approvers
# (a role has many members, so one of them being away does not block it).
def _entitled(
    level: Level, decision: Decision, delegations: Sequence[Delegation], document_type: str
) -> tuple[bool, str | None]:
    if level.approver_role is not None:
        return level.approver_role in decision.roles, None
    principals = acts_for(decision.by, delegations, decision.at.date(), document_type)
    if level.approver_user in principals:
        return True, None if level.approver_user == decision.by else level.approver_user
    return False, None


def evaluate(
    *,
    document_type: str,
    amount: Decimal,
    requested_by: str,
    levels: Sequence[Level],
    decisions: Iterable[Decision],
    delegations: Sequence[Delegation] = (),
) -> ApprovalState:
    """Fold the decisions on one document into its approval state and history.

    Decisions are taken in time order (ties by id). One counts when it is for the level now waiting,
    its decider is entitled (in their own right or as a delegate on that day), is not the requester, and
    saw at least the current amount. Anything else stays in the history with the reason."""
    history: list[HistoryEntry] = []
    current = 0
    status = ApprovalStatus.PENDING
    for d in sorted(decisions, key=lambda x: (x.at, x.id)):
        note = ""
        behalf: str | None = None
        if status is not ApprovalStatus.PENDING:
            note = f"after the document was already {status}"
        elif d.level != current:
            note = (
                f"decided level {d.level + 1} before level {current + 1}: decide again in order"
                if d.level > current
                else f"level {d.level + 1} was already decided"
            )
        elif d.by == requested_by:
            note = "the requester cannot decide on their own request"
        elif d.verdict is Verdict.APPROVE and d.amount < amount:  # a rejection stands whatever it saw
            note = f"approved {d.amount}, but the document now asks for {amount}"
        else:
            ok, behalf = _entitled(levels[current], d, delegations, document_type)
            if not ok:
                note = f"{d.by} is not an approver for level {current + 1}"
        if note:
            history.append(HistoryEntry(d, False, None, note))
            continue
        history.append(HistoryEntry(d, True, behalf, f"level {current + 1}: {d.verdict}"))
        if d.verdict is Verdict.REJECT:
            status = ApprovalStatus.REJECTED
        else:
            current += 1
            if current >= len(levels):
                status = ApprovalStatus.APPROVED
    waiting = current if status is ApprovalStatus.PENDING else None
    return ApprovalState(status, waiting, tuple(history))


def waiting_on(
    state: ApprovalState, levels: Sequence[Level], delegations: Iterable[Delegation], on: date, document_type: str
) -> frozenset[str]:
    """Users who can decide the waiting level now (named approver and their delegates); a role level
    returns the empty set (the role's members are looked up by the caller)."""
    if state.current_level is None:
        return frozenset()
    level = levels[state.current_level]
    if level.approver_user is None:
        return frozenset()
    forward: dict[str, set[str]] = {}
    for d in delegations:
        if d.covers(on, document_type):
            forward.setdefault(d.delegator, set()).add(d.delegate)
    result = {level.approver_user}
    stack = [level.approver_user]
    while stack:
        for delegate in forward.get(stack.pop(), ()):
            if delegate not in result:
                result.add(delegate)
                stack.append(delegate)
    return frozenset(result)


# --- entities -------------------------------------------------------------------------------------
CHAIN = register(
    EntitySpec(
        name="approvals.chain",
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,
        fields={
            "document_type": FieldSpec("str", required=True, max_length=64, label="Document type"),
            "name": FieldSpec("str", max_length=128, label="Name"),
            "levels": FieldSpec("list", required=True, label="Levels (min_amount, approver_user or approver_role)"),
            "active": FieldSpec("bool", label="Active"),
            "site_id": FieldSpec("str", max_length=64, label="Site (empty: the default for every site)"),
        },
    )
)

DELEGATION = register(
    EntitySpec(
        name="approvals.delegation",
        strategy=Strategy.FIELD_MERGE,
        site_scoped=False,
        fields={
            "delegator": FieldSpec("str", required=True, max_length=128, label="Delegated by"),
            "delegate": FieldSpec("str", required=True, max_length=128, label="Delegate"),
            "starts_on": FieldSpec("date", required=True, label="From"),
            "ends_on": FieldSpec("date", required=True, label="Until"),
            "document_types": FieldSpec("list", label="Document types (empty: all)"),
            "active": FieldSpec("bool", label="Active"),
        },
    )
)

REQUEST = register(
    EntitySpec(
        name="approvals.request",
        strategy=Strategy.FIELD_MERGE,
        fields={
            "document_type": FieldSpec("str", required=True, max_length=64, label="Document type"),
            "document_id": FieldSpec("str", required=True, label="Document"),
            "amount": FieldSpec("number", required=True, min=0, label="Amount"),
            "requested_by": FieldSpec("str", required=True, max_length=128, label="Requested by"),
            "requested_at": FieldSpec("datetime", label="Requested at"),
            "title": FieldSpec("str", max_length=200, label="Title"),
        },
    )
)

DECISION = register(
    EntitySpec(
        name="approvals.decision",
        strategy=Strategy.SERVER_WINS,
        create_only=True,
        fields={
            "request_id": FieldSpec("str", required=True, label="Request"),
            "level": FieldSpec("int", required=True, min=0, label="Level"),
            "verdict": FieldSpec("str", required=True, choices=tuple(v.value for v in Verdict), label="Decision"),
            "by": FieldSpec("str", required=True, max_length=128, label="By"),
            "roles": FieldSpec("list", label="Roles"),
            "at": FieldSpec("datetime", required=True, label="When"),
            "amount": FieldSpec("number", required=True, min=0, label="Amount seen"),
            "comment": FieldSpec("str", max_length=2000, label="Comment"),
        },
    )
)
