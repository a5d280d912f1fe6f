"""Alembic environment: migrations run on a sync psycopg connection passed in by hub.migrate."""

from alembic import context

from hub.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `pitline hub migrate` (hub.migrate), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    include_schemas=True,
    version_table_schema="public",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
