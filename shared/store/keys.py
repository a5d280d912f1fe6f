"""Store keys: a random 32-byte data key, wrapped (AES-256-GCM) by a key-encryption key (KEK).

The wrapped key lives beside the store in `<store>.key.json`. Where the KEK comes from is a provider:
the OS keyring (desktops), a root-only key file or a systemd credential (gateways), or a passphrase
through scrypt (fallback). Changing the provider rewraps a small file; the database is never re-encrypted.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from shared.errors import KeyUnavailableError, StoreError, WrongKeyError

AAD = b"pitline-store-key-v1"
DATA_KEY_BYTES = 32


class KeyProvider(Protocol):
    """Supplies the key-encryption key. `params` are what the provider stored in the key file."""

    kind: str

    def kek(self, params: dict[str, Any], *, create: bool) -> tuple[bytes, dict[str, Any]]: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


class PassphraseKeyProvider:
    """KEK = scrypt(passphrase, salt). The fallback when there is no keyring and no key file."""

    kind = "passphrase"

    def __init__(self, passphrase: str, *, n: int = 2**15) -> None:
        if not passphrase:
            raise KeyUnavailableError("an empty passphrase cannot protect a store")
        self._passphrase = passphrase.encode()
        self._n = n

    def kek(self, params: dict[str, Any], *, create: bool) -> tuple[bytes, dict[str, Any]]:
        if create:
            params = {"salt": _b64(secrets.token_bytes(16)), "n": self._n, "r": 8, "p": 1}
        try:
            kdf = Scrypt(salt=_unb64(params["salt"]), length=32, n=int(params["n"]), r=int(params["r"]),
                         p=int(params["p"]))
        except (KeyError, ValueError) as exc:
            raise StoreError(f"the key file's scrypt parameters are damaged: {exc}") from None
        return kdf.derive(self._passphrase), params


class KeyFileKeyProvider:
    """KEK = 32 random bytes in a root-only file (gateways), or a systemd credential of that name."""

    kind = "keyfile"

    def __init__(self, path: str | os.PathLike[str], *, credential: str | None = "pitline-store-kek") -> None:
        self.path = Path(path)
        self.credential = credential

    def _credential_path(self) -> Path | None:
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        if folder and self.credential:
            candidate = Path(folder) / self.credential
            if candidate.exists():
                return candidate
        return None

    def kek(self, params: dict[str, Any], *, create: bool) -> tuple[bytes, dict[str, Any]]:
        source = self._credential_path() or self.path
        if not source.exists():
            if not create:
                raise KeyUnavailableError(f"the key file {source} is missing")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            source = self.path
        mode = source.stat().st_mode
        if source == self.path and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyUnavailableError(f"the key file {source} is readable by others (mode {oct(mode & 0o777)}); "
                                      "chmod 600 it")
        try:
            kek = bytes.fromhex(source.read_text().strip())
        except ValueError:
            raise KeyUnavailableError(f"the key file {source} does not hold a hex key") from None
        if len(kek) != 32:
            raise KeyUnavailableError(f"the key file {source} must hold 32 bytes (64 hex characters)")
        return kek, {}


class KeyringKeyProvider:
    """KEK = 32 random bytes kept in the OS keyring (desktops)."""

    kind = "keyring"

    def __init__(self, service: str = "pitline", username: str = "store-kek") -> None:
        self.service = service
        self.username = username

    def kek(self, params: dict[str, Any], *, create: bool) -> tuple[bytes, dict[str, Any]]:
        import keyring
        from keyring.errors import KeyringError

        try:
            stored = keyring.get_password(self.service, self.username)
            if stored is None:
                if not create:
                    raise KeyUnavailableError("the OS keyring holds no key for this store")
                stored = secrets.token_hex(32)
                keyring.set_password(self.service, self.username, stored)
        except KeyringError as exc:
            raise KeyUnavailableError(f"the OS keyring is not available: {exc}") from None
        return bytes.fromhex(stored), {}


def key_file_for(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".key.json")


def create_data_key(store_path: Path, provider: KeyProvider) -> bytes:
    """Make a new data key, wrap it, and write the key file atomically. Returns the data key."""
    kek, params = provider.kek({}, create=True)
    data_key = secrets.token_bytes(DATA_KEY_BYTES)
    nonce = secrets.token_bytes(12)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, AAD)
    doc = {"version": 1, "kek": provider.kind, "params": params, "nonce": _b64(nonce), "wrapped": _b64(wrapped)}
    _write_atomically(key_file_for(store_path), json.dumps(doc, indent=1).encode())
    return data_key


def unwrap_data_key(store_path: Path, provider: KeyProvider) -> bytes:
    """Read the key file and unwrap the data key. WrongKeyError if the KEK does not open it."""
    path = key_file_for(store_path)
    try:
        doc = json.loads(path.read_text())
        nonce, wrapped = _unb64(doc["nonce"]), _unb64(doc["wrapped"])
        params = dict(doc.get("params") or {})
    except FileNotFoundError:
        raise KeyUnavailableError(f"the store's key file {path} is missing") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"the key file {path} is damaged: {exc}") from None
    if doc.get("kek") != provider.kind:
        raise WrongKeyError(f"this store's key is protected by '{doc.get('kek')}', not '{provider.kind}'")
    kek, _ = provider.kek(params, create=False)
    try:
        return AESGCM(kek).decrypt(nonce, wrapped, AAD)
    except InvalidTag:
        raise WrongKeyError("the key does not open this store (wrong passphrase or key); nothing was changed") \
            from None


def rewrap_data_key(store_path: Path, old: KeyProvider, new: KeyProvider) -> None:
    """Protect the same data key with another KEK (key rotation, or moving to the keyring)."""
    data_key = unwrap_data_key(store_path, old)
    kek, params = new.kek({}, create=True)
    nonce = secrets.token_bytes(12)
    doc = {"version": 1, "kek": new.kind, "params": params, "nonce": _b64(nonce),
           "wrapped": _b64(AESGCM(kek).encrypt(nonce, data_key, AAD))}
    _write_atomically(key_file_for(store_path), json.dumps(doc, indent=1).encode())


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
