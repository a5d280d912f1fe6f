"""Telemetry settings, from the hub's configuration (file or PITLINE_TELEMETRY_* environment variables)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import load_settings


@dataclass(frozen=True)
class TelemetrySettings:
    retention_months: int = 24  # whole months kept before the current one; 0 keeps everything
    months_ahead: int = 3  # partitions created ahead of the current month
    max_decompressed_bytes: int = 64 * 1024 * 1024  # a body inflating past this is refused (413)
    future_hours: float = 24.0  # points further ahead of the hub's clock are counted and not stored
    retention_interval_seconds: float = 3600.0

    @classmethod
    def load(cls) -> TelemetrySettings:
        s = load_settings("hub")
        return cls(
            retention_months=s.get_int("telemetry_retention_months", cls.retention_months),
            months_ahead=s.get_int("telemetry_months_ahead", cls.months_ahead),
            max_decompressed_bytes=s.get_int("telemetry_max_decompressed_bytes", cls.max_decompressed_bytes),
            future_hours=s.get_float("telemetry_future_hours", cls.future_hours),
            retention_interval_seconds=s.get_float("telemetry_retention_interval_seconds",
                                                   cls.retention_interval_seconds),
        )
