"""The hub's settings (file + environment, via shared.config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.config import data_dir, load_settings


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
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
