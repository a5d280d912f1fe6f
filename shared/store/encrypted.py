"""Open an SQLite file encrypted page by page by SQLite3 Multiple Ciphers (chacha20), and prove it.

At every open: the key is tried on a READ-ONLY connection first (a wrong key can never write a byte),
`PRAGMA key` must answer `ok`, `sqlite3mc_version()` must exist (plain SQLite would silently ignore the
key and write plaintext), and the file must not carry the plaintext SQLite header."""

from __future__ import annotations

from pathlib import Path

import apsw

from shared.errors import PlaintextStoreError, StoreBusyError, StoreDiskError, StoreError, WrongKeyError

PLAINTEXT_MAGIC = b"SQLite format 3\x00"
CIPHER = "chacha20"
DISK_ERRORS = (apsw.FullError, apsw.IOError)
"""What a full or failing disk raises, from whichever statement needed a page (not only COMMIT)."""


def disk_error(path: Path, exc: apsw.Error) -> StoreDiskError:
    what = "the disk is full" if isinstance(exc, apsw.FullError) else "the disk failed to read or write"
    return StoreDiskError(f"{path.name}: {what}; nothing of this write was saved, what was saved before is intact "
                          f"({exc})")


def _apply_key(conn: apsw.Connection, data_key: bytes) -> None:
    try:
        cipher = conn.execute(f"PRAGMA cipher = '{CIPHER}'").fetchall()
        answer = conn.execute(f"PRAGMA hexkey = '{data_key.hex()}'").fetchall()
        version = conn.execute("SELECT sqlite3mc_version()").fetchall()
    except apsw.SQLError as exc:
        raise PlaintextStoreError(
            f"this SQLite build cannot encrypt ({exc}); install apsw-sqlite3mc, not plain apsw"
        ) from None
    if cipher != [(CIPHER,)] or answer != [("ok",)] or not version:
        raise PlaintextStoreError(f"the encryption extension did not accept the key (cipher={cipher}, key={answer})")


def _busy(path: Path, exc: apsw.BusyError) -> StoreBusyError:
    return StoreBusyError(f"{path.name} is busy: another connection held it past the busy timeout ({exc})")


def has_plaintext_header(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == PLAINTEXT_MAGIC
    except FileNotFoundError:
        return False


def verify_key(path: Path, data_key: bytes, busy_timeout_ms: int = 10_000) -> None:
    """Check the key against an existing file without any chance of writing to it."""
    if has_plaintext_header(path):
        raise PlaintextStoreError(f"{path} is an unencrypted SQLite file; Pitline refuses to use it")
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        # Another thread of the program may be writing (or migrating) right now: wait, as writers do.
        conn.set_busy_timeout(busy_timeout_ms)
        _apply_key(conn, data_key)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except apsw.NotADBError:
        raise WrongKeyError(f"the key does not open {path}; the file was not changed") from None
    except apsw.BusyError as exc:
        raise _busy(path, exc) from None
    except apsw.Error as exc:
        raise StoreError(f"cannot read {path}: {exc}") from None
    finally:
        conn.close()


def open_encrypted(path: Path, data_key: bytes, *, busy_timeout_ms: int = 10_000) -> apsw.Connection:
    """A read-write connection to the encrypted file (created if missing), in WAL mode."""
    existed = path.exists() and path.stat().st_size > 0
    if existed:
        verify_key(path, data_key, busy_timeout_ms)
    conn = apsw.Connection(str(path))
    try:
        # Before the first statement: even reading the schema waits while another thread of the program
        # switches the file to WAL or checkpoints it (a gateway's ingest, uplink and sync threads open it together).
        conn.set_busy_timeout(busy_timeout_ms)
        _apply_key(conn, data_key)
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        # FULL: a committed outbox row survives power loss, not only a process crash (docs/decisions.md D9).
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        if not existed:
            conn.execute("CREATE TABLE IF NOT EXISTS _pitline_probe(x); DROP TABLE _pitline_probe;")
            if has_plaintext_header(path):
                raise PlaintextStoreError(f"{path} was written unencrypted; refusing to use it")
    except apsw.BusyError as exc:
        conn.close()
        raise _busy(path, exc) from None
    except DISK_ERRORS as exc:
        conn.close()
        raise disk_error(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn
