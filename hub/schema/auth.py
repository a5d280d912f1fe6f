"""`auth`: tenants, sites, devices, access tokens (enrollment and users extend it)."""

from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)

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

# --- identity (migration 0005_identity) ------------------------------------------------------------
enrollment_tokens = Table(
    "enrollment_tokens",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("token_hash", LargeBinary, nullable=False),
    Column("site_id", Text),  # NULL: a tenant-wide device
    Column("kind", Text, nullable=False),  # desktop | edge
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("device_id", Text),
    PrimaryKeyConstraint("tenant_id", "token_hash"),
    schema="auth",
)

device_challenges = Table(
    "device_challenges",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("nonce_hash", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("tenant_id", "device_id", "nonce_hash"),
    schema="auth",
)

users = Table(
    "users",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("username", Text, nullable=False),  # the user's id in the tenant; what their mutations carry as actor
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),  # argon2id PHC string, also the desktop's offline verifier
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("failed_attempts", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True)),
    Column("password_changed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("tenant_id", "username"),
    schema="auth",
)

role_grants = Table(
    "role_grants",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("username", Text, nullable=False),
    Column("role", Text, nullable=False),  # a role of shared/permissions.py
    Column("site_id", Text),  # NULL: tenant-wide
    Column("granted_by", Text, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    UniqueConstraint("tenant_id", "username", "role", "site_id", name="role_grants_key",
                     postgresql_nulls_not_distinct=True),
    schema="auth",
)
