"""The encrypted local store: outbox, replica, cursor, rejections, drafts (docs/contract.md).

A write is a mutation in the outbox and its optimistic effect on the replica, in one transaction. The
replica keeps what the hub last sent (`server_state`) and what the person sees (`local_state`): the server
state with the device's outstanding mutations re-applied on top, so an answer from the hub (applied,
rejected, conflict) can never leave a phantom edit behind."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apsw
import orjson

from shared.conflicts import OperationError, apply_op
from shared.entities import validate_mutation
from shared.envelopes import (
    MAX_PAYLOAD_DEPTH,
    Event,
    Mutation,
    Op,
    Outcome,
    OutcomeStatus,
    contains_nul,
    nests_deeper_than,
)
from shared.errors import StoreBusyError, StoreDiskError, StoreError, ValidationError
from shared.ids import new_ulid
from shared.store.encrypted import DISK_ERRORS, disk_error, open_encrypted
from shared.store.keys import KeyProvider, create_data_key, key_file_for, unwrap_data_key
from shared.store.schema import CORE_STEPS

Key = tuple[str, str]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    tenant_id: str
    site_id: str | None


@dataclass(frozen=True)
class MutationDraft:
    entity: str
    entity_id: str
    op: Op | str
    payload: Mapping[str, Any]
    actor: str
    site_id: str | None = None


@dataclass(frozen=True)
class LocalRecord:
    entity: str
    entity_id: str
    state: dict[str, Any] | None  # what the person sees
    server_version: int
    pending: bool  # a change made here that the hub has not acknowledged yet
    deleted: bool
    site_id: str | None


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


class LocalStore:
    """One connection to one store file. Use one instance per thread."""

    def __init__(self, path: Path, conn: apsw.Connection) -> None:
        self.path = path
        # apsw's rows are typed as unions of SQLite values; the schema above is what types them here.
        self.connection: Any = conn
        self._thread = threading.get_ident()
        self._opener: Callable[[], LocalStore] | None = None  # set by `open`: how `open_another` opens the file

    # --- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, key_provider: KeyProvider) -> LocalStore:
        """Open (or create) the store. WrongKeyError / PlaintextStoreError / KeyUnavailableError."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        if fresh and not key_file_for(path).exists():
            data_key = create_data_key(path, key_provider)
        else:
            data_key = unwrap_data_key(path, key_provider)
        store = cls(path, open_encrypted(path, data_key))
        try:
            store.migrate("core", CORE_STEPS)
        except apsw.BusyError as exc:
            store.close()
            raise store._busy(exc) from None
        except DISK_ERRORS as exc:
            store.close()
            raise disk_error(path, exc) from None
        except BaseException:
            store.close()
            raise
        store._opener = lambda: cls.open(path, key_provider)
        return store

    def open_another(self) -> LocalStore:
        """Another connection to the same file with the same key, for another thread: an apsw connection carries
        its transaction, so a worker writing on this one would take in (or break on) whatever the UI thread
        writes meanwhile. The caller closes it. StoreError when this store was not opened by `open`."""
        if self._opener is None:
            raise StoreError(f"{self.path.name} was not opened with a key here: cannot open it again")
        return self._opener()

    @staticmethod
    def open_patiently(opener: Callable[[], LocalStore], stop: threading.Event) -> LocalStore | None:
        """`opener()`, tried again while the file is busy (`StoreBusyError`), until it opens or `stop` is set
        (then None). A long-running thread opens its store this way: a checkpoint or another thread's
        migration must delay it, never end it. Any other error (wrong key, plaintext file) is raised."""
        attempt = 0
        while not stop.is_set():
            try:
                return opener()
            except StoreBusyError as exc:
                if attempt == 0:
                    log.warning("the store is busy; opening it again shortly: %s", exc)
                stop.wait(min(5.0, 0.2 * 2 ** attempt))  # each try already waited the busy timeout
                attempt += 1
        return None

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any error). Callers handle the project's errors, not apsw's:
        another connection holding the write lock past the busy timeout is `StoreBusyError`, a full or failing
        disk is `StoreDiskError` (both `StoreError`s), whichever statement of the transaction met it."""
        conn = self.connection
        try:
            conn.execute("BEGIN IMMEDIATE")
        except apsw.BusyError as exc:
            raise self._busy(exc) from exc
        except DISK_ERRORS as exc:
            raise self._disk(exc) from exc
        try:
            yield conn
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, apsw.BusyError):
                raise self._busy(exc) from exc
            if isinstance(exc, DISK_ERRORS):
                raise self._disk(exc) from exc
            raise
        else:
            try:
                conn.execute("COMMIT")
            except apsw.BusyError as exc:
                self._rollback()
                raise self._busy(exc) from exc
            except DISK_ERRORS as exc:
                self._rollback()
                raise self._disk(exc) from exc

    def _rollback(self) -> None:
        """Roll back what is open. SQLite may already have (it does on some FULL and IOERR errors); a ROLLBACK
        that fails itself must not hide the error that brought us here (closing the connection rolls back)."""
        conn = self.connection
        if conn.getautocommit():
            return
        try:
            conn.execute("ROLLBACK")
        except apsw.Error as exc:
            log.warning("%s: ROLLBACK failed (%s); the connection rolls back when it closes", self.path.name, exc)

    def _disk(self, exc: apsw.Error) -> StoreDiskError:
        return disk_error(self.path, exc)

    def _busy(self, exc: apsw.BusyError) -> StoreBusyError:
        return StoreBusyError(f"{self.path.name} is busy: another connection held it past the busy timeout; "
                              f"nothing was saved ({exc})")

    def migrate(self, module: str, steps: list[str]) -> None:
        """Bring a module's tables up to `len(steps)`; each step runs once, in its own transaction."""
        conn = self.connection
        try:  # autocommit, so that opening never waits for the write lock once the table exists
            conn.execute("CREATE TABLE IF NOT EXISTS module_versions (module TEXT PRIMARY KEY, version INTEGER)")
        except DISK_ERRORS as exc:
            raise self._disk(exc) from exc
        row = conn.execute("SELECT version FROM module_versions WHERE module = ?", (module,)).fetchone()
        done = row[0] if row else 0
        if done > len(steps):
            raise StoreError(f"the store's '{module}' tables are newer ({done}) than this program knows "
                             f"({len(steps)}); refusing to touch them")
        for number, step in enumerate(steps[done:], start=done + 1):
            with self.transaction():
                conn.execute(step)
                conn.execute("INSERT INTO module_versions VALUES (?, ?) ON CONFLICT(module) DO UPDATE "
                             "SET version = excluded.version", (module, number))

    # --- meta ----------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.connection.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                (key, value))

    @property
    def identity(self) -> DeviceIdentity | None:
        raw = self._meta("identity")
        return None if raw is None else DeviceIdentity(**orjson.loads(raw))

    def set_identity(self, identity: DeviceIdentity) -> None:
        current = self.identity
        if current is not None and current != identity and self._meta("next_seq") not in (None, "1"):
            raise StoreError("this store already belongs to device "
                             f"{current.device_id}; a device's numbering cannot be moved to another identity")
        with self.transaction():
            self._set_meta("identity", _dumps(identity.__dict__))

    @property
    def cursor(self) -> int:
        return int(self._meta("cursor") or 0)

    @property
    def mutations_numbered(self) -> int:
        """How many mutations this device has numbered (its last device_seq): what the hub must hold once each."""
        return int(self._meta("next_seq") or 1) - 1

    def get_meta(self, key: str) -> str | None:
        return self._meta(f"x:{key}")

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._set_meta(f"x:{key}", value)

    # --- writing -------------------------------------------------------------------------------
    def enqueue(self, entity: str, entity_id: str, op: Op | str, payload: Mapping[str, Any], *, actor: str,
                site_id: str | None = None) -> Mutation:
        """Queue one change (outbox + local effect, one transaction) and return its mutation."""
        [mutation_id] = self.enqueue_many([MutationDraft(entity, entity_id, op, payload, actor, site_id)])
        row = self.connection.execute("SELECT body FROM outbox WHERE id = ?", (mutation_id,)).fetchone()
        return Mutation.model_validate_json(row[0])

    def enqueue_many(self, drafts: Iterable[MutationDraft]) -> list[str]:
        """Validate, then write every draft's outbox row and local effect in one transaction.
        Returns the mutation ids, in device order."""
        identity = self.identity
        if identity is None:
            raise StoreError("this store has no device identity yet: enroll the device first")
        checked = []
        for d in drafts:
            op = Op(d.op)
            validate_mutation(d.entity, op, d.payload)  # raises ValidationError with field messages
            # The hub refuses a push carrying either whole (422 too_deep, nul_character): queued, such a mutation
            # would block every later one of this device.
            if nests_deeper_than(d.payload, MAX_PAYLOAD_DEPTH):
                problem = f"the payload nests deeper than {MAX_PAYLOAD_DEPTH} levels"
                raise ValidationError(f"{d.entity}: {problem}", {"payload": problem})
            if contains_nul([d.entity_id, d.actor, d.site_id, d.payload]):
                problem = "contains a NUL character (\\u0000), which the hub cannot store"
                raise ValidationError(f"{d.entity} {d.entity_id!r}: {problem}", {"payload": problem})
            checked.append((d, op))
        created = datetime.now(UTC).isoformat()
        out: list[str] = []
        with self.transaction() as conn:
            seq = int(self._meta("next_seq") or 1)
            touched = self._current_records(sorted({(d.entity, d.entity_id) for d, _ in checked}))
            outbox_rows = []
            for d, op in checked:
                key = (d.entity, d.entity_id)
                base_version, state, deleted, pending, site = touched[key]
                try:
                    new_state = apply_op(None if deleted else state, op, d.payload)
                except OperationError as exc:
                    raise ValidationError(str(exc), {"payload": str(exc)}) from None
                site_id = d.site_id if d.site_id is not None else (site or identity.site_id)
                body = {
                    "id": new_ulid(), "device_id": identity.device_id, "device_seq": seq,
                    "tenant_id": identity.tenant_id, "site_id": site_id, "actor": d.actor, "entity": d.entity,
                    "entity_id": d.entity_id, "op": op.value, "base_version": base_version,
                    "payload": dict(d.payload), "created_at": created,
                }
                outbox_rows.append((seq, body["id"], d.entity, d.entity_id, _dumps(body)))
                out.append(str(body["id"]))
                touched[key] = (base_version, new_state, new_state is None, pending + 1, site_id)
                seq += 1
            conn.executemany("INSERT INTO outbox (device_seq, id, entity, entity_id, body) VALUES (?, ?, ?, ?, ?)",
                             outbox_rows)
            conn.executemany(
                """INSERT INTO records (entity, entity_id, site_id, server_version, local_state, deleted, pending)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(entity, entity_id) DO UPDATE SET local_state = excluded.local_state,
                     deleted = excluded.deleted, pending = excluded.pending, site_id = excluded.site_id""",
                [(k[0], k[1], v[4], v[0], _dumps(v[1]) if v[1] is not None else None, int(v[2]), v[3])
                 for k, v in touched.items()],
            )
            self._set_meta("next_seq", str(seq))
        return out

    def _current_records(self, keys: list[Key]) -> dict[Key, tuple[int, Any, bool, int, str | None]]:
        """(server_version, local_state, deleted, pending, site_id) of each key; one query per 500 keys."""
        found: dict[Key, tuple[int, Any, bool, int, str | None]] = {k: (0, None, False, 0, None) for k in keys}
        by_entity: dict[str, list[str]] = {}
        for entity, entity_id in keys:
            by_entity.setdefault(entity, []).append(entity_id)
        for entity, ids in by_entity.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self.connection.execute(
                    "SELECT entity_id, server_version, local_state, deleted, pending, site_id FROM records "
                    f"WHERE entity = ? AND entity_id IN ({marks})", (entity, *chunk)):
                    found[(entity, row[0])] = (row[1], _loads(row[2]), bool(row[3]), row[4], row[5])
        return found

    # --- outbox --------------------------------------------------------------------------------
    def outbox_batch(self, limit: int = 1000) -> list[Mutation]:
        return [Mutation.model_validate_json(body) for body in self.outbox_bodies(limit)]

    def outbox_bodies(self, limit: int = 1000) -> list[str]:
        """The next pending mutations as the JSON they were stored as (what the push sends, unparsed)."""
        rows = self.connection.execute(
            "SELECT body FROM outbox WHERE state = 'pending' ORDER BY device_seq LIMIT ?", (limit,)).fetchall()
        return [str(r[0]) for r in rows]

    def outbox_page(self, limit: int = 1000, after_seq: int = 0) -> tuple[list[str], int]:
        """The bodies of the next pending mutations past `after_seq` (a push already in flight), in device order,
        and the last device_seq among them (0 when there are none)."""
        rows = self.connection.execute(
            "SELECT device_seq, body FROM outbox WHERE state = 'pending' AND device_seq > ? ORDER BY device_seq "
            "LIMIT ?", (after_seq, limit)).fetchall()
        return [str(r[1]) for r in rows], (int(rows[-1][0]) if rows else 0)

    def outbox_depth(self) -> int:
        return int(self.connection.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])

    def apply_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        """Record the hub's answers. Final answers leave the push queue; a change the hub wrote stays in
        the replica until its event arrives; a refused one is kept in `rejections` and rebased away."""
        now = datetime.now(UTC).isoformat()
        rebase: set[Key] = set()
        acked: list[tuple[int, str]] = []
        with self.transaction() as conn:
            for o in outcomes:
                status = o.original.status if o.status is OutcomeStatus.DUPLICATE and o.original else o.status
                if status is OutcomeStatus.HELD:
                    continue
                wrote = status in (OutcomeStatus.APPLIED, OutcomeStatus.MERGED) or (
                    status is OutcomeStatus.CONFLICT and o.seq is not None)
                if wrote:
                    # The change stays in the replica until its event arrives: only the queue state moves.
                    acked.append((o.version or 0, o.mutation_id))
                    continue
                row = conn.execute("SELECT device_seq, entity, entity_id, body FROM outbox WHERE id = ?",
                                   (o.mutation_id,)).fetchone()
                if row is None:
                    continue
                rebase.add((row[1], row[2]))
                if status is OutcomeStatus.REJECTED:
                    conn.execute("INSERT OR IGNORE INTO rejections VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (o.mutation_id, row[0], row[1], row[2], row[3], o.code, o.message, now))
                conn.execute("DELETE FROM outbox WHERE id = ?", (o.mutation_id,))
            recount: set[Key] = set()
            if acked:
                # Set-based: a push answers up to 1000 mutations, and two statements per answer were most of the
                # time this transaction took.
                conn.executemany("UPDATE outbox SET state = 'acked', ack_version = ? WHERE id = ?", acked)
                rows = conn.execute(
                    "SELECT o.entity, o.entity_id, COALESCE(r.server_version, 0), o.ack_version FROM outbox o "
                    "LEFT JOIN records r ON r.entity = o.entity AND r.entity_id = o.entity_id "
                    "WHERE o.id IN (SELECT value FROM json_each(?))", (_dumps([m for _, m in acked]),)).fetchall()
                for entity, entity_id, server_version, ack_version in rows:
                    # Its event may already be here (the stream can beat the push response): then drop it now.
                    (rebase if server_version >= ack_version else recount).add((entity, entity_id))
            conn.executemany(
                """UPDATE records SET pending = (SELECT count(*) FROM outbox o WHERE o.entity = records.entity
                     AND o.entity_id = records.entity_id AND o.state = 'pending')
                   WHERE entity = ? AND entity_id = ?""", sorted(recount - rebase))
            for key in rebase:
                self._rebase(key)

    # --- incoming events -----------------------------------------------------------------------
    def apply_events(self, events: Iterable[Event]) -> int:
        """Apply events in seq order, idempotently (seq ≤ cursor is skipped; an event older than the
        version held is skipped). Returns how many changed the replica."""
        applied = 0
        with self.transaction() as conn:
            cursor = int(self._meta("cursor") or 0)
            for e in events:
                if e.seq <= cursor:
                    continue
                cursor = e.seq
                key = (e.entity, e.entity_id)
                if e.correlation_id:
                    # Our own change, back through the stream before its push response: it is acknowledged.
                    conn.execute("UPDATE outbox SET state = 'acked', ack_version = ? WHERE id = ? AND entity = ? "
                                 "AND entity_id = ? AND state = 'pending'",
                                 (e.version, e.correlation_id, e.entity, e.entity_id))
                row = conn.execute("SELECT server_version FROM records WHERE entity = ? AND entity_id = ?",
                                   key).fetchone()
                if row is not None and row[0] >= e.version:
                    continue
                self._set_server_state(key, e.version, None if e.type.endswith(".deleted") else e.payload,
                                       e.site_id)
                applied += 1
            self._set_meta("cursor", str(cursor))
        return applied

    def apply_snapshot_page(self, records: Iterable[Mapping[str, Any]]) -> None:
        with self.transaction():
            for r in records:
                key = (str(r["entity"]), str(r["entity_id"]))
                row = self.connection.execute("SELECT server_version FROM records WHERE entity = ? "
                                              "AND entity_id = ?", key).fetchone()
                if row is None or row[0] < int(r["version"]):
                    self._set_server_state(key, int(r["version"]), dict(r["data"]), r.get("site_id"))

    def set_cursor(self, seq: int) -> None:
        with self.transaction():
            self._set_meta("cursor", str(seq))

    def _set_server_state(self, key: Key, version: int, state: dict[str, Any] | None, site_id: str | None) -> None:
        self.connection.execute(
            """INSERT INTO records (entity, entity_id, site_id, server_version, server_state, deleted)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT(entity, entity_id) DO UPDATE SET server_version = excluded.server_version,
                 server_state = excluded.server_state, site_id = excluded.site_id""",
            (key[0], key[1], site_id, version, None if state is None else _dumps(state), int(state is None)),
        )
        self._rebase(key)

    def _rebase(self, key: Key) -> None:
        """local_state = server_state + the outstanding mutations of this record, in device order."""
        conn = self.connection
        row = conn.execute("SELECT server_version, server_state FROM records WHERE entity = ? AND entity_id = ?",
                           key).fetchone()
        server_version, server_state = (row[0], _loads(row[1])) if row else (0, None)
        conn.execute("DELETE FROM outbox WHERE entity = ? AND entity_id = ? AND state = 'acked' "
                     "AND ack_version <= ?", (key[0], key[1], server_version))
        state = server_state
        pending = 0
        for body, row_state in conn.execute("SELECT body, state FROM outbox WHERE entity = ? AND entity_id = ? "
                                            "ORDER BY device_seq", key).fetchall():
            m = orjson.loads(body)
            try:
                state = apply_op(state, Op(m["op"]), m["payload"])
            except OperationError:
                pass
            pending += row_state == "pending"
        conn.execute("UPDATE records SET local_state = ?, deleted = ?, pending = ? WHERE entity = ? AND entity_id = ?",
                     (None if state is None else _dumps(state), int(state is None), pending, key[0], key[1]))

    # --- reading -------------------------------------------------------------------------------
    def get(self, entity: str, entity_id: str) -> LocalRecord | None:
        row = self.connection.execute(
            "SELECT local_state, server_version, pending, deleted, site_id FROM records "
            "WHERE entity = ? AND entity_id = ?", (entity, entity_id)).fetchone()
        if row is None:
            return None
        return LocalRecord(entity, entity_id, _loads(row[0]), row[1], bool(row[2]), bool(row[3]), row[4])

    def query(self, entity: str, *, where: Mapping[str, Any] | None = None, order_by: str | None = None,
              limit: int | None = None, offset: int = 0, include_deleted: bool = False) -> list[LocalRecord]:
        sql, params = self._select(entity, where, include_deleted)
        if order_by:
            field, desc = (order_by[1:], True) if order_by.startswith("-") else (order_by, False)
            sql += f" ORDER BY json_extract(local_state, ?) {'DESC' if desc else 'ASC'}, entity_id"
            params.append(f"$.{field}")
        else:
            sql += " ORDER BY entity_id"
        sql += " LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        rows = self.connection.execute("SELECT entity_id, local_state, server_version, pending, deleted, site_id "
                                       + sql, params).fetchall()
        return [LocalRecord(entity, r[0], _loads(r[1]), r[2], bool(r[3]), bool(r[4]), r[5]) for r in rows]

    def count(self, entity: str, where: Mapping[str, Any] | None = None) -> int:
        sql, params = self._select(entity, where, False)
        return int(self.connection.execute("SELECT count(*) " + sql, params).fetchone()[0])

    @staticmethod
    def _select(entity: str, where: Mapping[str, Any] | None, include_deleted: bool) -> tuple[str, list[Any]]:
        sql = "FROM records WHERE entity = ?"
        params: list[Any] = [entity]
        if not include_deleted:
            sql += " AND deleted = 0"
        for field, value in (where or {}).items():
            sql += " AND json_extract(local_state, ?) = ?"
            params += [f"$.{field}", value]
        return sql, params

    def rejections(self) -> list[dict[str, Any]]:
        rows = self.connection.execute("SELECT mutation_id, entity, entity_id, body, code, message, at "
                                       "FROM rejections ORDER BY device_seq").fetchall()
        return [{"mutation_id": r[0], "entity": r[1], "entity_id": r[2], "mutation": orjson.loads(r[3]),
                 "code": r[4], "message": r[5], "at": r[6]} for r in rows]

    def rejection_count(self) -> int:
        return int(self.connection.execute("SELECT count(*) FROM rejections").fetchone()[0])

    def conflicts(self, status: str = "open") -> list[LocalRecord]:
        return self.query("sync.conflict", where={"status": status})

    # --- drafts --------------------------------------------------------------------------------
    def save_draft(self, key: str, data: Mapping[str, Any]) -> None:
        with self.transaction():
            self.connection.execute("INSERT INTO drafts VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                                    "data = excluded.data, saved_at = excluded.saved_at",
                                    (key, _dumps(dict(data)), datetime.now(UTC).isoformat()))

    def load_draft(self, key: str) -> dict[str, Any] | None:
        row = self.connection.execute("SELECT data FROM drafts WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def delete_draft(self, key: str) -> None:
        with self.transaction():
            self.connection.execute("DELETE FROM drafts WHERE key = ?", (key,))

    def integrity_check(self) -> str:
        return str(self.connection.execute("PRAGMA integrity_check").fetchone()[0])
