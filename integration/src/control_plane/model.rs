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
use serde_json::{Value, json};

use super::access::{TokenEvent, Tokens};
use super::faults::Faults;
use super::journal::ManagementEvent;
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
    /// Everything about it but the value.
    pub meta: SecretMeta,
    /// Its versions, oldest first: the creation, then each replacement (a rotation).
    pub history: Vec<Rotation>,
}

/// What a listing shows of a secret: never the value. Description and metadata are not
/// secret, but they are the caller's text: they appear in successful answers only, never in
/// an error.
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
    /// What it is for, if said.
    pub description: Option<String>,
    /// Free-form labels (a JSON object of strings).
    pub metadata: BTreeMap<String, String>,
    /// Rotate at least every this many days (a reminder; nothing rotates by itself).
    pub rotation_days: Option<u32>,
}

impl SecretMeta {
    /// When the next rotation is due: `updated_at` + `rotation_days`.
    pub fn rotation_due_at(&self) -> Option<u64> {
        self.rotation_days.map(|d| {
            self.updated_at
                .saturating_add(u64::from(d).saturating_mul(86_400))
        })
    }

    /// The listing entry at `now`: the metadata, when a rotation is due and whether it is late.
    pub fn listed(&self, now: u64) -> Value {
        let due = self.rotation_due_at();
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("rotation_due_at".into(), json!(due));
            obj.insert("overdue".into(), json!(due.is_some_and(|d| now >= d)));
        }
        v
    }
}

/// One version of a secret: when it was set, by whom, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rotation {
    /// The version this made.
    pub version: u32,
    /// When.
    pub at: u64,
    /// The name of the API token that did it (`admin` for the bootstrap token).
    pub actor: String,
    /// `create` for version 1, `rotate` for a replacement.
    pub action: &'static str,
    /// Why, if the caller said.
    pub reason: Option<String>,
}

/// The optional fields of a put: `None` keeps what a replaced secret had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// A new description.
    pub description: Option<String>,
    /// New metadata (replaces the whole object).
    pub metadata: Option<BTreeMap<String, String>>,
    /// A new reminder; `Some(0)` removes it.
    pub rotation_days: Option<u32>,
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
}

impl SecretSet {
    /// Stores `meta` (from [`Self::planned_meta`]) with `value` and its history entry.
    pub fn put(&mut self, value: Held, meta: SecretMeta, rotation: Rotation) -> PutOutcome {
        let name = meta.name.clone();
        match self.entries.get_mut(&name) {
            Some(existing) => {
                existing.value = value;
                existing.meta = meta.clone();
                existing.history.push(rotation);
                PutOutcome::Replaced(meta)
            }
            None => {
                let stored = StoredSecret {
                    value,
                    meta: meta.clone(),
                    history: vec![rotation],
                };
                self.entries.insert(name, stored);
                PutOutcome::Created(meta)
            }
        }
    }

    /// The metadata `name` will have after a put at `now` (`None`: it exists and `replace` is
    /// not set), so the store can write it before the state changes.
    pub fn planned_meta(
        &self,
        name: &str,
        replace: bool,
        now: u64,
        notes: &Annotations,
    ) -> Option<SecretMeta> {
        let days = |old: Option<u32>| match notes.rotation_days {
            Some(0) => None,
            Some(d) => Some(d),
            None => old,
        };
        match self.entries.get(name) {
            Some(_) if !replace => None,
            Some(e) => Some(SecretMeta {
                name: name.to_owned(),
                version: e.meta.version.saturating_add(1),
                created_at: e.meta.created_at,
                updated_at: now,
                description: notes
                    .description
                    .clone()
                    .or_else(|| e.meta.description.clone()),
                metadata: notes
                    .metadata
                    .clone()
                    .unwrap_or_else(|| e.meta.metadata.clone()),
                rotation_days: days(e.meta.rotation_days),
            }),
            None => Some(SecretMeta {
                name: name.to_owned(),
                version: 1,
                created_at: now,
                updated_at: now,
                description: notes.description.clone(),
                metadata: notes.metadata.clone().unwrap_or_default(),
                rotation_days: days(None),
            }),
        }
    }

    /// The listing: names and metadata, never values.
    pub fn list(&self, now: u64) -> Vec<Value> {
        self.entries.values().map(|s| s.meta.listed(now)).collect()
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
                        store.open_value(tenant, scope, name, s.meta.version, sealed)
                    }
                    Held::Unreadable => None,
                };
                let Some(value) = value else {
                    return Err(SnapshotError::Unreadable {
                        scope: scope.label(),
                        name: name.clone(),
                        version: s.meta.version,
                    });
                };
                Ok(BundleSecret {
                    name: Cow::Owned(name.clone()),
                    value,
                    version: s.meta.version,
                    created_at: s.meta.created_at,
                    updated_at: s.meta.updated_at,
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
    /// The management actions on it, oldest first.
    pub journal: Vec<ManagementEvent>,
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
    /// The API tokens by name (the bootstrap admin token is not among them).
    pub tokens: Tokens,
    /// Tokens made and revoked, oldest first.
    pub token_events: Vec<TokenEvent>,
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
