"""Reading the local stock ledger and writing a movement the way the contract wants it: one ledger row; the
hub keeps the running balance (`inventory.stock`) from the rows it books (D27)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.domain.inventory import Movement
from shared.domain.ops_views import Rec, StockLine, stock_lines
from shared.envelopes import Op
from shared.store import LocalStore, MutationDraft


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def ledger_rows(store: LocalStore, where: dict[str, Any] | None = None) -> list[Rec]:
    return [(r.entity_id, r.state or {}) for r in store.query("inventory.movement", where=where)]


def position(store: LocalStore, store_id: str, item_id: str) -> StockLine | None:
    """The ledger's balance and moving average of one item in one store (None: never moved there)."""
    lines = stock_lines(ledger_rows(store, {"store_id": store_id, "item_id": item_id}))
    return next((ln for ln in lines if (ln.store_id, ln.item_id) == (store_id, item_id)), None)


def on_hand(store: LocalStore, store_id: str, item_id: str) -> Decimal:
    line = position(store, store_id, item_id)
    return line.quantity if line else Decimal(0)


def movement_drafts(store: LocalStore, movement_id: str, payload: Mapping[str, Any], actor: str) -> list[MutationDraft]:
    """The ledger row (raises MovementError, with field messages, for a row the ledger cannot take). The running
    balance `inventory.stock` is the hub's to keep from the rows it books (D27): this office's stock screens
    read its own ledger, so nothing else is written here."""
    Movement.from_payload(movement_id, payload)
    return [MutationDraft("inventory.movement", movement_id, Op.CREATE, dict(payload), actor)]
