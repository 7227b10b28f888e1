//! Rebuilding the working state from the file at start. A value is tried (so a bad row is
//! reported at start, by name) and then kept sealed; a tenant whose data key does not open
//! stops the start, since none of its values could be served.

use std::collections::HashMap;

use ax_protocol::SecretText;
use rusqlite::Connection;
use serde_json::Value;

use super::super::sealing::{self, SealingKey};
use super::super::{Scope, StoreError};
use super::{SqliteStore, from_sql, log_unreadable};
use crate::control_plane::access::{ApiToken, Role, TokenEvent};
use crate::control_plane::faults::Faults;
use crate::control_plane::journal::ManagementEvent;
use crate::control_plane::model::{
    Execution, FlowConfig, Held, Rotation, SecretMeta, State, StoredEvent, StoredSecret, Tenant,
};

impl SqliteStore {
    pub(super) fn load_tenants(
        &self,
        conn: &Connection,
        state: &mut State,
    ) -> Result<(), StoreError> {
        let mut stmt = conn.prepare("SELECT name, created_at, data_key, faults FROM tenants")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut keys = self.keys();
        for row in rows {
            let (name, created_at, wrapped, faults) = row?;
            let key = self
                .master
                .open(&sealing::data_key_aad(&name), &wrapped)
                .and_then(|k| SealingKey::from_bytes(&k))
                .ok_or_else(|| StoreError::DataKey {
                    tenant: name.clone(),
                })?;
            keys.insert(name.clone(), key);
            let faults: Faults = serde_json::from_str(&faults).map_err(|_| StoreError::Json)?;
            state.tenants.insert(
                name,
                Tenant {
                    created_at: from_sql(created_at),
                    faults,
                    ..Tenant::default()
                },
            );
        }
        Ok(())
    }

    pub(super) fn load_labels(conn: &Connection, state: &mut State) -> Result<(), StoreError> {
        for (table, is_env) in [("environments", true), ("configs", false)] {
            let mut stmt =
                conn.prepare(&format!("SELECT tenant, name, created_at FROM {table}"))?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (tenant, name, at) = row?;
                let Some(t) = state.tenants.get_mut(&tenant) else {
                    continue;
                };
                if is_env {
                    t.environments.insert(name, from_sql(at));
                } else {
                    let config = FlowConfig {
                        created_at: from_sql(at),
                        ..FlowConfig::default()
                    };
                    t.configs.insert(name, config);
                }
            }
        }
        Ok(())
    }

    pub(super) fn load_secrets(
        &self,
        conn: &Connection,
        state: &mut State,
    ) -> Result<(), StoreError> {
        let mut stmt = conn.prepare(
            "SELECT tenant, config, name, version, created_at, updated_at, sealed, description, \
             metadata, rotation_days FROM secrets",
        )?;
        let mut rows = stmt.query([])?;
        let keys = self.keys();
        while let Some(r) = rows.next()? {
            let tenant: String = r.get(0)?;
            let config: String = r.get(1)?;
            let name: String = r.get(2)?;
            let version = u32::try_from(r.get::<_, i64>(3)?).unwrap_or(0);
            let created_at = from_sql(r.get(4)?);
            let updated_at = from_sql(r.get(5)?);
            let sealed: Vec<u8> = r.get(6)?;
            let description: Option<String> = r.get(7)?;
            let metadata: String = r.get(8)?;
            let metadata = serde_json::from_str(&metadata).map_err(|_| StoreError::Json)?;
            let rotation_days = r
                .get::<_, Option<i64>>(9)?
                .and_then(|d| u32::try_from(d).ok());
            let scope = if config.is_empty() {
                Scope::Tenant
            } else {
                Scope::Config(&config)
            };
            // Tried now so a bad row is reported at start; the plaintext is wiped at once and
            // the value stays sealed until a bundle needs it.
            let value = match open_text(&keys, &tenant, scope, &name, version, &sealed) {
                Some(_) => Held::Sealed(sealed),
                None => {
                    log_unreadable(&tenant, &scope.label(), &name, version);
                    Held::Unreadable
                }
            };
            let Some(t) = state.tenants.get_mut(&tenant) else {
                continue;
            };
            let set = match scope {
                Scope::Tenant => &mut t.secrets,
                Scope::Config(c) => match t.configs.get_mut(c) {
                    Some(cfg) => &mut cfg.overrides,
                    None => continue,
                },
            };
            set.entries.insert(
                name.clone(),
                StoredSecret {
                    value,
                    meta: SecretMeta {
                        name: name.clone(),
                        version,
                        created_at,
                        updated_at,
                        description,
                        metadata,
                        rotation_days,
                    },
                    history: Vec::new(),
                },
            );
        }
        Ok(())
    }

    pub(super) fn load_executions(conn: &Connection, state: &mut State) -> Result<(), StoreError> {
        let mut stmt = conn.prepare(
            "SELECT id, tenant, config, environment, token_hash, created_at, ord, fetch_by, \
             bundle_expires_at, consumed, finished, fetch_attempts, audit_posts, dropped, faults \
             FROM executions",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let hash: Vec<u8> = r.get(4)?;
            let faults: String = r.get(14)?;
            let order = from_sql(r.get(6)?);
            state.next_order = state.next_order.max(order.saturating_add(1));
            let execution = Execution {
                tenant: r.get(1)?,
                config: r.get(2)?,
                environment: r.get(3)?,
                token_hash: hash.try_into().map_err(|_| StoreError::Json)?,
                created_at: from_sql(r.get(5)?),
                order,
                fetch_by: from_sql(r.get(7)?),
                bundle_expires_at: from_sql(r.get(8)?),
                fetched: r.get::<_, i64>(9)? != 0,
                finished: r.get::<_, i64>(10)? != 0,
                fetch_attempts: u32::try_from(r.get::<_, i64>(11)?).unwrap_or(u32::MAX),
                audit_posts: u32::try_from(r.get::<_, i64>(12)?).unwrap_or(u32::MAX),
                events: Default::default(),
                dropped: from_sql(r.get(13)?),
                faults: serde_json::from_str(&faults).map_err(|_| StoreError::Json)?,
            };
            state.executions.insert(id, execution);
        }
        let mut stmt = conn.prepare("SELECT execution, seq, event FROM audit_events")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let seq = from_sql(r.get(1)?);
            let event: String = r.get(2)?;
            let event: Value = serde_json::from_str(&event).map_err(|_| StoreError::Json)?;
            if let Some(e) = state.executions.get_mut(&id) {
                e.events.insert(
                    seq,
                    StoredEvent {
                        execution_id: id,
                        seq,
                        event,
                    },
                );
            }
        }
        Ok(())
    }
}

impl SqliteStore {
    /// Rotation histories, management events and API tokens (schema 2).
    pub(super) fn load_management(conn: &Connection, state: &mut State) -> Result<(), StoreError> {
        let mut stmt = conn.prepare(
            "SELECT tenant, config, name, version, at, actor, action, reason FROM rotations \
             ORDER BY tenant, config, name, version",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let tenant: String = r.get(0)?;
            let config: String = r.get(1)?;
            let name: String = r.get(2)?;
            let action: String = r.get(6)?;
            let rotation = Rotation {
                version: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                at: from_sql(r.get(4)?),
                actor: r.get(5)?,
                action: if action == "create" {
                    "create"
                } else {
                    "rotate"
                },
                reason: r.get(7)?,
            };
            let Some(t) = state.tenants.get_mut(&tenant) else {
                continue;
            };
            let set = if config.is_empty() {
                Some(&mut t.secrets)
            } else {
                t.configs.get_mut(&config).map(|c| &mut c.overrides)
            };
            if let Some(secret) = set.and_then(|s| s.entries.get_mut(&name)) {
                secret.history.push(rotation);
            }
        }
        let mut stmt = conn.prepare(
            "SELECT tenant, seq, time, actor, action, name, config, environment, version, reason \
             FROM management_events ORDER BY tenant, seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let tenant: String = r.get(0)?;
            let event = ManagementEvent {
                seq: from_sql(r.get(1)?),
                time: from_sql(r.get(2)?),
                actor: r.get(3)?,
                action: r.get(4)?,
                name: r.get(5)?,
                config: r.get(6)?,
                environment: r.get(7)?,
                version: r
                    .get::<_, Option<i64>>(8)?
                    .and_then(|v| u32::try_from(v).ok()),
                reason: r.get(9)?,
            };
            if let Some(t) = state.tenants.get_mut(&tenant) {
                t.journal.push(event);
            }
        }
        let mut stmt =
            conn.prepare("SELECT name, role, token_hash, created_at, created_by FROM api_tokens")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(0)?;
            let role: String = r.get(1)?;
            let hash: Vec<u8> = r.get(2)?;
            let token = ApiToken {
                name: name.clone(),
                role: Role::parse(&role).ok_or(StoreError::Json)?,
                hash: hash.try_into().map_err(|_| StoreError::Json)?,
                created_at: from_sql(r.get(3)?),
                created_by: r.get(4)?,
            };
            state.tokens.insert(name, token);
        }
        let mut stmt = conn.prepare(
            "SELECT seq, time, actor, action, token, role FROM token_events ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let role: String = r.get(5)?;
            state.token_events.push(TokenEvent {
                seq: from_sql(r.get(0)?),
                time: from_sql(r.get(1)?),
                actor: r.get(2)?,
                action: r.get(3)?,
                token: r.get(4)?,
                role: Role::parse(&role).ok_or(StoreError::Json)?,
            });
        }
        Ok(())
    }
}

/// Opens a sealed value into text (wiped on drop); `None` if it does not open or is not UTF-8.
pub(super) fn open_text(
    keys: &HashMap<String, SealingKey>,
    tenant: &str,
    scope: Scope<'_>,
    name: &str,
    version: u32,
    sealed: &[u8],
) -> Option<SecretText<'static>> {
    let plain = keys
        .get(tenant)?
        .open(&sealing::value_aad(tenant, scope, name, version), sealed)?;
    let text = std::str::from_utf8(&plain).ok()?;
    Some(SecretText::owned(text.to_owned()))
}
