"""Forward-only schema migrations. Append; never edit a released step.

The schema version is the number of steps applied, kept in
``schema_version``. Each step runs in one transaction with its version bump.
``SQLITE`` and ``POSTGRES`` have the same steps at the same versions: add a
step to both or to neither.
"""

from __future__ import annotations

SQLITE: list[str] = [
    # 1: tenants, API keys, connections, invalidations
    """
    CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT,
        digest TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
    );
    CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
    CREATE TABLE connections (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        provider TEXT NOT NULL,
        token_digest TEXT NOT NULL UNIQUE,
        token_prefix TEXT NOT NULL,
        credentials_key_id TEXT NOT NULL,
        credentials_ciphertext BLOB NOT NULL,
        oauth_key_id TEXT,
        oauth_ciphertext BLOB,
        settings TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'active',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX connections_tenant ON connections (tenant_id, token_digest);
    CREATE TABLE invalidations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        digest TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 2: tenant-defined custom fields (field mappings)
    """
    CREATE TABLE field_mappings (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        connection_id TEXT REFERENCES connections(id) ON DELETE CASCADE,
        object TEXT NOT NULL,
        provider TEXT NOT NULL,
        name TEXT NOT NULL,
        expression TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX field_mappings_scope
        ON field_mappings (tenant_id, COALESCE(connection_id, ''), object, provider, name);
    """,
    # 3: OAuth refresh locks shared by every process on the file (a row per
    # connection being refreshed; see SQLiteStore.refresh_lock)
    """
    CREATE TABLE refresh_locks (
        connection_id TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    """,
    # 4: the connect flow (tenant settings, connect sessions and codes,
    # connections' end user and tags) and the webhook outbox
    """
    ALTER TABLE tenants ADD return_urls TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE tenants ADD webhook_url TEXT;
    ALTER TABLE tenants ADD webhook_secret_key_id TEXT;
    ALTER TABLE tenants ADD webhook_secret_ciphertext BLOB;
    ALTER TABLE connections ADD end_user_id TEXT;
    ALTER TABLE connections ADD tags TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX connections_end_user ON connections (tenant_id, end_user_id);
    CREATE TABLE connect_sessions (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        token_digest TEXT NOT NULL UNIQUE,
        end_user_id TEXT NOT NULL,
        end_user_email TEXT,
        end_user_name TEXT,
        providers TEXT NOT NULL,
        return_url TEXT,
        reconnect_connection_id TEXT,
        tags TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        provider TEXT,
        connection_id TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        completed_at TEXT
    );
    CREATE TABLE connect_codes (
        code_digest TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES connect_sessions(id) ON DELETE CASCADE,
        tenant_id TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        mint_token INTEGER NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE TABLE webhook_events (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_status INTEGER,
        last_error TEXT,
        lease_until TEXT,
        created_at TEXT NOT NULL,
        delivered_at TEXT
    );
    CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
    CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, created_at);
    """,
    # 5: provider apps (OAuth clients): the operator's default per provider
    # (tenant_id NULL) and tenants' own. NULL rather than '' keeps the
    # foreign key (a tenant's apps go with it); two partial unique indexes
    # make one app per (tenant, provider) and one default per provider.
    """
    CREATE TABLE provider_apps (
        tenant_id TEXT REFERENCES tenants(id) ON DELETE CASCADE,
        provider TEXT NOT NULL,
        client_id TEXT NOT NULL,
        secret_key_id TEXT NOT NULL,
        secret_ciphertext BLOB NOT NULL,
        scopes TEXT NOT NULL,
        settings TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX provider_apps_tenant ON provider_apps (tenant_id, provider)
        WHERE tenant_id IS NOT NULL;
    CREATE UNIQUE INDEX provider_apps_operator ON provider_apps (provider)
        WHERE tenant_id IS NULL;
    """,
    # 6: OAuth installs (proxy/connect/oauth): one-use attempts behind each
    # `state`, installs that arrived without a session, and the token one
    # platform grant shares between the connections made from it
    """
    CREATE TABLE connect_attempts (
        id TEXT PRIMARY KEY,
        state_digest TEXT NOT NULL UNIQUE,
        session_id TEXT NOT NULL REFERENCES connect_sessions(id) ON DELETE CASCADE,
        tenant_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        data_key_id TEXT NOT NULL,
        data_ciphertext BLOB NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE INDEX connect_attempts_session ON connect_attempts (session_id);
    CREATE TABLE unclaimed_installs (
        claim_digest TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        app_tenant_id TEXT,
        grant_key TEXT,
        data_key_id TEXT NOT NULL,
        data_ciphertext BLOB NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        claimed_at TEXT
    );
    CREATE TABLE oauth_grants (
        grant_key TEXT PRIMARY KEY,
        token_key_id TEXT NOT NULL,
        token_ciphertext BLOB NOT NULL,
        updated_at TEXT NOT NULL
    );
    ALTER TABLE connections ADD grant_key TEXT;
    CREATE INDEX connections_grant ON connections (grant_key);
    """,
]

# PostgreSQL: the same steps, one for one, at the same versions. Timestamps
# stay TEXT in the same ISO-8601 form (``2026-01-01T00:00:00.000Z``) so
# records compare equal across stores; ids and timestamps use the "C"
# collation so they sort bytewise, as SQLite does. Ciphertexts are BYTEA;
# the invalidation feed's id is a BIGSERIAL.
POSTGRES: list[str] = [
    # 1: tenants, API keys, connections, invalidations
    """
    CREATE TABLE tenants (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE api_keys (
        id TEXT COLLATE "C" PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT,
        digest TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
    );
    CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
    CREATE TABLE connections (
        id TEXT COLLATE "C" PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        provider TEXT NOT NULL,
        token_digest TEXT NOT NULL UNIQUE,
        token_prefix TEXT NOT NULL,
        credentials_key_id TEXT NOT NULL,
        credentials_ciphertext BYTEA NOT NULL,
        oauth_key_id TEXT,
        oauth_ciphertext BYTEA,
        settings TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'active',
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX connections_tenant ON connections (tenant_id, token_digest);
    CREATE TABLE invalidations (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        digest TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL
    );
    """,
    # 2: tenant-defined custom fields (field mappings)
    """
    CREATE TABLE field_mappings (
        id TEXT COLLATE "C" PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        connection_id TEXT REFERENCES connections(id) ON DELETE CASCADE,
        object TEXT NOT NULL,
        provider TEXT NOT NULL,
        name TEXT NOT NULL,
        expression TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL
    );
    CREATE UNIQUE INDEX field_mappings_scope
        ON field_mappings (tenant_id, COALESCE(connection_id, ''), object, provider, name);
    """,
    # 3: nothing: PostgreSQL's refresh lock is an advisory lock, no table
    "SELECT 1",
    # 4: the connect flow (tenant settings, connect sessions and codes,
    # connections' end user and tags) and the webhook outbox. Expiry and
    # due times are compared as text: "C" collation, bytewise as on SQLite.
    """
    ALTER TABLE tenants ADD return_urls TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE tenants ADD webhook_url TEXT;
    ALTER TABLE tenants ADD webhook_secret_key_id TEXT;
    ALTER TABLE tenants ADD webhook_secret_ciphertext BYTEA;
    ALTER TABLE connections ADD end_user_id TEXT;
    ALTER TABLE connections ADD tags TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX connections_end_user ON connections (tenant_id, end_user_id);
    CREATE TABLE connect_sessions (
        id TEXT COLLATE "C" PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        token_digest TEXT NOT NULL UNIQUE,
        end_user_id TEXT NOT NULL,
        end_user_email TEXT,
        end_user_name TEXT,
        providers TEXT NOT NULL,
        return_url TEXT,
        reconnect_connection_id TEXT,
        tags TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        provider TEXT,
        connection_id TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT COLLATE "C" NOT NULL,
        expires_at TEXT COLLATE "C" NOT NULL,
        completed_at TEXT COLLATE "C"
    );
    CREATE TABLE connect_codes (
        code_digest TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES connect_sessions(id) ON DELETE CASCADE,
        tenant_id TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        mint_token INTEGER NOT NULL,
        expires_at TEXT COLLATE "C" NOT NULL,
        used_at TEXT COLLATE "C"
    );
    CREATE TABLE webhook_events (
        id TEXT COLLATE "C" PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT COLLATE "C" NOT NULL,
        last_status INTEGER,
        last_error TEXT,
        lease_until TEXT COLLATE "C",
        created_at TEXT COLLATE "C" NOT NULL,
        delivered_at TEXT COLLATE "C"
    );
    CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
    CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, created_at);
    """,
    # 5: provider apps (OAuth clients): the operator's default per provider
    # (tenant_id NULL) and tenants' own, as on SQLite.
    """
    CREATE TABLE provider_apps (
        tenant_id TEXT COLLATE "C" REFERENCES tenants(id) ON DELETE CASCADE,
        provider TEXT COLLATE "C" NOT NULL,
        client_id TEXT NOT NULL,
        secret_key_id TEXT NOT NULL,
        secret_ciphertext BYTEA NOT NULL,
        scopes TEXT NOT NULL,
        settings TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX provider_apps_tenant ON provider_apps (tenant_id, provider)
        WHERE tenant_id IS NOT NULL;
    CREATE UNIQUE INDEX provider_apps_operator ON provider_apps (provider)
        WHERE tenant_id IS NULL;
    """,
    # 6: OAuth installs (proxy/connect/oauth): one-use attempts behind each
    # `state`, installs that arrived without a session, and the token one
    # platform grant shares between the connections made from it
    """
    CREATE TABLE connect_attempts (
        id TEXT COLLATE "C" PRIMARY KEY,
        state_digest TEXT NOT NULL UNIQUE,
        session_id TEXT NOT NULL REFERENCES connect_sessions(id) ON DELETE CASCADE,
        tenant_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        data_key_id TEXT NOT NULL,
        data_ciphertext BYTEA NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        expires_at TEXT COLLATE "C" NOT NULL,
        used_at TEXT COLLATE "C"
    );
    CREATE INDEX connect_attempts_session ON connect_attempts (session_id);
    CREATE TABLE unclaimed_installs (
        claim_digest TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        app_tenant_id TEXT,
        grant_key TEXT,
        data_key_id TEXT NOT NULL,
        data_ciphertext BYTEA NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        expires_at TEXT COLLATE "C" NOT NULL,
        claimed_at TEXT COLLATE "C"
    );
    CREATE TABLE oauth_grants (
        grant_key TEXT PRIMARY KEY,
        token_key_id TEXT NOT NULL,
        token_ciphertext BYTEA NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL
    );
    ALTER TABLE connections ADD grant_key TEXT;
    CREATE INDEX connections_grant ON connections (grant_key);
    """,
]
