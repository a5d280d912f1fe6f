"""ULIDs, wire envelopes and the entity registry's validation."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError as PydanticValidationError

from shared.entities import all_specs, get_spec, validate_mutation
from shared.envelopes import Mutation, Op, OutcomeStatus, event_type
from shared.errors import UnknownEntityError, ValidationError
from shared.ids import _encode, is_ulid, new_ulid, new_ulids, ulid_timestamp_ms


def test_ulids_are_unique_sorted_and_well_formed() -> None:
    ids = [new_ulid() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(is_ulid(i) for i in ids)


def test_ulid_monotonic_within_one_millisecond() -> None:
    future_ms = 4_000_000_000_000  # ahead of any id made so far in this process
    ids = [new_ulid(now_ms=future_ms) for _ in range(100)]
    assert ids == sorted(ids) and len(set(ids)) == 100
    assert ulid_timestamp_ms(ids[0]) == future_ms


def test_ulid_stays_monotonic_when_the_clock_steps_back() -> None:
    before = new_ulid()
    after = new_ulid(now_ms=1_000)  # the wall clock jumped back decades
    assert after > before


def test_a_batch_of_ulids_is_unique_sorted_and_ordered_among_single_ones() -> None:
    before = new_ulid()
    batch = new_ulids(1000)
    after = new_ulid()
    assert len(set(batch)) == 1000 and batch == sorted(batch) and all(is_ulid(i) for i in batch)
    assert before < batch[0] and batch[-1] < after


def test_the_ulid_encoder_is_base32_in_crockfords_alphabet() -> None:
    import base64
    import random

    crockford = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    rnd = random.Random(7)
    for value in [0, 1, 2**127, 2**128 - 1, *(rnd.getrandbits(128) for _ in range(2000))]:
        assert _encode(value) == base64.b32encode(value.to_bytes(20, "big")).translate(crockford)[6:].decode()


@pytest.mark.parametrize("bad", ["", "x" * 26, "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 42, None, "01ARZ3NDEKTSV4RRFFQ69G5FA"])
def test_is_ulid_refuses_garbage(bad: object) -> None:
    assert not is_ulid(bad)


def _mutation(**over: object) -> dict[str, object]:
    m: dict[str, object] = {
        "id": new_ulid(),
        "device_id": "dev-1",
        "device_seq": 1,
        "tenant_id": "t1",
        "site_id": "s1",
        "actor": "u1",
        "entity": "equipment.unit",
        "entity_id": "DT01",
        "op": "create",
        "base_version": 0,
        "payload": {"fleet_no": "DT01", "equipment_class": "truck"},
        "created_at": "2026-11-24T10:00:00+08:00",
    }
    m.update(over)
    return m


def test_mutation_normalises_time_to_utc() -> None:
    m = Mutation.model_validate(_mutation())
    assert m.created_at == datetime.fromisoformat("2026-11-24T02:00:00+00:00")


@pytest.mark.parametrize(
    "over",
    [
        {"id": "not-a-ulid"},
        {"device_seq": 0},
        {"base_version": -1},
        {"op": "upsert"},
        {"created_at": "2026-11-24T10:00:00"},
        {"extra_field": 1},
        {"tenant_id": ""},
    ],
)
def test_mutation_envelope_refuses_bad_input(over: dict[str, object]) -> None:
    with pytest.raises(PydanticValidationError):
        Mutation.model_validate(_mutation(**over))


def test_only_held_is_not_final() -> None:
    assert [s for s in OutcomeStatus if not s.is_final] == [OutcomeStatus.HELD]


def test_event_type_names() -> None:
    assert event_type("inventory.item", Op.UPDATE) == "inventory.item.updated"


def test_registry_has_the_core_entities_with_their_strategies() -> None:
    names = {s.name for s in all_specs()}
    assert {"equipment.unit", "equipment.usage_log", "equipment.breakdown", "inventory.stock"} <= names
    assert get_spec("finance.cash_float").strategy == "adjustment"


def test_unknown_entity() -> None:
    with pytest.raises(UnknownEntityError):
        validate_mutation("no.such", Op.CREATE, {})


@pytest.mark.parametrize(
    ("entity", "op", "payload", "field"),
    [
        ("equipment.unit", Op.CREATE, {"fleet_no": "DT01"}, "equipment_class"),
        ("equipment.unit", Op.CREATE, {"fleet_no": "DT01", "equipment_class": "boat"}, "equipment_class"),
        ("equipment.unit", Op.UPDATE, {"rental_rate": -5}, "rental_rate"),
        ("equipment.unit", Op.UPDATE, {"colour": "yellow"}, "colour"),
        ("equipment.usage_log", Op.UPDATE, {"operating_hours": 14}, "operating_hours"),
        ("equipment.usage_log", Op.UPDATE, {"shift_date": "24/11/2026"}, "shift_date"),
        ("equipment.breakdown", Op.UPDATE, {"started_at": "2026-11-24T10:00:00"}, "started_at"),
        ("finance.cash_float", Op.UPDATE, {"balance": 5}, "balance"),
        ("finance.cash_float", Op.ADJUST, {"currency": 1}, "currency"),
        ("finance.cash_float", Op.ADJUST, {"balance": "5"}, "balance"),
        ("inventory.stock", Op.ADJUST, {"on_hand": -3}, "entity"),  # the hub keeps it from the movements (D27)
        ("equipment.unit", Op.UPDATE, {}, "payload"),
    ],
)
def test_validation_names_the_field(entity: str, op: Op, payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_mutation(entity, op, payload)
    assert field in info.value.field_errors


def test_create_only_entities_refuse_updates() -> None:
    with pytest.raises(ValidationError):
        validate_mutation("sync.conflict_resolution", Op.UPDATE, {"choice": "server"})


def test_oversize_payload_is_refused() -> None:
    with pytest.raises(ValidationError):
        validate_mutation("forms.submission", Op.CREATE, {"form": "f", "data": {"blob": "x" * 70_000}})
