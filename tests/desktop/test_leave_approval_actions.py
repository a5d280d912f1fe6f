"""Leave through the approval chains on the desktop (offline, real widgets, real encrypted store): a request
opens its approval, the approver's decision moves the status, over the balance needs the below-zero tick,
the requester cannot approve their own leave, and a cancellation gives the days back."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.desktop.test_ops_maintenance import click, from_hub, open_ops, type_into
from tests.desktop.test_ops_people import ANNA

HR = frozenset({"hr"})
AL = {"code": "AL", "name": "Annual leave", "days_per_month": 1.5, "carry_over_cap": 5}


def _desk(qtbot, tmp_path: Path, actor: str = "hana", extra=()):  # type: ignore[no-untyped-def]
    desk = open_ops(tmp_path / "desk.db", actor=actor, roles=HR)
    qtbot.addWidget(desk.window)
    from_hub(desk.store, [("hr.employee", "emp-anna", {**ANNA, "user_id": "anna"}), ("hr.leave_type", "lt-al", AL),
                          *extra])
    desk.window.show_module("Leave")
    return desk, desk.window.ops["Leave"]


def test_a_request_opens_its_approval_and_the_approver_s_decision_moves_it_to_approved(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk, screen = _desk(qtbot, tmp_path, actor="anna")
    type_into(qtbot, screen.form, {"employee_id": "E100", "leave_type": "AL", "start_date": "2026-03-02",
                                   "end_date": "2026-03-04"})
    click(qtbot, screen.form.save_button)
    [leave] = desk.store.query("hr.leave_request")
    assert leave.state is not None and leave.state["approval_request_id"] == f"leave:{leave.entity_id}"
    approval = desk.store.get("approvals.request", f"leave:{leave.entity_id}")
    assert approval is not None and approval.state is not None
    assert (approval.state["document_type"], approval.state["amount"], approval.state["requested_by"]) == (
        "leave", 3.0, "anna")
    assert screen.select(leave.entity_id)
    click(qtbot, screen.leave_actions.approve_button)  # anna asked for it: she cannot approve it
    assert "not your level to decide (or your own request)" in screen.leave_actions.errors["decision"].text()
    assert desk.store.outbox_depth() == 2
    desk.close()

    desk = open_ops(tmp_path / "desk.db", actor="hana", roles=HR)  # the HR approver signs in on the same PC
    qtbot.addWidget(desk.window)
    desk.window.show_module("Leave")
    screen = desk.window.ops["Leave"]
    assert screen.select(leave.entity_id)
    screen.leave_actions.comment.setText("enjoy")
    click(qtbot, screen.leave_actions.approve_button)
    assert screen.leave_actions.errors["decision"].text() == "" and desk.store.outbox_depth() == 4
    state = desk.store.get("hr.leave_request", leave.entity_id).state  # type: ignore[union-attr]
    assert (state["status"], state["approved_by"]) == ("approved", "hana") and "approved_negative" not in state
    [decision] = [r.state for r in desk.store.query("approvals.decision")]
    assert decision is not None and (decision["verdict"], decision["by"], decision["comment"]) == (
        "approve", "hana", "enjoy")
    assert screen.model.rows[0].cells[5] == "approved"
    click(qtbot, screen.leave_actions.approve_button)
    assert "nothing to decide" in screen.leave_actions.errors["decision"].text() and desk.store.outbox_depth() == 4
    desk.close()


def test_approving_over_the_balance_needs_the_below_zero_tick_beside_it(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Typed at another office when the balance allowed it; a second request since took the days (8 on 10 March).
    first = ("hr.leave_request", "lr-1", {"employee_id": "emp-anna", "leave_type": "AL", "start_date": "2026-03-10",
                                          "end_date": "2026-03-14", "days": 5, "status": "approved"})
    second = ("hr.leave_request", "lr-2", {"employee_id": "emp-anna", "leave_type": "AL", "start_date": "2026-03-20",
                                           "end_date": "2026-03-24", "days": 5, "status": "requested"})
    desk, screen = _desk(qtbot, tmp_path, extra=[first, second])
    assert screen.select("lr-2")
    click(qtbot, screen.leave_actions.approve_button)
    assert "only 3.00 days available" in screen.leave_actions.errors["below_zero"].text()
    assert desk.store.outbox_depth() == 0  # nothing written, not even the decision
    screen.leave_actions.below_zero.setChecked(True)
    click(qtbot, screen.leave_actions.approve_button)
    state = desk.store.get("hr.leave_request", "lr-2").state  # type: ignore[union-attr]
    assert (state["status"], state["approved_negative"], state["approved_by"]) == ("approved", True, "hana")
    assert desk.store.get("approvals.request", "leave:lr-2") is not None  # opened now: typed before the chains
    desk.close()


def test_reject_and_cancel_move_the_status_and_a_cancelled_request_stays_cancelled(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [("hr.leave_request", f"lr-{n}", {"employee_id": "emp-anna", "leave_type": "AL",
                                              "start_date": f"2026-03-0{n}", "end_date": f"2026-03-0{n}", "days": 1,
                                              "status": status})
            for n, status in ((2, "requested"), (4, "approved"))]
    desk, screen = _desk(qtbot, tmp_path, extra=rows)
    assert screen.select("lr-2")
    click(qtbot, screen.leave_actions.reject_button)
    assert desk.store.get("hr.leave_request", "lr-2").state["status"] == "rejected"  # type: ignore[union-attr]
    assert screen.select("lr-4")
    click(qtbot, screen.leave_actions.cancel_button)
    assert desk.store.get("hr.leave_request", "lr-4").state["status"] == "cancelled"  # type: ignore[union-attr]
    assert screen.select("lr-4")
    click(qtbot, screen.leave_actions.cancel_button)
    assert "already cancelled" in screen.leave_actions.errors["decision"].text()
    type_into(qtbot, screen.form, {"employee_id": "E100", "leave_type": "AL", "start_date": "2026-03-10"})
    assert "booked 0.00" in screen.balance.text()  # the rejected and the cancelled day are back
    desk.close()


def test_leave_decided_in_the_inbox_takes_the_chain_s_status_on_the_leave_screen(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    leave = ("hr.leave_request", "lr-1", {"employee_id": "emp-anna", "leave_type": "AL", "start_date": "2026-03-02",
                                          "end_date": "2026-03-03", "days": 2, "status": "requested",
                                          "approval_request_id": "leave:lr-1"})
    request = ("approvals.request", "leave:lr-1", {"document_type": "leave", "document_id": "lr-1", "amount": 2,
                                                   "requested_by": "anna"})
    inbox = ("approvals.decision", "d-1", {"request_id": "leave:lr-1", "level": 0, "verdict": "approve", "by": "hugo",
                                           "roles": ["hr"], "at": "2026-02-20T10:00:00+00:00", "amount": 2})
    desk, screen = _desk(qtbot, tmp_path, extra=[leave, request, inbox])
    assert screen.select("lr-1")
    click(qtbot, screen.leave_actions.reject_button)  # the chain approved it: rejecting here is not following it
    assert "the chain approved it: press Approve" in screen.leave_actions.errors["decision"].text()
    assert desk.store.outbox_depth() == 0
    click(qtbot, screen.leave_actions.approve_button)
    state = desk.store.get("hr.leave_request", "lr-1").state  # type: ignore[union-attr]
    assert (state["status"], state["approved_by"]) == ("approved", "hugo") and desk.store.outbox_depth() == 1
    assert desk.store.count("approvals.decision") == 1  # no second decision
    click(qtbot, screen.leave_actions.approve_button)
    assert "nothing to decide" in screen.leave_actions.errors["decision"].text() and desk.store.outbox_depth() == 1
    desk.close()
