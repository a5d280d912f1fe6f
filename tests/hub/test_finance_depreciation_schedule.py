"""The hub's monthly depreciation schedule (hub/finance/depreciation_schedule.py, D79) against real PostgreSQL, on
a hub database of its own (the schedule works on every tenant of its database): with its clock injected it runs
the last complete month once for each tenant with assets, a second tick posts nothing, a closed month is not run
and said once, two workers racing post once, and the background loop logs a database outage once and its
recovery once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.db import connect
from hub.finance.admin import set_period
from hub.finance.depreciation_schedule import (
    DepreciationSchedule,
    TickReport,
    last_complete_month,
    schedule_setting,
)
from hub.identity.admin import admin_principal
from shared.domain.periods import Period
from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess, private_hub
from tests.hub.test_finance_ap_ar import lines
from tests.hub.test_push import db_fetch, make_device

NOV_1 = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)  # October is over
LOGGER = "pitline.hub.finance.depreciation_schedule"


@pytest.fixture(scope="module")
def hub(pg_server_url: str) -> Iterator[HubProcess]:
    with private_hub(pg_server_url, "pitline_deprsched") as h:  # the hub's own schedule is off (harness)
        yield h


def with_assets(hub: HubProcess, *assets: tuple[str, str]) -> str:
    """A tenant with straight-line assets (id, cost): 90 % of cost over 60 months from 15 August 2026."""
    tenant = f"t-dsch-{new_ulid()[-6:].lower()}"
    dev = make_device(hub, tenant, "s1", "fa-desk")
    out = dev.push_ok([dev.mutation("finance.asset", asset_id, "create", {
        "equipment_id": f"EQ-{asset_id}", "cost": cost, "salvage": str(int(cost.split(".")[0]) // 10) + ".00",
        "in_service": "2026-08-15", "method": "straight_line", "life_months": 60}) for asset_id, cost in assets])
    assert [o["status"] for o in out] == ["applied"] * len(assets), out
    return tenant


def depreciation(hub: HubProcess, tenant: str) -> dict[str, list[tuple[str, str, str]]]:
    return {k: v for k, v in lines(hub, tenant).items() if k.startswith("depreciation:")}


def markers(hub: HubProcess, tenant: str) -> list[Any]:
    return db_fetch(hub.dsn, "SELECT entity_id, actor, details FROM audit.log WHERE tenant_id = $1 AND action = "
                             "'finance.depreciation.scheduled' ORDER BY at", tenant)


def test_the_month_and_the_setting() -> None:
    assert last_complete_month(NOV_1) == Period(2026, 10)
    assert last_complete_month(datetime(2026, 1, 1, tzinfo=UTC)) == Period(2025, 12)
    assert last_complete_month(datetime(2026, 10, 31, 23, 59, tzinfo=UTC)) == Period(2026, 9)  # October not over
    assert schedule_setting({}) == 900.0 and schedule_setting({"PITLINE_DEPRECIATION_SCHEDULE": "off"}) is None
    assert schedule_setting({"PITLINE_DEPRECIATION_SCHEDULE_SECONDS": "30"}) == 30.0
    with pytest.raises(ValueError, match="write on or off"):
        schedule_setting({"PITLINE_DEPRECIATION_SCHEDULE": "monthly"})
    with pytest.raises(ValueError, match="more than 0"):
        schedule_setting({"PITLINE_DEPRECIATION_SCHEDULE_SECONDS": "0"})


async def test_a_tick_posts_last_months_depreciation_once_and_skips_a_closed_month_saying_so_once(
        hub: HubProcess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    open_tenant = with_assets(hub, ("A-SL", "100000.00"))
    closed_tenant = with_assets(hub, ("B-SL", "50000.00"))
    conn = await connect(hub.dsn)
    try:
        async with conn.transaction():
            await set_period(conn, admin_principal(closed_tenant, "fin"), "2026-10", close=True)
    finally:
        await conn.close()
    now = NOV_1
    schedule = DepreciationSchedule(hub.dsn, clock=lambda: now)
    try:
        first = await schedule.tick()
        assert first.locked and first.period == Period(2026, 10)
        # August to October never ran: October catches up 3 × 1,500.00 (D42).
        assert first.posted == {open_tenant: 1}
        assert depreciation(hub, open_tenant) == {
            "depreciation:A-SL:2026-10": [("6500", "4500.00", "0.00"), ("1590", "0.00", "4500.00")]}
        assert "period 2026-10 is closed" in first.closed[closed_tenant]
        assert depreciation(hub, closed_tenant) == {}
        [marker] = markers(hub, open_tenant)
        assert (marker["entity_id"], marker["actor"]) == ("2026-10", "hub:depreciation-schedule")
        assert markers(hub, closed_tenant) == []  # not run: a reopened October still runs on a later tick

        second = await schedule.tick()
        assert second.posted == {} and closed_tenant in second.closed
        assert len(depreciation(hub, open_tenant)) == 1 and len(markers(hub, open_tenant)) == 1
        said = [r.getMessage() for r in caplog.records if "not run for tenant " + closed_tenant in r.getMessage()]
        assert len(said) == 1 and "period 2026-10 is closed" in said[0]

        # A month later November is over: one more month, 1,500.00, for the open tenant.
        now = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
        third = await schedule.tick()
        assert third.period == Period(2026, 11) and third.posted == {open_tenant: 1, closed_tenant: 1}
        got = depreciation(hub, open_tenant)
        assert got["depreciation:A-SL:2026-11"] == [("6500", "1500.00", "0.00"), ("1590", "0.00", "1500.00")]
        # The closed tenant's November runs and catches October up with it (4 × 750.00).
        assert depreciation(hub, closed_tenant)["depreciation:B-SL:2026-11"][0] == ("6500", "3000.00", "0.00")
    finally:
        await schedule.stop()


async def test_two_workers_racing_post_once(hub: HubProcess) -> None:
    tenant = with_assets(hub, ("C-1", "60000.00"), ("C-2", "30000.00"))
    workers = [DepreciationSchedule(hub.dsn, clock=lambda: NOV_1) for _ in range(2)]
    try:
        reports: list[TickReport] = []
        for _ in range(3):
            reports += await asyncio.gather(*(w.tick() for w in workers))
        assert sum(r.posted.get(tenant, 0) for r in reports) == 2  # both assets, once
        # Under the schedule's lock a second worker skips that tick. Even past it (two runs of one tenant's month
        # at once, as a stale lock would allow), the tenant's lock and the marker read under it run it once.
        other = with_assets(hub, ("E-1", "60000.00"))
        conns = [await w._connection() for w in workers]
        race = [TickReport(locked=True) for _ in workers]
        await asyncio.gather(*(w._run_tenant(c, other, Period(2026, 10), r)
                               for w, c, r in zip(workers, conns, race, strict=True)))
        assert sorted(r.posted.get(other, 0) for r in race) == [0, 1]
        assert list(depreciation(hub, other)) == ["depreciation:E-1:2026-10"] and len(markers(hub, other)) == 1
    finally:
        for w in workers:
            await w.stop()
    got = depreciation(hub, tenant)
    assert sorted(got) == ["depreciation:C-1:2026-10", "depreciation:C-2:2026-10"]
    assert got["depreciation:C-2:2026-10"][0] == ("6500", "1350.00", "0.00")  # 27,000 / 60 = 450.00 × 3
    assert len(markers(hub, tenant)) == 1


async def test_the_background_task_runs_on_its_clock_and_says_an_outage_once_and_the_recovery_once(
        hub: HubProcess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    tenant = with_assets(hub, ("D-1", "20000.00"))
    schedule = DepreciationSchedule(hub.dsn, clock=lambda: NOV_1, interval_seconds=0.05, first_delay=0)

    async def until(done: Any, what: str) -> None:
        for _ in range(200):
            if done():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the schedule did not {what}")

    await schedule.start()
    try:
        await until(lambda: markers(hub, tenant), "run October")
        ticks = schedule.ticks
        await until(lambda: schedule.ticks >= ticks + 3, "keep ticking")
        assert len(depreciation(hub, tenant)) == 1 and len(markers(hub, tenant)) == 1
        # The database goes away (its connection killed, and nowhere to reconnect) for several ticks.
        good = schedule.url
        schedule.url = "postgresql://postgres@127.0.0.1:1/postgres"
        assert schedule._conn is not None
        db_fetch(hub.dsn, "SELECT pg_terminate_backend($1)", schedule._conn.get_server_pid())
        failing = lambda: [r for r in caplog.records if "cannot use the database" in r.getMessage()]  # noqa: E731
        await until(failing, "say the outage")
        ticks = schedule.ticks
        await until(lambda: schedule.ticks >= ticks + 5, "retry")
        schedule.url = good
        await until(lambda: [r for r in caplog.records if r.getMessage() == "depreciation schedule recovered"],
                    "recover")
        ticks = schedule.ticks
        await until(lambda: schedule.ticks >= ticks + 3, "tick after recovering")
    finally:
        await schedule.stop()
    assert len(failing()) == 1 and failing()[0].levelno == logging.ERROR
    assert [r.getMessage() for r in caplog.records].count("depreciation schedule recovered") == 1
    assert len(depreciation(hub, tenant)) == 1


def test_a_hub_with_two_workers_runs_the_schedule_from_its_lifespan_and_posts_once(pg_server_url: str) -> None:
    """The real wiring: `hub.app`'s lifespan starts the loop in each uvicorn worker, on the wall clock."""
    env = {"PITLINE_DEPRECIATION_SCHEDULE": "on", "PITLINE_DEPRECIATION_SCHEDULE_SECONDS": "0.3"}
    with private_hub(pg_server_url, "pitline_deprwork", env=lambda _dsn: env, workers=2) as two:
        tenant = with_assets(two, ("W-1", "12000.00"))
        month = str(last_complete_month(datetime.now(UTC)))
        for _ in range(100):
            if markers(two, tenant):
                break
            time.sleep(0.1)
        time.sleep(1.5)  # several more ticks of both workers
        assert list(depreciation(two, tenant)) == [f"depreciation:W-1:{month}"]
        assert [m["entity_id"] for m in markers(two, tenant)] == [month]
