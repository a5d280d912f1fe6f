"""The sync client: push the outbox, catch up by pages, follow the SSE stream, resume after any cut.

Runs in worker threads (never a UI thread); every thread opens its own store connection through
`store_opener`. Failures are logged once when they start and once when they end (not on every retry),
and surface in `SyncState.last_error` for people to see."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from httpx_sse import connect_sse

from shared.envelopes import MAX_PUSH_BATCH, ChangesPage, Event, OutcomeStatus, PushResponse
from shared.errors import AuthError, HubRejectedError, HubUnavailableError, SnapshotRequiredError, StoreError
from shared.store import LocalStore
from shared.sync.backoff import Backoff, parse_retry_after
from shared.sync.state import SyncState

log = logging.getLogger(__name__)

_NOTHING = object()  # "the queue had nothing more for now"
StateListener = Callable[[SyncState], None]
EventsListener = Callable[[list[Event]], None]


class SyncClient:
    def __init__(self, store_opener: Callable[[], LocalStore], hub_url: str, token_provider: Callable[[], str], *,
                 batch_size: int = 500, timeout: float = 30.0, read_timeout: float = 45.0,
                 max_in_flight: int = 1) -> None:
        self._open_store = store_opener
        self.hub_url = hub_url.rstrip("/")
        self._token_provider = token_provider
        self._token: str | None = None
        self.batch_size = min(batch_size, MAX_PUSH_BATCH)
        self.max_in_flight = max(1, max_in_flight)
        self._timeout = httpx.Timeout(timeout, read=read_timeout)
        self._state = SyncState()
        self._state_lock = threading.Lock()
        self._state_listeners: list[StateListener] = []
        self._event_listeners: list[EventsListener] = []
        self._outbox_signal = threading.Event()
        self._hub_back = threading.Event()  # set whenever a request reached the hub: a loop backing off retries now
        self._failing: str | None = None
        self._local = threading.local()

    # --- observation ---------------------------------------------------------------------------
    @property
    def state(self) -> SyncState:
        return self._state

    def add_listener(self, on_state: StateListener | None = None, on_events: EventsListener | None = None) -> None:
        if on_state:
            self._state_listeners.append(on_state)
        if on_events:
            self._event_listeners.append(on_events)

    def _update(self, **changes: Any) -> None:
        with self._state_lock:
            self._state = self._state.but(**changes)
            state = self._state
        for listener in list(self._state_listeners):
            try:
                listener(state)
            except Exception:  # a listener's bug must not stop sync
                log.exception("sync state listener failed")

    def _failed(self, what: str, exc: BaseException) -> None:
        message = f"{what}: {exc}"
        if self._failing is None:
            log.warning("sync is failing: %s", message)
        self._failing = message
        self._update(online=False, last_error=message)

    def _recovered(self) -> None:
        if self._failing is not None:
            log.info("sync recovered (was: %s)", self._failing)
            self._failing = None
        self._hub_back.set()
        self._update(online=True, last_error=None)

    def notify_outbox(self) -> None:
        """Wake the push loop: the outbox has new rows."""
        self._outbox_signal.set()

    # --- plumbing ------------------------------------------------------------------------------
    def _store(self) -> LocalStore:
        store: LocalStore | None = getattr(self._local, "store", None)
        if store is None:
            store = self._open_store()
            self._local.store = store
        return store

    def close_thread_store(self) -> None:
        store: LocalStore | None = getattr(self._local, "store", None)
        if store is not None:
            store.close()
            self._local.store = None

    def _headers(self) -> dict[str, str]:
        # Asked before every request: a refreshing provider (shared.device_auth.DeviceTokenProvider) caches its
        # token and renews it before it expires; a constant one (lambda: token) costs nothing.
        self._token = self._token_provider()
        return {"Authorization": f"Bearer {self._token}"}

    def _forget_token(self) -> None:
        """The hub answered 401: a provider that can (`invalidate()`) fetches a fresh token next time."""
        self._token = None
        invalidate = getattr(self._token_provider, "invalidate", None)
        if callable(invalidate):
            invalidate()

    def _request(self, client: httpx.Client, method: str, path: str, *, headers: dict[str, str] | None = None,
                 **kw: Any) -> httpx.Response:
        for attempt in (1, 2):
            try:
                response = client.request(method, f"{self.hub_url}{path}", headers={**self._headers(),
                                                                                   **(headers or {})}, **kw)
            except httpx.HTTPError as exc:
                raise HubUnavailableError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
            if response.status_code == 401 and attempt == 1:
                self._forget_token()  # maybe expired: ask the provider once more
                continue
            return self._check(response, method, path)
        raise AssertionError("unreachable")

    @staticmethod
    def _check(response: httpx.Response, method: str, path: str) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        try:
            body = response.json()
            code, message = str(body.get("code")), str(body.get("message"))
        except ValueError:
            code, message = "http_error", response.text[:200]
        if status == 401:
            raise AuthError(f"{method} {path}: {message}")
        if status == 410 and code == "snapshot_required":
            raise SnapshotRequiredError(message)
        if status == 429 or status >= 500:
            err = HubUnavailableError(f"{method} {path}: {status} {message}")
            err.retry_after = parse_retry_after(response.headers.get("retry-after"))  # type: ignore[attr-defined]
            raise err
        raise HubRejectedError(status, code, message)

    # --- push ----------------------------------------------------------------------------------
    def push_until_empty(self, client: httpx.Client | None = None) -> int:
        """Push the outbox batch by batch until it is empty (or only held mutations remain).
        Returns how many mutations got a final outcome. Raises on network/hub errors.

        Pipelined: while one batch is at the hub, this thread reads and encodes the next one and records the
        previous answer in the store, so the device's work overlaps the hub's. Up to `max_in_flight` batches
        are sent before the first answer (default 1: the next batch leaves only once the hub committed the
        previous one, so the hub never sees them out of order)."""
        own = client is None
        client = client or httpx.Client(timeout=self._timeout)
        store = self._store()
        identity = store.identity
        finished = 0
        in_flight: deque[Future[PushResponse]] = deque()
        sender: ThreadPoolExecutor | None = None
        after = 0  # the highest device_seq sent in this drain: the next batch starts past it
        ready: tuple[bytes, int] | None = None  # the next batch, read and encoded, not sent yet

        def prepare() -> tuple[bytes, int] | None:
            bodies, last = store.outbox_page(self.batch_size, after)
            if not bodies:
                return None
            assert identity is not None
            # The outbox holds each mutation as validated JSON: send it as stored, unparsed.
            body = (b'{"device_id":' + orjson.dumps(identity.device_id) + b',"outbox_depth":%d,"mutations":['
                    % store.outbox_depth() + ",".join(bodies).encode() + b"]}")
            return body, last

        def send(batch: tuple[bytes, int]) -> None:
            nonlocal after
            assert sender is not None
            in_flight.append(sender.submit(self._send_push, client, batch[0]))
            after = batch[1]

        rejected = store.rejection_count()
        if rejected != self._state.rejected:  # rejections recorded before this client started count too
            self._update(rejected=rejected)
        try:
            ready = prepare()
            if ready is None:
                self._outbox_found_empty()
                return 0
            sender = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="pitline-push-send")
            limit = self.max_in_flight
            while ready is not None or in_flight:
                while ready is not None and len(in_flight) < limit:
                    send(ready)
                    ready = prepare()  # read and encode the next batch while this one is at the hub
                result = in_flight.popleft().result()
                held = any(o.status is OutcomeStatus.HELD for o in result.outcomes)
                if ready is not None and not held and len(in_flight) < limit:
                    send(ready)  # before recording this answer: the store's work overlaps the hub's
                    ready = None
                done = self._record_answer(store, result)
                finished += done
                if held:
                    # A gap at the hub: a batch overtook its predecessor (which then filled the gap: a resend
                    # answers `duplicate`), or a mutation is really missing. Let what is in flight land, then
                    # resend from the oldest pending mutation, one batch at a time.
                    while in_flight:
                        more = self._record_answer(store, in_flight.popleft().result())
                        done += more
                        finished += more
                    if done == 0:
                        break  # only held mutations: the hub waits for a gap we cannot fill right now
                    limit, after = 1, 0
                    ready = prepare()
                    continue
                limit = self.max_in_flight
                if ready is None:
                    ready = prepare()
            return finished
        finally:
            if sender is not None:
                # Never leave a request running behind the caller's back (it may push the same rows again).
                for pending in in_flight:
                    pending.exception()
                sender.shutdown(wait=True)
            if own:
                client.close()

    def _outbox_found_empty(self) -> None:
        """Nothing pending: the state says so even when this client pushed none of it (the stream acknowledged
        the last rows, or another process of the same store pushed them and was killed before it could say so;
        the offline week's killed desktop waited for a `last_push_at` that never came). Once, not every round."""
        if self._state.last_push_at is None or self._state.outbox_depth != 0:
            self._update(outbox_depth=0, last_push_at=datetime.now(UTC))

    def _send_push(self, client: httpx.Client, body: bytes) -> PushResponse:
        response = self._request(client, "POST", "/v1/sync/push", content=body,
                                 headers={"Content-Type": "application/json"})
        return PushResponse.model_validate_json(response.content)

    def _record_answer(self, store: LocalStore, result: PushResponse) -> int:
        """Apply one push answer to the store; returns how many of its outcomes were final.

        A mutation the hub rejected leaves the outbox for the store's `rejections` (its seq is consumed at the hub,
        so the ones after it go on): whatever the reason, even one no retry can change, the queue moves on."""
        store.apply_outcomes(result.outcomes)
        finals = [o.original if o.status is OutcomeStatus.DUPLICATE and o.original else o for o in result.outcomes]
        refused = [o for o in finals if o.status is OutcomeStatus.REJECTED]
        for o in refused[:5]:
            log.warning("the hub rejected mutation %s (device_seq %d): %s: %s; kept in the store's rejections",
                        o.mutation_id, o.device_seq, o.code, o.message)
        if len(refused) > 5:
            log.warning("... and %d more rejected mutations in the same push", len(refused) - 5)
        changes: dict[str, Any] = {}
        if refused:
            changes["rejected"] = store.rejection_count()
        self._update(outbox_depth=store.outbox_depth(), last_push_at=datetime.now(UTC),
                     head_seq=max(self._state.head_seq, result.head_seq), **changes)
        return sum(1 for o in result.outcomes if o.status.is_final)

    # --- pull ----------------------------------------------------------------------------------
    def catch_up(self, client: httpx.Client | None = None, page_size: int = 1000) -> int:
        """Apply pages of /v1/sync/changes until the hub says there are no more. Returns events applied.
        A cursor past retention rebuilds the replica from a snapshot first."""
        own = client is None
        client = client or httpx.Client(timeout=self._timeout)
        store = self._store()
        total = 0
        try:
            while True:
                try:
                    response = self._request(client, "GET", "/v1/sync/changes",
                                             params={"after": store.cursor, "limit": page_size})
                except SnapshotRequiredError:
                    self._rebuild_from_snapshot(client)
                    continue
                page = ChangesPage.model_validate_json(response.content)
                total += store.apply_events(page.events)
                if page.next_after > store.cursor:
                    store.set_cursor(page.next_after)
                self._notify_events(page.events)
                self._update(cursor=store.cursor, head_seq=page.head_seq, last_event_at=datetime.now(UTC))
                if not page.has_more:
                    return total
        finally:
            if own:
                client.close()

    def _rebuild_from_snapshot(self, client: httpx.Client) -> None:
        store = self._store()
        self._update(snapshot_in_progress=True)
        params: dict[str, Any] = {"limit": 2000}
        seq: int | None = None
        while True:
            page = self._request(client, "GET", "/v1/sync/snapshot", params=params).json()
            seq = page["seq"] if seq is None else seq
            store.apply_snapshot_page(page["records"])
            if page["next_cursor"] is None:
                break
            params = {"limit": 2000, "cursor": page["next_cursor"], "seq": seq}
        store.set_cursor(int(seq or 0))
        self._update(snapshot_in_progress=False, cursor=store.cursor)

    def follow_stream(self, stop: threading.Event, client: httpx.Client | None = None) -> None:
        """Follow /v1/sync/stream from the store's cursor until `stop` is set or the connection ends.

        A reader thread parses the stream into a queue; this thread applies what has arrived in one
        transaction per drain, so a large backfill is applied in big batches and a live event at once."""
        own = client is None
        client = client or httpx.Client(timeout=httpx.Timeout(10.0, read=45.0))
        store = self._store()
        arrived: queue.Queue[Event | BaseException | None] = queue.Queue(maxsize=20_000)

        def read() -> None:
            try:
                headers = {**self._headers(), "Last-Event-ID": str(store.cursor)}
                with connect_sse(client, "GET", f"{self.hub_url}/v1/sync/stream", headers=headers) as source:
                    if source.response.status_code >= 400:
                        if source.response.status_code == 401:
                            self._forget_token()
                        source.response.read()
                        self._check(source.response, "GET", "/v1/sync/stream")
                    self._recovered()
                    for sse in source.iter_sse():
                        if stop.is_set():
                            break
                        if sse.event == "change":
                            arrived.put(Event.model_validate(orjson.loads(sse.data)))
                arrived.put(None)
            except BaseException as exc:  # handed to the applier, which raises it in its own thread
                arrived.put(exc)

        reader = threading.Thread(target=read, name="pitline-stream-reader", daemon=True)
        reader.start()
        try:
            while not stop.is_set():
                try:
                    item: object = arrived.get(timeout=0.5)
                except queue.Empty:
                    continue
                batch: list[Event] = []
                while isinstance(item, Event):
                    batch.append(item)
                    if len(batch) >= 2000:
                        break
                    try:
                        item = arrived.get_nowait()
                    except queue.Empty:
                        item = _NOTHING
                if batch:
                    self._apply_stream_batch(store, batch)
                if item is None:
                    return
                if isinstance(item, httpx.HTTPError):
                    raise HubUnavailableError(f"stream: {type(item).__name__}: {item}") from item
                if isinstance(item, BaseException):
                    raise item
        finally:
            if own:
                client.close()
            reader.join(2)

    def _apply_stream_batch(self, store: LocalStore, batch: list[Event]) -> None:
        store.apply_events(batch)
        self._notify_events(batch)
        self._update(cursor=store.cursor, head_seq=max(self._state.head_seq, batch[-1].seq),
                     last_event_at=datetime.now(UTC))

    def _notify_events(self, events: list[Event]) -> None:
        if not events:
            return
        for listener in list(self._event_listeners):
            try:
                listener(events)
            except Exception:
                log.exception("sync events listener failed")

    # --- the loops -----------------------------------------------------------------------------
    def sync_once(self) -> None:
        """Push everything, then catch up: one full round trip (initial sync, the desktop's 'Sync now')."""
        with httpx.Client(timeout=self._timeout) as client:
            self.push_until_empty(client)
            self.catch_up(client)
        self._recovered()

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: a push loop and a stream loop in two threads, each retrying with backoff."""
        pusher = threading.Thread(target=self._push_loop, args=(stop,), name="pitline-push", daemon=True)
        pusher.start()
        try:
            self._stream_loop(stop)
        finally:
            stop.set()
            self._outbox_signal.set()
            pusher.join(30)
            self.close_thread_store()

    def _push_loop(self, stop: threading.Event) -> None:
        backoff = Backoff()
        try:
            with httpx.Client(timeout=self._timeout) as client:
                while not stop.is_set():
                    try:
                        self.push_until_empty(client)
                        self._recovered()
                        backoff.reset()
                        self._outbox_signal.wait(5.0)
                        self._outbox_signal.clear()
                    except (HubUnavailableError, AuthError, HubRejectedError, StoreError) as exc:
                        self._failed("push", exc)
                        self._back_off(stop, backoff, exc)
                    except Exception as exc:  # e.g. the store busy past its timeout: the loop must not die
                        log.exception("push failed unexpectedly; retrying")
                        self._failed("push", exc)
                        self._back_off(stop, backoff, exc)
        finally:
            self.close_thread_store()

    def _back_off(self, stop: threading.Event, backoff: Backoff, exc: BaseException) -> None:
        """Wait before the next attempt, but not past the moment the other loop reaches the hub again: after a
        long outage the exponential delay may be a minute, and a site office should not wait that long once
        the link is back. A server's Retry-After (it is overloaded) is always honoured in full."""
        retry_after = getattr(exc, "retry_after", None)
        delay = backoff.next_delay(retry_after)
        if retry_after is not None:
            stop.wait(delay)
            return
        deadline = time.monotonic() + delay
        self._hub_back.clear()
        while not stop.is_set() and not self._hub_back.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._hub_back.wait(min(left, 0.25))

    def _stream_loop(self, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                self.catch_up()
                backoff.reset()
                self.follow_stream(stop)
            except (HubUnavailableError, AuthError, HubRejectedError, SnapshotRequiredError, StoreError) as exc:
                self._failed("stream", exc)
                self._back_off(stop, backoff, exc)
            except Exception as exc:  # e.g. the store busy past its timeout: the loop must not die
                log.exception("stream failed unexpectedly; retrying")
                self._failed("stream", exc)
                self._back_off(stop, backoff, exc)
