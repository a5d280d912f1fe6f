"""Every change to a device or an access token notifies the hub processes, however it was made.

Hub processes cache verified tokens (`hub.auth.token_cache`) and keep open streams per device, so a
revocation has to reach every process whether it came from the API, the admin CLI, another hub process or
a hand-written UPDATE. Triggers make that independent of the writer:
- a device revoked or deleted: `pitline_revocations` `{"tenant_id", "device_id"}` (streams close, cached
  tokens of the device are dropped);
- a device's other changes (its sites): `pitline_auth_changes` `{"tenant_id", "device_id"}`;
- an access token updated (revoked, expiry moved) or deleted: `pitline_auth_changes` `{"tenant_id",
  "token_hash"}` (hex).
Notifications are sent at commit, so a rolled-back revocation sends nothing.

Revision ID: 0007_auth_change_notices
Revises: 0006_device_read_cursors
"""

from alembic import op

revision = "0007_auth_change_notices"
down_revision = "0006_device_read_cursors"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE FUNCTION auth.notify_device_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('pitline_revocations',
                      json_build_object('tenant_id', OLD.tenant_id, 'device_id', OLD.id)::text);
  ELSIF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
    PERFORM pg_notify('pitline_revocations',
                      json_build_object('tenant_id', NEW.tenant_id, 'device_id', NEW.id)::text);
  ELSE
    PERFORM pg_notify('pitline_auth_changes',
                      json_build_object('tenant_id', NEW.tenant_id, 'device_id', NEW.id)::text);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER devices_notify_update AFTER UPDATE ON auth.devices
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION auth.notify_device_change();
CREATE TRIGGER devices_notify_delete AFTER DELETE ON auth.devices
  FOR EACH ROW EXECUTE FUNCTION auth.notify_device_change();

CREATE FUNCTION auth.notify_token_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('pitline_auth_changes',
                    json_build_object('tenant_id', OLD.tenant_id, 'token_hash', encode(OLD.token_hash, 'hex'))::text);
  RETURN NULL;
END $$;

CREATE TRIGGER access_tokens_notify_update AFTER UPDATE ON auth.access_tokens
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION auth.notify_token_change();
CREATE TRIGGER access_tokens_notify_delete AFTER DELETE ON auth.access_tokens
  FOR EACH ROW EXECUTE FUNCTION auth.notify_token_change();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS access_tokens_notify_delete ON auth.access_tokens;
DROP TRIGGER IF EXISTS access_tokens_notify_update ON auth.access_tokens;
DROP FUNCTION IF EXISTS auth.notify_token_change();
DROP TRIGGER IF EXISTS devices_notify_delete ON auth.devices;
DROP TRIGGER IF EXISTS devices_notify_update ON auth.devices;
DROP FUNCTION IF EXISTS auth.notify_device_change();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
