"""The in-memory state of one apply transaction (hub/sync/apply.py): the locked records and this push's writes,
the consume-once bookings, the balances the hub keeps, the ledger entries it posts, and, while a mutation that
may still be refused is applied, how to take it back (D38)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import asyncpg

from hub.auth.principal import Principal
from hub.finance.posting import Posting
from hub.sync.consume import Bookings, documents_of
from hub.sync.records import Key, RecordState, Write, lock_records
from shared.domain.consume_once import Claim
from shared.domain.inventory import Movement


@dataclass(frozen=True)
class Facts:
    """What a created row means to the ledger and to consume-once (D27), parsed once per push."""

    movement: Movement | None = None
    claim: Claim | None = None
    principal: Key | None = None


@dataclass
class ApplyContext:
    """The in-memory state of one apply transaction."""

    conn: asyncpg.Connection
    principal: Principal
    now: datetime
    states: dict[Key, RecordState] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    bookings: Bookings = field(default_factory=Bookings)  # consume-once documents locked by this transaction
    derived: dict[Key, Write] = field(default_factory=dict)  # records the hub keeps, one version per push
    facts: dict[str, Facts] = field(default_factory=dict)  # per mutation id, read once from its payload
    posting: Posting = field(default_factory=Posting)  # the ledger entries this push posts (hub/finance/posting)
    _undo: list[Callable[[], None]] | None = None  # while a mutation may still be refused: how to take it back

    def write(self, key: Key, data: dict[str, Any] | None, *, deleted: bool, site_id: str | None,
              device_id: str | None, mutation_id: str | None, type_: str, correlation_id: str | None) -> Write:
        self._remember(key, data)
        state = self.states.setdefault(key, RecordState())
        version = state.version + 1
        kept = data if data is not None else (state.data or {})
        w = Write(key, version, kept, deleted, site_id, device_id, mutation_id, type_, correlation_id)
        self.writes.append(w)
        self.bookings.observe(key, kept, deleted)
        self.states[key] = RecordState(version=version, data=kept, deleted=deleted, site_id=site_id, in_db=True)
        return w

    def amend(self, key: Key, data: dict[str, Any]) -> None:
        """Change this push's pending version of a record it keeps (a derived balance) without a new version."""
        pending, state = self.derived[key], self.states[key]
        if self._undo is not None:
            before = pending.data

            def undo() -> None:
                pending.data = state.data = before
            self._undo.append(undo)
        pending.data = data
        state.data = data

    def keep_derived(self, key: Key, w: Write) -> None:
        if self._undo is not None:
            self._undo.append(lambda: self.derived.__delitem__(key))
        self.derived[key] = w

    def _remember(self, key: Key, data: dict[str, Any] | None) -> None:
        if self._undo is None:
            return
        state = replace(self.states[key]) if key in self.states else None
        old = (state.data if state is not None else None) or {}
        docs = {documents_of(key[0], old), documents_of(key[0], data if data is not None else old)}
        booked = [(d, rows, rows.get(key[1])) for d in docs
                  if d is not None and (rows := self.bookings.rows.get(d)) is not None]

        def undo() -> None:
            if state is None:
                self.states.pop(key, None)
            else:
                self.states[key] = state
            for _, rows, data in booked:
                if data is None:
                    rows.pop(key[1], None)
                else:
                    rows[key[1]] = data
        self._undo.append(undo)

    def begin(self) -> tuple[int, int]:
        """Start recording how to take back what follows (one mutation that a poster may still refuse)."""
        self._undo = []
        return len(self.writes), len(self.posting.entries)

    def end(self, mark: tuple[int, int], *, undo: bool) -> None:
        steps, self._undo = self._undo or [], None
        if undo:
            for step in reversed(steps):
                step()
            del self.writes[mark[0]:]
            for e in self.posting.entries[mark[1]:]:
                self.posting.by_key.pop(e.key, None)
            del self.posting.entries[mark[1]:]

    async def state_of(self, key: Key) -> RecordState:
        if key not in self.states:
            self.states.update(await lock_records(self.conn, self.principal.tenant_id, [key]))
        return self.states[key]
