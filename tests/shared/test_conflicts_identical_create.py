"""D61: a create of a record that already exists with exactly the same data changes nothing, whatever the
strategy and whoever wrote it; any difference (a value, a field more or less, true for 1) is decided as before."""

from __future__ import annotations

import pytest

from shared.conflicts import DecisionKind, Record, Strategy, decide, same_data
from shared.envelopes import Op

ROW = {"employee_id": "emp-anna", "crew_id": "A", "shift_date": "2026-09-05", "kind": "night", "source": "generated"}


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("stale", [True, False])
def test_an_identical_create_is_unchanged_for_every_strategy_stale_or_not(strategy: Strategy, stale: bool) -> None:
    d = decide(strategy, Op.CREATE, dict(ROW), Record(1, dict(ROW)), stale=stale, base_state={})
    assert d.kind is DecisionKind.UNCHANGED
    assert d.new_state is None and not d.needs_person and not d.delete and "already so" in (d.resolution or "")


def test_key_order_does_not_matter_but_every_value_does() -> None:
    reordered = dict(reversed(list(ROW.items())))
    assert decide(Strategy.FIELD_MERGE, Op.CREATE, reordered, Record(1, dict(ROW)), stale=True,
                  base_state={}).kind is DecisionKind.UNCHANGED
    for other in ({**ROW, "kind": "day"}, {**ROW, "notes": "swap"}, {k: v for k, v in ROW.items() if k != "crew_id"}):
        d = decide(Strategy.FIELD_MERGE, Op.CREATE, other, Record(1, dict(ROW)), stale=True, base_state={})
        assert d.kind is DecisionKind.CONFLICT
        assert d.resolution == "field_merge: cannot merge a delete or create; hub kept"


def test_a_different_own_re_create_still_replaces_and_a_deleted_record_is_not_already_so() -> None:
    d = decide(Strategy.SERVER_WINS, Op.CREATE, {**ROW, "kind": "off"}, Record(1, dict(ROW)), stale=False)
    assert d.kind is DecisionKind.APPLY and d.new_state == {**ROW, "kind": "off"}
    # Deleted (the hub keeps the last data): creating it again with that data is a create like any other.
    gone = decide(Strategy.FIELD_MERGE, Op.CREATE, dict(ROW), Record(2, dict(ROW), deleted=True), stale=True,
                  base_state=dict(ROW))
    assert gone.kind is DecisionKind.CONFLICT
    assert decide(Strategy.FIELD_MERGE, Op.CREATE, dict(ROW), Record(2, dict(ROW), deleted=True),
                  stale=False).kind is DecisionKind.APPLY


def test_updates_and_deletes_are_not_affected() -> None:
    current = Record(2, dict(ROW))
    assert decide(Strategy.SERVER_WINS, Op.UPDATE, {"kind": "night"}, current, stale=True,
                  base_state=dict(ROW)).kind is DecisionKind.CONFLICT
    deleted = decide(Strategy.MANUAL, Op.DELETE, {}, current, stale=True, base_state=dict(ROW))
    assert deleted.kind is DecisionKind.CONFLICT


def test_same_data_is_json_equality() -> None:
    assert same_data({"a": [1, {"b": 2.0}], "c": None}, {"c": None, "a": [1, {"b": 2}]})  # one JSON number
    assert not same_data({"paid": True}, {"paid": 1}) and not same_data({"n": 0}, {"n": False})  # == says equal
    assert not same_data({"a": [1, 2]}, {"a": [2, 1]}) and not same_data({"a": "1"}, {"a": 1})
    assert not same_data({"a": None}, {}) and not same_data({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}})
    assert same_data([], ()) and not same_data({}, [])
