"""The hub's schema as SQLAlchemy Core metadata: one PostgreSQL schema per bounded context.
Alembic migrations (hub/migrations) create it; tests check that head equals this metadata."""

from sqlalchemy import MetaData

metadata = MetaData()

from hub.schema import auth, sync  # noqa: E402,F401  (tables register on `metadata`)
