"""A simple in-process token bucket per (limit, client address): enough to slow down password spraying and
enrollment floods from one address. Per hub process (several processes each allow the burst).

The address is the server's `request.client`: the TCP peer, or the client a trusted reverse proxy names in
X-Forwarded-For when `pitline hub serve` was told to trust it (`PITLINE_TRUSTED_PROXIES`, default none;
hub/cli.py `proxy_options`). Anyone else's X-Forwarded-For is ignored, so it cannot pick a fresh bucket."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from hub.errors import TooManyRequests
from hub.identity.config import identity_settings

MAX_KEYS = 100_000  # bounded memory whatever the number of addresses


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = max(1, burst)
        self.rate = max(per_minute, 0.0) / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= MAX_KEYS:
                self._forget_full(now)
            b = self._buckets[key] = _Bucket(float(self.burst), now)
        b.tokens = min(float(self.burst), b.tokens + (now - b.at) * self.rate)
        b.at = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return math.inf if self.rate == 0 else (1.0 - b.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= MAX_KEYS:
            self._buckets.clear()


def _buckets(request: Request, name: str) -> TokenBuckets:
    limits: dict[str, TokenBuckets] | None = getattr(request.app.state, "identity_rate_limits", None)
    if limits is None:
        s = identity_settings()
        limits = {
            "signin": TokenBuckets(s.signin_rate_burst, s.signin_rate_per_minute),
            "enroll": TokenBuckets(s.enroll_rate_burst, s.enroll_rate_per_minute),
            "device_auth": TokenBuckets(s.device_auth_rate_burst, s.device_auth_rate_per_minute),
        }
        request.app.state.identity_rate_limits = limits
    return limits[name]


def rate_limited(name: str) -> Callable[[Request], None]:
    """A FastAPI dependency that answers 429 with Retry-After once the caller's address used its bucket."""

    def check(request: Request) -> None:
        address = request.client.host if request.client else "unknown"
        wait = _buckets(request, name).take(address)
        if wait > 0:
            seconds = 3600 if math.isinf(wait) else max(1, math.ceil(wait))
            raise TooManyRequests(f"too many {name} requests from {address}; retry in {seconds} s",
                                  headers={"Retry-After": str(seconds)}, details={"retry_after": seconds})

    return check
