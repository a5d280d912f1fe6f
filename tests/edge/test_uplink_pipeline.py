"""The uplink's pipelining without a hub (the POST replaced): batches overlap up to `in_flight`, each is
recorded once, the batch that empties the queue is sent alone and last, and a failure stops new sends
while the ones in flight are still recorded."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
import zstandard

from edge import storage
from edge.uplink import Uplink
from shared.errors import HubUnavailableError
from shared.telemetry import TelemetryAck
from tests.edge.test_uplink import edge_store, fill

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=10)


class FakeHub:
    def __init__(self, fail_after: int | None = None) -> None:
        self.lock = threading.Lock()
        self.active = self.most = self.calls = 0
        self.log: list[tuple[str, str, int]] = []  # (start|end, batch id, pending_samples reported)
        self.fail_after = fail_after

    def send(self, _client: httpx.Client, batch_id: str, body: bytes) -> TelemetryAck:
        payload = orjson.loads(zstandard.ZstdDecompressor().decompress(body))
        with self.lock:
            self.calls += 1
            failing = self.fail_after is not None and self.calls > self.fail_after
            self.active += 1
            self.most = max(self.most, self.active)
            self.log.append(("start", batch_id, payload["pending_samples"]))
        time.sleep(0.03)
        with self.lock:
            self.active -= 1
            self.log.append(("end", batch_id, payload["pending_samples"]))
        if failing:
            raise HubUnavailableError("503")
        return TelemetryAck(batch_id=batch_id, accepted=len(payload["samples"]), duplicates=0)


def test_batches_overlap_and_the_one_that_empties_the_queue_goes_alone_and_last(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store = edge_store(tmp_path / "gw.db", "t", "north", "gw-1")
    fill(store, "north", machines=4, minutes=300, seed=5, start=START)
    hub = FakeHub()
    uplink = Uplink(lambda: store, "http://hub.invalid", lambda: "token", batch_samples=100, in_flight=3)
    monkeypatch.setattr(uplink, "send", hub.send)
    accepted = uplink.drain(store, httpx.Client())
    batches = store.connection.execute("SELECT count(*), count(acked_at), sum(points) FROM uplink_batches").fetchone()
    assert batches[0] == batches[1] == hub.calls > 3 and batches[2] == accepted
    assert storage.uplink_status(store)["uplink_unsent_samples"] == 0
    assert hub.most == 3
    last = hub.log[-1]
    assert last[0] == "end" and last[2] == 0 and hub.log[-2] == ("start", last[1], 0)  # nothing else in flight
    store.close()


def test_a_failure_stops_new_sends_and_the_batches_in_flight_are_recorded(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store = edge_store(tmp_path / "gw.db", "t", "north", "gw-1")
    fill(store, "north", machines=4, minutes=300, seed=6, start=START)
    hub = FakeHub(fail_after=4)
    uplink = Uplink(lambda: store, "http://hub.invalid", lambda: "token", batch_samples=100, in_flight=3)
    monkeypatch.setattr(uplink, "send", hub.send)
    with pytest.raises(HubUnavailableError):
        uplink.drain(store, httpx.Client())
    acked, failed = store.connection.execute(
        "SELECT count(acked_at), count(*) FILTER (WHERE last_error IS NOT NULL) FROM uplink_batches").fetchone()
    assert acked == 4 and failed == hub.calls - 4 <= 3  # no new send after the first failure was seen
    hub.fail_after = None
    uplink.drain(store, httpx.Client())  # the failed ones go again, with the same ids
    assert storage.uplink_status(store)["uplink_unsent_samples"] == 0
    assert store.connection.execute("SELECT count(*) FROM uplink_batches WHERE acked_at IS NULL").fetchone()[0] == 0
    store.close()
