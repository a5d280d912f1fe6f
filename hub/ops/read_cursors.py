"""Where each device stands in the event log, recorded off the request path.

Reads note a position in memory (a dict update, no I/O); one task per hub process writes the notes to
`sync.device_read_cursors` every `interval` seconds in a single statement, keeping the highest seq (several
processes may serve one device). A note is lost only if the process dies before its next flush: the status
then shows the device a few seconds behind until its next read."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import asyncpg

log = logging.getLogger(__name__)

_UPSERT = """
INSERT INTO sync.device_read_cursors (tenant_id, device_id, event_seq, read_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
ON CONFLICT (tenant_id, device_id) DO UPDATE
SET event_seq = GREATEST(sync.device_read_cursors.event_seq, EXCLUDED.event_seq),
    read_at = GREATEST(sync.device_read_cursors.read_at, EXCLUDED.read_at)
"""


class ReadCursorRecorder:
    def __init__(self, pool: asyncpg.Pool, interval: float = 2.0) -> None:
        self.pool, self.interval = pool, interval
        self._notes: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._task: asyncio.Task[None] | None = None

    def note(self, tenant_id: str, device_id: str | None, seq: int) -> None:
        """The device has (or was just delivered) every event it may see up to `seq`."""
        if device_id is None:
            return  # a person's token on no device, or a service: nothing to show per device
        key = (tenant_id, device_id)
        previous = self._notes.get(key)
        self._notes[key] = (max(seq, previous[0]) if previous else seq, datetime.now(UTC))

    async def flush(self) -> int:
        notes, self._notes = self._notes, {}
        if not notes:
            return 0
        keys = sorted(notes)  # a stable order: two processes flushing at once never deadlock
        try:
            await self.pool.execute(_UPSERT, [k[0] for k in keys], [k[1] for k in keys],
                                    [notes[k][0] for k in keys], [notes[k][1] for k in keys])
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("device read cursors not recorded this round (%s); kept for the next", exc)
            for key, (seq, at) in notes.items():  # keep them, merged with anything noted meanwhile
                self.note(key[0], key[1], seq)
                self._notes[key] = (self._notes[key][0], max(at, self._notes[key][1]))
            return 0
        return len(keys)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="device-read-cursors")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), 5.0)
