"""The hub's people on this PC: `GET /v1/users/verifiers` (argon2id verifiers, roles, site scopes) downloaded
off the UI thread into the encrypted store, so they sign in offline. The download replaces the cache, so a
user the hub disabled (or whose roles no longer reach this PC's sites) stops working here at the next one.

`VerifierRefresher` runs it on a timer and when sync comes back online; results come back to the UI thread as
queued Qt signals."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
from PySide6.QtCore import QObject, QTimer, Signal

from desktop.signin import Verifiers
from shared.device_auth import DeviceRevokedError
from shared.errors import AuthError, HubRejectedError, HubUnavailableError, PitlineError
from shared.store import LocalStore

log = logging.getLogger(__name__)
TokenProvider = Callable[[], str]


def fetch_verifiers(hub_url: str, token_provider: TokenProvider, *, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The hub's list (`users`). Raises HubUnavailableError, AuthError (DeviceRevokedError from the provider
    when the PC was revoked) or HubRejectedError."""
    url = f"{hub_url.rstrip('/')}/v1/users/verifiers"
    with httpx.Client(timeout=timeout) as http:
        for attempt in (1, 2):
            try:
                response = http.get(url, headers={"Authorization": f"Bearer {token_provider()}"})
            except httpx.HTTPError as exc:
                raise HubUnavailableError(f"verifiers: {type(exc).__name__}: {exc}") from exc
            if response.status_code == 401 and attempt == 1:
                invalidate = getattr(token_provider, "invalidate", None)
                if callable(invalidate):
                    invalidate()  # maybe expired: sign a new challenge once
                    continue
            break
    status = response.status_code
    if status < 400:
        users: list[dict[str, Any]] = response.json()["users"]
        return users
    try:
        body = response.json()
        code, message = str(body.get("code")), str(body.get("message"))
    except ValueError:
        code, message = "http_error", response.text[:200]
    if status == 401:
        raise AuthError(f"verifiers: {message} ({code})")
    if status == 429 or status >= 500:
        raise HubUnavailableError(f"verifiers: {status} {message}")
    raise HubRejectedError(status, code, message)


def roles_here(grants: Iterable[Mapping[str, Any]], site_ids: list[str] | None) -> list[str]:
    """The roles a person holds on a PC serving `site_ids` (None: every site): tenant-wide grants and grants
    at one of those sites."""
    return sorted({str(g["role"]) for g in grants
                   if g.get("site_id") is None or site_ids is None or g["site_id"] in site_ids})


def cache_entries(users: Iterable[Mapping[str, Any]], site_ids: list[str] | None) -> dict[str, dict[str, Any]]:
    """The hub's list as the sign-in cache ({username: {verifier, roles, display_name, site_ids, grants}})."""
    out: dict[str, dict[str, Any]] = {}
    for u in users:
        grants = [dict(g) for g in u.get("grants") or ()]
        roles = roles_here(grants, site_ids) if grants else sorted(u.get("roles") or ())
        if not roles:
            continue
        out[str(u["username"])] = {"verifier": str(u["verifier"]), "roles": roles,
                                   "display_name": u.get("display_name") or u["username"],
                                   "site_ids": u.get("site_ids"), "grants": grants, "source": "hub"}
    return out


def store_hub_users(store: LocalStore, users: Iterable[Mapping[str, Any]], site_ids: list[str] | None) -> int:
    """Replace the cache with the hub's list; returns how many people may sign in here now."""
    entries = cache_entries(users, site_ids)
    Verifiers(store).cache(entries)
    return len(entries)


class VerifierRefresher(QObject):
    """Downloads the verifiers in a worker thread (one at a time) into a store connection of its own.
    Signals are emitted from that thread: connect them with Qt.QueuedConnection."""

    refreshed = Signal(int)  # how many people may sign in
    failed = Signal(str)
    revoked = Signal(str)

    def __init__(self, store_opener: Callable[[], LocalStore], hub_url: str, token_provider: TokenProvider,
                 site_ids: list[str] | None, *, interval_seconds: float = 300.0) -> None:
        super().__init__()
        self._open_store, self.hub_url, self._provider = store_opener, hub_url, token_provider
        self.site_ids = site_ids
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._was_online = False
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_seconds * 1000))
        self.timer.timeout.connect(self.refresh_now)

    def start(self) -> None:
        """Download now and then every interval."""
        self.refresh_now()
        self.timer.start()

    def stop(self) -> None:
        """Stop the timer; wait briefly for a running download (a daemon thread: closing never hangs on it)."""
        self.timer.stop()
        thread = self._thread
        if thread is not None:
            thread.join(2)

    def refresh_now(self) -> bool:
        """Start a download unless one is running; False when one was."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(target=self._work, name="desktop-verifiers", daemon=True)
            self._thread.start()
            return True

    def on_sync_state(self, state: Any) -> None:
        """Connected to the sync bridge: refresh each time sync comes back online."""
        online = bool(getattr(state, "online", False))
        if online and not self._was_online:
            self.refresh_now()
        self._was_online = online

    def _work(self) -> None:
        try:
            users = fetch_verifiers(self.hub_url, self._provider)
            store = self._open_store()
            try:
                count = store_hub_users(store, users, self.site_ids)
            finally:
                store.close()
        except DeviceRevokedError as exc:
            self.revoked.emit(str(exc))
        except PitlineError as exc:
            log.info("verifier download failed: %s", exc)
            self.failed.emit(str(exc))
        else:
            self.refreshed.emit(count)
