"""The sync client's two loops back off independently, but once either reaches the hub the other retries
at once instead of sleeping out a delay that grew during a long outage; a server's Retry-After is kept."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from shared.errors import HubUnavailableError
from shared.store import LocalStore, PassphraseKeyProvider
from shared.sync import SyncClient
from shared.sync.backoff import Backoff

KEY = PassphraseKeyProvider("backoff test", n=2**10)


def _client(tmp_path: Path) -> SyncClient:
    return SyncClient(lambda: LocalStore.open(tmp_path / "s.db", KEY), "http://127.0.0.1:9", lambda: "t")


def _timed_back_off(client: SyncClient, exc: BaseException, wake_after: float) -> float:
    backoff = Backoff(base=60.0, cap=60.0, attempt=5)  # a delay grown over a long outage
    backoff.rnd.uniform = lambda _a, b: b  # type: ignore[method-assign]  # the worst case, not a random one
    stop = threading.Event()
    threading.Timer(wake_after, client._recovered).start()  # the other loop reaches the hub
    started = time.monotonic()
    threading.Timer(3.0, stop.set).start()
    client._back_off(stop, backoff, exc)
    return time.monotonic() - started


def test_a_loop_backing_off_retries_as_soon_as_the_other_reaches_the_hub(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert _timed_back_off(client, HubUnavailableError("link down"), wake_after=0.3) < 1.0


def test_retry_after_is_honoured_in_full(tmp_path: Path) -> None:
    client = _client(tmp_path)
    busy = HubUnavailableError("overloaded")
    busy.retry_after = 60.0  # type: ignore[attr-defined]
    assert _timed_back_off(client, busy, wake_after=0.3) >= 2.9  # only stopping ends it early
