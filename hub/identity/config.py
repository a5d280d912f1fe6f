"""Identity settings (defaults < hub TOML file < PITLINE_* environment), read once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from shared.config import load_settings


@dataclass(frozen=True)
class IdentitySettings:
    signin_max_failures: int = 5  # failed sign-ins in a row before a lockout
    signin_lockout_seconds: float = 900.0
    device_token_seconds: float = 900.0  # device access tokens are short-lived: the device re-signs a challenge
    user_token_seconds: float = 3600.0
    challenge_seconds: float = 60.0
    # Token buckets per client address (per hub process): `burst` requests at once, refilled per minute.
    signin_rate_burst: int = 20
    signin_rate_per_minute: float = 20.0
    enroll_rate_burst: int = 20
    enroll_rate_per_minute: float = 20.0
    device_auth_rate_burst: int = 120
    device_auth_rate_per_minute: float = 120.0

    @property
    def device_token_ttl(self) -> timedelta:
        return timedelta(seconds=self.device_token_seconds)

    @property
    def user_token_ttl(self) -> timedelta:
        return timedelta(seconds=self.user_token_seconds)

    @classmethod
    def load(cls) -> IdentitySettings:
        s = load_settings("hub")
        d = cls()
        return cls(
            signin_max_failures=max(1, s.get_int("signin_max_failures", d.signin_max_failures)),
            signin_lockout_seconds=s.get_float("signin_lockout_seconds", d.signin_lockout_seconds),
            device_token_seconds=s.get_float("device_token_seconds", d.device_token_seconds),
            user_token_seconds=s.get_float("user_token_seconds", d.user_token_seconds),
            challenge_seconds=s.get_float("challenge_seconds", d.challenge_seconds),
            signin_rate_burst=s.get_int("signin_rate_burst", d.signin_rate_burst),
            signin_rate_per_minute=s.get_float("signin_rate_per_minute", d.signin_rate_per_minute),
            enroll_rate_burst=s.get_int("enroll_rate_burst", d.enroll_rate_burst),
            enroll_rate_per_minute=s.get_float("enroll_rate_per_minute", d.enroll_rate_per_minute),
            device_auth_rate_burst=s.get_int("device_auth_rate_burst", d.device_auth_rate_burst),
            device_auth_rate_per_minute=s.get_float("device_auth_rate_per_minute", d.device_auth_rate_per_minute),
        )


@cache
def identity_settings() -> IdentitySettings:
    return IdentitySettings.load()
