"""The hub's side of consume-once documents (shared/domain/consume_once.py, D27): inside a push, lock the
document a created row claims, read what the hub has already booked against it (committed rows and this
batch's own), and run the shared rule. A refused claim and the rows that follow it become one conflict
record with a deterministic id, so a dependent arriving in a later batch finds it."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import asyncpg

from hub.sync.records import Key
from shared.domain.consume_once import (
    MOVEMENT,
    PURCHASE_ORDER,
    Claim,
    ClaimKind,
    Verdict,
    decide_conversion,
    decide_po_line_receipt,
    decide_transfer_receipt,
)
from shared.domain.finance import ZERO
from shared.domain.procurement import ProcurementError, po_lines_from_payload

if TYPE_CHECKING:
    from hub.sync.apply import ApplyContext

REFUSED_PREFIX = "refused:"


def refused_conflict_id(principal: Key) -> str:
    """The conflict record of a refused claim, named after the row that made it."""
    return f"{REFUSED_PREFIX}{principal[0]}:{principal[1]}"


async def lock_documents(conn: asyncpg.Connection, tenant_id: str, documents: set[str]) -> None:
    """Transaction-scoped advisory locks, one per document, in a fixed order (taken before any record lock, so
    two pushes claiming the same documents queue instead of deadlocking)."""
    for document in sorted(documents):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{tenant_id}/{document}")


async def judge(ctx: ApplyContext, claim: Claim) -> tuple[Verdict, dict[str, Any]]:
    """The shared rule's verdict on `claim`, and a summary of what the hub had booked (kept in the conflict)."""
    if claim.kind is ClaimKind.TRANSFER_RECEIPT:
        rows = await _booked(ctx, MOVEMENT, "data->>'transfer_id' = $3", [claim.transfer_id],
                             lambda d: d.get("transfer_id") == claim.transfer_id)
        shipped = _sum(rows, "transfer_out")
        received = _sum(rows, "transfer_in")
        summary = {"transfer_id": claim.transfer_id, "shipped": float(shipped), "received": float(received),
                   "receipts": _receipts(rows, "transfer_in")}
        return decide_transfer_receipt(claim, shipped=shipped, received=received), summary
    if claim.kind is ClaimKind.PO_LINE_RECEIPT:
        po = await ctx.state_of((PURCHASE_ORDER, claim.po_id))
        line = None
        if po.exists and po.data is not None:
            try:
                line = next((ln for ln in po_lines_from_payload(po.data.get("lines")) if ln.line_id == claim.line_id),
                            None)
            except ProcurementError:
                line = None
        rows = await _booked(ctx, MOVEMENT, "data->>'po_id' = $3 AND data->>'po_line_id' = $4",
                             [claim.po_id, claim.line_id],
                             lambda d: d.get("po_id") == claim.po_id and str(d.get("po_line_id")) == claim.line_id)
        received = _sum(rows, "receipt")
        summary = {"po_id": claim.po_id, "line_id": claim.line_id,
                   "ordered": float(line.quantity) if line else None, "received": float(received),
                   "receipts": _receipts(rows, "receipt")}
        return decide_po_line_receipt(claim, line, received=received), summary
    rows = await _booked(ctx, PURCHASE_ORDER, "data->>'requisition_id' = $3", [claim.requisition_id],
                         lambda d: d.get("requisition_id") == claim.requisition_id)
    existing = [entity_id for entity_id, d in rows.items() if str(d.get("vendor_id")) == claim.vendor_id]
    summary = {"requisition_id": claim.requisition_id, "vendor_id": claim.vendor_id, "purchase_orders": existing}
    return decide_conversion(claim, existing), summary


async def _booked(ctx: ApplyContext, entity: str, where: str, params: list[str],
                  matches: Any) -> dict[str, dict[str, Any]]:
    """The live rows of `entity` matching the claim: committed ones (visible once the lock is held) and the ones
    this transaction wrote earlier in the batch, by entity id."""
    rows = await ctx.conn.fetch(
        f"SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 AND {where} AND NOT deleted",
        ctx.principal.tenant_id, entity, *params,
    )
    found: dict[str, dict[str, Any]] = {r["entity_id"]: dict(r["data"]) for r in rows}
    for w in ctx.writes:
        if w.key[0] == entity and not w.deleted and matches(w.data):
            found[w.key[1]] = dict(w.data)
    return found


def _sum(rows: dict[str, dict[str, Any]], kind: str) -> Decimal:
    total = ZERO
    for d in rows.values():
        if d.get("kind") == kind:
            total += Decimal(str(d.get("quantity") or 0))
    return total


def _receipts(rows: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [{"movement_id": i, "store_id": d.get("store_id"), "quantity": d.get("quantity"),
             "occurred_at": d.get("occurred_at"), "by": d.get("by")}
            for i, d in sorted(rows.items()) if d.get("kind") == kind]
