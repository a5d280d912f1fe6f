"""The hub never holds approval rows for a leave it does not hold (D92), against a real hub and PostgreSQL: the rows
of a leave refused for the balance (two offline offices each booking leave the balance covers alone) are refused with
it; rows that arrive before their leave wait for it and are booked with it once, stay out when it is refused, and
move into the overlap conflict when it overlaps."""

from __future__ import annotations

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_consume_once import records
from tests.hub.test_people_rules import _approved_at_desk, _chain_approval, _decision, _leave, _master, _tenant
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
