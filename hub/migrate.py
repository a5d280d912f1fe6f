"""Run and check Alembic migrations. The hub refuses to serve on a schema revision it does not know."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.command import upgrade
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.db import sqlalchemy_url
from hub.errors import SchemaVersionError

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (idempotent)."""
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            upgrade(cfg, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def check_schema(url: str) -> None:
    """Raise SchemaVersionError unless the database is exactly at this code's head revision."""
    current = current_revision(url)
    head = head_revision()
    if current != head:
        if current is None:
            raise SchemaVersionError("the database has no Pitline schema: run `pitline hub migrate` first")
        known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
        if current not in known:
            raise SchemaVersionError(
                f"the database is at schema revision {current!r}, which this hub does not know (it is newer "
                f"than this code, or foreign); refusing to serve. This hub's head is {head!r}."
            )
        raise SchemaVersionError(
            f"the database is at schema revision {current!r}; this hub needs {head!r}: run `pitline hub migrate`"
        )
