"""Reading the local stock ledger and writing a movement the way the contract wants it: the ledger row and
the running balance's adjustment (`inventory.stock`, deltas that commute) in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.domain.inventory import Movement, stock_adjustment
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
    """The ledger row and its balance adjustment (raises MovementError, with field messages, for a row
    the ledger cannot take). The balance record is created at zero first when this PC has never seen it."""
    movement = Movement.from_payload(movement_id, payload)
    record_id, adjust = stock_adjustment(movement)
    drafts = [MutationDraft("inventory.movement", movement_id, Op.CREATE, dict(payload), actor)]
    if store.get("inventory.stock", record_id) is None:
        drafts.append(MutationDraft("inventory.stock", record_id, Op.CREATE,
                                    {"store_id": movement.store_id, "item_id": movement.item_id, "on_hand": 0}, actor))
    drafts.append(MutationDraft("inventory.stock", record_id, Op.ADJUST, adjust, actor))
    return drafts
