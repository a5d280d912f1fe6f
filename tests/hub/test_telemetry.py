"""POST /v1/telemetry against a real hub and PostgreSQL: exactly once by batch and by point, partitions
made on demand, and every bad input a 4xx with {code, message} that stores nothing."""

from __future__ import annotations

import gzip
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import zstandard

from shared.ids import new_ulid
from tests.fixtures.hubserver import HubProcess, provision_device
from tests.hub.device import metrics_text
from tests.hub.test_push import db_fetch

NOW = datetime.now(UTC).replace(microsecond=0)


def points(equipment: str, start: datetime, n: int, metric: str = "hour_meter",
           step: float = 1.0) -> list[dict[str, Any]]:
    return [{"equipment_id": equipment, "metric": metric, "ts": (start + timedelta(seconds=i * step)).isoformat(),
             "value": 1000 + i / 3600} for i in range(n)]


def batch(device: str, site: str, samples: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"batch_id": new_ulid(), "device_id": device, "site_id": site, "samples": samples, **extra}


def post(hub: HubProcess, token: str, body: dict[str, Any] | bytes, encoding: str = "zstd",
         **headers: str) -> httpx.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    if encoding == "zstd" and not isinstance(body, bytes):
        raw = zstandard.ZstdCompressor().compress(raw)
    elif encoding == "gzip" and not isinstance(body, bytes):
        raw = gzip.compress(raw)
    return httpx.post(f"{hub.url}/v1/telemetry", content=raw, timeout=60,
                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                               "Content-Encoding": encoding, **headers})


def stored(hub: HubProcess, tenant: str, equipment: str | None = None) -> int:
    sql = "SELECT count(*) AS n FROM telemetry.samples WHERE tenant_id = $1"
    if equipment is None:
        return int(db_fetch(hub.dsn, sql, tenant)[0]["n"])
    return int(db_fetch(hub.dsn, sql + " AND equipment_id = $2", tenant, equipment)[0]["n"])


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["message"] and body["code"]
    if code is not None:
        assert body["code"] == code, body


def test_a_batch_is_stored_once_and_a_replay_gets_the_original_answer(live_hub: HubProcess) -> None:
    token = provision_device(live_hub.dsn, "t-tel", "north", "gw-1", kind="edge")
    hour_ago = NOW - timedelta(hours=1)
    b = batch("gw-1", "north", points("DT01", hour_ago, 1000) + points("DT02", hour_ago, 500),
              pending_samples=7, outbox_depth=3, disk_bytes=123456)
    first = post(live_hub, token, b)
    assert first.status_code == 200, first.text
    assert first.json() == {"batch_id": b["batch_id"], "accepted": 1500, "duplicates": 0, "expired": 0, "future": 0}
    for encoding in ("zstd", "gzip", "identity"):  # the same batch again, in every encoding: the original answer
        again = post(live_hub, token, b, encoding)
        assert again.status_code == 200 and again.json() == first.json()
    # A replay carrying different points (a bug on the device) still changes nothing.
    changed = {**b, "samples": points("DT09", NOW, 10)}
    assert post(live_hub, token, changed).json() == first.json()
    assert stored(live_hub, "t-tel", "DT01") == 1000 and stored(live_hub, "t-tel", "DT02") == 500
    assert stored(live_hub, "t-tel", "DT09") == 0
    rows = db_fetch(live_hub.dsn, "SELECT device_id, site_id, points, accepted FROM telemetry.batches "
                                  "WHERE tenant_id = 't-tel' AND batch_id = $1", b["batch_id"])
    assert [dict(r) for r in rows] == [{"device_id": "gw-1", "site_id": "north", "points": 1500, "accepted": 1500}]
    status = db_fetch(live_hub.dsn, "SELECT pending_samples, outbox_depth, disk_bytes FROM telemetry.device_status "
                                    "WHERE tenant_id = 't-tel' AND device_id = 'gw-1'")
    assert dict(status[0]) == {"pending_samples": 7, "outbox_depth": 3, "disk_bytes": 123456}


def test_points_already_stored_are_counted_as_duplicates_not_stored_again(live_hub: HubProcess) -> None:
    token = provision_device(live_hub.dsn, "t-tel-dup", "north", "gw-1", kind="edge")
    start = NOW - timedelta(hours=2)
    a = post(live_hub, token, batch("gw-1", "north", points("DT01", start, 600)))
    assert a.json()["accepted"] == 600
    # A new batch id overlapping the first by half, with a point repeated inside it, in reverse order.
    overlap = points("DT01", start + timedelta(seconds=300), 600)
    overlap = list(reversed(overlap)) + overlap[:5]
    b = post(live_hub, token, batch("gw-1", "north", overlap))
    assert b.status_code == 200, b.text
    assert b.json()["accepted"] == 300 and b.json()["duplicates"] == 305
    # Another metric at the same instants is another point.
    c = post(live_hub, token, batch("gw-1", "north", points("DT01", start, 10, metric="engine_on")))
    assert c.json()["accepted"] == 10
    assert stored(live_hub, "t-tel-dup") == 910


def test_concurrent_copies_of_one_batch_store_it_once(live_hub: HubProcess) -> None:
    token = provision_device(live_hub.dsn, "t-tel-race", "north", "gw-1", kind="edge")
    b = batch("gw-1", "north", points("DT01", NOW - timedelta(hours=3), 3000))
    answers: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(post(live_hub, token, b))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    assert {r.content for r in answers} == {orjson.dumps({"batch_id": b["batch_id"], "accepted": 3000, "duplicates": 0,
                                                          "expired": 0, "future": 0})}
    assert stored(live_hub, "t-tel-race") == 3000


def month_start(months_back: int) -> datetime:
    index = NOW.year * 12 + NOW.month - 1 - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partitions(hub: HubProcess) -> set[str]:
    rows = db_fetch(hub.dsn, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                             "WHERE i.inhparent = 'telemetry.samples'::regclass")
    return {r["relname"] for r in rows}


def test_old_and_out_of_order_months_get_their_partitions_and_the_too_old_or_future_are_counted(
    live_hub: HubProcess,
) -> None:
    token = provision_device(live_hub.dsn, "t-tel-old", "north", "gw-1", kind="edge")
    # A gateway back from a long outage: months 7 and 5 ago, interleaved newest first.
    old = points("DT01", month_start(5) + timedelta(days=27), 200, step=3600) + points("DT01", month_start(7), 50)
    too_old = points("DT01", month_start(40), 3)  # past the 24-month retention
    future = points("DT01", NOW + timedelta(days=3), 2)  # a machine whose clock is days ahead
    r = post(live_hub, token, batch("gw-1", "north", list(reversed(old)) + too_old + future))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 250 and r.json()["expired"] == 3 and r.json()["future"] == 2
    names = partitions(live_hub)
    for back in (7, 5, 4):  # the 200 hourly points from day 27 of month -5 run into month -4
        assert f"samples_{month_start(back):%Y_%m}" in names
    assert f"samples_{month_start(40):%Y_%m}" not in names
    assert stored(live_hub, "t-tel-old") == 250
    per_month = db_fetch(live_hub.dsn, "SELECT tableoid::regclass::text AS part, count(*) AS n FROM telemetry.samples "
                                       "WHERE tenant_id = 't-tel-old' GROUP BY 1")
    assert sum(r["n"] for r in per_month) == 250 and len(per_month) == 3
    assert all("default" not in r["part"] for r in per_month)


def test_bad_compression_oversize_and_invalid_batches_get_a_4xx_and_store_nothing(live_hub: HubProcess) -> None:
    token = provision_device(live_hub.dsn, "t-tel-bad", "north", "gw-1", kind="edge")
    good = batch("gw-1", "north", points("DT01", NOW - timedelta(hours=1), 20))
    packed = zstandard.ZstdCompressor().compress(orjson.dumps(good))
    assert_error(post(live_hub, token, b"\x28\xb5\x2f\xfd garbage", "zstd"), 400, "bad_compression")
    assert_error(post(live_hub, token, packed[: len(packed) // 2], "zstd"), 400, "bad_compression")
    assert_error(post(live_hub, token, gzip.compress(orjson.dumps(good))[:-8], "gzip"), 400, "bad_compression")
    assert_error(post(live_hub, token, packed, "gzip"), 400, "bad_compression")
    assert_error(post(live_hub, token, packed, "br"), 400, "unsupported_encoding")
    assert_error(post(live_hub, token, b"{not json", "identity"), 400, "malformed_json")
    # Size: over the wire limit, and a small body that inflates past the limit (a zstd bomb).
    assert_error(post(live_hub, token, b"x" * (8 * 1024 * 1024 + 10), "identity"), 413)
    bomb = zstandard.ZstdCompressor(level=3).compress(b"[" + b" " * (80 * 1024 * 1024) + b"]")
    assert len(bomb) < 100_000
    assert_error(post(live_hub, token, bomb, "zstd"), 413, "inflated_too_large")
    assert_error(post(live_hub, token, batch("gw-1", "north", points("DT01", NOW - timedelta(days=3), 50_001))), 413,
                 "batch_too_large")
    # Validation: each a 422 naming the field.
    p = points("DT01", NOW - timedelta(hours=1), 1)[0]
    invalid = [
        {**good, "batch_id": "not-a-ulid"},
        {k: v for k, v in good.items() if k != "site_id"},
        {**good, "samples": [{**p, "ts": "2026-11-24T06:00:00"}]},  # no time zone
        {**good, "samples": [{**p, "value": "lots"}]},
        {**good, "samples": [{**p, "metric": "hour meter; DROP"}]},
        {**good, "samples": [{**p, "equipment_id": "DT\x0001"}]},
        {**good, "samples": [{**p, "equipment_id": ""}]},
        {**good, "samples": [{k: v for k, v in p.items() if k != "value"}]},
        {**good, "samples": "all of them"},
        {**good, "disk_bytes": -1},
        [good],
    ]
    for body in invalid:
        r = post(live_hub, token, body)  # type: ignore[arg-type]
        assert_error(r, 422)
    r = post(live_hub, token, b'{"batch_id": "%s", "device_id": "gw-1", "site_id": "north", "samples": '
             b'[{"equipment_id": "DT01", "metric": "m", "ts": "2026-11-24T06:00:00+00:00", "value": 1e999}]}'
             % new_ulid().encode(), "identity")
    assert_error(r, 422)
    assert stored(live_hub, "t-tel-bad") == 0
    batches = db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM telemetry.batches WHERE tenant_id = 't-tel-bad'")
    assert batches[0]["n"] == 0
    assert post(live_hub, token, good).status_code == 200  # and the device is not stuck afterwards


def test_wrong_site_wrong_device_wrong_tenant_and_no_token_are_refused(live_hub: HubProcess) -> None:
    north = provision_device(live_hub.dsn, "t-tel-a", "north", "gw-n", kind="edge")
    provision_device(live_hub.dsn, "t-tel-a", "south", "gw-s", kind="edge")  # the tenant's other site
    anywhere = provision_device(live_hub.dsn, "t-tel-a", None, "gw-any", kind="edge")  # every site of t-tel-a
    other = provision_device(live_hub.dsn, "t-tel-b", "east", "gw-e", kind="edge")
    sample = points("DT01", NOW - timedelta(hours=1), 30)
    assert_error(post(live_hub, north, batch("gw-n", "south", sample)), 403, "wrong_site")
    assert_error(post(live_hub, north, batch("gw-s", "north", sample)), 403, "wrong_device")
    assert_error(post(live_hub, anywhere, batch("gw-any", "east", sample)), 403, "wrong_site")  # t-tel-b's site
    assert_error(post(live_hub, other, batch("gw-e", "north", sample)), 403, "wrong_site")
    assert_error(post(live_hub, "not-a-token", batch("gw-n", "north", sample)), 401)
    assert stored(live_hub, "t-tel-a") == 0 and stored(live_hub, "t-tel-b") == 0
    # Tenants are separate: the same batch id and points in both are stored in both, each once.
    b = batch("gw-n", "north", sample)
    assert post(live_hub, north, b).json()["accepted"] == 30
    assert post(live_hub, other, {**b, "device_id": "gw-e", "site_id": "east"}).json()["accepted"] == 30
    assert post(live_hub, anywhere, {**batch("gw-any", "south", sample)}).json()["duplicates"] == 30
    page = httpx.get(f"{live_hub.url}/v1/telemetry/samples", headers={"Authorization": f"Bearer {other}"},
                     params={"equipment_id": "DT01", "start": (NOW - timedelta(days=1)).isoformat(),
                             "end": NOW.isoformat()}).json()
    assert len(page["samples"]) == 30  # t-tel-b's own, not t-tel-a's
    # A batch id is a device's: another device of the tenant reusing it is told so.
    assert_error(post(live_hub, anywhere, {**b, "device_id": "gw-any"}), 409, "batch_id_taken")


def test_metrics_count_telemetry_rows_and_batches(live_hub: HubProcess) -> None:
    token = provision_device(live_hub.dsn, "t-tel-metrics", "north", "gw-1", kind="edge")
    b = batch("gw-1", "north", points("DT01", NOW - timedelta(hours=1), 40))
    post(live_hub, token, b)
    post(live_hub, token, b)
    text = metrics_text(live_hub.url, live_hub.dsn)
    rows = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line.startswith("pitline_tele")}
    assert rows['pitline_telemetry_rows_total{result="accepted"}'] >= 40
    assert rows['pitline_telemetry_batches_total{result="replayed"}'] >= 1
