"""`GET /v1/hr/reconciliation`: HQ reads a period's hours reconciliation from what the hub holds, by the shared
rules (a real hub and PostgreSQL): lines, flags, the supervisors' decisions and accepted hours, the 13 h night
counted as 13 h, only the caller's sites, and bad input answered with a 422 and a message."""

from __future__ import annotations

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess
from tests.hub.device import person_client
from tests.hub.test_push import make_device

NIGHT = {"shift_date": "2026-04-04", "shift": "night", "clock_in": "2026-04-04T18:00:00-03:00",
         "clock_out": "2026-04-05T06:00:00-04:00", "source": "office", "status": "approved"}


def _log(equipment: str, hours: float, source: str, operator: str | None = None) -> dict[str, object]:
    log: dict[str, object] = {"equipment_id": equipment, "shift_date": "2026-04-04", "shift": "night",
                              "operating_hours": hours, "source": source}
    return {**log, "operator": operator} if operator else log


def test_hq_reads_the_period_s_lines_decisions_and_accepted_hours_for_its_sites(live_hub: HubProcess) -> None:
    tenant = f"t-recapi-{new_ulid()[-6:].lower()}"
    north, south = make_device(live_hub, tenant, "north", "desk-n"), make_device(live_hub, tenant, "south", "desk-s")
    out = north.push_ok([
        north.mutation("hr.employee", "emp-1", "create", {"number": "E1", "name": "Eva Pinto",
                                                          "hire_date": "2025-01-01", "status": "active"}),
        north.mutation("hr.employee", "emp-2", "create", {"number": "E2", "name": "Tom Vera",
                                                          "hire_date": "2025-01-01", "status": "active"}),
        north.mutation("hr.attendance", "a1", "create", {**NIGHT, "employee_id": "emp-1"}),
        north.mutation("hr.attendance", "a2", "create", {**NIGHT, "employee_id": "emp-2"}),
        north.mutation("equipment.usage_log", new_ulid(), "create", _log("DT03", 12, "manual", "E1")),
        north.mutation("equipment.usage_log", "DT03:t", "create", _log("DT03", 12, "telematics")),
        north.mutation("equipment.usage_log", new_ulid(), "create", _log("DT04", 8, "manual", "E2")),
        north.mutation("equipment.usage_log", "DT04:t", "create", _log("DT04", 12, "telematics")),
        north.mutation("hr.reconciliation_review", "emp-2:2026-04-04:night", "create", {
            "employee_id": "emp-2", "shift_date": "2026-04-04", "shift": "night", "decision": "corrected",
            "paid_hours": 12.5, "reason": "log sheet torn"}),
    ])
    assert {o["status"] for o in out} == {"applied"}, out
    south.push_ok([south.mutation("hr.attendance", "a3", "create", {**NIGHT, "employee_id": "emp-9"})])

    with person_client(live_hub.url, live_hub.dsn, tenant, roles=("hr",)) as hq:
        r = hq.get("/v1/hr/reconciliation", params={"from": "2026-04-01", "to": "2026-04-07"})
        assert r.status_code == 200, r.text
        body = r.json()
        # emp-1: nothing flagged, paid the 13 h clocked; emp-2: 8 logged vs 12 measured, corrected to 12.5; the
        # south office's clocked person (no employee record yet) is a third line, paid the 13 h clocked.
        assert (body["lines"], body["flagged"], body["open"], body["decided"]["corrected"]) == (3, 1, 0, 1)
        assert body["paid_hours"] == "38.50" and body["sites"] is None
        assert [(e["number"], e["paid_hours"], e["machine_hours"]) for e in body["employees"]] == [
            ("E1", "13.00", "12.00"), ("E2", "12.50", "12.00"), (None, "13.00", "0.00")]
        bad = [hq.get("/v1/hr/reconciliation", params=p) for p in (
            {"from": "2026-04-07", "to": "2026-04-01"}, {"from": "2026-01-01", "to": "2026-04-01"},
            {"from": "2026-04-01", "to": "2026-04-07", "threshold": "lots"}, {"from": "April", "to": "2026-04-07"})]
        assert [b.status_code for b in bad] == [422, 422, 422, 422], [b.text for b in bad]
        assert all(b.json()["message"] for b in bad)
    with person_client(live_hub.url, live_hub.dsn, tenant, roles=("site_manager",), site_ids=["south"],
                       user_id="south-manager") as south_manager:
        body = south_manager.get("/v1/hr/reconciliation", params={"from": "2026-04-01", "to": "2026-04-07"}).json()
        assert body["sites"] == ["south"] and body["lines"] == 1 and body["paid_hours"] == "13.00"
    with person_client(live_hub.url, live_hub.dsn, tenant, roles=("finance",), user_id="fin") as finance:
        r = finance.get("/v1/hr/reconciliation", params={"from": "2026-04-01", "to": "2026-04-07"})
        assert r.status_code == 403 and "needs a role that reads hr.*" in r.json()["message"]



def test_a_person_s_leave_and_a_period_s_records_are_read_through_their_indexes(live_hub: HubProcess) -> None:
    """The statements the people rules and the summary run, planned generically (as a prepared statement is after
    its first runs) with sequential scans priced out, use migration 0014's partial indexes."""
    from hub.people.api import BY_DATE_SQL
    from hub.people.reads import lookup_sql

    for sql, index in ((lookup_sql("hr.leave_request", "employee_id"), "records_leave_by_employee"),
                       (BY_DATE_SQL, "records_by_shift_date")):
        plan = _generic_plan(live_hub.dsn, sql)
        assert index in plan, plan


def _generic_plan(dsn: str, sql: str) -> str:
    import re

    import asyncpg

    from pitline.harness import run_sync

    async def run() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off")
            n = max(int(i) for i in re.findall(r"\$(\d+)", sql))
            types = ", ".join("text[]" if f"${i}::text[]" in sql else "text" for i in range(1, n + 1))
            await conn.execute(f"PREPARE q ({types}) AS {sql}")
            rows = await conn.fetch(f"EXPLAIN EXECUTE q({', '.join('NULL' for _ in range(n))})")
            return "\n".join(r[0] for r in rows)
        finally:
            await conn.close()

    return run_sync(run())


def test_without_a_threshold_each_site_s_own_setting_flags_its_lines(live_hub: HubProcess) -> None:
    tenant = f"t-recsite-{new_ulid()[-6:].lower()}"
    north, south = make_device(live_hub, tenant, "north", "desk-n"), make_device(live_hub, tenant, "south", "desk-s")
    employees = [north.mutation("hr.employee", f"emp-{n}", "create", {
        "number": f"E{n}", "name": f"Person {n}", "hire_date": "2025-01-01", "status": "active"}) for n in (1, 2)]
    assert {o["status"] for o in north.push_ok([
        *employees,
        north.mutation("hr.site_settings", "north", "create", {  # north tolerates 5 h, in its own zone
            "time_zone": "America/Santiago", "day_start": "07:00", "night_start": "19:00", "threshold_hours": 5}),
        north.mutation("hr.attendance", "a1", "create", {**NIGHT, "employee_id": "emp-1"}),
        north.mutation("equipment.usage_log", new_ulid(), "create", _log("DT03", 8, "manual", "E1")),
        north.mutation("equipment.usage_log", "DT03:t", "create", _log("DT03", 12, "telematics")),
    ])} == {"applied"}
    assert {o["status"] for o in south.push_ok([  # south has no setting: the default 0.5 h; the same 4 h variance
        south.mutation("hr.attendance", "a2", "create", {**NIGHT, "employee_id": "emp-2"}),
        south.mutation("equipment.usage_log", new_ulid(), "create", _log("DT09", 8, "manual", "E2")),
        south.mutation("equipment.usage_log", "DT09:t", "create", _log("DT09", 12, "telematics")),
    ])} == {"applied"}

    with person_client(live_hub.url, live_hub.dsn, tenant, roles=("hr",)) as hq:
        period = {"from": "2026-04-01", "to": "2026-04-07"}
        body = hq.get("/v1/hr/reconciliation", params=period).json()
        # 8 logged vs 12 measured: within north's 5 h (accepted as it stands, paid the 13 h clocked), over south's
        # 0.5 h (open): one line flagged of two.
        assert (body["lines"], body["flagged"], body["open"], body["open_lines"]) == (
            2, 1, 1, ["emp-2:2026-04-04:night"]), body
        assert body["threshold_hours"] is None and body["paid_hours"] == "13.00"
        assert body["site_settings"] == [
            {"site_id": "north", "time_zone": "America/Santiago", "threshold_hours": "5",
             "applied_threshold_hours": "5", "problems": []},
            {"site_id": "south", "time_zone": "UTC", "threshold_hours": "0.5", "applied_threshold_hours": "0.5",
             "problems": []}]
        # A threshold given applies to every site, as before.
        given = hq.get("/v1/hr/reconciliation", params={**period, "threshold": "0.5"}).json()
        assert (given["flagged"], given["open"], given["threshold_hours"]) == (2, 2, "0.5")
        assert [s["applied_threshold_hours"] for s in given["site_settings"]] == ["0.5", "0.5"]
    # HR raises south's threshold: the same request now flags nothing there either.
    assert south.push_ok([south.mutation("hr.site_settings", "south", "create", {
        "time_zone": "UTC", "day_start": "06:00", "night_start": "18:00", "threshold_hours": 4})])[0][
        "status"] == "applied"
    with person_client(live_hub.url, live_hub.dsn, tenant, roles=("hr",)) as hq:
        body = hq.get("/v1/hr/reconciliation", params=period).json()
        assert (body["flagged"], body["open"], body["paid_hours"]) == (0, 0, "26.00"), body
