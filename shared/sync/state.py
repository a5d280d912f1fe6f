"""What a UI or an agent shows about sync: online?, outbox depth, last sync, lag, last error, rejections."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class SyncState:
    online: bool = False
    outbox_depth: int = 0
    last_push_at: datetime | None = None
    last_event_at: datetime | None = None
    head_seq: int = 0
    cursor: int = 0
    last_error: str | None = None
    snapshot_in_progress: bool = False
    rejected: int = 0  # mutations the hub refused for good: out of the outbox, kept in the store's rejections

    @property
    def lag(self) -> int:
        """Events committed at the hub that this device has not applied yet (as far as it knows)."""
        return max(0, self.head_seq - self.cursor)

    def but(self, **changes: object) -> SyncState:
        return replace(self, **changes)  # type: ignore[arg-type]
