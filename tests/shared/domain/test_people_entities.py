"""The people entities: strategies, field checks a form shows next to the field, and who may touch them."""

from __future__ import annotations

import pytest

from shared.conflicts import Strategy
from shared.entities import get_spec, validate_mutation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.permissions import allows

EXPECTED = {
    "hr.employee": Strategy.FIELD_MERGE,
    "hr.crew": Strategy.FIELD_MERGE,
    "hr.rotation_pattern": Strategy.FIELD_MERGE,
    "hr.roster_assignment": Strategy.FIELD_MERGE,
    "hr.attendance": Strategy.FIELD_MERGE,
    "hr.leave_type": Strategy.FIELD_MERGE,
    "hr.leave_request": Strategy.MANUAL,
    "hr.reconciliation_review": Strategy.MANUAL,
}


@pytest.mark.parametrize(("name", "strategy"), sorted(EXPECTED.items()))
def test_people_entities_are_registered_with_their_strategy(name: str, strategy: Strategy) -> None:
    spec = get_spec(name)
    assert spec.strategy == strategy
    assert not spec.create_only
    assert spec.context == "hr"


def test_company_wide_master_data_is_not_site_scoped() -> None:
    assert not get_spec("hr.rotation_pattern").site_scoped
    assert not get_spec("hr.leave_type").site_scoped
    assert get_spec("hr.employee").site_scoped


def test_a_complete_employee_is_accepted() -> None:
    validate_mutation("hr.employee", Op.CREATE, {
        "number": "E001", "name": "Ana Soto", "position": "Haul truck operator", "department": "Mining",
        "site": "north-pit", "crew_id": "crew-a", "hire_date": "2026-07-16", "status": "active",
        "equipment_classes": ["truck"],
    })


@pytest.mark.parametrize(
    ("entity", "op", "payload", "field"),
    [
        ("hr.employee", Op.CREATE, {"number": "E1", "name": "A", "status": "active"}, "hire_date"),
        ("hr.employee", Op.UPDATE, {"status": "retired"}, "status"),
        ("hr.roster_assignment", Op.UPDATE, {"kind": "swing"}, "kind"),
        ("hr.attendance", Op.UPDATE, {"clock_out": "2026-11-24T18:00:00"}, "clock_out"),
        ("hr.leave_request", Op.UPDATE, {"status": "maybe"}, "status"),
        ("hr.leave_type", Op.UPDATE, {"days_per_month": -1}, "days_per_month"),
        ("hr.reconciliation_review", Op.UPDATE, {"paid_hours": 25}, "paid_hours"),
        ("hr.reconciliation_review", Op.UPDATE, {"decision": "shrug"}, "decision"),
    ],
)
def test_bad_people_fields_get_a_message_on_that_field(entity: str, op: Op, payload: dict[str, object],
                                                       field: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_mutation(entity, op, payload)
    assert field in err.value.field_errors


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hr_writes_people_entities_and_viewers_and_operators_cannot_read_them(name: str) -> None:
    assert allows(["hr"], "write", name)
    assert allows(["site_manager"], "read", name)
    assert not allows(["viewer"], "read", name)
    assert not allows(["operator"], "read", name)
    assert not allows(["finance"], "read", name)


def test_hr_reads_the_equipment_register_and_usage_logs_but_writes_neither() -> None:
    for entity in ("equipment.unit", "equipment.usage_log"):
        assert allows(["hr"], "read", entity)
        assert not allows(["hr"], "write", entity)
    assert not allows(["hr"], "read", "equipment.breakdown")


def test_a_clock_out_before_clock_in_is_refused_by_the_same_rule_on_device_and_hub(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Field specs check one field at a time; the record check runs the attendance rule on the whole record, in
    # validate_mutation, which both the local store (at enqueue) and the hub (at push) call.
    from shared.entities import validate_mutation
    from shared.envelopes import Op
    from shared.errors import ValidationError
    from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider

    night = {"employee_id": "E1", "shift_date": "2026-04-04", "shift": "night",
             "clock_in": "2026-04-04T18:00:00+11:00", "clock_out": "2026-04-04T06:00:00+10:00"}
    try:
        validate_mutation("hr.attendance", Op.CREATE, night)
    except ValidationError as exc:
        assert "clock_out" in exc.field_errors and "after clock-in" in exc.field_errors["clock_out"]
    else:
        raise AssertionError("a clock-out before clock-in was accepted")
    store = LocalStore.open(tmp_path / "desk.db", PassphraseKeyProvider("t", n=2**10))
    store.set_identity(DeviceIdentity("desk-1", "t1", "north"))
    try:
        store.enqueue("hr.attendance", "A1", "create", night, actor="clerk")
    except ValidationError as exc:
        assert "clock_out" in exc.field_errors
    else:
        raise AssertionError("the store queued a clock-out before clock-in")
    assert store.outbox_depth() == 0
    # The fall-back night clocked to the next morning is 13 h and fine.
    store.enqueue("hr.attendance", "A2", "create", {**night, "clock_out": "2026-04-05T06:00:00+10:00"}, actor="clerk")
    assert store.outbox_depth() == 1
    store.close()
