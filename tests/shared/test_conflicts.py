"""The five conflict strategies as pure functions (DESIGN.md, sync contract item 5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.conflicts import (
    DecisionKind,
    OperationError,
    Record,
    Strategy,
    apply_op,
    decide,
    is_own_lineage,
    three_way_merge,
)
from shared.envelopes import Op

BASE = {"fleet_no": "DT01", "make": "CAT", "model": "777", "status": "operating"}


def test_fresh_update_applies_under_every_strategy() -> None:
    for strategy in Strategy:
        d = decide(strategy, Op.UPDATE, {"status": "down"}, Record(3, dict(BASE)), stale=False)
        assert d.kind is DecisionKind.APPLY
        assert d.new_state == {**BASE, "status": "down"}


def test_server_wins_discards_a_stale_change_and_records_it() -> None:
    current = Record(4, {**BASE, "status": "standby"})
    d = decide(Strategy.SERVER_WINS, Op.UPDATE, {"status": "down"}, current, stale=True, base_state=BASE)
    assert d.kind is DecisionKind.CONFLICT
    assert d.new_state is None and not d.needs_person
    assert "server_wins" in (d.resolution or "")


def test_client_override_waits_for_approval() -> None:
    current = Record(4, {**BASE, "status": "standby"})
    d = decide(Strategy.CLIENT_OVERRIDE, Op.UPDATE, {"status": "down"}, current, stale=True, base_state=BASE)
    assert d.kind is DecisionKind.CONFLICT
    assert d.needs_person and d.new_state is None


def test_manual_waits_for_a_person() -> None:
    current = Record(4, {**BASE, "status": "standby"})
    d = decide(Strategy.MANUAL, Op.DELETE, {}, current, stale=True, base_state=BASE)
    assert d.kind is DecisionKind.CONFLICT and d.needs_person and d.new_state is None


def test_field_merge_takes_non_overlapping_fields() -> None:
    server = {**BASE, "make": "Komatsu"}  # the hub changed make
    d = decide(Strategy.FIELD_MERGE, Op.UPDATE, {"status": "down"}, Record(5, server), stale=True, base_state=BASE)
    assert d.kind is DecisionKind.MERGE
    assert d.new_state == {**BASE, "make": "Komatsu", "status": "down"}


def test_field_merge_keeps_the_server_value_where_both_changed_differently() -> None:
    server = {**BASE, "status": "standby", "make": "Komatsu"}
    d = decide(
        Strategy.FIELD_MERGE,
        Op.UPDATE,
        {"status": "down", "model": "785"},
        Record(5, server),
        stale=True,
        base_state=BASE,
    )
    assert d.kind is DecisionKind.CONFLICT
    assert d.conflicting_fields == ("status",)
    assert d.new_state == {**BASE, "status": "standby", "make": "Komatsu", "model": "785"}


def test_field_merge_same_change_on_both_sides_is_no_conflict() -> None:
    server = {**BASE, "status": "down"}
    d = decide(Strategy.FIELD_MERGE, Op.UPDATE, {"status": "down"}, Record(5, server), stale=True, base_state=BASE)
    assert d.kind is DecisionKind.MERGE


def test_adjustment_keeps_both_deltas_in_any_order() -> None:
    stock = Record(7, {"store_id": "S1", "item_id": "I1", "on_hand": 10})
    first = decide(Strategy.ADJUSTMENT, Op.ADJUST, {"on_hand": -3}, stock, stale=True)
    assert first.kind is DecisionKind.APPLY and first.new_state is not None
    second = decide(Strategy.ADJUSTMENT, Op.ADJUST, {"on_hand": -4}, Record(8, first.new_state), stale=True)
    assert second.new_state is not None and second.new_state["on_hand"] == 3


def test_overwriting_an_adjustment_quantity_when_stale_needs_a_person() -> None:
    stock = Record(7, {"store_id": "S1", "item_id": "I1", "on_hand": 10})
    d = decide(Strategy.ADJUSTMENT, Op.UPDATE, {"unit": "ea"}, stock, stale=True, base_state=stock.data)
    assert d.kind is DecisionKind.CONFLICT and d.needs_person


def test_update_of_missing_record_is_rejected() -> None:
    d = decide(Strategy.SERVER_WINS, Op.UPDATE, {"status": "down"}, Record(0, None), stale=False)
    assert d.kind is DecisionKind.REJECT and d.code == "not_found"


def test_adjust_of_non_numeric_field_is_rejected_not_raised() -> None:
    d = decide(Strategy.ADJUSTMENT, Op.ADJUST, {"unit": 1}, Record(1, {"unit": "ea"}), stale=False)
    assert d.kind is DecisionKind.REJECT and d.code == "not_numeric"


def test_delete_then_apply_op_returns_none() -> None:
    d = decide(Strategy.SERVER_WINS, Op.DELETE, {}, Record(2, dict(BASE)), stale=False)
    assert d.kind is DecisionKind.APPLY and d.delete and d.new_state is None


def test_create_over_a_record_someone_else_created_otherwise_is_a_conflict() -> None:
    d = decide(Strategy.SERVER_WINS, Op.CREATE, {**BASE, "status": "down"}, Record(1, dict(BASE)), stale=True,
               base_state=None)
    assert d.kind is DecisionKind.CONFLICT
    # Created exactly as it stands: nothing to decide (D61, tests/shared/test_conflicts_identical_create.py).
    same = decide(Strategy.SERVER_WINS, Op.CREATE, dict(BASE), Record(1, dict(BASE)), stale=True, base_state=None)
    assert same.kind is DecisionKind.UNCHANGED


def test_apply_op_rejects_boolean_delta() -> None:
    with pytest.raises(OperationError):
        apply_op({"on_hand": 1}, Op.ADJUST, {"on_hand": True})


def test_own_lineage() -> None:
    assert is_own_lineage([], "d1")
    assert is_own_lineage(["d1", "d1"], "d1")
    assert not is_own_lineage(["d1", "d2"], "d1")


@given(st.lists(st.integers(min_value=-1000, max_value=1000), max_size=30), st.randoms())
def test_adjustments_commute(deltas: list[int], rnd: object) -> None:
    import random

    assert isinstance(rnd, random.Random)
    shuffled = list(deltas)
    rnd.shuffle(shuffled)
    a: dict[str, object] | None = {"on_hand": 0}
    b: dict[str, object] | None = {"on_hand": 0}
    for d in deltas:
        a = apply_op(a, Op.ADJUST, {"on_hand": d})
    for d in shuffled:
        b = apply_op(b, Op.ADJUST, {"on_hand": d})
    assert a == b == {"on_hand": sum(deltas)}


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 3)),
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 3)),
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 3)),
)
def test_three_way_merge_never_loses_a_one_sided_change(
    base: dict[str, int], server_changes: dict[str, int], client_changes: dict[str, int]
) -> None:
    server = {**base, **server_changes}
    result = three_way_merge(base, server, client_changes)
    for name, value in client_changes.items():
        if server.get(name) == base.get(name):
            assert result.merged[name] == value  # only the client changed it
        elif name not in result.conflicting:
            assert result.merged[name] == value == server[name]
        else:
            assert result.merged[name] == server[name]
    for name, value in server.items():
        if name not in client_changes:
            assert result.merged[name] == value
