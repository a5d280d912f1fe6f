"""The error hierarchy of the contract. Every failure a caller can act on has its own class."""

from __future__ import annotations


class PitlineError(Exception):
    """Base of every error Pitline raises on purpose."""


# --- local store -------------------------------------------------------------------------------
class StoreError(PitlineError):
    """The local encrypted store cannot be used."""


class WrongKeyError(StoreError):
    """The key does not open this store. The file was not modified."""


class PlaintextStoreError(StoreError):
    """The store is (or would be written) unencrypted; it is refused."""


class StoreBusyError(StoreError):
    """Another connection held the store's write lock past the busy timeout; nothing was saved. Retry later."""


class StoreDiskError(StoreError):
    """The disk under the store is full or failing (SQLite's FULL or IOERR, from any statement); the write was
    rolled back and nothing of it was saved. Earlier commits are intact: free space, then retry."""


class KeyUnavailableError(StoreError):
    """No key-encryption key could be obtained (keyring, key file or passphrase)."""


# --- domain validation -------------------------------------------------------------------------
class ValidationError(PitlineError):
    """A mutation or form failed validation. `field_errors` maps field name to a message."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}


class UnknownEntityError(ValidationError):
    """The entity name is not in the registry."""


# --- sync --------------------------------------------------------------------------------------
class SyncError(PitlineError):
    """Talking to the hub failed."""


class HubUnavailableError(SyncError):
    """The hub could not be reached or answered 5xx; retry later."""


class HubRejectedError(SyncError):
    """The hub answered 4xx to a whole request: retrying the same request will not help."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class SnapshotRequiredError(SyncError):
    """The cursor is older than the hub's retention: the replica must be rebuilt from a snapshot."""


class AuthError(SyncError):
    """The device or user is not (or no longer) allowed."""
