"""Approval requests as this PC sees them (routed by the local copy of the chains, decisions folded by the
shared rules) and deciding one offline: the decision is an `approvals.decision` row in the outbox. A leave
request's decision is written with the leave's new status in the same save, as the Leave screen writes it
(`leave_balance.decide_leave`), so the hub never sees a leave decided in the chain but still waiting (D68)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from desktop.leave_balance import decide_leave
from shared.domain.approvals import Chain, Delegation, Verdict
from shared.domain.leave_approval import DEFAULT_LEVELS
from shared.domain.leave_approval import DOCUMENT_TYPE as LEAVE_DOCUMENT
from shared.domain.ops_views import RequestView, chains_from, decision_payload, delegations_from, request_view
from shared.envelopes import Op
from shared.ids import new_ulid
from shared.store import LocalStore


def _rows(store: LocalStore, entity: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    return [(r.entity_id, r.state or {}) for r in store.query(entity)]


def delegations(store: LocalStore) -> list[Delegation]:
    return delegations_from(_rows(store, "approvals.delegation"))


def request_views(store: LocalStore) -> list[RequestView]:
    chains = chains_from(_rows(store, "approvals.chain"))
    delegated = delegations(store)
    by_request: dict[str, list[tuple[str, dict]]] = {}  # type: ignore[type-arg]
    for entity_id, data in _rows(store, "approvals.decision"):
        by_request.setdefault(str(data.get("request_id")), []).append((entity_id, data))
    # Leave is routed as the Leave screen routes it: the site's chain, else one HR level (D52).
    leave_chains = [*chains, Chain(LEAVE_DOCUMENT, DEFAULT_LEVELS)] if not any(
        c.active and c.document_type == LEAVE_DOCUMENT for c in chains) else chains
    site = store.identity.site_id if store.identity else None
    return [request_view(rid, data, by_request.get(rid, []), leave_chains, delegated, site)
            if data.get("document_type") == LEAVE_DOCUMENT else
            request_view(rid, data, by_request.get(rid, []), chains, delegated)
            for rid, data in _rows(store, "approvals.request")]


def views_by_document(store: LocalStore) -> dict[str, RequestView]:
    """The latest request of each document (a document sent for approval again has a newer request)."""
    result: dict[str, RequestView] = {}
    for view in sorted(request_views(store), key=lambda v: v.request_id):
        result[view.document_id] = view
    return result


def decide(store: LocalStore, view: RequestView, verdict: Verdict, user: str, roles: frozenset[str],
           comment: str = "") -> str:
    """Record this person's decision on the waiting level; returns the decision's id. For a leave request, the
    leave's status moves with it (refused as the Leave screen refuses: over the balance, the leave not here)."""
    if view.document_type == LEAVE_DOCUMENT:
        before = {r.entity_id for r in store.query("approvals.decision")}
        decide_leave(store, view.document_id, verdict, user, roles, comment=comment)
        return next(r.entity_id for r in store.query("approvals.decision") if r.entity_id not in before)
    payload = decision_payload(view, verdict, user, roles, datetime.now(UTC), comment)
    decision_id = new_ulid()
    store.enqueue("approvals.decision", decision_id, Op.CREATE, payload, actor=user)
    return decision_id


def today() -> date:
    return datetime.now(UTC).date()
