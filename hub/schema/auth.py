"""`auth`: tenants, sites, devices, access tokens (enrollment and users extend it)."""

from sqlalchemy import ARRAY, Column, DateTime, LargeBinary, PrimaryKeyConstraint, Table, Text, Time, text

from hub.schema import metadata

tenants = Table(
    "tenants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    schema="auth",
)

sites = Table(
    "sites",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("time_zone", Text, nullable=False, server_default="UTC"),
    Column("day_shift_start", Time, nullable=False, server_default="06:00"),
    Column("night_shift_start", Time, nullable=False, server_default="18:00"),
    PrimaryKeyConstraint("tenant_id", "id"),
    schema="auth",
)

devices = Table(
    "devices",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # desktop | edge
    Column("name", Text, nullable=False),
    Column("site_ids", ARRAY(Text)),  # NULL: every site of the tenant
    Column("public_key", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("revoked_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("tenant_id", "id"),
    schema="auth",
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("device_id", Text),
    Column("user_id", Text),
    Column("roles", ARRAY(Text), nullable=False, server_default="{}"),
    Column("site_ids", ARRAY(Text)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    schema="auth",
)
