"""The hub runs the attendance overlap rule on what it applies (D69), against a real hub and PostgreSQL: two offline
offices clocking one person for overlapping times (however the pushes race) book the first and leave the second
in a conflict for a person, its later clock-out waiting with it; clocking in while clocked in elsewhere; back to
back and rejected rows are not overlaps; a site-settings update the record check refuses."""

from __future__ import annotations

import threading
from typing import Any

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import DeviceClient
from tests.hub.test_consume_once import records
from tests.hub.test_people_rules import _master, _tenant
from tests.hub.test_push import make_device


def _clock(dev: DeviceClient, row_id: str, day: str, shift: str, clock_in: str, clock_out: str | None = None,
           **extra: Any) -> dict[str, Any]:
    payload = {"employee_id": "E100", "shift_date": day, "shift": shift, "clock_in": clock_in, "source": "office",
               "status": "pending", **extra}
    if clock_out is not None:
        payload["clock_out"] = clock_out
    return dev.mutation("hr.attendance", row_id, "create", payload)


def test_two_offices_clocking_one_person_for_overlapping_times_book_one_and_ask_a_person(
        live_hub: HubProcess) -> None:
    tenant = _tenant("clash")
    hq, a, b = (make_device(live_hub, tenant, "s1", name) for name in ("hq", "desk-a", "desk-b"))
    _master(hq)
    batches = {"desk-a": [_clock(a, "AT-A", "2026-04-01", "day", "2026-04-01T06:00:00-03:00",
                                 "2026-04-01T18:00:00-03:00")],
               "desk-b": [_clock(b, "AT-B", "2026-04-01", "day", "2026-04-01T07:00:00-03:00")]}
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
    loser = next(n for n, s in statuses.items() if s == "conflict")
    loser_id, winner_id = ("AT-A", "AT-B") if loser == "desk-a" else ("AT-B", "AT-A")
    refused = answers[loser][0]
    assert refused["code"] == "attendance_overlap" and refused["conflict_id"] == f"attendance_overlap:{loser_id}"
    assert set(records(live_hub, tenant, "hr.attendance")) == {winner_id}
    conflict = records(live_hub, tenant, "sync.conflict")[refused["conflict_id"]]
    assert conflict["status"] == "open" and conflict["needs_person"] and conflict["kind"] == "attendance_overlap"
    assert conflict["server_data"]["overlaps"] == winner_id and conflict["server_data"]["employee_id"] == "E100"
    # The loser's office clocks its person out later: the change waits with the row, nothing lost.
    dev = a if loser == "desk-a" else b
    [follows] = dev.push_ok([dev.mutation("hr.attendance", loser_id, "update",
                                          {"clock_out": "2026-04-01T17:00:00-03:00"})])  # never booked: base 0
    assert follows["status"] == "conflict" and follows["code"] == "follows_refused", follows
    assert records(live_hub, tenant, "sync.conflict")[refused["conflict_id"]]["client_payload"]["clock_out"]
    # A person decides the hub's row stands: the other is kept out.
    [kept] = hq.push_ok([hq.mutation("sync.conflict_resolution", new_ulid(), "create", {
        "conflict_id": refused["conflict_id"], "choice": "server"})])
    assert kept["status"] == "applied", kept
    assert set(records(live_hub, tenant, "hr.attendance")) == {winner_id}


def test_clocking_in_while_clocked_in_elsewhere_waits_for_a_person_and_back_to_back_is_booked(
        live_hub: HubProcess) -> None:
    tenant = _tenant("open")
    a, b = make_device(live_hub, tenant, "s1", "desk-a"), make_device(live_hub, tenant, "s1", "desk-b")
    _master(a)
    assert a.push_ok([_clock(a, "D1", "2026-04-01", "day", "2026-04-01T06:00:00-03:00")])[0]["status"] == "applied"
    [second] = b.push_ok([_clock(b, "D2", "2026-04-01", "night", "2026-04-01T18:30:00-03:00")])
    assert second["status"] == "conflict" and second["code"] == "attendance_overlap", second
    assert "still clocked in on 2026-04-01 day since 2026-04-01 06:00" in second["message"]
    # Office A clocks the day out at 18:00: a night from 18:00 is back to back, not an overlap.
    assert a.push_ok([a.mutation("hr.attendance", "D1", "update", {"clock_out": "2026-04-01T18:00:00-03:00"},
                                 base_version=1)])[0]["status"] == "applied"
    [night] = b.push_ok([_clock(b, "N1", "2026-04-01", "night", "2026-04-01T18:00:00-03:00",
                                "2026-04-02T06:00:00-03:00")])
    assert night["status"] == "applied", night
    # Moving a booked row's clock-out into the next one is a conflict too, named after the change.
    [longer] = a.push_ok([a.mutation("hr.attendance", "D1", "update", {"clock_out": "2026-04-01T19:00:00-03:00"},
                                     base_version=2)])
    assert longer["status"] == "conflict" and longer["code"] == "attendance_overlap", longer
    assert longer["conflict_id"].startswith("attendance_overlap:") and longer["conflict_id"] != "attendance_overlap:D1"
    assert records(live_hub, tenant, "hr.attendance")["D1"]["clock_out"] == "2026-04-01T18:00:00-03:00"
    # A rejected row is not time anyone was paid for: a row over it is booked.
    assert a.push_ok([a.mutation("hr.attendance", "N1", "update", {"status": "rejected"},
                                 base_version=1)])[0]["status"] == "applied"
    [again] = b.push_ok([_clock(b, "N2", "2026-04-01", "night", "2026-04-01T19:00:00-03:00",
                                "2026-04-02T07:00:00-03:00")])
    assert again["status"] == "applied", again


def test_a_site_settings_update_the_record_check_refuses_is_rejected_at_the_hub(live_hub: HubProcess) -> None:
    tenant = _tenant("settings")
    dev = make_device(live_hub, tenant, "s1", "office")
    settings = {"time_zone": "America/Santiago", "day_start": "06:00", "night_start": "18:00", "threshold_hours": 0.5}
    assert dev.push_ok([dev.mutation("hr.site_settings", "s1", "create", settings)])[0]["status"] == "applied"
    [bad] = dev.push_ok([dev.mutation("hr.site_settings", "s1", "update", {"night_start": "05:00"}, base_version=1)])
    assert bad["status"] == "rejected" and bad["code"] == "validation_failed", bad
    assert records(live_hub, tenant, "hr.site_settings")["s1"]["night_start"] == "18:00"
