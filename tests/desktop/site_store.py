"""A local store at site size (200 machines, two years of history) for the desktop's scale tests.

The seeded history (`shared.domain.seed`, the same generator `pitline seed` pushes to a hub) is folded per
record with the shared `apply_op` and written as the hub's confirmed state, what a newly enrolled PC holds
after its first sync, without a hub in the loop (a push of 500,000 mutations would take minutes). To it are
added what a site office holds beyond the seed (`office_extras`) and two years of payables and receivables
(`site_finance.finance_extras`, D72).

The rows are the ones `LocalStore.apply_snapshot_page` writes into a fresh store (server state = local
state, version as sent, nothing pending), written in one statement per page and in key order: the snapshot
path does six statements per record, 20 s for half a million records (this, 3 s). `build_site_store` checks a sample
against the snapshot path itself, so a change to the store's schema or to what a snapshot writes fails here
rather than quietly testing something else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from desktop.chart_screen import account_record
from shared.conflicts import apply_op
from shared.domain.finance_entities import DIMENSION_VALUE_ENTITY, dimension_value_id
from shared.domain.rosters import assignment_payloads, parse_blocks, rotation_calendar
from shared.domain.seed import SiteSpec, generate
from shared.domain.shifts import ShiftPattern
from shared.domain.stock_postings import default_accounts
from shared.envelopes import Op, Outcome, OutcomeStatus
from shared.store import DeviceIdentity, KeyProvider, LocalStore
from tests.desktop.site_finance import finance_extras

SITE = "north"


def site_spec(machines: int = 200, days: int = 730, today: date | None = None) -> SiteSpec:
    """Two years ending yesterday, so the screens' default periods (the last 30 days) have data."""
    start = (today or date.today()) - timedelta(days=days)
    return SiteSpec(machines=machines, items=1_000, days=days, start=start, site_id=SITE, issues_per_day=40)


def folded(spec: SiteSpec) -> dict[tuple[str, str], tuple[dict[str, Any] | None, int]]:
    """(state, version) per record after every seeded change, in the order the generator made them."""
    records: dict[tuple[str, str], tuple[dict[str, Any] | None, int]] = {}
    for d in generate(spec):
        key = (d.entity, d.entity_id)
        state, version = records.get(key, (None, 0))
        records[key] = (apply_op(state, Op(d.op), d.payload), version + 1)
    return records


def people_extras(records: dict[tuple[str, str], tuple[dict[str, Any] | None, int]], today: date,
                  machines: list[str]) -> None:
    """The site's people as HR keeps them: an operator per machine here, clocked in for today's day shift, their
    logged hours today (short of what they clocked), a leave type and a
    few leave requests. Every fifth did not clock in: the reconciliation has lines to review."""
    records[("hr.leave_type", "AL")] = ({"code": "AL", "name": "Annual leave", "days_per_month": 1.5,
                                          "carry_over_cap": 10, "paid": True, "payroll_code": "AL"}, 1)
    # The site's settings and calendar, and four crews on a 14/7 a week apart with their roster generated four
    # weeks from today (the Rosters and Site settings screens have rows).
    records[("hr.site_settings", SITE)] = ({"time_zone": "UTC", "day_start": "06:00", "night_start": "18:00",
                                            "threshold_hours": 0.5}, 1)
    records[("hr.public_holiday", f"{SITE}:{today.year}-12-25")] = ({"day": f"{today.year}-12-25",
                                                                      "name": "Christmas Day"}, 1)
    records[("hr.allowance_rule", "NIGHT")] = ({"code": "NIGHT", "name": "Night shift", "basis": "night_shift",
                                                "rate_cents": 4500}, 1)
    blocks = [{"kind": "day", "days": 7}, {"kind": "night", "days": 7}, {"kind": "travel", "days": 1},
              {"kind": "off", "days": 5}, {"kind": "travel", "days": 1}]
    records[("hr.rotation_pattern", "r-14-7")] = ({"name": "14/7", "blocks": blocks}, 1)
    rotation = parse_blocks("14/7", blocks)
    for c in range(4):
        anchor = today - timedelta(days=7 * c)
        records[("hr.crew", f"crew-{c}")] = ({"name": f"Crew {c}", "site": SITE, "rotation_id": "r-14-7",
                                              "rotation_anchor": anchor.isoformat()}, 1)
        members = [f"emp-{n:03d}" for n in range(len(machines)) if n % 4 == c]
        calendar = rotation_calendar(rotation, anchor, today, today + timedelta(days=27), ShiftPattern())
        for row_id, payload in assignment_payloads(members, f"crew-{c}", calendar).items():
            records[("hr.roster_assignment", row_id)] = (payload, 1)
    for n, machine in enumerate(machines):
        name = f"Operator {n:03d}"
        employee = f"emp-{n:03d}"
        records[("hr.employee", employee)] = ({
            "number": f"E{n:04d}", "name": name, "position": "Haul truck operator", "department": "Mining",
            "site": SITE, "crew_id": f"crew-{n % 4}", "hire_date": "2020-01-06", "status": "active",
            "user_id": f"op{n:03d}"}, 1)  # each signs in to "My roster & leave"
        if n % 5 == 0:
            records[("equipment.usage_log", f"{machine}:{today.isoformat()}:day")] = ({
                "equipment_id": machine, "shift_date": today.isoformat(), "shift": "day", "operator": name,
                "operating_hours": 9.0, "standby_hours": 1.0, "source": "manual"}, 1)
            continue  # logged hours on a machine, never clocked in: the reconciliation flags it
        records[("hr.attendance", f"att-{employee}-{today.isoformat()}")] = ({
            "employee_id": employee, "shift_date": today.isoformat(), "shift": "day",
            "clock_in": f"{today.isoformat()}T06:00:00+00:00", "clock_out": f"{today.isoformat()}T18:00:00+00:00",
            "source": "office", "status": "pending"}, 1)
        records[("equipment.usage_log", f"{machine}:{today.isoformat()}:day")] = ({
            "equipment_id": machine, "shift_date": today.isoformat(), "shift": "day", "operator": name,
            "operating_hours": 8.0 + (n % 3), "standby_hours": 1.0, "source": "manual"}, 1)
        if n % 8 == 0:
            start = today + timedelta(days=14 + n)
            records[("hr.leave_request", f"leave-{employee}")] = ({
                "employee_id": employee, "leave_type": "AL", "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=4)).isoformat(), "days": 5, "status": "requested"}, 1)


def office_extras(records: dict[tuple[str, str], tuple[dict[str, Any] | None, int]], today: date) -> None:
    """What the seed leaves out but a site office has, so no screen is empty: rental machines (every tenth,
    with a customer and rate), a PO waiting for the supervisor, a transfer still on the road, and conflicts
    waiting for a person; and the tenant's chart of accounts."""
    units = sorted(k for k in records if k[0] == "equipment.unit")
    for n, key in enumerate(units[::10]):
        state, version = records[key]
        records[key] = ({**(state or {}), "rental": True, "rental_rate": 250.0 + 10 * n,
                         "customer": f"Customer {n % 4 + 1}"}, version + 1)
    lines = [{"line_id": "1", "item_id": "item-00001", "store_id": "store-main", "quantity": 4.0,
              "unit_price": 120.0}]
    records[("procurement.purchase_order", "po-waiting")] = ({
        "number": "PO-WAIT-1", "vendor_id": "vendor-001", "currency": "AUD", "total": 480.0,
        "approval": "submitted", "lines": lines}, 1)
    records[("approvals.request", "req-waiting")] = ({
        "document_type": "procurement.purchase_order", "document_id": "po-waiting", "amount": 480.0,
        "requested_by": "buyer", "requested_at": f"{today.isoformat()}T07:00:00+00:00", "title": "PO-WAIT-1"}, 1)
    records[("inventory.movement", "mv-in-transit")] = ({
        "kind": "transfer_out", "store_id": "store-main", "item_id": "item-00001", "quantity": 2.0,
        "occurred_at": f"{today.isoformat()}T06:30:00+00:00", "by": "storeman", "transfer_id": "tr-on-the-road",
        "to_store_id": "store-workshop", "unit_cost": 120.0}, 1)
    people_extras(records, today, [u[1] for u in units[:40]])
    for acc in default_accounts():  # the tenant keeps its chart of accounts (the standard one)
        records[("finance.account", acc.code)] = (account_record(acc), 1)
    # and its cost-centre and project lists (the maintenance and unallocated centres issues default to, D36)
    for dimension, value, name in [("cost_centre", "maintenance", "Maintenance"),
                                   ("cost_centre", "unallocated", "Unallocated"),
                                   ("cost_centre", "haulage", "Haulage"),
                                   ("cost_centre", "drilling", "Drill and blast"),
                                   ("cost_centre", "processing", "Processing plant"),
                                   ("project", "tsf-lift-3", "Tailings dam lift 3"),
                                   ("project", "haul-road-north", "North haul road")]:
        records[(DIMENSION_VALUE_ENTITY, dimension_value_id(dimension, value))] = (
            {"dimension": dimension, "value": value, "name": name, "active": True}, 1)
    for n in range(30):
        unit = units[n][1]
        records[("sync.conflict", f"conflict-{n:02d}")] = ({
            "entity": "equipment.unit", "entity_id": unit, "mutation_id": f"m-{n}", "device_id": "desk-2",
            "actor": "planner", "strategy": "client_override", "status": "open", "needs_person": True,
            "base_version": 1, "server_version": 2, "server_data": records[("equipment.unit", unit)][0] or {},
            "client_op": "update", "client_payload": {"status": "down"}, "fields": ["status"],
            "resolution": "held for a person", "created_at": f"{today.isoformat()}T06:00:00+00:00"}, 1)


def _pages(records: dict[tuple[str, str], tuple[dict[str, Any] | None, int]], size: int) -> Iterator[
        list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    for (entity, entity_id), (state, version) in sorted(records.items()):  # key order: B-tree appends, 4x faster
        if state is None:
            continue
        page.append({"entity": entity, "entity_id": entity_id, "version": version, "data": state, "site_id": SITE})
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _write_confirmed(store: LocalStore, page: list[dict[str, Any]]) -> None:
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO records (entity, entity_id, site_id, server_version, server_state, local_state, deleted, "
            "pending) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
            [(r["entity"], r["entity_id"], r["site_id"], r["version"], text, text)
             for r in page for text in (orjson.dumps(r["data"]).decode(),)])


def refuse_at_the_hub(store: LocalStore, count: int) -> None:
    """Changes typed here that the hub refused for good, recorded as the sync client records a push answer."""
    outcomes = []
    for n in range(count):
        m = store.enqueue("equipment.breakdown", f"refused-{n}", "create", {
            "equipment_id": "EQ-0001", "started_at": "2026-11-30T06:00:00+00:00", "cause": f"refused cause {n}"},
            actor="planner")
        outcomes.append(Outcome(mutation_id=m.id, device_seq=m.device_seq, status=OutcomeStatus.REJECTED,
                                code="forbidden", message="planner may not create equipment.breakdown at site-1"))
    store.apply_outcomes(outcomes)


def build_site_store(path: Path, key: KeyProvider, spec: SiteSpec, *, tenant: str = "t-site") -> dict[str, int]:
    """Write the seeded site into a new store at `path`; returns the record count per entity."""
    records = folded(spec)
    office_extras(records, spec.start + timedelta(days=spec.days))
    finance_extras(records, spec.start + timedelta(days=spec.days), spec.start)
    store = LocalStore.open(path, key)
    try:
        store.set_identity(DeviceIdentity("desk-site", tenant, SITE))
        pages = _pages(records, 20_000)
        sample = next(pages)
        store.apply_snapshot_page(sample[:200])  # the real path, to compare with
        expected = {(r["entity"], r["entity_id"]): store.get(r["entity"], r["entity_id"]) for r in sample[:200]}
        for page in (sample[200:], *pages):
            _write_confirmed(store, page)
        for (entity, entity_id), want in expected.items():
            with store.transaction():
                store.connection.execute("DELETE FROM records WHERE entity = ? AND entity_id = ?",
                                         (entity, entity_id))
            _write_confirmed(store, [r for r in sample[:200] if (r["entity"], r["entity_id"]) == (entity,
                                                                                                  entity_id)])
            got = store.get(entity, entity_id)
            assert got == want, f"the fast writer and the snapshot path disagree on {entity} {entity_id}"
        refuse_at_the_hub(store, 3)
    finally:
        store.close()
    counts: dict[str, int] = {}
    for (entity, _id), (state, _v) in records.items():
        if state is not None:
            counts[entity] = counts.get(entity, 0) + 1
    return counts
