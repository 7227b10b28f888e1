//! The SQLite engine: one file (created 0600, WAL journal), migrations applied at open, values
//! and key material sealed ([`super::sealing`]).
//!
//! Tables: `schema_version`, `meta` (the master-key check), `identity` (signing key and TLS,
//! sealed with the master key), `signing_keys` (every published signing key and its role,
//! sealed with the master key), `tenants` (with the data key wrapped by the master key),
//! `environments`, `configs`, `secrets` (`config = ''` for tenant-wide values; the value column
//! is `nonce || ciphertext || tag`), `executions` (the token's SHA-256, never the token) and
//! `audit_events` (names, never values; `UNIQUE (execution, seq)`); since schema 2, `rotations`
//! (each version of a secret: when, by whom, why), `management_events` (the audit of the
//! management API), `token_events` (tokens made and revoked) and `api_tokens` (each token's
//! SHA-256, never the token); since schema 3, `signing_keys` (every published signing key).

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use ax_protocol::SecretText;
use ring::rand::SystemRandom;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::sealing::{self, SealingKey};
use super::{Identity, Scope, Store, StoreError};
use crate::control_plane::access::{ApiToken, TokenEvent};
use crate::control_plane::faults::Faults;
use crate::control_plane::journal::ManagementEvent;
use crate::control_plane::keys::StoredKey;
use crate::control_plane::model::{Execution, Held, Rotation, SecretMeta, State};
use crate::control_plane::tls::TlsParts;

mod keys;
mod load;
pub mod rotate;
mod schema;

use load::open_text;
use schema::{IDENTITY_PARTS, migrate};

/// u64 to SQLite's i64 and back, bit for bit (times and counters never reach 2^63; a `seq`
/// might, and must still round-trip and stay unique).
fn to_sql(n: u64) -> i64 {
    i64::from_ne_bytes(n.to_ne_bytes())
}

fn from_sql(n: i64) -> u64 {
    u64::from_ne_bytes(n.to_ne_bytes())
}

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    master: SealingKey,
    /// Tenants' data keys, unwrapped at open or creation.
    data_keys: Mutex<HashMap<String, SealingKey>>,
    rng: SystemRandom,
    path: PathBuf,
}

/// Logs a value that does not open: names it, never its bytes.
fn log_unreadable(tenant: &str, scope: &str, name: &str, version: u32) {
    crate::control_plane::tracing_fallback(&super::unreadable_value_log(
        tenant, scope, name, version,
    ));
}

impl SqliteStore {
    /// Opens (or creates, 0600) the database at `path`, applies migrations, and checks that
    /// `master` is the key it was created with.
    pub fn open(path: &Path, master: SealingKey, master_file: &Path) -> Result<Self, StoreError> {
        match std::fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.mode() & 0o7777;
                if mode & 0o077 != 0 {
                    return Err(StoreError::DatabaseMode {
                        path: path.to_owned(),
                        mode,
                    });
                }
            }
            Err(_) => {
                // Created here with 0600 so SQLite never makes it with the umask's mode; its
                // -wal and -shm files take the database file's mode.
                OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|source| StoreError::Create {
                        path: path.to_owned(),
                        source,
                    })?;
            }
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        let store = Self {
            conn: Mutex::new(conn),
            master,
            data_keys: Mutex::new(HashMap::new()),
            rng: SystemRandom::new(),
            path: path.to_owned(),
        };
        store.check_master(master_file)?;
        Ok(store)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn keys(&self) -> MutexGuard<'_, HashMap<String, SealingKey>> {
        self.data_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The first open writes a sealed check value; every later one must open it.
    fn check_master(&self, master_file: &Path) -> Result<(), StoreError> {
        let aad = sealing::identity_aad("master-check");
        let conn = self.conn();
        let found: Option<Vec<u8>> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'master_check'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            Some(sealed) => match self.master.open(&aad, &sealed) {
                Some(plain) if plain.as_slice() == sealing::CHECK_PLAINTEXT => Ok(()),
                _ => Err(StoreError::WrongMasterKey {
                    path: master_file.to_owned(),
                }),
            },
            None => {
                let sealed = self
                    .master
                    .seal(&self.rng, &aad, sealing::CHECK_PLAINTEXT)?;
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('master_check', ?1)",
                    params![sealed],
                )?;
                Ok(())
            }
        }
    }

    fn seal_identity(&self, what: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.master
            .seal(&self.rng, &sealing::identity_aad(what), plain)
    }

    /// Seals `value` with the tenant's data key.
    fn seal_value(
        &self,
        tenant: &str,
        scope: Scope<'_>,
        name: &str,
        version: u32,
        value: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let keys = self.keys();
        let key = keys.get(tenant).ok_or_else(|| StoreError::DataKey {
            tenant: tenant.to_owned(),
        })?;
        key.seal(
            &self.rng,
            &sealing::value_aad(tenant, scope, name, version),
            value,
        )
    }
}

fn config_column(scope: Scope<'_>) -> &str {
    match scope {
        Scope::Tenant => "",
        Scope::Config(c) => c,
    }
}

impl Store for SqliteStore {
    fn load(&self) -> Result<State, StoreError> {
        let conn = self.conn();
        let mut state = State::default();
        self.load_tenants(&conn, &mut state)?;
        Self::load_labels(&conn, &mut state)?;
        self.load_secrets(&conn, &mut state)?;
        Self::load_executions(&conn, &mut state)?;
        Self::load_management(&conn, &mut state)?;
        Ok(state)
    }

    fn load_identity(&self) -> Result<Option<Identity>, StoreError> {
        let conn = self.conn();
        let mut parts = Vec::with_capacity(IDENTITY_PARTS.len());
        for (what, label) in IDENTITY_PARTS {
            let sealed: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT sealed FROM identity WHERE what = ?1",
                    params![what],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(sealed) = sealed else {
                return Ok(None);
            };
            let plain = self
                .master
                .open(&sealing::identity_aad(what), &sealed)
                .ok_or(StoreError::Identity { what: label })?;
            parts.push(plain);
        }
        let [signing, ca_pem, ca_der, server_der, server_key]: [zeroize::Zeroizing<Vec<u8>>; 5] =
            parts
                .try_into()
                .map_err(|_| StoreError::Identity { what: "identity" })?;
        let ca_pem = String::from_utf8(ca_pem.to_vec()).map_err(|_| StoreError::Identity {
            what: "CA certificate",
        })?;
        Ok(Some(Identity {
            signing_pkcs8: signing,
            tls: TlsParts {
                ca_pem,
                ca_der: ca_der.to_vec(),
                server_der: server_der.to_vec(),
                server_key_der: server_key,
            },
        }))
    }

    fn save_identity(&self, identity: &Identity) -> Result<(), StoreError> {
        let tls = &identity.tls;
        let plains: [&[u8]; 5] = [
            &identity.signing_pkcs8,
            tls.ca_pem.as_bytes(),
            &tls.ca_der,
            &tls.server_der,
            &tls.server_key_der,
        ];
        let mut sealed = Vec::with_capacity(plains.len());
        for ((what, _), plain) in IDENTITY_PARTS.iter().zip(plains) {
            sealed.push((*what, self.seal_identity(what, plain)?));
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (what, blob) in sealed {
            tx.execute(
                "INSERT OR REPLACE INTO identity (what, sealed) VALUES (?1, ?2)",
                params![what, blob],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn load_signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.read_signing_keys()
    }

    fn save_signing_keys(&self, keys: &[StoredKey]) -> Result<(), StoreError> {
        self.write_signing_keys(keys)
    }

    fn create_tenant(&self, tenant: &str, created_at: u64) -> Result<(), StoreError> {
        let key = SealingKey::generate(&self.rng)?;
        let wrapped = self
            .master
            .seal(&self.rng, &sealing::data_key_aad(tenant), key.bytes())?;
        self.conn().execute(
            "INSERT INTO tenants (name, created_at, data_key) VALUES (?1, ?2, ?3)",
            params![tenant, to_sql(created_at), wrapped],
        )?;
        self.keys().insert(tenant.to_owned(), key);
        Ok(())
    }

    fn put_environment(&self, tenant: &str, name: &str, at: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO environments (tenant, name, created_at) VALUES (?1, ?2, ?3)",
            params![tenant, name, to_sql(at)],
        )?;
        Ok(())
    }

    fn delete_environment(&self, tenant: &str, name: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM environments WHERE tenant = ?1 AND name = ?2",
            params![tenant, name],
        )?;
        Ok(())
    }

    fn put_config(&self, tenant: &str, name: &str, at: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO configs (tenant, name, created_at) VALUES (?1, ?2, ?3)",
            params![tenant, name, to_sql(at)],
        )?;
        Ok(())
    }

    fn delete_config(&self, tenant: &str, name: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for table in ["secrets", "rotations"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE tenant = ?1 AND config = ?2"),
                params![tenant, name],
            )?;
        }
        tx.execute(
            "DELETE FROM configs WHERE tenant = ?1 AND name = ?2",
            params![tenant, name],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn put_secret(
        &self,
        tenant: &str,
        scope: Scope<'_>,
        value: &SecretText<'_>,
        meta: &SecretMeta,
        rotation: &Rotation,
    ) -> Result<Held, StoreError> {
        let sealed = self.seal_value(
            tenant,
            scope,
            &meta.name,
            meta.version,
            value.expose().as_bytes(),
        )?;
        let metadata = serde_json::to_string(&meta.metadata).map_err(|_| StoreError::Json)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if rotation.version == 1 {
            // A name created again after a delete starts a new history.
            tx.execute(
                "DELETE FROM rotations WHERE tenant = ?1 AND config = ?2 AND name = ?3",
                params![tenant, config_column(scope), meta.name],
            )?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO secrets \
             (tenant, config, name, version, created_at, updated_at, sealed, description, \
             metadata, rotation_days) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                tenant,
                config_column(scope),
                meta.name,
                i64::from(meta.version),
                to_sql(meta.created_at),
                to_sql(meta.updated_at),
                sealed,
                meta.description,
                metadata,
                meta.rotation_days.map(i64::from)
            ],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO rotations \
             (tenant, config, name, version, at, actor, action, reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                tenant,
                config_column(scope),
                meta.name,
                i64::from(rotation.version),
                to_sql(rotation.at),
                rotation.actor,
                rotation.action,
                rotation.reason
            ],
        )?;
        tx.commit()?;
        Ok(Held::Sealed(sealed))
    }

    fn open_value(
        &self,
        tenant: &str,
        scope: Scope<'_>,
        name: &str,
        version: u32,
        sealed: &[u8],
    ) -> Option<SecretText<'static>> {
        let opened = open_text(&self.keys(), tenant, scope, name, version, sealed);
        if opened.is_none() {
            log_unreadable(tenant, &scope.label(), name, version);
        }
        opened
    }

    fn delete_secret(&self, tenant: &str, scope: Scope<'_>, name: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for table in ["secrets", "rotations"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE tenant = ?1 AND config = ?2 AND name = ?3"),
                params![tenant, config_column(scope), name],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn set_faults(&self, tenant: &str, faults: &Faults) -> Result<(), StoreError> {
        let json = serde_json::to_string(faults).map_err(|_| StoreError::Json)?;
        self.conn().execute(
            "UPDATE tenants SET faults = ?2 WHERE name = ?1",
            params![tenant, json],
        )?;
        Ok(())
    }

    fn create_execution(&self, id: &str, e: &Execution) -> Result<(), StoreError> {
        let faults = serde_json::to_string(&e.faults).map_err(|_| StoreError::Json)?;
        self.conn().execute(
            "INSERT INTO executions (id, tenant, config, environment, token_hash, created_at, \
             ord, fetch_by, bundle_expires_at, faults) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id,
                e.tenant,
                e.config,
                e.environment,
                e.token_hash.as_slice(),
                to_sql(e.created_at),
                to_sql(e.order),
                to_sql(e.fetch_by),
                to_sql(e.bundle_expires_at),
                faults
            ],
        )?;
        Ok(())
    }

    fn update_execution(&self, id: &str, e: &Execution) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE executions SET finished = ?2, fetch_attempts = ?3, audit_posts = ?4, \
             dropped = ?5 WHERE id = ?1",
            params![
                id,
                i64::from(e.finished),
                i64::from(e.fetch_attempts),
                i64::from(e.audit_posts),
                to_sql(e.dropped)
            ],
        )?;
        Ok(())
    }

    fn consume_token(&self, id: &str) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE executions SET consumed = 1 WHERE id = ?1 AND consumed = 0",
            params![id],
        )?;
        Ok(changed == 1)
    }

    fn insert_events(&self, id: &str, events: &[(u64, &Value)]) -> Result<Vec<bool>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut kept = Vec::with_capacity(events.len());
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO audit_events (execution, seq, event) VALUES (?1, ?2, ?3)",
            )?;
            for (seq, event) in events {
                let json = serde_json::to_string(event).map_err(|_| StoreError::Json)?;
                kept.push(stmt.execute(params![id, to_sql(*seq), json])? == 1);
            }
        }
        tx.commit()?;
        Ok(kept)
    }

    fn record_management(&self, tenant: &str, e: &ManagementEvent) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO management_events \
             (tenant, seq, time, actor, action, name, config, environment, version, reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                tenant,
                to_sql(e.seq),
                to_sql(e.time),
                e.actor,
                e.action,
                e.name,
                e.config,
                e.environment,
                e.version.map(i64::from),
                e.reason
            ],
        )?;
        Ok(())
    }

    fn put_token(&self, t: &ApiToken) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO api_tokens (name, role, token_hash, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                t.name,
                t.role.as_str(),
                t.hash.as_slice(),
                to_sql(t.created_at),
                t.created_by
            ],
        )?;
        Ok(())
    }

    fn delete_token(&self, name: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM api_tokens WHERE name = ?1", params![name])?;
        Ok(())
    }

    fn record_token_event(&self, e: &TokenEvent) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO token_events (seq, time, actor, action, token, role) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                to_sql(e.seq),
                to_sql(e.time),
                e.actor,
                e.action,
                e.token,
                e.role.as_str()
            ],
        )?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "SQLite storage in {}, values sealed at rest",
            self.path.display()
        )
    }
}
