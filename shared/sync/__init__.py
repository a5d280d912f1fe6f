"""The sync client shared by the desktop and the edge agent (docs/contract.md, "Sync client")."""

from shared.sync.client import SyncClient
from shared.sync.state import SyncState

__all__ = ["SyncClient", "SyncState"]
