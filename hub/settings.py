"""The hub's settings (file + environment, via shared.config)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import ConfigError, data_dir, load_settings


def parse_trusted_proxies(text: str | None) -> tuple[str, ...]:
    """`PITLINE_TRUSTED_PROXIES`: comma-separated addresses or networks (10.0.0.5, 10.0.0.0/8, ::1); empty: none."""
    proxies = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            proxies.append(str(ipaddress.ip_network(item, strict=False)) if "/" in item
                           else str(ipaddress.ip_address(item)))
        except ValueError:
            raise ConfigError(f"trusted_proxies: {item!r} is not an IP address or network (e.g. 10.0.0.5, "
                              "10.0.0.0/8)") from None
    return tuple(proxies)


def _listed(value: object) -> str | None:
    """A TOML list or a comma-separated string, as one string."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return None if value is None else str(value)


@dataclass(frozen=True)
class HubSettings:
    database_url: str | None  # None: run on the embedded PostgreSQL in the data folder
    data_dir: Path
    # What needs a session of its own (the LISTEN connections of the fan-out, the token cache and the projection
    # worker; telemetry retention's advisory lock) connects here; None: `database_url`. Set it to a direct URL
    # when `database_url` goes through PgBouncer in transaction mode, which cannot keep a session.
    session_database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8400
    heartbeat_seconds: float = 15.0
    retention_days: int = 90
    max_body_bytes: int = 8 * 1024 * 1024
    pool_min: int = 2
    pool_max: int = 20
    # Verified tokens are kept per process this long at most (0: look every request up in the database);
    # revocations reach the cache by notice at once (hub.auth.token_cache).
    token_cache_seconds: float = 30.0
    # uvicorn's per-request access log line (off: at 500 users it costs more CPU than some routes).
    access_log: bool = False
    # Serve the hot routes' well-formed requests without FastAPI's per-request machinery (hub.ops.fast_routes).
    fast_routes: bool = True
    # /metrics answers `Authorization: Bearer <metrics_token>` (a scraper: the whole hub) or an administrator's
    # token (their tenant's device gauges); None: administrators only (docs/decisions.md D28).
    metrics_token: str | None = field(default=None, repr=False)  # a secret: never in a log line
    # Per-device gauges labelled with tenant and device ids on /metrics (off: aggregates that name nobody).
    metrics_device_labels: bool = False
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto `pitline hub serve` believes (addresses or
    # networks); empty: none, the TCP peer is the client (the sign-in rate limit keys on it).
    trusted_proxies: tuple[str, ...] = ()
    # TLS served by the hub itself (both or neither; a reverse proxy in front is the other way: docs/deploy-tls.md).
    tls_certfile: str | None = None
    tls_keyfile: str | None = None

    @property
    def session_url(self) -> str | None:
        return self.session_database_url or self.database_url

    @classmethod
    def load(cls, **overrides: object) -> HubSettings:
        s = load_settings("hub")
        values: dict[str, object] = {
            "database_url": s.get_str("database_url"),
            "session_database_url": s.get_str("session_database_url"),
            "data_dir": data_dir("hub", s.get_str("data_dir_override")),
            "host": s.get_str("host", "127.0.0.1"),
            "port": s.get_int("port", 8400),
            "heartbeat_seconds": s.get_float("heartbeat_seconds", 15.0),
            "retention_days": s.get_int("retention_days", 90),
            "max_body_bytes": s.get_int("max_body_bytes", 8 * 1024 * 1024),
            "pool_min": s.get_int("pool_min", 2),
            "pool_max": s.get_int("pool_max", 20),
            "token_cache_seconds": s.get_float("token_cache_seconds", 30.0),
            "access_log": s.get_bool("access_log", False),
            "fast_routes": s.get_bool("fast_routes", True),
            "metrics_token": s.get_str("metrics_token") or None,
            "metrics_device_labels": s.get_bool("metrics_device_labels", False),
            "trusted_proxies": parse_trusted_proxies(_listed(s.get("trusted_proxies"))),
            "tls_certfile": s.get_str("tls_certfile") or None,
            "tls_keyfile": s.get_str("tls_keyfile") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
