"""The issue's must-show (issue 14): two site offices offline for a week (Santiago, with the 13 h night of the
fall-back change on 4 April 2026) and a gateway (a real edge agent on a real Mosquitto, the machines publishing
their week) deriving the machines' hours, all through a real hub. Office A
clocks the day crew, office B the night crew, the operators log their machine hours by hand; both offices
approve leave for the same person offline (the hub books one, the other is a conflict for a person). Then every
device syncs, a supervisor at office A reconciles the flagged lines (accept / correct / reject), office A syncs,
and the payroll file office B exports from its synced replica equals, byte for byte, a serial replay of the same
records through the pure rules."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from desktop.leave_balance import decide_leave
from desktop.payroll_export import payroll_csv
from desktop.reconciliation_lines import lines_for
from desktop.table_query import ensure_indexes
from edge.agent import EdgeAgent, EdgeConfig
from shared.domain.approvals import Verdict
from shared.domain.leave_approval import approval_payload, approval_request_id, overlapping, request_from
from shared.domain.payroll import Period, export, leave_items, worked_from_reconciliation
from shared.domain.reconciliation import Decision, Line, UsageLog, check_decision, flags, lines_from_logs, reconcile
from shared.domain.reconciliation import review_payload as reconciliation_review_payload
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.ids import new_ulid
from shared.store import DeviceIdentity, LocalStore, MutationDraft, PassphraseKeyProvider
from shared.sync import SyncClient
from shared.telemetry import TelemetrySample
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.fixtures.mosquitto import Broker
from tests.hub.test_consume_once import records
from tests.waiting import wait_until

ZONE = ZoneInfo("America/Santiago")
KEY = PassphraseKeyProvider("people week", n=2**10)
START, END = date(2026, 3, 30), date(2026, 4, 5)  # Monday to Sunday; the clocks go back at 00:00 on the 5th
WORK_DAYS = [START + timedelta(days=i) for i in range(6)]  # Monday to Saturday, Sunday off
THRESHOLD = Decimal("0.5")
TENANT = f"t-week-{new_ulid()[-6:].lower()}"
PEOPLE = {  # employee id -> (number, name, shift, machine, the office that clocks them)
    "emp-1": ("E1", "Ana Rojas", "day", "DT01", "a"), "emp-2": ("E2", "Luis Soto", "day", "DT02", "a"),
    "emp-3": ("E3", "Eva Pinto", "night", "DT03", "b"), "emp-4": ("E4", "Tom Vera", "night", "DT04", "b")}
E2_LEAVE = (date(2026, 4, 3), date(2026, 4, 4))  # approved at office A: E2 works Monday to Thursday
LOGGED_OTHERWISE = {("emp-1", date(2026, 3, 31)): 13.0, ("emp-2", date(2026, 4, 1)): 2.0,
                    ("emp-3", date(2026, 3, 31)): 3.0}
NOT_CLOCKED = {("emp-4", date(2026, 4, 2))}  # forgot to clock; the machine and the log say they worked
DECISIONS = {  # what the supervisor decides on each flagged line: (decision, paid hours, reason)
    ("emp-1", date(2026, 3, 31)): ("correct", Decimal("11.5"), "logged the travel time too"),
    ("emp-2", date(2026, 4, 1)): ("accept", None, "log sheet half filled; clocked time stands"),
    ("emp-3", date(2026, 3, 31)): ("reject", None, "was training in the office, not on DT03"),
    ("emp-4", date(2026, 4, 2)): ("correct", Decimal(12), "clock-in terminal down; roster and gateway agree"),
}


def _device(hub: HubProcess, tmp_path: Path, name: str) -> tuple[LocalStore, SyncClient]:
    path = tmp_path / f"{name}.db"
    store = LocalStore.open(path, KEY)
    store.set_identity(DeviceIdentity(name, TENANT, "north"))
    ensure_indexes(store)  # what the desktop's window does when it opens a store
    token = provision_device(hub.dsn, TENANT, "north", name)
    return store, SyncClient(lambda: LocalStore.open(path, KEY), hub.url, lambda: token)


def _shift(day: date, shift: str) -> tuple[datetime, datetime]:
    """A rostered shift's instants in the site's zone: the night of 4 April is 13 h."""
    if shift == "day":
        return datetime.combine(day, time(6), ZONE), datetime.combine(day, time(18), ZONE)
    return datetime.combine(day, time(18), ZONE), datetime.combine(day + timedelta(days=1), time(6), ZONE)


def _worked(employee_id: str) -> list[date]:
    return [d for d in WORK_DAYS if not (employee_id == "emp-2" and E2_LEAVE[0] <= d <= E2_LEAVE[1])]


def _samples() -> list[tuple[str, str, TelemetrySample]]:
    """Each machine runs its operator's shifts from 30 minutes after the start to 30 minutes before the end (11 h,
    12 h on the long night), one sample a minute, with ten minutes of engine-off either side."""
    rows: list[tuple[str, str, TelemetrySample]] = []
    for employee_id, (_n, _name, shift, machine, _office) in PEOPLE.items():
        meter = 1000.0
        for day in _worked(employee_id):
            starts, ends = _shift(day, shift)
            run_from = starts.astimezone(UTC) + timedelta(minutes=30)
            run_to = ends.astimezone(UTC) - timedelta(minutes=30)
            ts = run_from - timedelta(minutes=10)
            while ts <= run_to + timedelta(minutes=10):
                on = run_from <= ts < run_to
                rows.append(("north", machine, TelemetrySample.model_validate({
                    "ts": ts.isoformat(), "engine_status": "on" if on else "off", "working": on,
                    "hour_meter": round(meter, 4)})))
                meter += 1 / 60 if on else 0
                ts += timedelta(minutes=1)
    return rows


def _expected_gateway_hours() -> dict[tuple[str, str], float]:
    """What the gateway must measure: each machine's run, 11 h a shift and 12 h on the long night."""
    out = {}
    for employee_id, (_n, _name, shift, machine, _office) in PEOPLE.items():
        for day in _worked(employee_id):
            starts, ends = _shift(day, shift)
            out[(machine, day.isoformat())] = (ends.astimezone(UTC) - starts.astimezone(UTC)).total_seconds() / 3600 - 1
    return out


def _gateway_week(hub: HubProcess, broker: Broker, tmp_path: Path) -> list[dict[str, Any]]:
    """The gateway: a real edge agent subscribed to the site's real Mosquitto, the machines publishing their week
    (QoS 1), the agent storing, deriving each shift's hours in the site's zone and syncing them to the hub. Returns
    the usage logs the gateway derived, read from its own store once they all reached the hub."""
    token = provision_device(hub.dsn, TENANT, "north", "gateway", kind="edge")
    config = EdgeConfig(tenant_id=TENANT, site_id="north", device_id="gateway", store_path=tmp_path / "gateway.db",
                        passphrase="people week", broker_host=broker.host, broker_port=broker.port, hub_url=hub.url,
                        token=token, time_zone="America/Santiago", derive_seconds=0.5)
    agent = EdgeAgent(config)
    agent._open = lambda: LocalStore.open(config.store_path, KEY)  # a cheaper KDF for the test
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    expected = _expected_gateway_hours()
    samples = _samples()
    try:
        assert wait_until(lambda: agent.ingest.stats.connected, 30)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="people-week-fleet", protocol=mqtt.MQTTv5)
        pub.max_inflight_messages_set(1000)
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        infos = [pub.publish(f"site/north/equipment/{machine}/telemetry", sample.model_dump_json(), qos=1)
                 for _site, machine, sample in samples]
        for info in infos:
            info.wait_for_publish(30)
        pub.disconnect()
        pub.loop_stop()

        def at_hub() -> dict[tuple[str, str], float]:
            return {(d["equipment_id"], d["shift_date"]): d["operating_hours"]
                    for d in records(hub, TENANT, "equipment.usage_log").values() if d.get("source") == "telematics"
                    and d.get("operating_hours")}

        assert wait_until(lambda: at_hub() == expected, 120), (sorted(set(at_hub().items()) ^ set(expected.items())))
    finally:
        stop.set()
        runner.join(30)
    assert agent.ingest.stats.stored == len(samples)
    with LocalStore.open(config.store_path, KEY) as gw:
        assert gw.outbox_depth() == 0
        return [dict(r.state or {}) for r in gw.query("equipment.usage_log")]


def _master(hq: LocalStore) -> list[MutationDraft]:
    drafts = [MutationDraft("hr.leave_type", "lt-al", Op.CREATE, {
        "code": "AL", "name": "Annual leave", "days_per_month": 1.5, "carry_over_cap": 5, "paid": True,
        "payroll_code": "VAC"}, "hq")]
    for employee_id, (number, name, _shift, machine, _office) in PEOPLE.items():
        drafts.append(MutationDraft("hr.employee", employee_id, Op.CREATE, {
            "number": number, "name": name, "hire_date": "2025-01-01", "status": "active",
            "user_id": number.lower()}, "hq"))
        drafts.append(MutationDraft("equipment.unit", machine, Op.CREATE, {
            "fleet_no": machine, "equipment_class": "truck", "status": "operating"}, "hq"))
    return drafts


def _office_week(office: str) -> list[MutationDraft]:
    """What an office types in the week: its crew's clock-ins and clock-outs and the operators' manual logs."""
    drafts = []
    for employee_id, (number, _name, shift, machine, clocked_at) in PEOPLE.items():
        if clocked_at != office:
            continue
        for day in _worked(employee_id):
            starts, ends = _shift(day, shift)
            if (employee_id, day) not in NOT_CLOCKED:
                drafts.append(MutationDraft("hr.attendance", f"{employee_id}:{day}", Op.CREATE, {
                    "employee_id": employee_id, "shift_date": day.isoformat(), "shift": shift,
                    "clock_in": starts.isoformat(), "clock_out": ends.isoformat(), "source": "office",
                    "status": "approved"}, f"clerk-{office}"))
            run = (ends.astimezone(UTC) - starts.astimezone(UTC)).total_seconds() / 3600 - 1  # in one zone, Python
            # subtracts wall clocks: the 13 h night would be 12 h
            drafts.append(MutationDraft("equipment.usage_log", new_ulid(), Op.CREATE, {
                "equipment_id": machine, "shift_date": day.isoformat(), "shift": shift, "operator": number,
                "operating_hours": LOGGED_OTHERWISE.get((employee_id, day), run), "source": "manual"}, number.lower()))
    return drafts


def _approved_leave(store: LocalStore, leave_id: str, first: date, last: date, approver: str) -> None:
    """E2 asks for leave at this office and the office's HR approves it through the chain (one `hr` level)."""
    leave = {"employee_id": "emp-2", "leave_type": "AL", "start_date": first.isoformat(),
             "end_date": last.isoformat(), "days": float((last - first).days + 1), "status": "requested",
             "approval_request_id": approval_request_id(leave_id)}
    store.enqueue_many([MutationDraft("hr.leave_request", leave_id, Op.CREATE, leave, "e2"), MutationDraft(
        "approvals.request", approval_request_id(leave_id), Op.CREATE,
        approval_payload(leave_id, leave, "e2", datetime(2026, 3, 25, tzinfo=UTC)), "e2")])
    assert decide_leave(store, leave_id, Verdict.APPROVE, approver, frozenset({"hr"}))["status"] == "approved"


def _reconcile_at(store: LocalStore, supervisor: str) -> list[Decision]:
    """The supervisor's pass over the week on this office's replica, as the reconciliation screen writes it."""
    made = []
    day = START
    while day <= END:
        for line in lines_for(store, day):
            if not flags(line, THRESHOLD):
                continue
            decision_word, paid, reason = DECISIONS[(line.employee_id, line.shift_date)]
            decision = Decision(line.key, decision_word, reason, paid, None)
            check_decision(line, decision)
            recorded = {"accept": "accepted", "correct": "corrected", "reject": "rejected"}[decision_word]
            payload = {**(reconciliation_review_payload(line, THRESHOLD) or {}), "decision": recorded,
                       "reason": reason, "decided_by": supervisor, "decided_at": "2026-04-06T09:00:00-04:00"}
            if paid is not None:
                payload["paid_hours"] = float(paid)
            store.enqueue("hr.reconciliation_review", line.key, Op.CREATE, payload, actor=supervisor)
            made.append(decision)
        day += timedelta(days=1)
    return made


def _serial_replay(typed: list[MutationDraft], gateway_logs: list[dict[str, Any]], decisions: list[Decision],
                   leave_in_push_order: list[tuple[str, dict[str, Any]]]) -> str:
    """The payroll file predicted from the records themselves through the pure rules, one after another: no store,
    no hub. Leave that overlaps an earlier booked request of the person is not booked (the hub's rule)."""
    employees = {d.entity_id: dict(d.payload) for d in typed if d.entity == "hr.employee"}
    employee_of: dict[str, str] = {}
    for eid, s in employees.items():
        for name in (eid, s["number"], s["name"], s["user_id"]):
            employee_of.setdefault(str(name), eid)
    logs = [UsageLog(str(p["equipment_id"]), date.fromisoformat(str(p["shift_date"])), str(p["shift"]),
                     Decimal(str(p["operating_hours"])), str(p["source"]), p.get("operator"))
            for p in [*(dict(d.payload) for d in typed if d.entity == "equipment.usage_log"), *gateway_logs]]
    clocked: dict[tuple[str, date, str], Decimal] = {}
    for d in typed:
        if d.entity == "hr.attendance":
            p = d.payload
            worked = datetime.fromisoformat(str(p["clock_out"])) - datetime.fromisoformat(str(p["clock_in"]))
            clocked[(str(p["employee_id"]), date.fromisoformat(str(p["shift_date"])), str(p["shift"]))] = (
                Decimal(str(worked.total_seconds())) / 3600)
    lines: list[Line] = []
    day = START
    while day <= END:
        lines += lines_from_logs([lg for lg in logs if lg.shift_date == day],
                                 {k: v for k, v in clocked.items() if k[1] == day}, employee_of).lines
        day += timedelta(days=1)
    outcome = reconcile(lines, THRESHOLD, decisions)
    numbers = {eid: str(s["number"]) for eid, s in employees.items()}
    booked = []
    for leave_id, payload in leave_in_push_order:
        request = request_from(leave_id, payload)
        if overlapping(request, booked) is None:
            booked.append(request)
    leave = leave_items(booked, {"AL": "VAC"}, numbers)
    names = {str(s["number"]): str(s["name"]) for s in employees.values()}
    return export(Period(START, END), names, worked_from_reconciliation(lines, outcome, numbers), leave=leave)


def test_a_reconciled_week_exports_the_same_payroll_at_the_other_office_as_a_serial_replay(
        live_hub: HubProcess, mqtt_broker: Broker, tmp_path: Path) -> None:
    hq, hq_sync = _device(live_hub, tmp_path, "hq")
    a, a_sync = _device(live_hub, tmp_path, "office-a")
    b, b_sync = _device(live_hub, tmp_path, "office-b")
    master = _master(hq)
    hq.enqueue_many(master)
    hq_sync.push_until_empty()
    for sync in (a_sync, b_sync):
        sync.catch_up()
    assert a.count("hr.employee") == 4 and b.count("hr.employee") == 4

    # The week, offline: nobody syncs until it is over.
    week_a, week_b = _office_week("a"), _office_week("b")
    a.enqueue_many(week_a)
    b.enqueue_many(week_b)
    _approved_leave(a, "leave-a", *E2_LEAVE, approver="hana")
    _approved_leave(b, "leave-b", date(2026, 4, 4), date(2026, 4, 5), approver="sara")  # overlaps office A's
    gateway_logs = _gateway_week(live_hub, mqtt_broker, tmp_path)
    measured = {(p["equipment_id"], p["shift_date"]): p["operating_hours"] for p in gateway_logs}
    assert measured[("DT03", "2026-04-04")] == 12.0 and measured[("DT03", "2026-04-03")] == 11.0  # the 13 h night

    # Back online: office A, then office B push; everyone catches up.
    for sync in (a_sync, b_sync):
        sync.push_until_empty()
    for sync in (a_sync, b_sync):
        sync.catch_up()
    assert a.outbox_depth() == b.outbox_depth() == 0
    leave = records(live_hub, TENANT, "hr.leave_request")
    assert set(leave) == {"leave-a"} and leave["leave-a"]["status"] == "approved"
    [overlap] = [c for c in records(live_hub, TENANT, "sync.conflict").values() if c.get("kind") == "leave_overlap"]
    assert overlap["entity_id"] == "leave-b" and overlap["status"] == "open" and "overlaps leave leave-a" in overlap[
        "reason"]
    assert overlap["client_payload"]["status"] == "approved"  # office B's approval waits with it, nothing lost
    assert b.rejections() == [] and a.rejections() == []
    assert b.get("hr.leave_request", "leave-b") is None or b.get("hr.leave_request", "leave-b").deleted  # type: ignore[union-attr]

    # Office B cannot pay the week yet: four flagged lines wait for a decision.
    with pytest.raises(ValidationError, match=r"4 reconciliation line\(s\) still open"):
        payroll_csv(b, START, END, THRESHOLD)

    decisions = _reconcile_at(a, "sup-maria")
    assert sorted(d.decision for d in decisions) == ["accept", "correct", "correct", "reject"]
    a_sync.push_until_empty()
    b_sync.catch_up()
    assert a.rejections() == [] and b.count("hr.reconciliation_review") == 4

    exported = payroll_csv(b, START, END, THRESHOLD)
    assert payroll_csv(a, START, END, THRESHOLD) == exported  # both offices' replicas say the same
    leave_order = [("leave-a", {**leave["leave-a"]}),
                   ("leave-b", {"employee_id": "emp-2", "leave_type": "AL", "start_date": "2026-04-04",
                                "end_date": "2026-04-05", "status": "approved", "approved_by": "sara"})]
    assert exported.encode() == _serial_replay([*master, *week_a, *week_b], gateway_logs, decisions,
                                               leave_order).encode()
    # Hand-computed: E1 six 12 h days, Tuesday corrected to 11.5; E2 Monday to Thursday (Wednesday accepted as
    # clocked) and two days of leave; E3 six nights, Tuesday rejected, Saturday's the 13 h night; E4 six nights,
    # Thursday corrected to 12 without a clock-in.
    period = "2026-03-30..2026-04-05"
    # Hours and leave rows carry no allowance figures: their multiplier, rate and amount columns are empty (D59).
    assert [ln for ln in exported.splitlines() if ",ORD," in ln or ",VAC," in ln] == [
        f"{period},E1,Ana Rojas,hours,ORD,71.50,h,,,", f"{period},E2,Luis Soto,hours,ORD,48.00,h,,,",
        f"{period},E2,Luis Soto,leave,VAC,2.00,d,,,", f"{period},E3,Eva Pinto,hours,ORD,61.00,h,,,",
        f"{period},E4,Tom Vera,hours,ORD,73.00,h,,,"]
    for store in (hq, a, b):
        store.close()
