"""Input past Python's own limits (dates past year 9999, nesting past the recursion limit, integers past the
str-digits limit): a 4xx that says what is wrong, never a 500, and nothing of the push applied."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_push import make_device
from tests.hub.test_push_bad_input import assert_nothing_applied

UNIT = {"fleet_no": "DT01", "equipment_class": "truck"}


def refused(r: httpx.Response) -> dict[str, Any]:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    body: dict[str, Any] = r.json()
    assert body["code"] and body["message"], body
    return body


def deep_json(depth: int, leaf: bytes = b"1") -> bytes:
    """`depth` levels of alternating objects and lists around `leaf`, as JSON text (the standard encoder would
    itself hit the recursion limit), outermost an object."""
    opening = b"".join(b'{"n":' if level % 2 == 0 else b"[" for level in range(depth))
    closing = b"".join(b"}" if level % 2 == 0 else b"]" for level in reversed(range(depth)))
    return opening + leaf + closing


def push_with_deep_data(dev: DeviceClient, mutations: list[dict[str, Any]], data: bytes) -> httpx.Response:
    """Push `mutations`, each payload's `data` replaced by the JSON text `data`."""
    body = orjson.dumps({"device_id": dev.device_id, "mutations": mutations})
    return dev.client.post("/v1/sync/push", content=body.replace(b'"__DEEP__"', data),
                           headers={"content-type": "application/json"})


def form(dev: DeviceClient, entity_id: str, data: object = "__DEEP__") -> dict[str, Any]:
    return dev.mutation("forms.submission", entity_id, "create", {"form": "inspection", "data": data})


@pytest.fixture
def device(live_hub: HubProcess, request: pytest.FixtureRequest) -> DeviceClient:
    return make_device(live_hub, f"t-lim-{abs(hash(request.node.name)) % 10**10}", "s1", "desk-1")


@pytest.mark.parametrize("created_at", [
    pytest.param("9999-12-31T23:59:59-05:00", id="year 9999 west of UTC"),
    pytest.param("0001-01-01T00:00:00+05:00", id="year 1 east of UTC"),
    pytest.param(10**20, id="huge number"),
    pytest.param(-(10**20), id="huge negative number"),
    pytest.param("9" * 5000, id="5000 digit string"),
])
def test_an_extreme_created_at_is_a_422_naming_created_at(live_hub: HubProcess, device: DeviceClient,
                                                          created_at: object) -> None:
    good = device.mutation("equipment.unit", "DT01", "create", UNIT)
    bad = device.mutation("equipment.unit", "DT02", "create", {**UNIT, "fleet_no": "DT02"}, created_at=created_at)
    body = refused(device.push([good, bad]))
    assert body["code"] == "validation_failed" and "created_at" in body["message"], body
    assert_nothing_applied(live_hub, device.tenant_id)


@pytest.mark.parametrize("depth", [300, 1000, 5000])
@pytest.mark.parametrize("where", ["in order", "past a device_seq gap", "with a NUL inside"])
def test_a_deeply_nested_payload_is_a_422_too_deep(live_hub: HubProcess, device: DeviceClient, depth: int,
                                                  where: str) -> None:
    good = form(device, "F1", {"ok": True})
    if where == "past a device_seq gap":
        device.seq += 1  # seq 2 never sent: the deep one would be held
    leaf = b'"a\\u0000b"' if where == "with a NUL inside" else b"1"
    body = refused(push_with_deep_data(device, [good, form(device, "F2")], deep_json(depth, leaf)))
    assert body["code"] == "too_deep" and "nests deeper" in body["message"], body
    assert_nothing_applied(live_hub, device.tenant_id)


def test_nesting_at_the_limit_is_applied_and_one_level_more_is_too_deep(live_hub: HubProcess,
                                                                        device: DeviceClient) -> None:
    from shared.envelopes import MAX_PAYLOAD_DEPTH

    # The payload object is one level, so `data` may nest one less; one more, also past a gap, is refused.
    r = push_with_deep_data(device, [form(device, "F1")], deep_json(MAX_PAYLOAD_DEPTH - 1))
    assert r.status_code == 200 and r.json()["outcomes"][0]["status"] == "applied", r.text
    device.seq += 1
    over = push_with_deep_data(device, [form(device, "F2")], deep_json(MAX_PAYLOAD_DEPTH))
    assert refused(over)["code"] == "too_deep"


@pytest.mark.parametrize("value", [
    pytest.param("١٢٣".encode(), id="Arabic-Indic digits"),
    pytest.param("²³".encode("latin-1"), id="superscript digits"),
    pytest.param(b"9" * 4301, id="4301 digits"),
    pytest.param(b"1" * 5000, id="5000 digits"),
    pytest.param(b"99999999999999999999", id="past bigint"),
    pytest.param(b"-1", id="negative"),
])
def test_a_last_event_id_that_is_not_a_sequence_number_is_a_400(live_hub: HubProcess, device: DeviceClient,
                                                                value: bytes) -> None:
    r = device.client.get("/v1/sync/stream", headers={"Last-Event-ID": value}, timeout=10)
    body = refused(r)
    assert r.status_code == 400 and body["code"] == "bad_cursor" and "Last-Event-ID" in body["message"], body


@pytest.mark.parametrize("after", ["١٢٣", "²³", "9" * 4301, "1" * 5000])
def test_an_after_cursor_that_is_not_a_sequence_number_is_a_4xx(device: DeviceClient, after: str) -> None:
    for path in ("/v1/sync/changes", "/v1/sync/stream"):
        refused(device.client.get(path, params={"after": after}, timeout=10))
