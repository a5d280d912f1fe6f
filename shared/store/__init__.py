"""The encrypted local store of desktops and edge agents (docs/contract.md, "Local store API")."""

from shared.store.keys import KeyFileKeyProvider, KeyProvider, KeyringKeyProvider, PassphraseKeyProvider
from shared.store.store import DeviceIdentity, LocalRecord, LocalStore, MutationDraft

__all__ = [
    "DeviceIdentity",
    "KeyFileKeyProvider",
    "KeyProvider",
    "KeyringKeyProvider",
    "LocalRecord",
    "LocalStore",
    "MutationDraft",
    "PassphraseKeyProvider",
]
