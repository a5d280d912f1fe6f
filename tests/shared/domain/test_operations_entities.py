"""The operations entities are registered with the strategy their docstrings argue for."""

from __future__ import annotations

import pytest

from shared.conflicts import Strategy
from shared.entities import get_spec

EXPECTED = {
    "inventory.store": (Strategy.FIELD_MERGE, False),
    "inventory.item": (Strategy.FIELD_MERGE, False),
    "inventory.movement": (Strategy.SERVER_WINS, True),
    "inventory.stock": (Strategy.ADJUSTMENT, False),
    "maintenance.work_order": (Strategy.FIELD_MERGE, False),
    "maintenance.work_order_transition": (Strategy.SERVER_WINS, True),
    "maintenance.labour_entry": (Strategy.FIELD_MERGE, False),
    "maintenance.part_consumption": (Strategy.SERVER_WINS, True),
    "maintenance.pm_plan": (Strategy.FIELD_MERGE, False),
    "procurement.vendor": (Strategy.FIELD_MERGE, False),
    "procurement.requisition": (Strategy.FIELD_MERGE, False),
    "procurement.purchase_order": (Strategy.MANUAL, False),
    "procurement.goods_receipt": (Strategy.SERVER_WINS, True),
    "approvals.chain": (Strategy.FIELD_MERGE, False),
    "approvals.delegation": (Strategy.FIELD_MERGE, False),
    "approvals.request": (Strategy.FIELD_MERGE, False),
    "approvals.decision": (Strategy.SERVER_WINS, True),
    "notifications.notification": (Strategy.FIELD_MERGE, False),
    "finance.journal_entry": (Strategy.SERVER_WINS, True),
    "finance.vendor_invoice": (Strategy.MANUAL, False),
}


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_strategy_and_append_only(name: str, expected: tuple[Strategy, bool]) -> None:
    spec = get_spec(name)
    assert (spec.strategy, spec.create_only) == expected
    assert spec.context == name.split(".")[0]
