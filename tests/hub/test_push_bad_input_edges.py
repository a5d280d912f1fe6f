"""Input PostgreSQL itself would refuse (NUL characters, numbers past 64 bits) is a 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import make_device
from tests.hub.test_push_bad_input import assert_nothing_applied


@pytest.mark.parametrize("over", [
    pytest.param({"device_seq": 2**63}, id="device_seq past bigint"),
    pytest.param({"base_version": 2**63}, id="base_version past bigint"),
    pytest.param({"entity_id": "DT\u000001"}, id="NUL in entity_id"),
    pytest.param({"actor": "u\u00001"}, id="NUL in actor"),
    pytest.param({"payload": {"fleet_no": "DT\u000001", "equipment_class": "truck"}}, id="NUL in payload"),
    pytest.param({"payload": {"fleet_no": "DT01", "equipment_class": "truck", "k\u0000": 1}}, id="NUL in key"),
    pytest.param({"payload": {"fleet_no": "DT01", "equipment_class": "truck", "n": 2**70}}, id="huge int"),
])
def test_values_postgres_cannot_store_are_refused_with_a_message(live_hub: HubProcess, over: dict[str, object]) -> None:
    tenant = f"t-edge-{abs(hash(str(over))) % 10**8}"
    dev = make_device(live_hub, tenant, "s1", "desk-1")
    m = dev.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"})
    r = dev.push([{**m, **over}])
    if r.status_code == 200:  # stored as given (jsonb keeps big numbers)
        assert r.json()["outcomes"][0]["status"] in ("applied", "rejected"), r.text
        return
    assert r.status_code == 422, r.text
    assert r.json()["message"]
    assert_nothing_applied(live_hub, tenant)


def test_resolving_a_conflict_with_a_nul_character_is_a_422_and_leaves_it_open(live_hub: HubProcess) -> None:
    from tests.hub.device import person_client
    from tests.hub.test_conflicts import open_conflicts, two_devices

    a, b = two_devices(live_hub, "t-edge-resolve")
    a.push_ok([a.mutation("forms.submission", "INSP-1", "create", {"form": "inspection", "title": "brakes ok"})])
    b.push_ok([b.mutation("forms.submission", "INSP-1", "update", {"title": "brakes worn"}, 1)])
    a.push_ok([a.mutation("forms.submission", "INSP-1", "update", {"title": "brakes replaced"}, 1)])
    [c] = [c for c in open_conflicts(a) if c["entity_id"] == "INSP-1"]
    person = person_client(live_hub.url, live_hub.dsn, "t-edge-resolve")
    r = person.post(f"/v1/conflicts/{c['id']}/resolve",
                      json={"choice": "custom", "data": {"form": "inspection", "title": "bad\u0000"}})
    assert r.status_code == 422 and r.json()["message"], r.text
    assert [x["id"] for x in open_conflicts(a) if x["entity_id"] == "INSP-1"] == [c["id"]]
