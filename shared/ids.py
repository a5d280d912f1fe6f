"""ULIDs: 128-bit, lexicographically sortable by creation time, used as idempotency keys.

Monotonic within a process: two ids made in the same millisecond still sort in creation order,
which keeps outbox scans and event ids in order without a second column.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD = bytes.maketrans(_RFC4648, _ALPHABET.encode())


def _encode(value: int) -> str:
    # 160 bits = 32 base32 characters; the first 6 only carry the 30 leading zero bits.
    return base64.b32encode(value.to_bytes(20, "big")).translate(_TO_CROCKFORD)[6:].decode()


def new_ulid(now_ms: int | None = None) -> str:
    """Return a new ULID string (26 Crockford base32 characters)."""
    global _last_ms, _last_rand
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
            if rand >= 1 << 80:  # 2^80 ids in one millisecond: move to the next one
                ms += 1
                rand = int.from_bytes(os.urandom(10), "big")
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_rand = ms, rand
    return _encode((ms << 80) | rand)


_ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")  # the first character holds only 3 bits


def is_ulid(value: object) -> bool:
    """True if `value` is a well-formed ULID string."""
    return isinstance(value, str) and len(value) == 26 and _ULID_RE.fullmatch(value.upper()) is not None


def ulid_timestamp_ms(value: str) -> int:
    """Milliseconds since the epoch encoded in a ULID."""
    n = 0
    for c in value[:10].upper():
        n = (n << 5) | _DECODE[c]
    return n
