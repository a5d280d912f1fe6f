"""The device's side of enrollment and sign-in (docs/contract.md, "Device enrollment and sign-in").

- `DeviceKey.load_or_create(folder)`: an Ed25519 key pair kept in `folder` (`device_key.pem`, mode 0600,
  created once; the public half is derived from it).
- `enroll(hub_url, token, name, kind, key)`: trade the administrator's one-time token and the public key for a
  device id; `save_enrollment`/`load_enrollment` keep the answer beside the key (`device.json`).
- `DeviceTokenProvider`: the callable the sync client takes as `token_provider`. It signs the hub's challenge
  with the device key to get a short-lived access token, and gets a new one shortly before it expires (or when
  the client calls `invalidate()` after a 401).

Depends on nothing of Pitline's programs (shared/ only)."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.errors import AuthError, HubRejectedError, HubUnavailableError, PitlineError
from shared.sync.backoff import parse_retry_after

KEY_FILE = "device_key.pem"
ENROLLMENT_FILE = "device.json"
DeviceKind = Literal["desktop", "edge"]


class DeviceKeyError(PitlineError):
    """The device key file is missing, unreadable or not an Ed25519 private key."""


class DeviceRevokedError(AuthError):
    """The hub knows no enrolled, unrevoked device with this id (401 `unknown_device`): an administrator revoked
    it (or it was never enrolled there). Only a new enrollment helps."""


@dataclass(frozen=True)
class DeviceKey:
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, folder: Path) -> DeviceKey:
        path = Path(folder) / KEY_FILE
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise DeviceKeyError(f"no device key at {path}: enroll the device first") from None
        except (OSError, ValueError, TypeError) as exc:
            raise DeviceKeyError(f"cannot read the device key {path}: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise DeviceKeyError(f"{path} is not an Ed25519 private key")
        return cls(key)

    @classmethod
    def load_or_create(cls, folder: Path) -> DeviceKey:
        """The key in `folder`, created (mode 0600, never overwritten) if there is none."""
        folder = Path(folder)
        path = folder / KEY_FILE
        if path.exists():
            return cls.load(folder)
        folder.mkdir(parents=True, exist_ok=True)
        key = cls.generate()
        pem = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile: use theirs
            return cls.load(folder)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(path, 0o600)  # whatever the umask said
        return key

    @property
    def public_key_b64(self) -> str:
        raw = self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def sign_b64(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message)).decode()


@dataclass(frozen=True)
class Enrollment:
    device_id: str
    tenant_id: str
    site_ids: list[str] | None  # None: every site of the tenant
    hub_url: str
    hub_time: str = ""


def _raise_for(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 400:
        return
    try:
        body = response.json()
        code, message = str(body.get("code")), str(body.get("message"))
    except ValueError:
        code, message = "http_error", response.text[:200]
    if status == 429 or status >= 500:
        err = HubUnavailableError(f"{what}: {status} {message}")
        err.retry_after = parse_retry_after(response.headers.get("retry-after"))  # type: ignore[attr-defined]
        raise err
    if status == 401:
        if code == "unknown_device":
            raise DeviceRevokedError(f"{what}: {message} ({code})")
        raise AuthError(f"{what}: {message} ({code})")
    raise HubRejectedError(status, code, message)


def _post(client: httpx.Client, url: str, body: dict[str, Any], what: str) -> dict[str, Any]:
    try:
        response = client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise HubUnavailableError(f"{what}: {type(exc).__name__}: {exc}") from exc
    _raise_for(response, what)
    data: dict[str, Any] = response.json()
    return data


def enroll(hub_url: str, token: str, name: str, kind: DeviceKind, key: DeviceKey, *,
           client: httpx.Client | None = None, timeout: float = 30.0) -> Enrollment:
    """Enroll this device with a one-time token. Raises AuthError (token unknown, used or expired),
    HubRejectedError (bad input) or HubUnavailableError (network, 5xx, 429)."""
    hub_url = hub_url.rstrip("/")
    own = client is None
    http = client or httpx.Client(timeout=timeout)
    try:
        body = _post(http, f"{hub_url}/v1/devices/enroll",
                     {"token": token, "name": name, "kind": kind, "public_key": key.public_key_b64}, "enroll")
    finally:
        if own:
            http.close()
    return Enrollment(device_id=str(body["device_id"]), tenant_id=str(body["tenant_id"]),
                      site_ids=body.get("site_ids"), hub_url=hub_url, hub_time=str(body.get("hub_time", "")))


def save_enrollment(folder: Path, enrollment: Enrollment) -> None:
    path = Path(folder) / ENROLLMENT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(enrollment), indent=2))
    os.replace(tmp, path)


def load_enrollment(folder: Path) -> Enrollment | None:
    path = Path(folder) / ENROLLMENT_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Enrollment(**{k: data.get(k) for k in ("device_id", "tenant_id", "site_ids", "hub_url", "hub_time")})


class DeviceTokenProvider:
    """`provider()` → a valid access token (challenge → sign → token, cached until `refresh_margin` seconds
    before it expires). Thread-safe: the sync client's push and stream threads share one."""

    def __init__(self, hub_url: str, device_id: str, key: DeviceKey, *, tenant_id: str | None = None,
                 refresh_margin: float = 60.0, timeout: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.device_id = device_id
        self.tenant_id = tenant_id
        self.key = key
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._margin = refresh_margin
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, folder: Path, **kw: Any) -> DeviceTokenProvider:
        enrollment = load_enrollment(folder)
        if enrollment is None:
            raise DeviceKeyError(f"{folder} holds no enrollment: enroll the device first")
        return cls(enrollment.hub_url, enrollment.device_id, DeviceKey.load(folder), tenant_id=enrollment.tenant_id,
                   **kw)

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at - self._margin:
                self._token, lifetime = self._fetch()
                self._expires_at = self.clock() + lifetime
                self._margin = min(self.refresh_margin, lifetime / 2)
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the hub answered 401): the next call signs a new challenge."""
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        ident: dict[str, Any] = {"device_id": self.device_id}
        if self.tenant_id is not None:
            ident["tenant_id"] = self.tenant_id
        with httpx.Client(timeout=self.timeout) as http:
            started = self.clock()
            challenge = _post(http, f"{self.hub_url}/v1/auth/challenge", ident, "auth challenge")
            nonce = base64.b64decode(str(challenge["nonce"]))
            answer = _post(http, f"{self.hub_url}/v1/auth/token",
                           {**ident, "nonce": challenge["nonce"], "signature": self.key.sign_b64(nonce)},
                           "auth token")
        lifetime = float(answer["expires_in"]) - (self.clock() - started)
        return str(answer["access_token"]), max(0.0, lifetime)
