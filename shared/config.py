"""Configuration, one way for all three programs: defaults < TOML file < environment.

The file is `<config dir>/<program>.toml` (or the path in PITLINE_CONFIG); environment variables are
`PITLINE_<KEY>` in upper case, e.g. PITLINE_HUB_URL, PITLINE_DATABASE_URL, PITLINE_DATA_DIR.
Data folders come from platformdirs unless PITLINE_DATA_DIR sets one.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from shared.errors import PitlineError

APP_NAME = "pitline"


class ConfigError(PitlineError):
    """The configuration file or an environment variable is invalid."""


def data_dir(program: str, override: str | os.PathLike[str] | None = None) -> Path:
    """The folder a program keeps its store and state in (created if missing)."""
    base = override or os.environ.get("PITLINE_DATA_DIR")
    path = Path(base) / program if base else Path(platformdirs.user_data_dir(APP_NAME)) / program
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_path(program: str) -> Path:
    explicit = os.environ.get("PITLINE_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_config_dir(APP_NAME)) / f"{program}.toml"


@dataclass
class Settings:
    """Settings of one program: a flat mapping with typed getters."""

    program: str
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def get_str(self, key: str, default: str | None = None) -> str | None:
        v = self.values.get(key, default)
        return None if v is None else str(v)

    def get_int(self, key: str, default: int) -> int:
        v = self.values.get(key, default)
        try:
            return int(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a whole number, got {v!r}") from None

    def get_float(self, key: str, default: float) -> float:
        v = self.values.get(key, default)
        try:
            return float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number, got {v!r}") from None

    def get_bool(self, key: str, default: bool) -> bool:
        v = self.values.get(key, default)
        if isinstance(v, bool):
            return v
        if str(v).lower() in ("1", "true", "yes", "on"):
            return True
        if str(v).lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{key} must be true or false, got {v!r}")


def load_settings(
    program: str,
    defaults: Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load a program's settings: defaults, then the TOML file (if present), then PITLINE_* variables."""
    values: dict[str, Any] = dict(defaults or {})
    file = Path(path) if path else config_path(program)
    if file.exists():
        try:
            with file.open("rb") as fh:
                loaded = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {file}: {exc}") from exc
        section = loaded.get(program, loaded)
        values.update({k.lower(): v for k, v in section.items() if not isinstance(v, dict) or k == program})
    env = os.environ if environ is None else environ
    for key, value in env.items():
        if key.startswith("PITLINE_"):
            values[key[len("PITLINE_"):].lower()] = value
    return Settings(program=program, values=values)
