"""The hub's side of consume-once documents (shared/domain/consume_once.py, D27): inside a push, lock the
document a created row claims, read what the hub has already booked against it (committed rows and this
batch's own), and run the shared rule. A refused claim and the rows that follow it become one conflict
record with a deterministic id, so a dependent arriving in a later batch finds it."""

from __future__ import annotations

from dataclasses import dataclass, field
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
from shared.domain.procurement import PoLine, ProcurementError, po_lines_from_payload

if TYPE_CHECKING:
    from hub.sync.apply import ApplyContext

REFUSED_PREFIX = "refused:"


def refused_conflict_id(principal: Key) -> str:
    """The conflict record of a refused claim, named after the row that made it."""
    return f"{REFUSED_PREFIX}{principal[0]}:{principal[1]}"


async def lock_documents(conn: asyncpg.Connection, tenant_id: str, documents: set[str]) -> None:
    """Transaction-scoped advisory locks, one per document, in a fixed order, in one statement (taken before any
    record lock, so two pushes claiming the same documents queue instead of deadlocking)."""
    if documents:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
            "FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k OFFSET 0) AS ordered",  # OFFSET 0: lock in order
            [f"{tenant_id}/{d}" for d in documents],
        )


def documents_of(entity: str, data: dict[str, Any]) -> str | None:
    """The document a stored row counts toward: a transfer's shipment and receipts, a PO line's receipts, a
    requisition's purchase orders (the keys `claim_of` gives the claims on them)."""
    if entity == MOVEMENT:
        transfer_id, po_id = data.get("transfer_id"), data.get("po_id")
        if isinstance(transfer_id, str) and transfer_id:
            return f"transfer:{transfer_id}"
        if isinstance(po_id, str) and po_id and data.get("po_line_id") is not None:
            return f"po_line:{po_id}:{data['po_line_id']}"
    elif entity == PURCHASE_ORDER:
        requisition_id = data.get("requisition_id")
        if isinstance(requisition_id, str) and requisition_id:
            return f"requisition:{requisition_id}:{data.get('vendor_id')}"
    return None


@dataclass
class Bookings:
    """What the hub has booked against each locked document, for one push: loaded once per document (while its
    lock is held nobody else can book against it) and kept up to date by every write of the transaction."""

    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # document -> entity id -> data
    _po_lines: dict[str, tuple[int, dict[str, PoLine] | None]] = field(default_factory=dict)

    def observe(self, key: Key, data: dict[str, Any], deleted: bool) -> None:
        document = documents_of(key[0], data)
        if document is None or document not in self.rows:
            return  # not loaded yet: the load will read it (a write of this transaction is read back by it)
        if deleted:
            self.rows[document].pop(key[1], None)
        else:
            self.rows[document][key[1]] = data

    async def load(self, ctx: ApplyContext, claims: list[Claim]) -> None:
        """Read the booked rows of every document these claims name that is not loaded yet: one query per kind."""
        wanted = [c for c in claims if c.document not in self.rows]
        if not wanted:
            return
        tenant = ctx.principal.tenant_id
        found: dict[str, dict[str, dict[str, Any]]] = {c.document: {} for c in wanted}
        queries = (
            (ClaimKind.TRANSFER_RECEIPT, MOVEMENT, "data->>'transfer_id'", [c.transfer_id for c in wanted]),
            (ClaimKind.PO_LINE_RECEIPT, MOVEMENT, "data->>'po_id'", [c.po_id for c in wanted]),
            (ClaimKind.REQUISITION_CONVERSION, PURCHASE_ORDER, "data->>'requisition_id'",
             [c.requisition_id for c in wanted]),
        )
        for kind, entity, column, ids in queries:
            ids = sorted({i for c, i in zip(wanted, ids, strict=True) if c.kind is kind})
            if not ids:
                continue
            rows = await ctx.conn.fetch(
                f"SELECT entity_id, data FROM sync.records WHERE tenant_id = $1 AND entity = $2 "
                f"AND {column} = ANY($3::text[]) AND {column} IS NOT NULL AND NOT deleted", tenant, entity, ids)
            for r in rows:
                document = documents_of(entity, r["data"])
                if document in found:
                    found[document][r["entity_id"]] = dict(r["data"])
        for w in ctx.writes:  # this transaction's own rows, not yet saved
            document = documents_of(w.key[0], w.data)
            if document in found:
                if w.deleted:
                    found[document].pop(w.key[1], None)
                else:
                    found[document][w.key[1]] = w.data
        self.rows.update(found)

    def po_line(self, po_id: str, version: int, data: dict[str, Any] | None, line_id: str) -> PoLine | None:
        cached = self._po_lines.get(po_id)
        if cached is None or cached[0] != version:
            try:
                lines = None if data is None else {ln.line_id: ln for ln in po_lines_from_payload(data.get("lines"))}
            except ProcurementError:
                lines = None
            cached = (version, lines)
            self._po_lines[po_id] = cached
        return None if cached[1] is None else cached[1].get(line_id)


async def judge(ctx: ApplyContext, claim: Claim) -> tuple[Verdict, dict[str, Any]]:
    """The shared rule's verdict on `claim`, and a summary of what the hub had booked (kept in the conflict).
    The claim's document must be locked (`lock_documents`) by the caller's transaction."""
    await ctx.bookings.load(ctx, [claim])
    rows = ctx.bookings.rows[claim.document]
    if claim.kind is ClaimKind.TRANSFER_RECEIPT:
        shipped, received = _sum(rows, "transfer_out"), _sum(rows, "transfer_in")
        summary = {"transfer_id": claim.transfer_id, "shipped": float(shipped), "received": float(received),
                   "receipts": _receipts(rows, "transfer_in")}
        return decide_transfer_receipt(claim, shipped=shipped, received=received), summary
    if claim.kind is ClaimKind.PO_LINE_RECEIPT:
        po = await ctx.state_of((PURCHASE_ORDER, claim.po_id))
        line = ctx.bookings.po_line(claim.po_id, po.version, po.data if po.exists else None, claim.line_id)
        received = _sum(rows, "receipt")
        summary = {"po_id": claim.po_id, "line_id": claim.line_id,
                   "ordered": float(line.quantity) if line else None, "received": float(received),
                   "receipts": _receipts(rows, "receipt")}
        return decide_po_line_receipt(claim, line, received=received), summary
    existing = sorted(rows)
    summary = {"requisition_id": claim.requisition_id, "vendor_id": claim.vendor_id, "purchase_orders": existing}
    return decide_conversion(claim, existing), summary


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
