//! Where the control plane keeps its state: one trait, two engines.
//!
//! The handlers work on [`State`] under one mutex (it is the in-memory engine, and the
//! working set of the durable one); every change is written through a [`Store`] *before* it is
//! applied in memory, so a failed write changes nothing and a restart finds what was answered.
//! [`Store::load`] rebuilds the state at start.
//!
//! - [`MemoryStore`]: keeps nothing; a restart forgets all (tests, and the default without
//!   `--db`).
//! - [`sqlite::SqliteStore`]: a SQLite file, values sealed at rest ([`sealing`]). Two decisions
//!   are the database's, not the memory's: the one-time token is consumed with
//!   `UPDATE ... WHERE consumed = 0` (one row affected or none), and audit events are kept
//!   once by a `UNIQUE (execution, seq)` constraint with `INSERT OR IGNORE`.
//!
//! Every message this module can show a user is here, in [`StoreError`].

pub mod sealing;
pub mod sqlite;

use std::path::PathBuf;

use ax_protocol::SecretText;
use serde_json::Value;

use super::access::{ApiToken, TokenEvent};
use super::faults::Faults;
use super::journal::ManagementEvent;
use super::keys::StoredKey;
use super::model::{Execution, Held, Rotation, SecretMeta, State};
use super::tls::TlsParts;

/// Which engine, from the command line.
#[derive(Debug, Clone, Default)]
pub enum Storage {
    /// Nothing is kept (the default).
    #[default]
    Memory,
    /// A SQLite file, values sealed with keys wrapped by the master key in `master_key_file`.
    Sqlite {
        /// The database file (created 0600).
        path: PathBuf,
        /// 32 bytes, mode 0600 or stricter.
        master_key_file: PathBuf,
    },
}

/// Where a value lives: tenant-wide, or an override of a flow config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The tenant's own secrets.
    Tenant,
    /// The overrides of this flow config.
    Config(&'a str),
}

impl Scope<'_> {
    /// How the scope appears in logs and in the AAD of a sealed value.
    pub fn label(&self) -> String {
        match self {
            Scope::Tenant => "tenant".to_owned(),
            Scope::Config(c) => format!("config:{c}"),
        }
    }
}

/// The control plane's signing key and TLS identity, as kept by a durable store.
pub struct Identity {
    /// The Ed25519 signing key, PKCS#8 v2 DER.
    pub signing_pkcs8: zeroize::Zeroizing<Vec<u8>>,
    /// The CA and server certificate.
    pub tls: TlsParts,
}

/// Why the store could not do what was asked. Messages name files, tables and secrets, never a
/// value or key material.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The master key file could not be read.
    #[error("cannot read the master key file {path}: {source}")]
    MasterKeyRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The master key file is readable by others.
    #[error(
        "the master key file {path} has mode {mode:o}; it must be 0600 or stricter \
         (chmod 600 {path})"
    )]
    MasterKeyMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The master key file is not 32 bytes.
    #[error(
        "the master key file {path} holds {len} bytes; it must hold exactly 32 random bytes \
         (e.g. head -c 32 /dev/urandom > FILE)"
    )]
    MasterKeyLength {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The master key does not open this database.
    #[error(
        "the master key in {path} does not open this database (it was created with another \
         master key); refusing to start"
    )]
    WrongMasterKey {
        /// The master key file.
        path: PathBuf,
    },
    /// The database file is readable by others.
    #[error("the database file {path} has mode {mode:o}; it must be 0600 or stricter")]
    DatabaseMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The database was written by a newer control plane.
    #[error("the database has schema version {found}; this control plane knows up to {known}")]
    SchemaTooNew {
        /// In the file.
        found: i64,
        /// Here.
        known: i64,
    },
    /// A kept identity (signing key, TLS) does not open or parse.
    #[error("the stored {what} cannot be opened or read; refusing to start")]
    Identity {
        /// Which part.
        what: &'static str,
    },
    /// A tenant's data key is missing or does not open.
    #[error("the data key of tenant {tenant} is missing or cannot be opened")]
    DataKey {
        /// The tenant.
        tenant: String,
    },
    /// The random generator failed.
    #[error("the random generator failed")]
    Random,
    /// Sealing failed.
    #[error("cannot seal a value")]
    Seal,
    /// Creating the database file.
    #[error("cannot create the database file {path}: {source}")]
    Create {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite said no. Its messages name tables and columns; values are always bound
    /// parameters, never part of a statement, so they cannot appear here.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// `rotate-master-key` on a database that does not exist.
    #[error("the database file {path} does not exist; there is nothing to rewrap")]
    NoDatabase {
        /// The file.
        path: PathBuf,
    },
    /// `rotate-master-key` given the same key as old and new.
    #[error(
        "the new master key in {path} is the same key as the old one; make a new one \
         (head -c 32 /dev/urandom > FILE; chmod 600 FILE)"
    )]
    SameMasterKey {
        /// The new key's file.
        path: PathBuf,
    },
    /// A kept signing key has a role this control plane does not know.
    #[error("a stored signing key has an unknown role; refusing to start")]
    SigningKeyRole,
    /// A JSON column (faults, events) failed to (de)serialise.
    #[error("a stored JSON column cannot be read")]
    Json,
}

/// The log line of a stored value that does not open: names it, never its bytes.
pub fn unreadable_value_log(tenant: &str, scope: &str, name: &str, version: u32) -> String {
    format!(
        "the stored value of {tenant}/{scope}/{name} (version {version}) does not open \
         (tampered, or moved from another name, scope, tenant or version); it will not be served"
    )
}

/// The log line of a bundle refused because a value of it does not open.
pub fn refused_bundle_log(execution: &str, scope: &str, name: &str, version: u32) -> String {
    format!(
        "refusing the bundle of execution {execution}: the stored value of {scope}/{name} \
         (version {version}) does not open"
    )
}

/// The answer's message then (it goes to the sidecar: it names no secret).
pub const UNREADABLE_ANSWER: &str =
    "a stored value of this execution does not open (tampered or moved); nothing is served";

/// What the control plane keeps, and the two decisions a shared database must make.
pub trait Store: Send + Sync {
    /// The whole state as kept (empty for the memory engine). A value that does not open is
    /// loaded as unreadable (logged, never served), not as an error: one bad row must not stop
    /// every tenant.
    fn load(&self) -> Result<State, StoreError>;
    /// The kept identity, if any.
    fn load_identity(&self) -> Result<Option<Identity>, StoreError>;
    /// Keeps the identity (the memory engine keeps nothing).
    fn save_identity(&self, identity: &Identity) -> Result<(), StoreError>;
    /// The kept signing keys with their roles; empty when none was ever rotated (the identity's
    /// key is then the only one, current).
    fn load_signing_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Replaces the kept signing keys with `keys` (exactly one current), and the identity's
    /// signing key with the current one, in one transaction.
    fn save_signing_keys(&self, keys: &[StoredKey]) -> Result<(), StoreError>;
    /// A new tenant (and its data key).
    fn create_tenant(&self, tenant: &str, created_at: u64) -> Result<(), StoreError>;
    /// A new environment.
    fn put_environment(&self, tenant: &str, name: &str, created_at: u64) -> Result<(), StoreError>;
    /// An environment removed.
    fn delete_environment(&self, tenant: &str, name: &str) -> Result<(), StoreError>;
    /// A new flow config.
    fn put_config(&self, tenant: &str, name: &str, created_at: u64) -> Result<(), StoreError>;
    /// A flow config removed, with its overrides.
    fn delete_config(&self, tenant: &str, name: &str) -> Result<(), StoreError>;
    /// A value created or replaced, with the metadata it will have and the history entry of
    /// its new version (one transaction); returns what the working state holds for it (the
    /// value, or its sealed form).
    fn put_secret(
        &self,
        tenant: &str,
        scope: Scope<'_>,
        value: &SecretText<'_>,
        meta: &SecretMeta,
        rotation: &Rotation,
    ) -> Result<Held, StoreError>;
    /// Opens a value held sealed ([`Held::Sealed`]); `None` (logged by name) if it does not.
    fn open_value(
        &self,
        tenant: &str,
        scope: Scope<'_>,
        name: &str,
        version: u32,
        sealed: &[u8],
    ) -> Option<SecretText<'static>>;
    /// A value removed, with its history.
    fn delete_secret(&self, tenant: &str, scope: Scope<'_>, name: &str) -> Result<(), StoreError>;
    /// A tenant's faults.
    fn set_faults(&self, tenant: &str, faults: &Faults) -> Result<(), StoreError>;
    /// A new execution.
    fn create_execution(&self, id: &str, execution: &Execution) -> Result<(), StoreError>;
    /// An execution's counters and `finished` flag, as they are now in memory.
    fn update_execution(&self, id: &str, execution: &Execution) -> Result<(), StoreError>;
    /// Consumes the one-time token: `true` for exactly one caller ever.
    fn consume_token(&self, id: &str) -> Result<bool, StoreError>;
    /// Keeps each `(seq, event)` once; `true` for each one kept now, `false` for a duplicate.
    fn insert_events(&self, id: &str, events: &[(u64, &Value)]) -> Result<Vec<bool>, StoreError>;
    /// A management action on `tenant`, for the audit.
    fn record_management(&self, tenant: &str, event: &ManagementEvent) -> Result<(), StoreError>;
    /// A new API token (its digest, never the token).
    fn put_token(&self, token: &ApiToken) -> Result<(), StoreError>;
    /// An API token revoked.
    fn delete_token(&self, name: &str) -> Result<(), StoreError>;
    /// A token made or revoked, for the audit of the token routes.
    fn record_token_event(&self, event: &TokenEvent) -> Result<(), StoreError>;
    /// The engine, for the start-up line.
    fn describe(&self) -> String;
}

/// Opens the engine `storage` names.
pub fn open(storage: &Storage) -> Result<Box<dyn Store>, StoreError> {
    match storage {
        Storage::Memory => Ok(Box::new(MemoryStore)),
        Storage::Sqlite {
            path,
            master_key_file,
        } => {
            let master = sealing::MasterKey::from_file(master_key_file)?;
            Ok(Box::new(sqlite::SqliteStore::open(
                path,
                master,
                master_key_file,
            )?))
        }
    }
}

/// The in-memory engine: the state in [`model::State`](super::model::State) is all there is.
/// Token consumption and de-duplication are decided by the state under its mutex.
#[derive(Debug, Default)]
pub struct MemoryStore;

impl Store for MemoryStore {
    fn load(&self) -> Result<State, StoreError> {
        Ok(State::default())
    }
    fn load_identity(&self) -> Result<Option<Identity>, StoreError> {
        Ok(None)
    }
    fn save_identity(&self, _: &Identity) -> Result<(), StoreError> {
        Ok(())
    }
    fn load_signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(Vec::new())
    }
    fn save_signing_keys(&self, _: &[StoredKey]) -> Result<(), StoreError> {
        Ok(())
    }
    fn create_tenant(&self, _: &str, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
    fn put_environment(&self, _: &str, _: &str, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
    fn delete_environment(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn put_config(&self, _: &str, _: &str, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
    fn delete_config(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn put_secret(
        &self,
        _: &str,
        _: Scope<'_>,
        value: &SecretText<'_>,
        _: &SecretMeta,
        _: &Rotation,
    ) -> Result<Held, StoreError> {
        Ok(Held::Value(SecretText::owned(value.expose().to_owned())))
    }
    fn open_value(
        &self,
        _: &str,
        _: Scope<'_>,
        _: &str,
        _: u32,
        _: &[u8],
    ) -> Option<SecretText<'static>> {
        // Nothing is ever held sealed by this engine.
        None
    }
    fn delete_secret(&self, _: &str, _: Scope<'_>, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn set_faults(&self, _: &str, _: &Faults) -> Result<(), StoreError> {
        Ok(())
    }
    fn create_execution(&self, _: &str, _: &Execution) -> Result<(), StoreError> {
        Ok(())
    }
    fn update_execution(&self, _: &str, _: &Execution) -> Result<(), StoreError> {
        Ok(())
    }
    fn consume_token(&self, _: &str) -> Result<bool, StoreError> {
        Ok(true)
    }
    fn insert_events(&self, _: &str, events: &[(u64, &Value)]) -> Result<Vec<bool>, StoreError> {
        Ok(vec![true; events.len()])
    }
    fn record_management(&self, _: &str, _: &ManagementEvent) -> Result<(), StoreError> {
        Ok(())
    }
    fn put_token(&self, _: &ApiToken) -> Result<(), StoreError> {
        Ok(())
    }
    fn delete_token(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn record_token_event(&self, _: &TokenEvent) -> Result<(), StoreError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "in-memory storage; a restart forgets everything".to_owned()
    }
}
