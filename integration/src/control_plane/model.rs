//! The control plane's state, in memory: tenants, their secrets, environments and flow
//! configs, executions and their audit trails. It is the working set; what outlives a restart
//! is whatever the [`Store`] wrote (nothing, for the in-memory engine).
//!
//! Values are held as [`SecretText`] (wiped on drop, `[redacted]` in `Debug`) and leave this
//! module only inside a [`Bundle`] that is sealed straight away.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use ax_protocol::SecretText;
use ax_protocol::bundle::{Bundle, BundleSecret};
use serde::Serialize;
use serde_json::Value;

use super::faults::Faults;
use super::store::{Scope, Store};

/// A value as held in memory.
#[derive(Debug)]
pub enum Held {
    /// The value itself (the in-memory engine).
    Value(SecretText<'static>),
    /// The value as sealed in the database (the SQLite engine): opened only while a bundle is
    /// made, so the plaintext is in memory only for that long.
    Sealed(Vec<u8>),
    /// Kept in the database but it did not open (tampered, or moved to another name, scope,
    /// tenant or version): never served; an execution that would see it is refused.
    Unreadable,
}

/// One stored value and its metadata.
#[derive(Debug)]
pub struct StoredSecret {
    /// The value.
    pub value: Held,
    /// 1 for the first value, +1 on each replacement.
    pub version: u32,
    /// When the name was first created, seconds since the epoch.
    pub created_at: u64,
    /// When the current value was set.
    pub updated_at: u64,
}

/// What a listing shows of a secret: never the value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SecretMeta {
    /// The name.
    pub name: String,
    /// Its version.
    pub version: u32,
    /// When it was created.
    pub created_at: u64,
    /// When its value was last set.
    pub updated_at: u64,
}

impl StoredSecret {
    /// The listing entry.
    pub fn meta(&self, name: &str) -> SecretMeta {
        SecretMeta {
            name: name.to_owned(),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A set of named secrets with create-or-replace semantics.
#[derive(Debug, Default)]
pub struct SecretSet {
    /// By name.
    pub entries: BTreeMap<String, StoredSecret>,
}

/// The outcome of a put.
#[derive(Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// A new name.
    Created(SecretMeta),
    /// An existing name, replaced because the caller confirmed.
    Replaced(SecretMeta),
    /// An existing name, left alone because the caller did not confirm.
    Exists,
}

impl SecretSet {
    /// Creates `name`, or replaces it when `replace` is set.
    pub fn put(&mut self, name: &str, value: Held, replace: bool, now: u64) -> PutOutcome {
        match self.entries.get_mut(name) {
            Some(_) if !replace => PutOutcome::Exists,
            Some(existing) => {
                existing.value = value;
                existing.version = existing.version.saturating_add(1);
                existing.updated_at = now;
                PutOutcome::Replaced(existing.meta(name))
            }
            None => {
                let stored = StoredSecret {
                    value,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                };
                let meta = stored.meta(name);
                self.entries.insert(name.to_owned(), stored);
                PutOutcome::Created(meta)
            }
        }
    }

    /// The metadata `name` will have after a put at `now` (`None`: it exists and `replace` is
    /// not set), so the store can write it before the state changes.
    pub fn planned_meta(&self, name: &str, replace: bool, now: u64) -> Option<SecretMeta> {
        match self.entries.get(name) {
            Some(_) if !replace => None,
            Some(e) => Some(SecretMeta {
                name: name.to_owned(),
                version: e.version.saturating_add(1),
                created_at: e.created_at,
                updated_at: now,
            }),
            None => Some(SecretMeta {
                name: name.to_owned(),
                version: 1,
                created_at: now,
                updated_at: now,
            }),
        }
    }

    /// The listing: names and metadata, never values.
    pub fn list(&self) -> Vec<SecretMeta> {
        self.entries.iter().map(|(n, s)| s.meta(n)).collect()
    }

    /// Copies into bundle entries (the snapshot an execution gets), opening sealed values
    /// with `store`; the first value that does not open refuses the whole snapshot.
    fn snapshot(
        &self,
        store: &dyn Store,
        tenant: &str,
        scope: Scope<'_>,
    ) -> Result<Vec<BundleSecret<'static>>, SnapshotError> {
        self.entries
            .iter()
            .map(|(name, s)| {
                let value = match &s.value {
                    Held::Value(value) => Some(SecretText::owned(value.expose().to_owned())),
                    Held::Sealed(sealed) => {
                        store.open_value(tenant, scope, name, s.version, sealed)
                    }
                    Held::Unreadable => None,
                };
                let Some(value) = value else {
                    return Err(SnapshotError::Unreadable {
                        scope: scope.label(),
                        name: name.clone(),
                        version: s.version,
                    });
                };
                Ok(BundleSecret {
                    name: Cow::Owned(name.clone()),
                    value,
                    version: s.version,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                })
            })
            .collect()
    }
}

/// A flow config: a name and its overrides.
#[derive(Debug, Default)]
pub struct FlowConfig {
    /// When it was created.
    pub created_at: u64,
    /// Overrides by name.
    pub overrides: SecretSet,
}

/// A tenant.
#[derive(Debug, Default)]
pub struct Tenant {
    /// When it was created.
    pub created_at: u64,
    /// The tenant's secrets.
    pub secrets: SecretSet,
    /// Environments by name, with their creation time.
    pub environments: BTreeMap<String, u64>,
    /// Flow configs by name.
    pub configs: BTreeMap<String, FlowConfig>,
    /// Faults copied into each new execution.
    pub faults: Faults,
}

/// One audit event as the sidecar sent it (PROTOCOL §13.2): names, never values.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    /// The execution it came from.
    pub execution_id: String,
    /// Its sequence number within the execution.
    pub seq: u64,
    /// The event object as received (minus nothing; it holds no value by contract).
    pub event: Value,
}

/// An execution: who it runs for, its one-time token, and what happened to it.
#[derive(Debug)]
pub struct Execution {
    /// The tenant.
    pub tenant: String,
    /// The flow config, if any.
    pub config: Option<String>,
    /// The environment.
    pub environment: String,
    /// SHA-256 of the execution token (the token itself is not kept).
    pub token_hash: [u8; 32],
    /// When it was created.
    pub created_at: u64,
    /// Its place in creation order (for listing audit trails chronologically).
    pub order: u64,
    /// The bundle must be fetched before this.
    pub fetch_by: u64,
    /// The bundle it is sealed with expires then.
    pub bundle_expires_at: u64,
    /// Whether the one allowed bundle fetch has happened.
    pub fetched: bool,
    /// Whether the launcher said the execution ended.
    pub finished: bool,
    /// Bundle fetch attempts, successful or not.
    pub fetch_attempts: u32,
    /// Audit posts received, acknowledged or not.
    pub audit_posts: u32,
    /// Events by sequence number (a retried batch is de-duplicated by it).
    pub events: BTreeMap<u64, StoredEvent>,
    /// Sum of the `dropped` counts the sidecar reported.
    pub dropped: u64,
    /// Faults for this execution.
    pub faults: Faults,
}

/// Why no bundle can be made.
#[derive(Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The tenant or the config no longer exists.
    Gone,
    /// A value did not open at load (tampered or moved row): refused, never served.
    Unreadable {
        /// `tenant` or `config:NAME`.
        scope: String,
        /// The secret's name.
        name: String,
        /// Its version.
        version: u32,
    },
}

/// The whole state.
#[derive(Debug, Default)]
pub struct State {
    /// Tenants by name.
    pub tenants: BTreeMap<String, Tenant>,
    /// Executions by id.
    pub executions: HashMap<String, Execution>,
    /// The `order` of the next execution.
    pub next_order: u64,
}

impl State {
    /// The plaintext bundle for `execution_id`, from the tenant's secrets and the config's
    /// overrides as they are now (the snapshot is taken at fetch time), sealed values opened
    /// with `store`.
    pub fn snapshot(
        &self,
        store: &dyn Store,
        execution_id: &str,
        execution: &Execution,
        issued_at: u64,
        expires_at: u64,
    ) -> Result<Bundle<'static>, SnapshotError> {
        let tenant = self
            .tenants
            .get(&execution.tenant)
            .ok_or(SnapshotError::Gone)?;
        let overrides = match &execution.config {
            Some(name) => tenant
                .configs
                .get(name)
                .ok_or(SnapshotError::Gone)?
                .overrides
                .snapshot(store, &execution.tenant, Scope::Config(name))?,
            None => Vec::new(),
        };
        let secrets = tenant
            .secrets
            .snapshot(store, &execution.tenant, Scope::Tenant)?;
        Ok(Bundle {
            tenant: Cow::Owned(execution.tenant.clone()),
            execution_id: Cow::Owned(execution_id.to_owned()),
            environment: Cow::Owned(execution.environment.clone()),
            config: execution.config.clone().map(Cow::Owned),
            issued_at,
            expires_at,
            secrets,
            overrides,
        })
    }
}
