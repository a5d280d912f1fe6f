"""Leave through the approval chains: the request a leave opens, the status each approval state means, the
lifecycle, the approver's explicit below-zero flag and the balance every desktop and the hub derive alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.domain.approvals import Chain, Decision, Level, Verdict, evaluate
from shared.domain.leave import LeaveType
from shared.domain.leave_approval import (
    DEFAULT_LEVELS,
    Employment,
    Overlap,
    after_decision,
    approval_payload,
    approval_request_id,
    balance_check,
    cancel,
    carried_into,
    check_transition,
    honours_negative,
    levels_for,
    request_from,
)
from shared.errors import ValidationError

AL = LeaveType("AL", Decimal("1.5"), Decimal(5))
ANA = Employment(date(2025, 1, 1), user_id="ana")
AT = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _leave(start: str, end: str, status: str = "requested", **extra: object) -> dict[str, object]:
    return {"employee_id": "E1", "leave_type": "AL", "start_date": start, "end_date": end, "status": status, **extra}


def test_a_leave_request_opens_one_approval_request_of_type_leave_for_its_days() -> None:
    payload = approval_payload("L1", {**_leave("2026-03-02", "2026-03-04"), "days": 3.0}, "ana", AT)
    assert approval_request_id("L1") == "leave:L1"
    assert payload == {"document_type": "leave", "document_id": "L1", "amount": 3.0, "requested_by": "ana",
                       "requested_at": "2026-03-01T09:00:00+00:00", "title": "AL leave 2026-03-02 to 2026-03-04"}
    with pytest.raises(ValidationError):
        approval_payload("L1", _leave("2026-03-02", "2026-03-04"), "ana", AT)  # no days yet


def test_leave_is_routed_by_its_chain_by_days_and_by_hr_when_no_chain_exists() -> None:
    chain = Chain("leave", (Level(Decimal(0), approver_role="supervisor"), Level(Decimal(10), approver_user="gm")))
    assert levels_for([], Decimal(3), "north") == DEFAULT_LEVELS
    assert [lv.approver_role for lv in levels_for([chain], Decimal(3), "north")] == ["supervisor"]
    assert len(levels_for([chain], Decimal(12), "north")) == 2  # ten days or more also go to the manager


def _state(*verdicts: Verdict, levels: tuple[Level, ...] = DEFAULT_LEVELS):  # type: ignore[no-untyped-def]
    decisions = [Decision(f"d{i}", i, v, "boss", frozenset({"hr"}), AT, Decimal(3)) for i, v in enumerate(verdicts)]
    return evaluate(document_type="leave", amount=Decimal(3), requested_by="ana", levels=levels, decisions=decisions)


def test_the_chain_s_state_moves_the_status_and_the_approver_s_flag_is_recorded_only_when_approving() -> None:
    leave = _leave("2026-03-02", "2026-03-04")
    assert after_decision(leave, _state(Verdict.APPROVE), approver="boss") == {"status": "approved",
                                                                               "approved_by": "boss"}
    assert after_decision(leave, _state(Verdict.APPROVE), approver="boss", below_zero=True)["approved_negative"]
    assert after_decision(leave, _state(Verdict.REJECT), approver="boss", below_zero=True) == {
        "status": "rejected", "approved_by": "boss"}
    two = (Level(Decimal(0), approver_role="hr"), Level(Decimal(0), approver_role="hr"))
    assert after_decision(leave, _state(Verdict.APPROVE, levels=two), approver="boss") == {}  # level 2 waits
    with pytest.raises(ValidationError, match="is cancelled: nothing to decide"):
        after_decision({**leave, "status": "cancelled"}, _state(Verdict.APPROVE), approver="boss")


def test_status_moves_only_forward_and_cancel_takes_a_waiting_or_approved_request() -> None:
    check_transition(None, "requested")
    check_transition("requested", "approved")
    check_transition("approved", "cancelled")
    for before, after in (("approved", "requested"), ("rejected", "approved"), ("cancelled", "requested")):
        with pytest.raises(ValidationError) as err:
            check_transition(before, after)
        assert "status" in err.value.field_errors
    with pytest.raises(ValidationError):
        check_transition(None, "cancelled")
    assert cancel(_leave("2026-03-02", "2026-03-04", "approved")) == {"status": "cancelled"}
    with pytest.raises(ValidationError, match="already cancelled"):
        cancel(_leave("2026-03-02", "2026-03-04", "cancelled"))


def test_below_zero_counts_only_when_someone_other_than_the_employee_approved_it() -> None:
    flagged = _leave("2026-03-02", "2026-03-04", "approved", approved_negative=True, approved_by="boss")
    assert honours_negative(flagged, "ana")
    assert not honours_negative({**flagged, "approved_by": "ana"}, "ana")  # their own sign-in
    assert not honours_negative({**flagged, "status": "requested"}, "ana")  # still waiting
    assert not honours_negative({**flagged, "approved_by": " "}, "ana")
    assert not request_from("L1", {**flagged, "approved_by": "ana"}, "ana").approved_negative


def test_the_balance_carries_the_capped_year_and_refuses_more_without_the_approver_s_flag() -> None:
    # 2025: 12 × 1.5 = 18 accrued, 2 taken, 16 closing, capped at 5. March 2026: + 3.0 (Jan, Feb) = 8.
    taken = ("T", _leave("2025-06-02", "2025-06-03", "approved"))
    assert carried_into(AL, 2026, ANA.hire_date, [request_from(*taken)]) == Decimal(5)
    assert balance_check("L1", _leave("2026-03-10", "2026-03-17"), AL, ANA, [taken]) == Decimal(8)
    with pytest.raises(ValidationError) as err:
        balance_check("L1", _leave("2026-03-10", "2026-03-18"), AL, ANA, [taken])
    assert "9 days requested, 8.00 available on 2026-03-10 (-1.00 after it)" in str(err.value)
    assert "end_date" in err.value.field_errors
    approved = _leave("2026-03-10", "2026-03-18", "approved", approved_negative=True, approved_by="boss")
    assert balance_check("L1", approved, AL, ANA, [taken]) == Decimal(9)
    assert balance_check("L1", {**approved, "status": "cancelled"}, AL, ANA, [taken]) == Decimal(0)


def test_an_overlap_names_the_other_request_and_a_cancelled_one_does_not_count() -> None:
    other = ("L0", _leave("2026-03-04", "2026-03-06", "approved"))
    with pytest.raises(Overlap) as err:
        balance_check("L1", _leave("2026-03-02", "2026-03-04"), AL, ANA, [other])
    assert err.value.other.id == "L0" and "overlaps leave L0 (AL, 2026-03-04 to 2026-03-06, approved)" in str(err.value)
    assert "start_date" in err.value.field_errors
    cancelled = ("L0", {**other[1], "status": "cancelled"})
    assert balance_check("L1", _leave("2026-03-02", "2026-03-04"), AL, ANA, [cancelled]) == Decimal(3)
