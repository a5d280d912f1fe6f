"""The hub never holds approval rows for a leave it does not hold (D92), against a real hub and PostgreSQL: the rows
of a leave refused for the balance (two offline offices each booking leave the balance covers alone) are refused with
it; rows that arrive before their leave wait for it and are booked with it once, stay out when it is refused, and
move into the overlap conflict when it overlaps."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from desktop.leave_balance import decide_leave
from shared.domain.approvals import Verdict
from shared.domain.leave_approval import approval_payload, approval_request_id
from shared.envelopes import Op
from shared.ids import new_ulid
from shared.store import DeviceIdentity, LocalStore, MutationDraft
from shared.sync import SyncClient
from tests.e2e.test_people_week import KEY
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.hub.device import DeviceClient
from tests.hub.test_consume_once import records
from tests.hub.test_people_rules import (
    ANNUAL,
    EMPLOYEE,
    _approved_at_desk,
    _chain_approval,
    _decision,
    _leave,
    _master,
    _tenant,
)
from tests.hub.test_push import make_device


def _rows_of(live_hub: HubProcess, tenant: str, leave_id: str) -> tuple[set[str], list[dict[str, object]]]:
    requests = set(records(live_hub, tenant, "approvals.request")) & {f"leave:{leave_id}"}
    decisions = [d for d in records(live_hub, tenant, "approvals.decision").values()
                 if d["request_id"] == f"leave:{leave_id}"]
    return requests, decisions


def test_two_offices_over_the_balance_together_refuse_the_second_leave_with_its_approval_rows(
        live_hub: HubProcess) -> None:
    tenant = _tenant("overbal")
    north, south = make_device(live_hub, tenant, "s1", "north"), make_device(live_hub, tenant, "s1", "south")
    _master(north)
    # 8 days available in March 2026 (see the balance test); each office approves 5 offline: alone fine, together not.
    out = north.push_ok(_approved_at_desk(north, "L1", "2026-03-02", "2026-03-06", 5, "boss"))
    assert [o["status"] for o in out] == ["applied"] * 4, out
    out = south.push_ok(_approved_at_desk(south, "L2", "2026-03-16", "2026-03-20", 5, "boss"))
    assert out[0]["status"] == "rejected" and "available" in out[0]["message"], out
    assert [(o["status"], o.get("code")) for o in out[1:3]] == [("rejected", "follows_refused")] * 2, out
    assert all("was refused by the hub" in o["message"] and out[0]["message"] in o["message"] for o in out[1:3])
    assert out[3]["status"] == "rejected", out
    assert set(records(live_hub, tenant, "hr.leave_request")) == {"L1"}
    assert _rows_of(live_hub, tenant, "L2") == (set(), [])  # nothing names a leave the hub does not hold
    assert records(live_hub, tenant, "sync.conflict")["leave_waiting:L2"]["status"] == "refused"
    # A decision the south office makes later on its refused leave is refused too, naming the leave's reason.
    [late] = south.push_ok([_decision(south, "L2", 5, "boss2")])
    assert late["status"] == "rejected" and late["code"] == "follows_refused", late
    assert _rows_of(live_hub, tenant, "L2") == (set(), [])


def test_approval_rows_before_their_leave_wait_and_are_booked_with_it_once(live_hub: HubProcess) -> None:
    tenant = _tenant("early")
    hq, desk = make_device(live_hub, tenant, "s1", "hq"), make_device(live_hub, tenant, "s1", "desk")
    _master(hq)
    early = _chain_approval(desk, "L5", 2)
    out = desk.push_ok(early)
    assert [(o["status"], o.get("code")) for o in out] == [("conflict", "waits_for_leave")] * 2, out
    assert _rows_of(live_hub, tenant, "L5") == (set(), [])
    assert len(records(live_hub, tenant, "sync.conflict")["leave_waiting:L5"]["dependents"]) == 2
    # The leave arrives created approved: the waiting request and decision count for the chain and are booked with it.
    [leave] = hq.push_ok([_leave(hq, "L5", "2026-03-02", "2026-03-03", status="approved", approved_by="boss",
                                 approval_request_id="leave:L5", days=2)])
    assert leave["status"] == "applied", leave
    requests, decisions = _rows_of(live_hub, tenant, "L5")
    assert requests == {"leave:L5"} and len(decisions) == 1 and decisions[0]["by"] == "boss"
    assert records(live_hub, tenant, "sync.conflict")["leave_waiting:L5"]["status"] == "booked"
    # The desk sending its rows again (a retry) and a change to the leave book nothing twice.
    again = desk.push_ok(early)
    assert [o["status"] for o in again] == ["duplicate", "duplicate"], again
    [edit] = hq.push_ok([hq.mutation("hr.leave_request", "L5", "update", {"reason": "family"}, base_version=1)])
    assert edit["status"] == "applied", edit
    assert len(_rows_of(live_hub, tenant, "L5")[1]) == 1
    # A later decision on the booked leave is booked as usual.
    [later] = desk.push_ok([_decision(desk, "L5", 2, "mgr")])
    assert later["status"] == "applied", later


def test_approval_rows_before_a_leave_the_hub_refuses_stay_out_with_it(live_hub: HubProcess) -> None:
    tenant = _tenant("earlyref")
    hq, desk = make_device(live_hub, tenant, "s1", "hq"), make_device(live_hub, tenant, "s1", "desk")
    _master(hq)
    out = desk.push_ok(_chain_approval(desk, "L6", 10))
    assert [o["status"] for o in out] == ["conflict", "conflict"], out
    [over] = hq.push_ok([_leave(hq, "L6", "2026-03-10", "2026-03-19", approval_request_id="leave:L6", days=10)])
    assert over["status"] == "rejected" and "8.00 available" in over["message"], over
    waiting = records(live_hub, tenant, "sync.conflict")["leave_waiting:L6"]
    assert waiting["status"] == "refused" and len(waiting["dependents"]) == 2  # kept, not booked: nothing lost
    assert _rows_of(live_hub, tenant, "L6") == (set(), [])
    [late] = desk.push_ok([_decision(desk, "L6", 10, "boss2")])
    assert late["status"] == "rejected" and "was refused by the hub" in late["message"], late


def test_approval_rows_before_an_overlapping_leave_move_into_its_conflict_and_follow_the_person(
        live_hub: HubProcess) -> None:
    tenant = _tenant("earlyovl")
    hq, desk = make_device(live_hub, tenant, "s1", "hq"), make_device(live_hub, tenant, "s1", "desk")
    _master(hq)
    assert hq.push_ok([_leave(hq, "L1", "2026-03-02", "2026-03-04")])[0]["status"] == "applied"
    assert [o["status"] for o in desk.push_ok(_chain_approval(desk, "L7", 3))] == ["conflict", "conflict"]
    [clash] = hq.push_ok([_leave(hq, "L7", "2026-03-03", "2026-03-05", approval_request_id="leave:L7", days=3)])
    assert clash["status"] == "conflict" and clash["code"] == "leave_overlap", clash
    conflicts = records(live_hub, tenant, "sync.conflict")
    assert len(conflicts["leave_overlap:L7"]["dependents"]) == 2
    assert conflicts["leave_waiting:L7"]["status"] == "moved"
    [chose] = hq.push_ok([hq.mutation("sync.conflict_resolution", new_ulid(), "create", {
        "conflict_id": "leave_overlap:L7", "choice": "client"})])
    assert chose["status"] == "applied", chose
    requests, decisions = _rows_of(live_hub, tenant, "L7")
    assert requests == {"leave:L7"} and len(decisions) == 1


def _office(hub: HubProcess, tmp_path: Path, tenant: str, name: str) -> tuple[LocalStore, SyncClient]:
    path = tmp_path / f"{name}.db"
    store = LocalStore.open(path, KEY)
    store.set_identity(DeviceIdentity(name, tenant, "north"))
    token = provision_device(hub.dsn, tenant, "north", name)
    return store, SyncClient(lambda: LocalStore.open(path, KEY), hub.url, lambda: token)


def _approve_at(store: LocalStore, leave_id: str, first: date, last: date) -> None:
    """What the Leave screen does at an offline office: the request, its approval request, HR's decision."""
    leave = {"employee_id": "E100", "leave_type": "AL", "start_date": first.isoformat(), "end_date": last.isoformat(),
             "days": float((last - first).days + 1), "status": "requested",
             "approval_request_id": approval_request_id(leave_id)}
    store.enqueue_many([MutationDraft("hr.leave_request", leave_id, Op.CREATE, leave, "ana"), MutationDraft(
        "approvals.request", approval_request_id(leave_id), Op.CREATE,
        approval_payload(leave_id, leave, "ana", datetime(2026, 2, 25, tzinfo=UTC)), "ana")])
    assert decide_leave(store, leave_id, Verdict.APPROVE, "boss", frozenset({"hr"}))["status"] == "approved"


def test_two_offline_offices_over_the_balance_through_their_stores_see_the_rows_refused_beside_the_leave(
        live_hub: HubProcess, tmp_path: Path) -> None:
    tenant = _tenant("stores")
    hq, hq_sync = _office(live_hub, tmp_path, tenant, "hq")
    north, north_sync = _office(live_hub, tmp_path, tenant, "north-office")
    south, south_sync = _office(live_hub, tmp_path, tenant, "south-office")
    hq.enqueue_many([MutationDraft("hr.employee", "E100", Op.CREATE, EMPLOYEE, "hq"),
                     MutationDraft("hr.leave_type", "AL", Op.CREATE, ANNUAL, "hq")])
    hq_sync.push_until_empty()
    for sync in (north_sync, south_sync):
        sync.catch_up()
    # Offline, each office approves five days of the eight Ana has: each is fine alone, together they are not.
    _approve_at(north, "L-north", date(2026, 3, 2), date(2026, 3, 6))
    _approve_at(south, "L-south", date(2026, 3, 16), date(2026, 3, 20))
    for sync in (north_sync, south_sync):
        sync.push_until_empty()
    for sync in (north_sync, south_sync):
        sync.catch_up()
    assert set(records(live_hub, tenant, "hr.leave_request")) == {"L-north"}
    assert _rows_of(live_hub, tenant, "L-south") == (set(), [])
    assert {r.entity_id for r in north.query("approvals.request")} == {"leave:L-north"}
    refused = {(r["entity"], r["code"]) for r in south.rejections()}
    assert ("hr.leave_request", "validation_failed") in refused, refused
    assert {("approvals.request", "follows_refused"), ("approvals.decision", "follows_refused")} <= refused
    [leave_reason] = [r["message"] for r in south.rejections() if r["code"] == "validation_failed"]
    assert all(leave_reason in r["message"] for r in south.rejections() if r["code"] == "follows_refused")


def _race(pushes: dict[str, tuple[DeviceClient, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    """Push each batch from its own thread, released together."""
    start, answers = threading.Barrier(len(pushes)), {}

    def push(name: str) -> None:
        dev, batch = pushes[name]
        start.wait()
        answers[name] = dev.push_ok(batch)

    threads = [threading.Thread(target=push, args=(name,)) for name in pushes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_approval_rows_racing_their_leave_are_booked_with_it_whichever_push_commits_first(
        live_hub: HubProcess) -> None:
    tenant = _tenant("race")
    hq, desk = make_device(live_hub, tenant, "s1", "hq"), make_device(live_hub, tenant, "s1", "desk")
    _master(hq)
    for i in range(6):
        leave_id, day = f"LR{i}", f"2026-03-{2 + i:02d}"
        answers = _race({"desk": (desk, _chain_approval(desk, leave_id, 1)), "hq": (hq, [
            _leave(hq, leave_id, day, day, approval_request_id=f"leave:{leave_id}", days=1)])})
        assert answers["hq"][0]["status"] == "applied", answers
        requests, decisions = _rows_of(live_hub, tenant, leave_id)
        assert requests == {f"leave:{leave_id}"} and len(decisions) == 1, (answers, requests, decisions)
