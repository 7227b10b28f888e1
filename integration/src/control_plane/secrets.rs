//! Saving a secret or an override: create, or replace when confirmed (a rotation), with its
//! description, metadata and rotation reminder ([`super::annotations`]); each save is a version
//! in the secret's history and an event in the management audit ([`super::journal`]).

use ax_protocol::contract::ErrorName;
use ax_protocol::name::validate_name;
use hyper::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::access::Actor;
use super::journal::Subject;
use super::model::{Annotations, PutOutcome, Rotation};
use super::routes::{Reply, bad_request, not_found, recorded, stored, with_tenant_mut};
use super::store::Scope;
use super::{App, annotations};
use crate::util;

/// The body of a secret or override put. `Debug` never shows the value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutValue {
    value: String,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    metadata: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    rotation_days: Option<u32>,
    #[serde(default)]
    reason: Option<String>,
}

/// `PUT` of a secret (`config` `None`) or an override: create, or replace with confirmation
/// (a rotation), with the optional annotations; recorded in the history and the audit.
pub fn put_value(
    app: &App,
    tenant: &str,
    config: Option<&str>,
    name: &str,
    body: &[u8],
    actor: &Actor,
) -> Reply {
    if validate_name(name).is_err() {
        return bad_request("a secret name matches ^[A-Za-z][A-Za-z0-9_]{0,127}$ (PROTOCOL §8.1)");
    }
    // serde_json's messages quote no input for type errors, but an error at a position could
    // in principle echo part of the body: say only what was expected.
    let Ok(req) = serde_json::from_slice::<PutValue>(body) else {
        return bad_request(
            "expected {\"value\": \"...\", \"replace\": false} and optionally \"description\" \
             (a string), \"metadata\" (an object of strings), \"rotation_days\" (a number), \
             \"reason\" (a string)",
        );
    };
    // Wiped on drop, whichever way this returns (a refusal included).
    let value = ax_protocol::SecretText::owned(req.value);
    if value.expose().len() > ax_protocol::limits::MAX_VALUE_LEN {
        return bad_request(format!(
            "a value is at most {} bytes",
            ax_protocol::limits::MAX_VALUE_LEN
        ));
    }
    let notes = Annotations {
        description: req.description,
        metadata: req.metadata,
        rotation_days: req.rotation_days,
    };
    if let Err(message) = annotations::check(&notes, req.reason.as_deref()) {
        return bad_request(message);
    }
    let now = util::now_secs();
    with_tenant_mut(app, tenant, |t| {
        let (set, what, scope) = match config {
            None => (&mut t.secrets, "secret", Scope::Tenant),
            Some(c) => match t.configs.get_mut(c) {
                Some(cfg) => (&mut cfg.overrides, "override", Scope::Config(c)),
                None => return not_found("config"),
            },
        };
        let Some(meta) = set.planned_meta(name, req.replace, now, &notes) else {
            // Exists and not confirmed: nothing changes, and the value is not looked at.
            return Reply::error(
                StatusCode::CONFLICT,
                ErrorName::Exists,
                format!(
                    "the {what} exists; send \"replace\": true to replace its value \
                     (the next execution sees the new one)"
                ),
            );
        };
        let rotation = Rotation {
            version: meta.version,
            at: now,
            actor: actor.name.clone(),
            action: if meta.version == 1 {
                "create"
            } else {
                "rotate"
            },
            reason: req.reason.clone(),
        };
        let held = match stored(
            app.store
                .put_secret(tenant, scope, &value, &meta, &rotation),
        ) {
            Ok(held) => held,
            Err(reply) => return reply,
        };
        let version = meta.version;
        let (reply, verb) = match set.put(held, meta, rotation) {
            PutOutcome::Created(meta) => (
                Reply::json(StatusCode::CREATED, &meta.listed(now)),
                "create",
            ),
            PutOutcome::Replaced(meta) => {
                (Reply::json(StatusCode::OK, &meta.listed(now)), "rotate")
            }
        };
        let subject = Subject {
            name: Some(name),
            config,
            version: Some(version),
            reason: req.reason.as_deref(),
            ..Subject::default()
        };
        recorded(
            app,
            tenant,
            t,
            actor,
            &format!("{what}_{verb}"),
            subject,
            reply,
        )
    })
}

/// The answer of a history route.
pub fn history(name: &str, versions: &[Rotation]) -> Reply {
    Reply::json(StatusCode::OK, &json!({"name": name, "versions": versions}))
}
