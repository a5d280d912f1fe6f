"""Send the stored raw samples to the hub (POST /v1/telemetry), oldest first, each exactly once.

A batch is made in one store transaction: the oldest unsent samples of one site are claimed, turned
into points (shared.telemetry.sample_points), and the zstd-compressed body is saved under a new ULID
*before* anything is sent. Sending is then a plain retry loop over saved batches: after a crash, a cut
or a 5xx the same batch id and the same bytes go again, and the hub's idempotency (by batch id, then by
point key) makes that harmless. A batch counts as sent only when the hub answered 2xx. A 4xx other than
401/429 means the hub will never take it: the batch is parked with the reason (see `pitline edge status`)
and the queue moves on. Waits follow shared.sync.backoff, honouring Retry-After. Up to `in_flight` (3)
batches are posted at once while the next is made (see drain): one at a time, the edge and the hub took
turns and each waited half the time (A/B on the bench: 11-13k vs 20-21k samples/s)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import orjson
import zstandard
from pydantic import ValidationError

from edge import storage
from edge.decode import stored_points
from shared.errors import AuthError, HubUnavailableError
from shared.ids import new_ulid
from shared.store import LocalStore
from shared.sync.backoff import Backoff, parse_retry_after
from shared.telemetry import TelemetryAck

log = logging.getLogger(__name__)


@dataclass
class UplinkState:
    online: bool | None = None
    points_sent: int = 0
    batches_sent: int = 0
    last_ack_at: datetime | None = None
    last_error: str | None = None


class Uplink:
    def __init__(self, store_opener: Callable[[], LocalStore], hub_url: str, token_provider: Callable[[], str], *,
                 batch_samples: int = 2000, max_points: int = 20_000, timeout: float = 60.0,
                 idle_seconds: float = 2.0, in_flight: int = 3) -> None:
        self._open = store_opener
        self.hub_url = hub_url.rstrip("/")
        self._token_provider = token_provider
        self._token: str | None = None
        self.batch_samples = batch_samples
        self.max_points = max_points
        self.idle_seconds = idle_seconds
        self.in_flight = max(1, in_flight)
        self._timeout = httpx.Timeout(timeout)
        self._compressor = zstandard.ZstdCompressor(level=3)
        self._wake = threading.Event()
        self.state = UplinkState()
        self._pending_at: tuple[float, int] | None = None

    def notify(self) -> None:
        """New samples are stored: send them without waiting out the idle pause."""
        self._wake.set()

    # --- making batches (in the store, before sending) --------------------------------------------
    def make_batch(self, store: LocalStore) -> str | None:
        """Claim the oldest unsent samples of one site into a saved batch; its id, or None if none are left."""
        identity = store.identity
        if identity is None:
            raise RuntimeError("the edge store has no device identity yet")
        while True:
            with store.transaction():
                rows = storage.unsent_samples(store, self.batch_samples)
                if not rows:
                    return None
                points: list[dict[str, object]] = []
                keys: list[tuple[str, str]] = []
                for _site, equipment, ts, stored in rows:
                    try:
                        points += stored_points(equipment, ts, stored)
                    except ValidationError as exc:  # stored in a shape this version cannot read: never sendable
                        log.error("stored sample %s@%s cannot be sent; skipped: %s", equipment, ts, exc)
                        storage.mark_unsendable(store, equipment, ts)
                        continue
                    keys.append((equipment, ts))
                    if len(points) >= self.max_points:
                        break
                if not keys:
                    continue
                batch_id = new_ulid()
                site = rows[0][0]
                payload = {"batch_id": batch_id, "device_id": identity.device_id, "site_id": site, "samples": points,
                           "pending_samples": self._pending(store, len(keys)), "outbox_depth": store.outbox_depth(),
                           "disk_bytes": _disk_bytes(store)}
                body = self._compressor.compress(orjson.dumps(payload))
                storage.save_uplink_batch(store, batch_id, site, keys, len(points), body)
            return batch_id

    def _pending(self, store: LocalStore, claimed: int) -> int:
        """Unsent samples after this batch; counted at most every 30 s (and at most 5% of the time: a count
        over millions is not free), in between decremented by what each batch claims."""
        now = time.monotonic()
        if self._pending_at is None or now >= self._pending_at[0]:
            count = int(store.connection.execute("SELECT count(*) FROM samples WHERE uplink_batch IS NULL")
                        .fetchone()[0])
            took = time.monotonic() - now
            self._pending_at = (time.monotonic() + max(30.0, 20 * took), count)
        left = max(0, self._pending_at[1] - claimed)
        self._pending_at = (self._pending_at[0], left)
        return left

    # --- sending ---------------------------------------------------------------------------------
    def send(self, client: httpx.Client, batch_id: str, body: bytes) -> TelemetryAck | None:
        """POST one saved batch. The ack on 2xx; None if the hub refused it for good (parked).
        Raises HubUnavailableError (network, 5xx, 429) or AuthError (401) to be retried later."""
        if self._token is None:
            self._token = self._token_provider()
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json",
                   "Content-Encoding": "zstd"}
        try:
            response = client.post(f"{self.hub_url}/v1/telemetry", content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise HubUnavailableError(f"POST /v1/telemetry: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300:
            return TelemetryAck.model_validate_json(response.content)
        if status == 401:
            self._token = None  # perhaps expired: the provider is asked again next time
            invalidate = getattr(self._token_provider, "invalidate", None)
            if callable(invalidate):
                invalidate()  # a device key provider then signs a new challenge instead of its cached token
            raise AuthError(f"POST /v1/telemetry: 401 {response.text[:200]}")
        if status in (408, 429) or status >= 500:
            err = HubUnavailableError(f"POST /v1/telemetry: {status} {response.text[:200]}")
            err.retry_after = parse_retry_after(response.headers.get("retry-after"))  # type: ignore[attr-defined]
            raise err
        log.error("the hub refused telemetry batch %s for good (%s): %s", batch_id, status, response.text[:500])
        return None

    def drain(self, store: LocalStore, client: httpx.Client, stop: threading.Event | None = None) -> int:
        """Send saved batches, then make and send new ones, until nothing is left. Returns points accepted.

        Up to `in_flight` POSTs run at once (threads sharing `client`) while this thread makes the next
        batch and records the answers: the hub's work on one batch overlaps the edge's on the next. The
        store is only touched from this thread. Batches leave oldest first but may be acknowledged in any
        order; the hub needs none (each batch and each point is idempotent) except for the device-status row,
        which keeps the latest report to arrive: so the batch that empties the queue is sent alone, after
        the others were answered, and the hub's last word is "0 pending". On a failure no new
        batch is sent, the ones in flight are waited for and recorded, and the first error is raised."""
        accepted = 0
        flying: dict[Future[TelemetryAck | None], str] = {}
        failure: BaseException | None = None
        with ThreadPoolExecutor(self.in_flight, thread_name_prefix="edge-uplink-post") as pool:
            while True:
                while failure is None and len(flying) < self.in_flight and not (stop is not None and stop.is_set()):
                    batch = self._next_batch(store, set(flying.values()))
                    if batch is None or (flying and self._last(store, len(flying))):
                        break  # the last batch reports the emptied queue: it goes once the others are answered
                    flying[pool.submit(self.send, client, *batch)] = batch[0]
                if not flying:
                    break
                done, _ = wait(flying, return_when=FIRST_COMPLETED)
                for future in done:
                    batch_id = flying.pop(future)
                    try:
                        ack = future.result()
                    except (HubUnavailableError, AuthError) as exc:
                        storage.mark_uplink_failed(store, batch_id, str(exc), final=False)
                        failure = failure or exc
                        continue
                    except Exception as exc:  # recorded after the others in flight are
                        failure = failure or exc
                        continue
                    if ack is None:
                        storage.mark_uplink_failed(store, batch_id, "refused by the hub", final=True)
                        continue
                    storage.mark_uplink_sent(store, batch_id, ack.accepted, ack.duplicates)
                    accepted += ack.accepted
                    self.state.points_sent += ack.accepted + ack.duplicates
                    self.state.batches_sent += 1
                    self.state.last_ack_at = datetime.now(UTC)
                    self.state.online, self.state.last_error = True, None
        if failure is not None:
            raise failure
        return accepted

    @staticmethod
    def _last(store: LocalStore, flying: int) -> bool:
        """Is the next batch the last one: no unsent sample left, no other saved batch waiting?"""
        conn = store.connection
        if conn.execute("SELECT 1 FROM samples WHERE uplink_batch IS NULL LIMIT 1").fetchone() is not None:
            return False
        return int(conn.execute("SELECT count(*) FROM uplink_batches WHERE acked_at IS NULL "
                                "AND rejected_at IS NULL").fetchone()[0]) <= flying + 1

    def _next_batch(self, store: LocalStore, flying: set[str]) -> tuple[str, bytes] | None:
        """The oldest saved batch not already in flight, made first if none is saved."""
        while True:
            for batch_id, body in storage.open_uplink_batches(store, len(flying) + 1):
                if batch_id not in flying:
                    return batch_id, body
            if self.make_batch(store) is None:
                return None

    def run(self, stop: threading.Event) -> None:
        """The uplink thread: drain, pause, repeat; back off while the hub is away."""
        backoff = Backoff()
        store = LocalStore.open_patiently(self._open, stop)
        if store is None:
            return
        try:
            with httpx.Client(timeout=self._timeout) as client:
                while not stop.is_set():
                    wait = self.idle_seconds
                    try:
                        self.drain(store, client, stop)
                        backoff.reset()
                    except (HubUnavailableError, AuthError) as exc:
                        if self.state.online is not False:
                            log.warning("telemetry uplink is waiting for the hub: %s", exc)
                        self.state.online, self.state.last_error = False, str(exc)
                        wait = backoff.next_delay(getattr(exc, "retry_after", None))
                    except Exception as exc:  # a store or data problem: keep the thread, try again later
                        log.exception("telemetry uplink failed; will retry")
                        self.state.last_error = f"{type(exc).__name__}: {exc}"
                        wait = backoff.next_delay()
                    self._pause(stop, wait)
        finally:
            store.close()


    def _pause(self, stop: threading.Event, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop.is_set() and not self._wake.is_set() and time.monotonic() < deadline:
            self._wake.wait(min(0.5, max(0.0, deadline - time.monotonic())))
        self._wake.clear()


def _disk_bytes(store: LocalStore) -> int:
    size = 0
    for suffix in ("", "-wal"):
        try:
            size += store.path.with_name(store.path.name + suffix).stat().st_size
        except (OSError, AttributeError):
            pass
    return size
