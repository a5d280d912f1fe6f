"""The local store's own tables. Programs add theirs with `LocalStore.migrate(module, steps)`."""

CORE_STEPS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- state: 'pending' (not yet acknowledged) | 'acked' (committed at the hub, its event not yet seen)
    CREATE TABLE outbox (
        device_seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        entity TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        ack_version INTEGER
    );
    CREATE INDEX outbox_record ON outbox (entity, entity_id);
    CREATE INDEX outbox_state ON outbox (state, device_seq);
    CREATE TABLE records (
        entity TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        site_id TEXT,
        server_version INTEGER NOT NULL DEFAULT 0,
        server_state TEXT,
        local_state TEXT,
        deleted INTEGER NOT NULL DEFAULT 0,
        pending INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (entity, entity_id)
    ) WITHOUT ROWID;
    CREATE TABLE rejections (
        mutation_id TEXT PRIMARY KEY,
        device_seq INTEGER NOT NULL,
        entity TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        body TEXT NOT NULL,
        code TEXT,
        message TEXT,
        at TEXT NOT NULL
    );
    CREATE TABLE drafts (key TEXT PRIMARY KEY, data TEXT NOT NULL, saved_at TEXT NOT NULL);
    """,
]
