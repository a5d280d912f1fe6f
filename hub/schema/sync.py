"""`sync`: the event log, replicated records, the applied-mutation ledger."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from hub.schema import metadata

tenant_heads = Table(
    "tenant_heads",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("head", BigInteger, nullable=False, server_default="0"),
    Column("floor", BigInteger, nullable=False, server_default="0"),
    schema="sync",
)

events = Table(
    "events",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("id", Text, nullable=False),
    Column("site_id", Text),
    Column("type", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("correlation_id", Text),
    PrimaryKeyConstraint("tenant_id", "seq"),
    schema="sync",
)

records = Table(
    "records",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("site_id", Text),
    Column("version", Integer, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text),  # device id of the last writer
    PrimaryKeyConstraint("tenant_id", "entity", "entity_id"),
    schema="sync",
)

record_versions = Table(
    "record_versions",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("device_id", Text),
    Column("mutation_id", Text),
    Column("written_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "entity", "entity_id", "version"),
    schema="sync",
)

applied_mutations = Table(
    "applied_mutations",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("mutation_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("device_seq", BigInteger, nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("outcome", JSONB, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "mutation_id"),
    UniqueConstraint("tenant_id", "device_id", "device_seq", name="applied_mutations_device_seq_key"),
    schema="sync",
)

held_mutations = Table(
    "held_mutations",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("device_seq", BigInteger, nullable=False),
    Column("mutation_id", Text, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "device_id", "device_seq"),
    schema="sync",
)

device_cursors = Table(
    "device_cursors",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("reported_outbox_depth", Integer),
    PrimaryKeyConstraint("tenant_id", "device_id"),
    schema="sync",
)

device_read_cursors = Table(  # the read side: highest event seq acknowledged or delivered (hub/ops/read_cursors.py)
    "device_read_cursors",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "device_id"),
    schema="sync",
)
