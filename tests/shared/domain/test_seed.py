"""The seed generator: valid, deterministic, and consistent with the domain rules it claims to follow."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest

from shared.domain.approvals import Decision, Level, Verdict, evaluate
from shared.domain.inventory import Movement, in_transit, on_hand, value_ledger
from shared.domain.maintenance import Transition, WorkOrderState, WorkOrderStatus, replay
from shared.domain.seed import SeedDraft, SiteSpec, generate
from shared.entities import validate_mutation
from shared.envelopes import Op

SMALL = SiteSpec(seed=7, machines=8, items=150, vendors=6, days=100, issues_per_day=12)


@pytest.fixture(scope="module")
def drafts() -> list[SeedDraft]:
    return list(generate(SMALL))


def of(drafts: list[SeedDraft], entity: str) -> list[SeedDraft]:
    return [d for d in drafts if d.entity == entity]


def test_every_draft_is_valid_and_every_create_is_new(drafts: list[SeedDraft]) -> None:
    seen: set[tuple[str, str]] = set()
    for d in drafts:
        validate_mutation(d.entity, Op(d.op), d.payload)
        key = (d.entity, d.entity_id)
        if d.op == "create":
            assert key not in seen, key
            seen.add(key)
        else:
            assert key in seen, f"{d.op} before create: {key}"
    assert len(of(drafts, "equipment.unit")) == 8 and len(of(drafts, "inventory.item")) == 150


def test_the_same_spec_gives_the_same_drafts_and_another_seed_does_not(drafts: list[SeedDraft]) -> None:
    assert list(generate(SMALL)) == drafts
    other = list(generate(SiteSpec(seed=8, machines=8, items=150, vendors=6, days=100, issues_per_day=12)))
    assert other != drafts


def test_the_stock_balances_agree_with_the_ledger_and_never_go_negative(drafts: list[SeedDraft]) -> None:
    movements = [Movement.from_payload(d.entity_id, d.payload) for d in of(drafts, "inventory.movement")]
    kinds = {m.kind.value for m in movements}
    assert kinds == {"receipt", "issue", "transfer_out", "transfer_in", "count_adjustment"}
    assert not of(drafts, "inventory.stock")  # the hub keeps the balances from the movements it books (D27)
    assert all(v >= 0 for v in on_hand(movements).values())
    valuation = value_ledger(movements)
    assert valuation.flags == ()
    assert all(p.quantity >= 0 and p.average_cost >= 0 for p in valuation.positions.values())
    assert sum(in_transit(movements).values(), Decimal(0)) <= 2  # at most the last day's transfer


def test_the_seed_writes_no_journal_records_the_hub_posts_the_ledger_from_its_operations(
        drafts: list[SeedDraft]) -> None:
    """D75: a seeded journal would post twice what the hub posts from the receipt movements and invoices."""
    assert not of(drafts, "finance.journal_entry")
    movements = {d.entity_id: d.payload for d in of(drafts, "inventory.movement")}
    grs = of(drafts, "procurement.goods_receipt")
    assert grs and all(movements[d.payload["movement_id"]]["po_id"] == d.payload["po_id"] for d in grs)
    received = {(d.payload["po_id"], d.payload["line_id"]) for d in of(drafts, "procurement.goods_receipt")}
    assert {(d.payload["po_id"], ln["po_line_id"]) for d in of(drafts, "finance.vendor_invoice")
            for ln in d.payload["lines"]} <= received  # every invoice line bills goods that arrived


def test_every_work_order_lifecycle_replays_without_rejection(drafts: list[SeedDraft]) -> None:
    steps: dict[str, list[Transition]] = defaultdict(list)
    for d in of(drafts, "maintenance.work_order_transition"):
        p = d.payload
        steps[str(p["work_order_id"])].append(Transition(
            d.entity_id, str(p["work_order_id"]), WorkOrderStatus(p["from_status"]), WorkOrderStatus(p["to_status"]),
            str(p["by"]), datetime.fromisoformat(str(p["at"])), frozenset(p["roles"])))
    work_orders = {d.entity_id: d.payload for d in of(drafts, "maintenance.work_order") if d.op == "create"}
    assert set(steps) == set(work_orders)
    statuses = set()
    for wo_id, wo_steps in steps.items():
        wo = work_orders[wo_id]
        first = min(wo_steps, key=lambda t: (t.at, t.id))
        result = replay(WorkOrderState(wo_id, WorkOrderStatus.REQUESTED, str(wo["requested_by"]), first.at), wo_steps)
        assert result.rejected == (), result.rejected
        statuses.add(result.state.status)
    assert WorkOrderStatus.CLOSED in statuses
    assert statuses <= {WorkOrderStatus.CLOSED, WorkOrderStatus.PLANNED}  # PMs raised ahead are still planned


def test_every_purchase_order_is_approved_by_its_chain(drafts: list[SeedDraft]) -> None:
    [chain] = of(drafts, "approvals.chain")
    levels = [Level(Decimal(lv["min_amount"]), lv.get("approver_user"), lv.get("approver_role"))
              for lv in chain.payload["levels"]]
    decisions: dict[str, list[Decision]] = defaultdict(list)
    for d in of(drafts, "approvals.decision"):
        p = d.payload
        decisions[str(p["request_id"])].append(Decision(
            d.entity_id, int(p["level"]), Verdict(p["verdict"]), str(p["by"]), frozenset(p["roles"]),
            datetime.fromisoformat(str(p["at"])), Decimal(str(p["amount"]))))
    requests = of(drafts, "approvals.request")
    assert requests
    for r in requests:
        amount = Decimal(str(r.payload["amount"]))
        routed = [lv for lv in levels if amount >= lv.min_amount]
        state = evaluate(document_type=str(r.payload["document_type"]), amount=amount,
                         requested_by=str(r.payload["requested_by"]), levels=routed,
                         decisions=decisions[r.entity_id])
        assert state.status.value == "approved", (r.entity_id, state.history)


def test_history_covers_every_day_and_every_machine(drafts: list[SeedDraft]) -> None:
    logs = of(drafts, "equipment.usage_log")
    assert len(logs) == SMALL.machines * SMALL.days * 2
    days = sorted({date.fromisoformat(str(d.payload["shift_date"])) for d in logs})
    assert days[0] == SMALL.start and (days[-1] - days[0]).days == SMALL.days - 1


@pytest.mark.slow
def test_the_full_size_site() -> None:
    counts: dict[str, int] = defaultdict(int)
    for d in generate(SiteSpec()):
        counts[d.entity] += 1
    assert counts["equipment.unit"] == 120 and counts["inventory.item"] == 5_000
    assert counts["equipment.usage_log"] == 120 * 730 * 2
    assert counts["inventory.movement"] > 40_000 and counts["procurement.purchase_order"] > 1_000
