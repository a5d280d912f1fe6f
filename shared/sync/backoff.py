"""Exponential backoff with full jitter, honouring a server's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 0.5
    cap: float = 60.0
    attempt: int = 0
    rnd: random.Random = field(default_factory=random.Random)

    def next_delay(self, retry_after: float | None = None) -> float:
        """The delay before the next attempt; at least `retry_after` when the server named one."""
        self.attempt += 1
        delay = self.rnd.uniform(0, min(self.cap, self.base * 2 ** (self.attempt - 1)))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap * 5))
        return delay

    def reset(self) -> None:
        self.attempt = 0


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from our hub; the exponential delay stands
