"""The hub runs the people rules on what it applies (D50), against a real hub and PostgreSQL: a clock-out before
the clock-in sent as an update, leave over the balance without an approver's flag, and overlapping leave approved
at two offline offices (the second is a conflict for a person, however the pushes race), payroll results imported
twice."""

from __future__ import annotations

import threading
from typing import Any

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_consume_once import records
from tests.hub.test_push import make_device

EMPLOYEE = {"number": "E100", "name": "Ana Rojas", "hire_date": "2025-01-01", "status": "active", "user_id": "ana"}
ANNUAL = {"code": "AL", "name": "Annual leave", "days_per_month": 1.5, "carry_over_cap": 5}


def _tenant(prefix: str) -> str:
    return f"t-{prefix}-{new_ulid()[-6:].lower()}"


def _master(dev: DeviceClient) -> None:
    out = dev.push_ok([dev.mutation("hr.employee", "E100", "create", EMPLOYEE),
                       dev.mutation("hr.leave_type", "AL", "create", ANNUAL)])
    assert [o["status"] for o in out] == ["applied", "applied"], out


def _leave(dev: DeviceClient, leave_id: str, start: str, end: str, status: str = "requested",
           **extra: Any) -> dict[str, Any]:
    return dev.mutation("hr.leave_request", leave_id, "create", {
        "employee_id": "E100", "leave_type": "AL", "start_date": start, "end_date": end, "status": status, **extra})


def _chain_approval(dev: DeviceClient, leave_id: str, days: float, approver: str = "boss",
                    roles: tuple[str, ...] = ("hr",)) -> list[dict[str, Any]]:
    """The approval request a leave opens and an approver's decision on its one `hr` level (no chain: D52)."""
    return [dev.mutation("approvals.request", f"leave:{leave_id}", "create", {
                "document_type": "leave", "document_id": leave_id, "amount": days, "requested_by": "ana",
                "requested_at": "2026-02-01T09:00:00+00:00"}),
            _decision(dev, leave_id, days, approver, roles)]


def _decision(dev: DeviceClient, leave_id: str, days: float, by: str, roles: tuple[str, ...] = ("hr",), level: int = 0,
              at: str = "2026-02-02T09:00:00+00:00") -> dict[str, Any]:
    return dev.mutation("approvals.decision", new_ulid(), "create", {
        "request_id": f"leave:{leave_id}", "level": level, "verdict": "approve", "by": by, "roles": list(roles),
        "at": at, "amount": days})


def _approved_at_desk(dev: DeviceClient, leave_id: str, start: str, end: str, days: float,
                      approver: str) -> list[dict[str, Any]]:
    """What the Leave screen sends: the request with its approval request, then the decision and the status."""
    leave = _leave(dev, leave_id, start, end, approval_request_id=f"leave:{leave_id}", days=days)
    return [leave, *_chain_approval(dev, leave_id, days, approver),
            dev.mutation("hr.leave_request", leave_id, "update", {"status": "approved", "approved_by": approver})]


def test_a_clock_out_before_the_clock_in_sent_as_an_update_is_rejected_with_the_rule_s_words(
        live_hub: HubProcess) -> None:
    tenant = _tenant("clock")
    dev = make_device(live_hub, tenant, "s1", "office")
    _master(dev)
    opened = dev.push_ok([dev.mutation("hr.attendance", "A1", "create", {
        "employee_id": "E100", "shift_date": "2026-04-04", "shift": "night",
        "clock_in": "2026-04-04T18:00:00-03:00"})])
    assert opened[0]["status"] == "applied", opened
    [bad] = dev.push_ok([dev.mutation("hr.attendance", "A1", "update",
                                      {"clock_out": "2026-04-04T17:00:00-03:00"}, base_version=1)])
    assert bad["status"] == "rejected" and bad["code"] == "validation_failed", bad
    assert "is not after clock-in" in bad["message"]
    assert "clock_out" not in records(live_hub, tenant, "hr.attendance")["A1"]  # nothing of it was applied
    [good] = dev.push_ok([dev.mutation("hr.attendance", "A1", "update",
                                       {"clock_out": "2026-04-05T06:00:00-04:00"}, base_version=1)])
    assert good["status"] == "applied", good  # the 13 h night across the fall-back change


def test_leave_over_the_balance_is_refused_unless_an_approver_flags_it(live_hub: HubProcess) -> None:
    tenant = _tenant("bal")
    dev = make_device(live_hub, tenant, "s1", "office")
    _master(dev)
    # 2025: 18 days accrued, capped at 5 into 2026; by 10 March 2026 3 more: 8 available.
    [over] = dev.push_ok([_leave(dev, "L1", "2026-03-10", "2026-03-19")])
    assert over["status"] == "rejected" and over["code"] == "validation_failed", over
    assert "10 days requested, 8.00 available on 2026-03-10" in over["message"]
    # The person flags it themselves: no approver, still refused.
    [self_flag] = dev.push_ok([_leave(dev, "L2", "2026-03-10", "2026-03-19", approved_negative=True)])
    assert self_flag["status"] == "rejected", self_flag
    [own] = dev.push_ok([_leave(dev, "L3", "2026-03-10", "2026-03-19", status="approved", approved_negative=True,
                                approved_by="ana")])
    assert own["status"] == "rejected", own  # approved by the employee's own sign-in: not an approver's flag
    *chain, flagged = dev.push_ok([*_chain_approval(dev, "L4", 10), _leave(
        dev, "L4", "2026-03-10", "2026-03-19", status="approved", approved_negative=True, approved_by="boss")])
    # The approval rows came before their leave: they waited for it and were booked with it (D92).
    assert flagged["status"] == "applied" and [o.get("code") for o in chain] == ["waits_for_leave"] * 2, flagged
    assert "leave:L4" in records(live_hub, tenant, "approvals.request")
    assert set(records(live_hub, tenant, "hr.leave_request")) == {"L4"}
    # A rejected request cannot be revived, a cancelled one neither.
    [cancel] = dev.push_ok([dev.mutation("hr.leave_request", "L4", "update", {"status": "cancelled"},
                                         base_version=1)])
    assert cancel["status"] == "applied", cancel
    [revive] = dev.push_ok([dev.mutation("hr.leave_request", "L4", "update", {"status": "approved"},
                                         base_version=2)])
    assert revive["status"] == "rejected" and "cancelled leave request cannot become approved" in revive["message"]


def test_overlapping_leave_approved_at_two_offline_offices_books_one_and_asks_a_person_about_the_other(
        live_hub: HubProcess) -> None:
    tenant = _tenant("overlap")
    hq, a, b = (make_device(live_hub, tenant, "s1", name) for name in ("hq", "desk-a", "desk-b"))
    _master(hq)
    batches = {"desk-a": _approved_at_desk(a, "LA", "2026-03-02", "2026-03-04", 3, "sup-a"),
               "desk-b": _approved_at_desk(b, "LB", "2026-03-04", "2026-03-05", 2, "sup-b")}
    start = threading.Barrier(2)
    answers: dict[str, list[dict[str, Any]]] = {}

    def push(dev: DeviceClient) -> None:
        start.wait()
        answers[dev.device_id] = dev.push_ok(batches[dev.device_id])

    threads = [threading.Thread(target=push, args=(dev,)) for dev in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = {name: out[0]["status"] for name, out in answers.items()}
    assert sorted(statuses.values()) == ["applied", "conflict"], statuses  # never both booked
    for out in answers.values():  # the winner's chain approved it; the loser's approval waits with its request
        assert [o["status"] for o in out[1:]] == 3 * [out[0]["status"]], out
    assert {o["code"] for out in answers.values() for o in out[1:] if o["status"] == "conflict"} == {"follows_refused"}
    loser = next(n for n, s in statuses.items() if s == "conflict")
    winner_id, loser_id = ("LB", "LA") if loser == "desk-a" else ("LA", "LB")
    refused = answers[loser][0]
    assert refused["code"] == "leave_overlap" and f"overlaps leave {winner_id}" in refused["message"], refused
    assert set(records(live_hub, tenant, "hr.leave_request")) == {winner_id}
    conflict = records(live_hub, tenant, "sync.conflict")[refused["conflict_id"]]
    assert conflict["status"] == "open" and conflict["needs_person"] and conflict["entity_id"] == loser_id
    assert conflict["server_data"]["overlaps"] == winner_id and conflict["server_data"]["start_date"] == (
        "2026-03-04" if winner_id == "LB" else "2026-03-02")
    # The retry of the same push answers the same, and books nothing more.
    again = (a if loser == "desk-a" else b).push_ok(batches[loser])
    assert again[0]["status"] == "duplicate" and again[0]["original"]["code"] == "leave_overlap"
    # The loser's office had also recorded the approver's comment on it before syncing: it waits in the refusal.
    dev = a if loser == "desk-a" else b
    [follows] = dev.push_ok([dev.mutation("hr.leave_request", loser_id, "update", {"reason": "wedding"})])
    assert follows["status"] == "conflict" and follows["code"] == "follows_refused", follows
    assert follows["conflict_id"] == refused["conflict_id"] == f"leave_overlap:{loser_id}"
    # The person decides the second one stands after all: booked once, as last changed.
    hq_resolution = hq.push_ok([hq.mutation("sync.conflict_resolution", new_ulid(), "create", {
        "conflict_id": refused["conflict_id"], "choice": "client"})])
    assert hq_resolution[0]["status"] == "applied", hq_resolution
    booked = records(live_hub, tenant, "hr.leave_request")
    assert set(booked) == {"LA", "LB"} and booked[loser_id]["reason"] == "wedding"
    assert booked[loser_id]["status"] == "approved"
    # Its approval request and decision were held with it and are booked with it, once.
    assert set(records(live_hub, tenant, "approvals.request")) == {"leave:LA", "leave:LB"}
    decisions = records(live_hub, tenant, "approvals.decision").values()
    assert sorted(d["request_id"] for d in decisions) == ["leave:LA", "leave:LB"]
    # Once it is booked, a later decision on it is booked like any other.
    [late] = dev.push_ok([_decision(dev, loser_id, 3, "boss2", at="2026-02-05T09:00:00+00:00")])
    assert late["status"] == "applied", late


def test_leave_in_one_batch_with_its_employee_is_judged_and_a_reason_edit_is_not_repriced(
        live_hub: HubProcess) -> None:
    tenant = _tenant("batch")
    dev = make_device(live_hub, tenant, "s1", "office")
    out = dev.push_ok([dev.mutation("hr.employee", "E100", "create", EMPLOYEE),
                       dev.mutation("hr.leave_type", "AL", "create", ANNUAL),
                       _leave(dev, "L1", "2026-03-02", "2026-03-04"),
                       _leave(dev, "L2", "2026-03-03", "2026-03-03")])
    assert [o["status"] for o in out] == ["applied", "applied", "applied", "conflict"], out
    [edit] = dev.push_ok([dev.mutation("hr.leave_request", "L1", "update", {"reason": "family"}, base_version=1)])
    assert edit["status"] == "applied", edit
    [unknown] = dev.push_ok([dev.mutation("hr.leave_request", "L9", "create", {
        "employee_id": "NOBODY", "leave_type": "AL", "start_date": "2026-03-02", "end_date": "2026-03-02",
        "status": "requested"})])
    assert unknown["status"] == "rejected" and "no employee NOBODY" in unknown["message"], unknown


def test_the_same_payroll_result_from_two_offices_converges_and_other_figures_wait_for_a_person(
        live_hub: HubProcess) -> None:
    tenant = _tenant("payres")
    a, b = (make_device(live_hub, tenant, "s1", name) for name in ("desk-a", "desk-b"))
    result = {"period_start": "2026-03-30", "period_end": "2026-04-05", "employee_id": "E100",
              "employee_number": "E100", "gross": "1500.00", "deductions": "300.00", "net": "1200.00",
              "hours_paid": "85.00", "leave_days_paid": "0.00", "file_sha256": "a" * 64, "line": 2}
    rid = "2026-03-30..2026-04-05:E100"
    assert a.push_ok([a.mutation("hr.payroll_result", rid, "create", result)])[0]["status"] == "applied"
    [same] = b.push_ok([b.mutation("hr.payroll_result", rid, "create", result)])
    assert same["status"] == "applied" and same["version"] == 1, same  # nothing new, nothing to ask
    other = {**result, "gross": "1600.00", "net": "1300.00", "file_sha256": "b" * 64}
    [differs] = b.push_ok([b.mutation("hr.payroll_result", rid, "create", other)])
    assert differs["status"] == "conflict" and differs["code"] == "payroll_result_differs", differs
    assert records(live_hub, tenant, "hr.payroll_result")[rid]["gross"] == "1500.00"
    assert records(live_hub, tenant, "sync.conflict")[differs["conflict_id"]]["status"] == "open"


def test_a_reconciliation_decision_without_its_reason_or_a_correction_without_hours_is_rejected(
        live_hub: HubProcess) -> None:
    tenant = _tenant("review")
    dev = make_device(live_hub, tenant, "s1", "office")
    review = {"employee_id": "E100", "shift_date": "2026-04-04", "shift": "night", "gateway_hours": 12.0,
              "logged_hours": 9.0, "attendance_hours": 13.0, "flags": ["logged_vs_gateway"], "decision": "open"}
    assert dev.push_ok([dev.mutation("hr.reconciliation_review", "R1", "create", review)])[0]["status"] == "applied"
    [no_hours] = dev.push_ok([dev.mutation("hr.reconciliation_review", "R1", "update",
                                           {"decision": "corrected", "reason": "meter fault"}, base_version=1)])
    assert no_hours["status"] == "rejected" and "a correction needs the paid hours" in no_hours["message"]
    [no_reason] = dev.push_ok([dev.mutation("hr.reconciliation_review", "R1", "update",
                                            {"decision": "rejected"}, base_version=1)])
    assert no_reason["status"] == "rejected" and "needs a reason" in no_reason["message"]
    [corrected] = dev.push_ok([dev.mutation("hr.reconciliation_review", "R1", "update", {
        "decision": "corrected", "reason": "meter fault", "paid_hours": 12.5}, base_version=1)])
    assert corrected["status"] == "applied", corrected
    # Changing one's mind to accept leaves the earlier hours in the record: still a complete decision.
    [accepted] = dev.push_ok([dev.mutation("hr.reconciliation_review", "R1", "update",
                                           {"decision": "accepted", "reason": "gateway was right"}, base_version=2)])
    assert accepted["status"] == "applied", accepted


def test_approving_a_request_the_balance_no_longer_covers_needs_the_approver_s_flag(live_hub: HubProcess) -> None:
    tenant = _tenant("reapprove")
    dev = make_device(live_hub, tenant, "s1", "office")
    _master(dev)
    assert dev.push_ok([_leave(dev, "L1", "2026-03-10", "2026-03-17")])[0]["status"] == "applied"  # 8 of 8 days
    # HR corrects the leave type's accrual meanwhile: 1 day a month, so 5 carried + 2 accrued = 7 on 10 March.
    assert dev.push_ok([dev.mutation("hr.leave_type", "AL", "update", {"days_per_month": 1},
                                     base_version=1)])[0]["status"] == "applied"
    *_chain, plain = dev.push_ok([*_chain_approval(dev, "L1", 8), dev.mutation(
        "hr.leave_request", "L1", "update", {"status": "approved", "approved_by": "boss"}, base_version=1)])
    assert plain["status"] == "rejected" and "8 days requested, 7.00 available" in plain["message"], plain
    [flagged] = dev.push_ok([dev.mutation("hr.leave_request", "L1", "update", {
        "status": "approved", "approved_by": "boss", "approved_negative": True}, base_version=1)])
    assert flagged["status"] == "applied", flagged
    assert records(live_hub, tenant, "hr.leave_request")["L1"]["approved_negative"] is True


def test_a_refused_leave_kept_out_keeps_its_approval_rows_out_and_refuses_later_ones(live_hub: HubProcess) -> None:
    tenant = _tenant("orphans")
    hq, dev = make_device(live_hub, tenant, "s1", "hq"), make_device(live_hub, tenant, "s1", "desk")
    _master(hq)
    assert hq.push_ok([_leave(hq, "L1", "2026-03-02", "2026-03-04")])[0]["status"] == "applied"
    out = dev.push_ok(_approved_at_desk(dev, "L2", "2026-03-03", "2026-03-05", 3, "boss"))
    assert [(o["status"], o.get("code")) for o in out] == [("conflict", "leave_overlap")] + 3 * [
        ("conflict", "follows_refused")], out
    conflict = records(live_hub, tenant, "sync.conflict")["leave_overlap:L2"]
    assert [(d["entity"], d["entity_id"]) for d in conflict["dependents"][:1]] == [("approvals.request", "leave:L2")]
    assert "leave:L2" not in records(live_hub, tenant, "approvals.request")
    [kept] = hq.push_ok([hq.mutation("sync.conflict_resolution", new_ulid(), "create", {
        "conflict_id": "leave_overlap:L2", "choice": "server"})])
    assert kept["status"] == "applied", kept
    assert set(records(live_hub, tenant, "hr.leave_request")) == {"L1"}
    assert "leave:L2" not in records(live_hub, tenant, "approvals.request")  # no row names a leave that is not there
    assert not [d for d in records(live_hub, tenant, "approvals.decision").values() if d["request_id"] == "leave:L2"]
    # A second decision the office made offline arrives after the person decided: refused, saying why.
    [late] = dev.push_ok([_decision(dev, "L2", 3, "boss2")])
    assert late["status"] == "rejected" and late["code"] == "follows_refused", late
    assert "a person kept the hub's version" in late["message"]


def test_a_leave_marked_approved_needs_its_approval_request_approved_by_the_chain(live_hub: HubProcess) -> None:
    tenant = _tenant("chain")
    dev = make_device(live_hub, tenant, "s1", "office")
    _master(dev)
    [bare] = dev.push_ok([_leave(dev, "L1", "2026-03-02", "2026-03-03", status="approved", approved_by="boss")])
    assert bare["status"] == "rejected" and "there is no approval request leave:L1" in bare["message"], bare
    assert dev.push_ok([_leave(dev, "L2", "2026-03-02", "2026-03-03", approval_request_id="leave:L2",
                               days=2)])[0]["status"] == "applied"
    request, by_clerk = _chain_approval(dev, "L2", 2, approver="clerk", roles=("clerk",))
    approve = {"status": "approved", "approved_by": "clerk"}
    out = dev.push_ok([request, by_clerk, dev.mutation("hr.leave_request", "L2", "update", approve, base_version=1)])
    assert [o["status"] for o in out] == ["applied", "applied", "rejected"], out
    assert "level 1 of 1 (the hr role) has not approved it" in out[2]["message"], out
    assert records(live_hub, tenant, "hr.leave_request")["L2"]["status"] == "requested"
    # A tenant chain of two levels: HR's approval alone leaves the manager's level waiting.
    assert dev.push_ok([dev.mutation("approvals.chain", "leave-chain", "create", {
        "document_type": "leave", "name": "Leave", "active": True,
        "levels": [{"min_amount": 0, "approver_role": "hr"}, {"min_amount": 0, "approver_user": "mgr"}]})])[0][
        "status"] == "applied"
    out = dev.push_ok([_decision(dev, "L2", 2, "boss"), dev.mutation(
        "hr.leave_request", "L2", "update", {**approve, "approved_by": "boss"}, base_version=1)])
    assert out[1]["status"] == "rejected" and "level 2 of 2 (mgr) has not approved it" in out[1]["message"], out
    mgr = _decision(dev, "L2", 2, "mgr", roles=(), level=1, at="2026-02-03T09:00:00+00:00")
    out = dev.push_ok([mgr, dev.mutation("hr.leave_request", "L2", "update", {**approve, "approved_by": "mgr"},
                                         base_version=1)])
    assert [o["status"] for o in out] == ["applied", "applied"], out
