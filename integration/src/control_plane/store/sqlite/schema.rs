//! The schema of the SQLite store and its migrations, applied at open: the version is the
//! number of migrations applied, kept in `schema_version`.

use rusqlite::{Connection, params};

use super::super::StoreError;

/// The migrations, in order; the schema version is how many were applied.
pub(super) const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE identity (what TEXT PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE tenants (
    name TEXT PRIMARY KEY, created_at INTEGER NOT NULL,
    data_key BLOB NOT NULL, faults TEXT NOT NULL DEFAULT '{}');
CREATE TABLE environments (
    tenant TEXT NOT NULL REFERENCES tenants(name), name TEXT NOT NULL,
    created_at INTEGER NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE configs (
    tenant TEXT NOT NULL REFERENCES tenants(name), name TEXT NOT NULL,
    created_at INTEGER NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE secrets (
    tenant TEXT NOT NULL REFERENCES tenants(name), config TEXT NOT NULL, name TEXT NOT NULL,
    version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    sealed BLOB NOT NULL, PRIMARY KEY (tenant, config, name));
CREATE TABLE executions (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, config TEXT, environment TEXT NOT NULL,
    token_hash BLOB NOT NULL, created_at INTEGER NOT NULL, ord INTEGER NOT NULL,
    fetch_by INTEGER NOT NULL, bundle_expires_at INTEGER NOT NULL,
    consumed INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0,
    fetch_attempts INTEGER NOT NULL DEFAULT 0, audit_posts INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0, faults TEXT NOT NULL);
CREATE TABLE audit_events (
    execution TEXT NOT NULL REFERENCES executions(id), seq INTEGER NOT NULL,
    event TEXT NOT NULL, UNIQUE (execution, seq));
",
    r"
-- 2: secret descriptions, metadata and rotation reminders; rotation history; the audit of
-- management actions; API tokens (their SHA-256, never the token).
ALTER TABLE secrets ADD COLUMN description TEXT;
ALTER TABLE secrets ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE secrets ADD COLUMN rotation_days INTEGER;
CREATE TABLE rotations (
    tenant TEXT NOT NULL REFERENCES tenants(name), config TEXT NOT NULL, name TEXT NOT NULL,
    version INTEGER NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    reason TEXT, PRIMARY KEY (tenant, config, name, version));
CREATE TABLE management_events (
    tenant TEXT NOT NULL REFERENCES tenants(name), seq INTEGER NOT NULL, time INTEGER NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, name TEXT, config TEXT, environment TEXT,
    version INTEGER, reason TEXT, PRIMARY KEY (tenant, seq));
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE token_events (
    seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    token TEXT NOT NULL, role TEXT NOT NULL);
",
    // 3: signing-key rotation: every published key, its role, and its PKCS#8 document sealed with
    // the master key (AAD `identity` + `signing-key/ID`). The identity's `signing-key` row
    // stays the current key.
    r"
CREATE TABLE signing_keys (
    id TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('current', 'next', 'previous')),
    created_at INTEGER NOT NULL, sealed BLOB NOT NULL);
",
];

/// The rows of the `identity` table, in [`Identity`](super::super::Identity) order, and how errors name them.
pub(super) const IDENTITY_PARTS: [(&str, &str); 5] = [
    ("signing-key", "signing key"),
    ("tls-ca-pem", "CA certificate"),
    ("tls-ca-der", "CA certificate"),
    ("tls-server-der", "server certificate"),
    ("tls-server-key", "server key"),
];

/// The `what` (in the AAD) of a kept signing key: bound to its id, so a row moved to another
/// id does not open.
pub(crate) fn signing_key_what(id: &str) -> String {
    format!("signing-key/{id}")
}

/// Applies the migrations not yet applied, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })?
        .unwrap_or(0);
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            params![i64::try_from(i + 1).unwrap_or(i64::MAX)],
        )?;
        tx.commit()?;
    }
    Ok(())
}
