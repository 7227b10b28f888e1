//! Who may call the management API: API tokens, each with a name (the actor in the audit) and
//! a role.
//!
//! - `owner`: everything, including the token routes (`/v1/tokens`).
//! - `manager`: every management route but the token routes (add, edit, delete).
//! - `viewer`: `GET` only: names and metadata, history, audit; never a change.
//!
//! The admin token made at start (the `admin-token` file) is the bootstrap owner, named
//! `admin`. Other tokens are made by an owner, shown once, and kept only as their SHA-256.

use std::collections::BTreeMap;

use ax_protocol::contract::ErrorName;
use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::model::State;
use super::routes::{Call, Reply, bad_request, check_label, json_problem, not_found, stored};
use super::{App, token_hash};
use crate::util;

/// The actor name of the bootstrap admin token (reserved: no API token may take it).
pub const BOOTSTRAP_ACTOR: &str = "admin";
/// The prefix of an API token.
pub const TOKEN_PREFIX: &str = "axtok_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Owner,
    /// Add, edit, delete; not the tokens.
    Manager,
    /// Read names and metadata only.
    Viewer,
}

impl Role {
    /// As in the API and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Manager => "manager",
            Self::Viewer => "viewer",
        }
    }

    /// From the database.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owner" => Some(Self::Owner),
            "manager" => Some(Self::Manager),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// An API token as kept: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its name, the actor in the audit.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// When it was made.
    pub created_at: u64,
    /// The actor that made it.
    pub created_by: String,
}

impl ApiToken {
    fn listed(&self) -> Value {
        json!({"name": self.name, "role": self.role, "created_at": self.created_at,
               "created_by": self.created_by})
    }
}

/// A token made or revoked: the audit of the token routes, which belong to no tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenEvent {
    /// 1, 2, ...
    pub seq: u64,
    /// When, seconds since the epoch.
    pub time: u64,
    /// Who: the owner token's name.
    pub actor: String,
    /// `token_create` or `token_revoke`.
    pub action: String,
    /// The token's name.
    pub token: String,
    /// Its role.
    pub role: Role,
}

/// The caller of a management route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// The message of a missing or unknown token.
pub const UNAUTHORIZED: &str =
    "this route needs an API token or the admin token (Authorization: Bearer ...)";
/// The message of a viewer's change.
pub const VIEWER_REFUSED: &str =
    "a viewer token may only read (names, metadata, history, audit); this route changes something";
/// The message of a token route called without the owner role.
pub const OWNER_ONLY: &str = "only an owner token may create, list or revoke API tokens";
/// 403: the signing-key routes are the owner's too: a new key changes what every sidecar trusts.
pub const KEYS_OWNER_ONLY: &str =
    "only an owner token may list, add, promote or retire signing keys";

/// Who `bearer` is, if anyone. Digests are compared, so the timing of `==` reveals nothing
/// useful about a token.
pub fn authenticate(app: &App, bearer: Option<&str>) -> Option<Actor> {
    let hash = token_hash(bearer?);
    if hash == app.admin_token_hash {
        return Some(Actor {
            name: BOOTSTRAP_ACTOR.to_owned(),
            role: Role::Owner,
        });
    }
    let state = app.state();
    state
        .tokens
        .values()
        .find(|t| t.hash == hash)
        .map(|t| Actor {
            name: t.name.clone(),
            role: t.role,
        })
}

/// `Err` with a 403 when `actor` may not call `method` on `segs`.
pub fn authorize(actor: &Actor, method: &Method, segs: &[&str]) -> Result<(), Reply> {
    let refuse = |message: &str| {
        Err(Reply::error(
            StatusCode::FORBIDDEN,
            ErrorName::Forbidden,
            message,
        ))
    };
    if segs.first() == Some(&"tokens") {
        return match actor.role {
            Role::Owner => Ok(()),
            Role::Manager | Role::Viewer => refuse(OWNER_ONLY),
        };
    }
    if segs.first() == Some(&"admin") {
        return match actor.role {
            Role::Owner => Ok(()),
            Role::Manager | Role::Viewer => refuse(KEYS_OWNER_ONLY),
        };
    }
    match actor.role {
        Role::Owner | Role::Manager => Ok(()),
        Role::Viewer if method == Method::GET => Ok(()),
        Role::Viewer => refuse(VIEWER_REFUSED),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: Role,
}

/// The token routes (owner only, checked by [`authorize`]).
pub fn route(app: &App, call: &Call, segs: &[&str], actor: &Actor) -> Reply {
    match segs {
        ["tokens"] if call.method == Method::GET => {
            let state = app.state();
            let list: Vec<Value> = state.tokens.values().map(ApiToken::listed).collect();
            Reply::json(StatusCode::OK, &json!({"tokens": list}))
        }
        ["tokens"] if call.method == Method::POST => create(app, &call.body, actor),
        ["tokens", "audit"] if call.method == Method::GET => {
            let state = app.state();
            Reply::json(StatusCode::OK, &json!({"events": state.token_events}))
        }
        ["tokens", name] if call.method == Method::DELETE => revoke(app, name, actor),
        _ => Reply::error(StatusCode::NOT_FOUND, ErrorName::NotFound, "no such route"),
    }
}

fn create(app: &App, body: &[u8], actor: &Actor) -> Reply {
    let req: NewToken = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"name\": \"...\", \"role\": \"owner\" | \"manager\" | \"viewer\"}}: {}",
                json_problem(&e)
            ));
        }
    };
    if let Err(reply) = check_label("token", &req.name) {
        return reply;
    }
    if req.name == BOOTSTRAP_ACTOR {
        return bad_request("the token name admin is the bootstrap token's; choose another");
    }
    let Ok(secret) = util::random_token(TOKEN_PREFIX) else {
        return Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorName::Internal,
            "the random generator failed",
        );
    };
    let mut state = app.state();
    if state.tokens.contains_key(&req.name) {
        return Reply::error(
            StatusCode::CONFLICT,
            ErrorName::Exists,
            "a token of this name exists; revoke it first",
        );
    }
    let token = ApiToken {
        name: req.name.clone(),
        role: req.role,
        hash: token_hash(&secret),
        created_at: util::now_secs(),
        created_by: actor.name.clone(),
    };
    if let Err(reply) = stored(app.store.put_token(&token)) {
        return reply;
    }
    if let Err(reply) = record(app, &mut state, actor, "token_create", &token) {
        return reply;
    }
    let mut answer = token.listed();
    if let Some(obj) = answer.as_object_mut() {
        // Shown this once; only its digest is kept.
        obj.insert("token".into(), json!(secret));
    }
    state.tokens.insert(token.name.clone(), token);
    Reply::json(StatusCode::CREATED, &answer)
}

fn revoke(app: &App, name: &str, actor: &Actor) -> Reply {
    let mut state = app.state();
    let Some(token) = state.tokens.get(name).cloned() else {
        return not_found("token");
    };
    if let Err(reply) = stored(app.store.delete_token(name)) {
        return reply;
    }
    state.tokens.remove(name);
    match record(app, &mut state, actor, "token_revoke", &token) {
        Ok(()) => Reply::no_content(),
        Err(reply) => reply,
    }
}

/// Records a token action (after the change, as the tenants' management audit does).
fn record(
    app: &App,
    state: &mut State,
    actor: &Actor,
    action: &str,
    token: &ApiToken,
) -> Result<(), Reply> {
    let event = TokenEvent {
        seq: state
            .token_events
            .last()
            .map_or(1, |e| e.seq.saturating_add(1)),
        time: util::now_secs(),
        actor: actor.name.clone(),
        action: action.to_owned(),
        token: token.name.clone(),
        role: token.role,
    };
    app.store.record_token_event(&event).map_err(|err| {
        Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorName::Storage,
            format!("the change was made but its audit record was not: {err}"),
        )
    })?;
    state.token_events.push(event);
    Ok(())
}

/// Tokens by name (the state's map type).
pub type Tokens = BTreeMap<String, ApiToken>;
