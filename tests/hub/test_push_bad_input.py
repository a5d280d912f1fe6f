"""Bad input to push: a 4xx with a message, never a 500, and nothing half-applied."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.hubserver import HubProcess, provision_device
from tests.hub.test_push import db_fetch, make_device


def ledger_count(hub: HubProcess, tenant: str) -> int:
    return int(db_fetch(hub.dsn, "SELECT count(*) AS n FROM sync.applied_mutations WHERE tenant_id = $1",
                        tenant)[0]["n"])


def assert_nothing_applied(hub: HubProcess, tenant: str) -> None:
    """No trace of the refused push: no ledger row, held row, record, event or advanced device cursor."""
    counts = db_fetch(hub.dsn, """
        SELECT (SELECT count(*) FROM sync.applied_mutations WHERE tenant_id = $1) AS ledger,
               (SELECT count(*) FROM sync.held_mutations WHERE tenant_id = $1) AS held,
               (SELECT count(*) FROM sync.records WHERE tenant_id = $1) AS records,
               (SELECT count(*) FROM sync.events WHERE tenant_id = $1) AS events,
               (SELECT coalesce(max(last_seq), 0) FROM sync.device_cursors WHERE tenant_id = $1) AS cursor""",
                      tenant)[0]
    assert dict(counts) == {"ledger": 0, "held": 0, "records": 0, "events": 0, "cursor": 0}, dict(counts)


def test_whole_request_errors(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-bad", "s1", "desk-1")
    good = dev.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"})
    cases: list[tuple[str, httpx.Response, int, str]] = [
        ("malformed json", dev.client.post("/v1/sync/push", content=b"{not json",
                                           headers={"content-type": "application/json"}), 400, "malformed_json"),
        ("oversize batch", dev.push([good] * 1001), 413, "batch_too_large"),
        ("wrong tenant", dev.push([{**good, "tenant_id": "t-other"}]), 403, "wrong_tenant"),
        ("wrong device", dev.push([{**good, "device_id": "desk-2"}]), 403, "wrong_device"),
        ("not a ulid", dev.push([{**good, "id": "123"}]), 422, "validation_failed"),
        ("extra field", dev.push([{**good, "sneaky": 1}]), 422, "validation_failed"),
        ("missing mutations", dev.client.post("/v1/sync/push", json={"device_id": "desk-1"}), 422,
         "validation_failed"),
        ("no token", httpx.post(f"{live_hub.url}/v1/sync/push", json={}), 401, "unauthorized"),
        ("bad token", httpx.post(f"{live_hub.url}/v1/sync/push", json={}, headers={"Authorization": "Bearer x"}),
         401, "unauthorized"),
        ("body too large", dev.client.post("/v1/sync/push", content=b" " * (9 * 1024 * 1024),
                                           headers={"content-type": "application/json"}), 413, "payload_too_large"),
    ]
    for name, response, status, code in cases:
        assert response.status_code == status, (name, response.text)
        body = response.json()
        assert body["code"] == code and body["message"], (name, body)
    assert_nothing_applied(live_hub, "t-bad")  # nothing applied by any of them


def test_replayed_device_seq_with_another_id_is_refused_whole(live_hub: HubProcess) -> None:
    dev = make_device(live_hub, "t-reuse", "s1", "desk-1")
    first = dev.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"})
    dev.push_ok([first])
    imposter = {**dev.mutation("equipment.unit", "DT02", "create", {"fleet_no": "DT02", "equipment_class": "truck"}),
                "device_seq": 1}
    follower = dev.mutation("equipment.unit", "DT03", "create", {"fleet_no": "DT03", "equipment_class": "truck"})
    r = dev.push([follower, imposter])
    assert r.status_code == 409 and r.json()["code"] == "seq_reused"
    assert ledger_count(live_hub, "t-reuse") == 1  # the follower in the same request was not applied either


@pytest.mark.parametrize(
    ("entity", "op", "payload", "code"),
    [
        ("no.such.thing", "create", {"x": 1}, "unknown_entity"),
        ("equipment.unit", "create", {"fleet_no": "DT01"}, "validation_failed"),
        ("equipment.unit", "update", {"fleet_no": "DT09"}, "not_found"),
        ("finance.cash_float", "adjust", {"balance": "ten"}, "validation_failed"),
    ],
)
def test_per_mutation_errors_are_rejected_outcomes(live_hub: HubProcess, entity: str, op: str,
                                                   payload: dict[str, object], code: str) -> None:
    dev = make_device(live_hub, f"t-rej-{code}-{entity}", "s1", "desk-1")
    [o] = dev.push_ok([dev.mutation(entity, "X1", op, payload)])
    assert o["status"] == "rejected" and o["code"] == code and o["message"]


def test_a_device_cannot_write_another_sites_records(live_hub: HubProcess) -> None:
    a = make_device(live_hub, "t-site", "north", "desk-n")
    b = make_device(live_hub, "t-site", "south", "desk-s")
    a.push_ok([a.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"})])
    [claim] = b.push_ok([b.mutation("equipment.unit", "DT01", "update", {"status": "down"}, 1, site_id="north")])
    assert claim["status"] == "rejected" and claim["code"] == "forbidden_site"
    [sneak] = b.push_ok([b.mutation("equipment.unit", "DT01", "update", {"status": "down"}, 1)])
    assert sneak["status"] == "rejected" and sneak["code"] == "forbidden_site"


def test_tokens_of_one_tenant_never_see_another(live_hub: HubProcess) -> None:
    a = make_device(live_hub, "t-iso-a", "s1", "desk-1")
    a.push_ok([a.mutation("equipment.unit", "DT01", "create", {"fleet_no": "DT01", "equipment_class": "truck"})])
    token_b = provision_device(live_hub.dsn, "t-iso-b", "s1", "desk-1")  # same device name, other tenant
    r = httpx.get(f"{live_hub.url}/v1/sync/changes", headers={"Authorization": f"Bearer {token_b}"})
    assert r.status_code == 200 and r.json()["events"] == []
