"""Stock ledger: on hand, moving-average valuation, negative balances flagged, transfers, counts."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.inventory import (
    Movement,
    MovementError,
    MovementKind,
    Position,
    count_adjustment_quantity,
    in_transit,
    on_hand,
    transfer_pair,
    transfers,
    value_ledger,
)
from shared.entities import validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError

K = MovementKind


def mv(n: int, kind: MovementKind, qty: str, cost: str | None = None, *, store: str = "S1", item: str = "I1",
       transfer: str | None = None) -> Movement:
    return Movement(f"M{n:04d}", kind, store, item, D(qty), f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}+00:00",
                    None if cost is None else D(cost), transfer)


def test_on_hand_is_the_sum_of_the_ledger_per_store_and_item() -> None:
    ledger = [
        mv(1, K.RECEIPT, "10", "5"),
        mv(2, K.ISSUE, "3"),
        mv(3, K.RECEIPT, "4", "2", store="S2"),
        mv(4, K.COUNT_ADJUSTMENT, "-1"),
        mv(5, K.ISSUE, "2", item="I2"),
    ]
    assert on_hand(ledger) == {("S1", "I1"): D(6), ("S2", "I1"): D(4), ("S1", "I2"): D(-2)}


def test_two_offline_issues_of_the_same_item_both_count() -> None:
    ledger = [mv(1, K.RECEIPT, "5", "1"), mv(2, K.ISSUE, "2"), mv(3, K.ISSUE, "2")]
    assert on_hand(ledger)[("S1", "I1")] == D(1)


def test_moving_average_receipts_move_the_average_and_issues_leave_at_it() -> None:
    v = value_ledger([mv(1, K.RECEIPT, "10", "5"), mv(2, K.RECEIPT, "10", "7"), mv(3, K.ISSUE, "5")])
    pos = v.positions[("S1", "I1")]
    assert pos == Position(D(15), D(6))
    assert pos.value == D(90)
    assert v.flags == ()


def test_negative_balance_is_kept_and_flagged_then_the_next_receipt_sets_the_average() -> None:
    v = value_ledger([mv(1, K.RECEIPT, "2", "10"), mv(2, K.ISSUE, "5"), mv(3, K.RECEIPT, "10", "4")])
    assert v.positions[("S1", "I1")] == Position(D(7), D(4))
    assert len(v.flags) == 1
    flag = v.flags[0]
    assert (flag.movement_id, flag.balance) == ("M0002", D(-3))
    assert "below zero" in flag.reason


def test_issue_from_an_empty_store_is_flagged_not_refused() -> None:
    v = value_ledger([mv(1, K.ISSUE, "1")])
    assert v.positions[("S1", "I1")].quantity == D(-1)
    assert [f.movement_id for f in v.flags] == ["M0001"]


def test_valuation_orders_by_time_not_by_arrival() -> None:
    a = [mv(1, K.RECEIPT, "10", "5"), mv(2, K.ISSUE, "10"), mv(3, K.RECEIPT, "10", "9")]
    assert value_ledger(reversed(a)).positions == value_ledger(a).positions


def test_positive_count_adjustment_is_valued_at_the_average_and_does_not_move_it() -> None:
    v = value_ledger([mv(1, K.RECEIPT, "4", "3"), mv(2, K.COUNT_ADJUSTMENT, "2"), mv(3, K.COUNT_ADJUSTMENT, "-1")])
    assert v.positions[("S1", "I1")] == Position(D(5), D(3))


def test_count_adjustment_quantity() -> None:
    assert count_adjustment_quantity(D(10), D(7)) == D(-3)
    assert count_adjustment_quantity(D(-2), D(0)) == D(2)  # a count fixes a negative balance
    assert count_adjustment_quantity(D(4), D(4)) == 0
    with pytest.raises(MovementError):
        count_adjustment_quantity(D(4), D(-1))


def test_transfers_are_in_transit_until_received() -> None:
    ledger = [
        mv(1, K.RECEIPT, "10", "5"),
        mv(2, K.TRANSFER_OUT, "6", "5", transfer="T1"),
        mv(3, K.TRANSFER_IN, "4", "5", store="S2", transfer="T1"),
    ]
    assert in_transit(ledger) == {"I1": D(2)}
    t = transfers(ledger)["T1"]
    assert (t.from_store, t.to_store, t.shipped, t.received) == ("S1", "S2", D(6), D(4))
    assert on_hand(ledger) == {("S1", "I1"): D(4), ("S2", "I1"): D(4)}
    done = [*ledger, mv(4, K.TRANSFER_IN, "2", "5", store="S2", transfer="T1")]
    assert in_transit(done) == {}
    assert value_ledger(done).positions[("S2", "I1")] == Position(D(6), D(5))


def test_transfer_in_before_its_out_arrives_is_not_negative_in_transit() -> None:
    assert in_transit([mv(1, K.TRANSFER_IN, "3", "1", store="S2", transfer="T9")]) == {}


@pytest.mark.parametrize(
    ("kind", "qty", "cost", "transfer", "field"),
    [
        (K.RECEIPT, "0", "1", None, "quantity"),
        (K.ISSUE, "-2", None, None, "quantity"),
        (K.COUNT_ADJUSTMENT, "0", None, None, "quantity"),
        (K.RECEIPT, "1", "-1", None, "unit_cost"),
        (K.TRANSFER_OUT, "1", "1", None, "transfer_id"),
    ],
)
def test_bad_movements_are_refused_with_the_field(
    kind: MovementKind, qty: str, cost: str | None, transfer: str | None, field: str
) -> None:
    with pytest.raises(MovementError) as info:
        mv(1, kind, qty, cost, transfer=transfer)
    assert field in info.value.field_errors


def test_transfer_pair_payload_is_a_valid_movement_and_refuses_one_store() -> None:
    payload = transfer_pair(transfer_id="T1", item_id="I1", from_store="S1", to_store="S2", quantity=D("2.5"),
                            unit_cost=D("4"), shipped_at="2026-01-01T08:00:00+00:00")
    validate_mutation("inventory.movement", Op.CREATE, payload)
    m = Movement.from_payload("M1", payload)
    assert (m.kind, m.delta, m.transfer_id) == (K.TRANSFER_OUT, D("-2.5"), "T1")
    with pytest.raises(MovementError):
        transfer_pair(transfer_id="T1", item_id="I1", from_store="S1", to_store="S1", quantity=D(1),
                      unit_cost=D(1), shipped_at="2026-01-01T08:00:00+00:00")


def test_movements_are_append_only() -> None:
    with pytest.raises(ValidationError, match="append-only"):
        validate_mutation("inventory.movement", Op.UPDATE, {"quantity": 3})


# --- properties -----------------------------------------------------------------------------------
quantities = st.decimals(min_value=D("0.001"), max_value=D(10_000), places=3)
costs = st.decimals(min_value=D(0), max_value=D(1_000), places=2)
kinds = st.sampled_from([K.RECEIPT, K.ISSUE, K.COUNT_ADJUSTMENT])


@st.composite
def ledgers(draw: st.DrawFn) -> list[Movement]:
    rows = []
    for n in range(draw(st.integers(min_value=0, max_value=40))):
        kind = draw(kinds)
        qty = draw(quantities)
        if kind is K.COUNT_ADJUSTMENT and draw(st.booleans()):
            qty = -qty
        cost = str(draw(costs)) if kind is K.RECEIPT else None
        store = draw(st.sampled_from(["S1", "S2"]))
        rows.append(mv(n, kind, str(qty), cost, store=store, item=draw(st.sampled_from(["I1", "I2"]))))
    return rows


@given(ledgers(), st.randoms(use_true_random=False))
def test_on_hand_equals_the_sum_of_movements_in_any_order(ledger: list[Movement], rnd: object) -> None:
    shuffled = list(ledger)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    expected: dict[tuple[str, str], D] = {}
    for m in ledger:
        expected[m.key] = expected.get(m.key, D(0)) + m.delta
    assert on_hand(shuffled) == expected == on_hand(ledger)
    # the valuation's quantities agree with the ledger whatever order the rows arrived in
    assert {k: p.quantity for k, p in value_ledger(shuffled).positions.items()} == expected


@given(ledgers())
def test_moving_average_is_never_negative_and_within_receipt_costs_when_stock_is_positive(
    ledger: list[Movement],
) -> None:
    for pos in value_ledger(ledger).positions.values():
        assert pos.average_cost >= 0
    # Without counts (found stock with no known cost comes in at the average, possibly 0), the average
    # stays between the cheapest and the dearest receipt.
    ledger = [m for m in ledger if m.kind is not K.COUNT_ADJUSTMENT]
    for key, pos in value_ledger(ledger).positions.items():
        receipt_costs = [m.unit_cost for m in ledger if m.key == key and m.unit_cost is not None]
        if pos.quantity > 0 and receipt_costs:
            assert min(receipt_costs) - D("1e-9") <= pos.average_cost <= max(receipt_costs) + D("1e-9")


@given(ledgers())
def test_every_outgoing_movement_that_ends_negative_is_flagged(ledger: list[Movement]) -> None:
    flagged = {f.movement_id for f in value_ledger(ledger).flags}
    running: dict[tuple[str, str], D] = {}
    for m in sorted(ledger, key=lambda x: (x.occurred_at, x.id)):
        running[m.key] = running.get(m.key, D(0)) + m.delta
        assert (m.id in flagged) == (running[m.key] < 0 and m.delta < 0)


def test_each_movement_adjusts_the_running_stock_balance() -> None:
    from shared.domain.inventory import stock_adjustment

    record_id, payload = stock_adjustment(mv(1, K.ISSUE, "2.5"))
    assert record_id == "S1:I1" and payload == {"on_hand": -2.5}
    with pytest.raises(ValidationError, match="kept by the hub"):  # the hub applies it, never a device (D27)
        validate_mutation("inventory.stock", Op.ADJUST, payload)
