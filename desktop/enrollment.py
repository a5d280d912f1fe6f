"""Enrolling this PC with a hub, and what the enrolled PC signs in to the hub with.

- The device key pair lives in the store's key folder (`<store>.device/`: `device_key.pem`, mode 0600, and
  `device.json`); the hub URL, device id, tenant and sites are also kept in the store's meta.
- `EnrollWorker` does the network part (key, `POST /v1/devices/enroll`, first verifier download) in a worker
  thread and reports back with queued signals; `record_enrollment` (UI thread, small writes) sets the store up.
- `device_token_provider(store)`: the `DeviceTokenProvider` (challenge → signature → short-lived token) the
  sync client and the verifier download use, wrapped so a revoked PC is reported once (`RevocationNotice`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from PySide6.QtCore import QObject, Signal

from desktop.verifier_sync import fetch_verifiers, store_hub_users
from shared.device_auth import (
    DeviceKey,
    DeviceRevokedError,
    DeviceTokenProvider,
    Enrollment,
    enroll,
    load_enrollment,
    save_enrollment,
)
from shared.errors import AuthError, HubRejectedError, HubUnavailableError, PitlineError
from shared.store import DeviceIdentity, LocalStore

MODE_KEY = "desktop.mode"
HUB_URL_KEY = "desktop.hub_url"
DEVICE_ID_KEY, TENANT_KEY, SITES_KEY = "desktop.device_id", "desktop.tenant_id", "desktop.site_ids"
REVOKED_KEY = "desktop.revoked"


def device_folder(store_path: Path) -> Path:
    """The store's key folder: the device key pair and the enrollment answer, beside the store file."""
    return Path(store_path).with_name(Path(store_path).name + ".device")


def is_enrolled(store: LocalStore) -> bool:
    return store.get_meta(MODE_KEY) == "enrolled" and store.get_meta(DEVICE_ID_KEY) is not None


def enrolled_sites(store: LocalStore) -> list[str] | None:
    raw = store.get_meta(SITES_KEY)
    return None if raw in (None, "null") else [str(s) for s in orjson.loads(raw or "[]")]


@dataclass(frozen=True)
class EnrollResult:
    enrollment: Enrollment
    users: list[dict[str, Any]] | None  # None: the first verifier download failed (retried later)
    users_error: str = ""


def enroll_pc(store_path: Path, hub_url: str, token: str, name: str) -> EnrollResult:
    """Blocking (network): make or reuse the key, enroll, save the answer beside the key, fetch verifiers."""
    folder = device_folder(store_path)
    key = DeviceKey.load_or_create(folder)
    enrollment = enroll(hub_url, token, name, "desktop", key, timeout=20.0)
    save_enrollment(folder, enrollment)
    provider = DeviceTokenProvider(enrollment.hub_url, enrollment.device_id, key, tenant_id=enrollment.tenant_id,
                                   timeout=20.0)
    try:
        return EnrollResult(enrollment, fetch_verifiers(enrollment.hub_url, provider))
    except PitlineError as exc:
        return EnrollResult(enrollment, None, str(exc))


def explain(exc: BaseException) -> tuple[str, str]:
    """(field, message for a person) for an enrollment failure: which field to show it next to."""
    text = str(exc)
    if isinstance(exc, AuthError):
        if "expired" in text:
            return "token", "This enrollment token has expired: ask HQ for a new one."
        if "already used" in text:
            return "token", "This enrollment token was already used: ask HQ for a new one."
        return "token", "The hub does not know this enrollment token: check it, or ask HQ for a new one."
    if isinstance(exc, HubRejectedError):
        if exc.code == "wrong_kind":
            return "token", "This token is for a gateway, not a site-office PC: ask HQ for a desktop token."
        return "token", f"The hub refused: {exc.message}"
    if isinstance(exc, HubUnavailableError):
        return "hub_url", f"Cannot reach the hub at this address (check it and the network): {text}"
    return "hub_url", f"Enrollment failed: {text}"


class EnrollWorker(QObject):
    """`start(...)` runs `enroll_pc` in a thread; `succeeded(EnrollResult)` or `failed(field, message)` are
    emitted from that thread (connect them with Qt.QueuedConnection)."""

    succeeded = Signal(object)
    failed = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, store_path: Path, hub_url: str, token: str, name: str) -> None:
        def work() -> None:
            try:
                result = enroll_pc(store_path, hub_url, token, name)
            except Exception as exc:  # every failure becomes a message next to a field, never a crash
                self.failed.emit(*explain(exc))
            else:
                self.succeeded.emit(result)

        self._thread = threading.Thread(target=work, name="desktop-enroll", daemon=True)
        self._thread.start()


def record_enrollment(store: LocalStore, result: EnrollResult) -> None:
    """The store side of a finished enrollment (UI thread: a few small writes)."""
    e = result.enrollment
    site = e.site_ids[0] if e.site_ids else None
    store.set_identity(DeviceIdentity(e.device_id, e.tenant_id, site))
    store.set_meta(HUB_URL_KEY, e.hub_url)
    store.set_meta(DEVICE_ID_KEY, e.device_id)
    store.set_meta(TENANT_KEY, e.tenant_id)
    store.set_meta(SITES_KEY, orjson.dumps(e.site_ids).decode())
    if result.users is not None:
        store_hub_users(store, result.users, e.site_ids)
    store.set_meta(MODE_KEY, "enrolled")


class RevocationNotice(QObject):
    """`revoked(message)` once the hub says this PC is no longer enrolled (emitted from whichever thread asked
    for a token: connect with Qt.QueuedConnection)."""

    revoked = Signal(str)


class WatchedTokenProvider:
    """A DeviceTokenProvider that reports DeviceRevokedError through a RevocationNotice (and still raises it)."""

    def __init__(self, inner: DeviceTokenProvider, notice: RevocationNotice) -> None:
        self.inner, self.notice = inner, notice

    def __call__(self) -> str:
        try:
            return self.inner()
        except DeviceRevokedError as exc:
            self.notice.revoked.emit(str(exc))
            raise

    def invalidate(self) -> None:
        self.inner.invalidate()


def device_token_provider(store: LocalStore, notice: RevocationNotice | None = None
                          ) -> DeviceTokenProvider | WatchedTokenProvider:
    """The provider of an enrolled store (key and answer from its key folder, hub URL from its meta)."""
    folder = device_folder(Path(store.path))
    enrollment = load_enrollment(folder)
    hub_url = store.get_meta(HUB_URL_KEY) or (enrollment.hub_url if enrollment else None)
    device_id = store.get_meta(DEVICE_ID_KEY) or (enrollment.device_id if enrollment else None)
    if not hub_url or not device_id:
        raise PitlineError(f"{store.path} is not enrolled with a hub")
    provider = DeviceTokenProvider(hub_url, device_id, DeviceKey.load(folder), tenant_id=store.get_meta(TENANT_KEY))
    return provider if notice is None else WatchedTokenProvider(provider, notice)
