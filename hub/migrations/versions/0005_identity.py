"""Identity: one-time enrollment tokens, device challenges, users (argon2), role grants with site scopes.

Revision ID: 0005_identity
Revises: 0004_telemetry
"""

from alembic import op

revision = "0005_identity"
down_revision = "0004_telemetry"
branch_labels = None
depends_on = None

UPGRADE = """
-- One-time enrollment tokens: only their sha256 is kept; consumed by the enrollment that uses them.
CREATE TABLE auth.enrollment_tokens (
    tenant_id text NOT NULL REFERENCES auth.tenants (id),
    token_hash bytea NOT NULL,
    site_id text,                       -- NULL: a tenant-wide device
    kind text NOT NULL CHECK (kind IN ('desktop', 'edge')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    device_id text,                     -- the device that used it
    PRIMARY KEY (tenant_id, token_hash)
);
-- An enrolling device knows only the token: find it by hash alone.
CREATE UNIQUE INDEX enrollment_tokens_by_hash ON auth.enrollment_tokens (token_hash);

-- Challenges a device signs with its Ed25519 key: single use, short-lived; only the nonce's sha256 is kept.
CREATE TABLE auth.device_challenges (
    tenant_id text NOT NULL,
    device_id text NOT NULL,
    nonce_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (tenant_id, device_id, nonce_hash)
);
CREATE INDEX device_challenges_expiry ON auth.device_challenges (expires_at);

-- People. The username is the user's id within the tenant and what their mutations carry as `actor`.
CREATE TABLE auth.users (
    tenant_id text NOT NULL REFERENCES auth.tenants (id),
    username text NOT NULL,
    display_name text NOT NULL,
    password_hash text NOT NULL,        -- argon2id, PHC string (also the desktop's offline verifier)
    disabled boolean NOT NULL DEFAULT false,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, username)
);

-- Roles with a site scope (site_id NULL: every site of the tenant). The matrix itself is shared/permissions.py.
CREATE TABLE auth.role_grants (
    tenant_id text NOT NULL,
    username text NOT NULL,
    role text NOT NULL,
    site_id text,
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT role_grants_key UNIQUE NULLS NOT DISTINCT (tenant_id, username, role, site_id),
    FOREIGN KEY (tenant_id, username) REFERENCES auth.users (tenant_id, username) ON DELETE CASCADE
);

CREATE INDEX access_tokens_by_device ON auth.access_tokens (tenant_id, device_id) WHERE device_id IS NOT NULL;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(
        """DROP INDEX IF EXISTS auth.access_tokens_by_device;
           DROP TABLE auth.role_grants; DROP TABLE auth.users;
           DROP TABLE auth.device_challenges; DROP TABLE auth.enrollment_tokens;"""
    )
