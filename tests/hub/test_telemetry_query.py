"""GET /v1/telemetry/samples (keyset pages, pruning, the index) and retention by whole partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hub.db import connect
from hub.telemetry import partitions
from hub.telemetry.query import RangeQuery, explain
from hub.telemetry.retention import apply_retention
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.fixtures.postgres import run_sync
from tests.hub.test_push import db_fetch
from tests.hub.test_telemetry import NOW, batch, month_start, points, post
from tests.hub.test_telemetry import partitions as partition_names


def get_page(hub: HubProcess, token: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{hub.url}/v1/telemetry/samples", params=params, headers={"Authorization": f"Bearer {token}"},
                     timeout=30)


def test_a_range_reads_back_page_by_page_in_key_order(live_hub: HubProcess) -> None:
    token = provision_device(live_hub.dsn, "t-tq", "north", "gw-1", kind="edge")
    start = month_start(2) + timedelta(days=27)  # runs across a month boundary
    sent = points("EX1", start, 900, step=600) + points("EX1", start, 900, metric="engine_on", step=600) \
        + points("EX2", start, 50, step=600)
    assert post(live_hub, token, batch("gw-1", "north", sent)).json()["accepted"] == 1850
    lo, hi = start + timedelta(hours=10), start + timedelta(days=5)
    expected = sorted((p["metric"], datetime.fromisoformat(p["ts"])) for p in sent
                       if p["equipment_id"] == "EX1" and lo <= datetime.fromisoformat(p["ts"]) < hi)
    for metric in (None, "hour_meter"):
        want = [e for e in expected if metric is None or e[0] == metric]
        got: list[tuple[str, datetime]] = []
        after = None
        while True:
            params: dict[str, Any] = {"equipment_id": "EX1", "start": lo.isoformat(), "end": hi.isoformat(),
                                      "limit": 97}
            if metric:
                params["metric"] = metric
            if after:
                params["after"] = after
            r = get_page(live_hub, token, **params)
            assert r.status_code == 200, r.text
            page = r.json()
            got += [(s["metric"], datetime.fromisoformat(s["ts"])) for s in page["samples"]]
            assert all(s["equipment_id"] == "EX1" and isinstance(s["value"], float) for s in page["samples"])
            after = page["next_after"]
            if after is None:
                break
        assert got == want and len(want) > 97


def test_a_site_scoped_reader_sees_only_its_sites(live_hub: HubProcess) -> None:
    north = provision_device(live_hub.dsn, "t-tq-site", "north", "gw-n", kind="edge")
    south = provision_device(live_hub.dsn, "t-tq-site", "south", "gw-s", kind="edge")
    post(live_hub, north, batch("gw-n", "north", points("DTN", NOW - timedelta(hours=1), 20)))
    rng = {"start": (NOW - timedelta(days=1)).isoformat(), "end": (NOW + timedelta(hours=1)).isoformat()}
    assert len(get_page(live_hub, north, equipment_id="DTN", **rng).json()["samples"]) == 20
    assert get_page(live_hub, south, equipment_id="DTN", **rng).json()["samples"] == []


def test_bad_range_queries_get_a_422(live_hub: HubProcess) -> None:
    token = provision_device(live_hub.dsn, "t-tq-bad", "north", "gw-1", kind="edge")
    ok = {"equipment_id": "DT01", "start": "2026-01-01T00:00:00+00:00", "end": "2026-02-01T00:00:00+00:00"}
    for params in ({**ok, "start": "2026-01-01T00:00:00"}, {**ok, "end": ok["start"]}, {**ok, "limit": 0},
                   {**ok, "limit": 100_001}, {**ok, "after": "nonsense"}, {**ok, "after": "m~yesterday"},
                   {k: v for k, v in ok.items() if k != "equipment_id"}, {**ok, "start": "soon"},
                   {**ok, "equipment_id": "DT\x00"}):
        r = get_page(live_hub, token, **params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["code"] and r.json()["message"]
    assert get_page(live_hub, "nope", **ok).status_code == 401


async def _fill_and_explain(dsn: str) -> tuple[str, str, str]:
    """300,000 rows over three months for 100 machines (COPY, as the bench does), then two plans."""
    conn = await connect(dsn)
    try:
        months = [month_start(back) for back in (9, 10, 11)]
        await partitions.ensure_months(conn, [m.date() for m in months])
        for m in months:
            await conn.execute(
                """INSERT INTO telemetry.samples (tenant_id, equipment_id, metric, ts, value, site_id)
                   SELECT 't-tq-plan', 'EQ' || (g % 100), 'hour_meter',
                          $1::timestamptz + (g / 100) * interval '40 minutes', g, 'north'
                   FROM generate_series(0, 99999) AS g""", m)
        for m in months:  # all-visible, as autovacuum's insert threshold leaves a filled partition
            await conn.execute(f"VACUUM ANALYZE telemetry.samples_{m:%Y_%m}")
        await conn.execute("ANALYZE telemetry.samples")
        one_month = RangeQuery("t-tq-plan", "EQ7", months[1] + timedelta(days=3), months[1] + timedelta(days=4),
                               metric="hour_meter", after=("hour_meter", months[1] + timedelta(days=3, hours=2)))
        any_metric = RangeQuery("t-tq-plan", "EQ7", months[2] + timedelta(days=20), months[1] + timedelta(days=2))
        three_months = RangeQuery("t-tq-plan", "EQ7", months[2], month_start(8), metric="hour_meter")
        return await explain(conn, one_month), await explain(conn, any_metric), await explain(conn, three_months)
    finally:
        await conn.close()


def test_the_plan_prunes_to_the_months_in_range_and_walks_the_primary_key(pg_dsn: str) -> None:
    one_month, two_months, three_months = run_sync(_fill_and_explain(pg_dsn))
    # One day of one metric: one partition, the key alone (it carries value and site: no heap page per point).
    month = f"samples_{month_start(10):%Y_%m}"
    scanned = [line for line in one_month.splitlines() if "samples_" in line]
    assert scanned and all(month in line and "Index Only Scan" in line for line in scanned), one_month
    assert "Seq Scan" not in one_month and "Sort" not in one_month, one_month
    # Every metric across a month boundary: the two months only, merged in (metric, ts) order from the index.
    assert set(partition_names_in(two_months)) == {f"samples_{month_start(b):%Y_%m}" for b in (10, 11)}, two_months
    assert "Merge Append" in two_months and "Seq Scan" not in two_months and "Sort  (" not in two_months, two_months
    # One metric over three months: the partitions in time order, no sort, the LIMIT stops the walk early.
    assert set(partition_names_in(three_months)) == {f"samples_{month_start(b):%Y_%m}" for b in (9, 10, 11)}
    assert "Seq Scan" not in three_months and "Sort" not in three_months, three_months


def partition_names_in(plan: str) -> list[str]:
    import re

    return re.findall(r"samples_\d{4}_\d{2}", plan)


async def _retention(dsn: str) -> tuple[list[str], int]:
    conn = await connect(dsn)
    try:
        old = [month_start(back).date() for back in (30, 29, 26)]
        await partitions.ensure_months(conn, old)
        for m in old:
            await conn.execute(
                """INSERT INTO telemetry.samples (tenant_id, equipment_id, metric, ts, value, site_id)
                   VALUES ('t-tq-ret', 'DT01', 'hour_meter', $1::timestamptz + interval '2 days', 1, 's')""",
                datetime(m.year, m.month, 1, tzinfo=UTC))
        await conn.execute(
            """INSERT INTO telemetry.batches (tenant_id, batch_id, device_id, site_id, received_at, points)
               VALUES ('t-tq-ret', 'old-batch', 'gw', 's', $1, 1)""", month_start(30))
        dropped = await apply_retention(conn, 24)
        left = await conn.fetchval("SELECT count(*) FROM telemetry.batches WHERE tenant_id = 't-tq-ret'")
        return dropped, int(left)
    finally:
        await conn.close()


def test_retention_drops_whole_partitions_past_the_window(live_hub: HubProcess) -> None:
    before = partition_names(live_hub)
    dropped, batches_left = run_sync(_retention(live_hub.dsn))
    assert {f"samples_{month_start(b):%Y_%m}" for b in (30, 29, 26)} <= set(dropped)
    after = partition_names(live_hub)
    assert not any(name in after for name in dropped)
    assert f"samples_{month_start(0):%Y_%m}" in after and f"samples_{month_start(-3):%Y_%m}" in after
    assert before - after == set(dropped) & before
    left = db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM telemetry.samples WHERE tenant_id = 't-tq-ret'")
    assert left[0]["n"] == 0
    assert batches_left == 0
    # A point older than the window is counted, not stored, and makes no partition again.
    token = provision_device(live_hub.dsn, "t-tq-ret", "north", "gw-1", kind="edge")
    r = post(live_hub, token, batch("gw-1", "north", points("DT01", month_start(30), 3)))
    assert r.json()["expired"] == 3 and f"samples_{month_start(30):%Y_%m}" not in partition_names(live_hub)


@pytest.mark.parametrize("months", [0, -1])
def test_retention_of_zero_keeps_everything(pg_dsn: str, months: int) -> None:
    async def run() -> list[str]:
        conn = await connect(pg_dsn)
        try:
            return await apply_retention(conn, months)
        finally:
            await conn.close()

    assert run_sync(run()) == []
