//! The HTTP router and the management API (every route here needs an API token or the admin
//! token, with a role that allows it ([`super::access`]), except `GET /v1/health`,
//! `GET /v1/signing-keys` (public keys) and the two execution endpoints in
//! [`super::execution`]). Every change is recorded with its actor ([`super::journal`]).
//!
//! No route ever returns a secret value: listings carry names, versions and timestamps. See
//! `integration/CONTROL_PLANE.md` for the API reference.

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;

use ax_protocol::contract::{ErrorBody, ErrorName};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::access::{self, Actor};
use super::faults::Faults;
use super::journal::{self, Subject};
use super::model::{Execution, Tenant};
use super::store::{Scope, StoreError};
use super::{App, execution, key_routes, secrets, token_hash};
use crate::util;

/// Largest request body accepted (a secret value is at most 1 MiB; JSON escaping can grow it).
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// Longest tenant, config or environment name (PROTOCOL §11.1 labels).
pub const MAX_LABEL_LEN: usize = 128;
/// The environment every tenant starts with, and executions use by default.
pub const DEFAULT_ENVIRONMENT: &str = "default";

/// An answer before it becomes an HTTP response.
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// Its media type.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: StatusCode, value: &Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
            retry_after: None,
        }
    }

    /// An error answer, `{"error": code, "message": text}` (PROTOCOL §13, [`ErrorBody`]): the
    /// text names the kind of problem and the field, never a value and never the caller's
    /// input (see [`not_found`]).
    pub fn error(status: StatusCode, code: ErrorName, message: impl Into<String>) -> Self {
        let body = ErrorBody {
            error: code,
            message: Cow::Owned(message.into()),
        };
        Self {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(&body).unwrap_or_default(),
            retry_after: None,
        }
    }

    /// 204.
    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            content_type: "application/json",
            body: Vec::new(),
            retry_after: None,
        }
    }
}

/// A parsed request.
pub struct Call {
    /// The method.
    pub method: Method,
    /// Path segments after `/v1`.
    pub segments: Vec<String>,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// The bearer token, if any.
    pub bearer: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Call {
    /// The first query parameter named `key`.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one request.
pub async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = match parse(req).await {
        Ok(call) => route(&app, call).await,
        Err(reply) => reply,
    };
    app.record(&reply.body);
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    if let Some(secs) = reply.retry_after {
        if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
    }
    Ok(response)
}

async fn parse(req: Request<Incoming>) -> Result<Call, Reply> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Err(Reply::error(
            StatusCode::NOT_FOUND,
            ErrorName::NotFound,
            "no such route",
        ));
    };
    let segments = rest
        .split('/')
        .map(|s| percent_decode(s).unwrap_or_default())
        .collect();
    let query = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(k).unwrap_or_default(),
                percent_decode(v).unwrap_or_default(),
            )
        })
        .collect();
    let bearer = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned());
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Err(Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorName::TooLarge,
                format!("request bodies are at most {MAX_BODY_BYTES} bytes"),
            ));
        }
    };
    Ok(Call {
        method: parts.method,
        segments,
        query,
        bearer,
        body,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

async fn route(app: &App, call: Call) -> Reply {
    let segs: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    match (&call.method, segs.as_slice()) {
        (&Method::GET, ["health"]) => Reply::json(StatusCode::OK, &json!({"ok": true})),
        (&Method::GET, ["signing-keys"]) => key_routes::published(app),
        (&Method::POST, ["executions", id, "bundle"]) => {
            execution::bundle(app, id, call.bearer.as_deref(), &call.body).await
        }
        (&Method::POST, ["executions", id, "audit"]) => {
            execution::audit(app, id, call.bearer.as_deref(), &call.body)
        }
        _ => {
            let Some(actor) = access::authenticate(app, call.bearer.as_deref()) else {
                return Reply::error(
                    StatusCode::UNAUTHORIZED,
                    ErrorName::Unauthorized,
                    access::UNAUTHORIZED,
                );
            };
            if let Err(reply) = access::authorize(&actor, &call.method, &segs) {
                return reply;
            }
            if segs.first() == Some(&"tokens") {
                return access::route(app, &call, &segs, &actor);
            }
            admin_route(app, &call, &segs, &actor)
        }
    }
}

/// Records `action` on tenant `t` by `actor`, then answers `reply` (or the record's failure).
pub fn recorded(
    app: &App,
    t: &str,
    tenant: &mut Tenant,
    actor: &Actor,
    action: &str,
    subject: Subject<'_>,
    reply: Reply,
) -> Reply {
    match journal::record(app, t, tenant, &actor.name, action, subject) {
        Ok(()) => reply,
        Err(failed) => failed,
    }
}

#[allow(clippy::too_many_lines)]
fn admin_route(app: &App, call: &Call, segs: &[&str], actor: &Actor) -> Reply {
    let m = &call.method;
    let now = util::now_secs();
    match segs {
        ["admin", "signing-keys"] if m == Method::GET => key_routes::list(app),
        ["admin", "signing-keys"] if m == Method::POST => key_routes::create_next(app),
        ["admin", "signing-keys", "promote"] if m == Method::POST => key_routes::promote(app),
        ["admin", "signing-keys", id] if m == Method::DELETE => key_routes::retire(app, id),
        ["tenants"] if m == Method::GET => list_tenants(app),
        ["tenants"] if m == Method::POST => create_tenant(app, &call.body, actor),
        ["tenants", t] if m == Method::GET => with_tenant(app, t, tenant_summary),
        ["tenants", t, "secrets"] if m == Method::GET => {
            with_tenant(app, t, |_, tenant| list_json(tenant.secrets.list(now)))
        }
        ["tenants", t, "secrets", n] if m == Method::PUT => {
            secrets::put_value(app, t, None, n, &call.body, actor)
        }
        ["tenants", t, "secrets", n] if m == Method::GET => {
            with_tenant(app, t, |_, tenant| match tenant.secrets.entries.get(*n) {
                Some(s) => Reply::json(StatusCode::OK, &s.meta.listed(now)),
                None => not_found("secret"),
            })
        }
        ["tenants", t, "secrets", n, "history"] if m == Method::GET => {
            with_tenant(app, t, |_, tenant| match tenant.secrets.entries.get(*n) {
                Some(s) => secrets::history(n, &s.history),
                None => not_found("secret"),
            })
        }
        ["tenants", t, "configs", c, "overrides", n, "history"] if m == Method::GET => {
            with_tenant(app, t, |_, tenant| {
                let Some(config) = tenant.configs.get(*c) else {
                    return not_found("config");
                };
                match config.overrides.entries.get(*n) {
                    Some(s) => secrets::history(n, &s.history),
                    None => not_found("override"),
                }
            })
        }
        ["tenants", t, "secrets", n] if m == Method::DELETE => with_tenant_mut(app, t, |tenant| {
            if !tenant.secrets.entries.contains_key(*n) {
                return not_found("secret");
            }
            if let Err(reply) = stored(app.store.delete_secret(t, Scope::Tenant, n)) {
                return reply;
            }
            tenant.secrets.entries.remove(*n);
            let subject = Subject {
                name: Some(n),
                ..Subject::default()
            };
            recorded(
                app,
                t,
                tenant,
                actor,
                "secret_delete",
                subject,
                Reply::no_content(),
            )
        }),
        ["tenants", t, "environments"] if m == Method::GET => with_tenant(app, t, |_, tenant| {
            let list: Vec<Value> = tenant
                .environments
                .iter()
                .map(|(name, at)| json!({"name": name, "created_at": at}))
                .collect();
            Reply::json(StatusCode::OK, &json!({"environments": list}))
        }),
        ["tenants", t, "environments", e] if m == Method::PUT => {
            if let Err(reply) = check_label("environment", e) {
                return reply;
            }
            with_tenant_mut(app, t, |tenant| {
                if tenant.environments.contains_key(*e) {
                    return Reply::json(StatusCode::OK, &json!({"name": e}));
                }
                if let Err(reply) = stored(app.store.put_environment(t, e, now)) {
                    return reply;
                }
                tenant.environments.insert((*e).to_owned(), now);
                let subject = Subject {
                    environment: Some(e),
                    ..Subject::default()
                };
                let reply = Reply::json(StatusCode::CREATED, &json!({"name": e}));
                recorded(app, t, tenant, actor, "environment_create", subject, reply)
            })
        }
        ["tenants", t, "environments", e] if m == Method::DELETE => {
            with_tenant_mut(app, t, |tenant| {
                if !tenant.environments.contains_key(*e) {
                    return not_found("environment");
                }
                if let Err(reply) = stored(app.store.delete_environment(t, e)) {
                    return reply;
                }
                tenant.environments.remove(*e);
                let subject = Subject {
                    environment: Some(e),
                    ..Subject::default()
                };
                let reply = Reply::no_content();
                recorded(app, t, tenant, actor, "environment_delete", subject, reply)
            })
        }
        ["tenants", t, "configs"] if m == Method::GET => with_tenant(app, t, |_, tenant| {
            let list: Vec<Value> = tenant
                .configs
                .iter()
                .map(|(name, c)| {
                    json!({"name": name, "created_at": c.created_at,
                           "overrides": c.overrides.list(now)})
                })
                .collect();
            Reply::json(StatusCode::OK, &json!({"configs": list}))
        }),
        ["tenants", t, "configs", c] if m == Method::PUT => {
            if let Err(reply) = check_label("config", c) {
                return reply;
            }
            with_tenant_mut(app, t, |tenant| {
                if tenant.configs.contains_key(*c) {
                    return Reply::json(StatusCode::OK, &json!({"name": c}));
                }
                if let Err(reply) = stored(app.store.put_config(t, c, now)) {
                    return reply;
                }
                let config = super::model::FlowConfig {
                    created_at: now,
                    ..Default::default()
                };
                tenant.configs.insert((*c).to_owned(), config);
                let subject = Subject {
                    config: Some(c),
                    ..Subject::default()
                };
                let reply = Reply::json(StatusCode::CREATED, &json!({"name": c}));
                recorded(app, t, tenant, actor, "config_create", subject, reply)
            })
        }
        ["tenants", t, "configs", c] if m == Method::DELETE => with_tenant_mut(app, t, |tenant| {
            if !tenant.configs.contains_key(*c) {
                return not_found("config");
            }
            if let Err(reply) = stored(app.store.delete_config(t, c)) {
                return reply;
            }
            tenant.configs.remove(*c);
            let subject = Subject {
                config: Some(c),
                ..Subject::default()
            };
            recorded(
                app,
                t,
                tenant,
                actor,
                "config_delete",
                subject,
                Reply::no_content(),
            )
        }),
        ["tenants", t, "configs", c, "overrides", n] if m == Method::PUT => {
            secrets::put_value(app, t, Some(c), n, &call.body, actor)
        }
        ["tenants", t, "configs", c, "overrides", n] if m == Method::DELETE => {
            with_tenant_mut(app, t, |tenant| {
                let Some(config) = tenant.configs.get_mut(*c) else {
                    return not_found("config");
                };
                if !config.overrides.entries.contains_key(*n) {
                    return not_found("override");
                }
                if let Err(reply) = stored(app.store.delete_secret(t, Scope::Config(c), n)) {
                    return reply;
                }
                config.overrides.entries.remove(*n);
                let subject = Subject {
                    name: Some(n),
                    config: Some(c),
                    ..Subject::default()
                };
                let reply = Reply::no_content();
                recorded(app, t, tenant, actor, "override_delete", subject, reply)
            })
        }
        ["tenants", t, "faults"] if m == Method::PUT => {
            let faults = match parse_faults(&call.body) {
                Ok(f) => f,
                Err(reply) => return reply,
            };
            with_tenant_mut(app, t, |tenant| {
                if let Err(reply) = stored(app.store.set_faults(t, &faults)) {
                    return reply;
                }
                tenant.faults = faults;
                let reply = Reply::json(StatusCode::OK, &json!({"faults": tenant.faults}));
                recorded(
                    app,
                    t,
                    tenant,
                    actor,
                    "faults_set",
                    Subject::default(),
                    reply,
                )
            })
        }
        ["tenants", t, "executions"] if m == Method::POST => create_execution(app, t, &call.body),
        ["tenants", t, "audit"] if m == Method::GET => journal::query_audit(app, t, call),
        ["executions", id] if m == Method::GET => execution::status(app, id),
        ["executions", id, "finish"] if m == Method::POST => execution::finish(app, id),
        _ => Reply::error(StatusCode::NOT_FOUND, ErrorName::NotFound, "no such route"),
    }
}

/// A store write's failure, as a 500. Store errors name tables and files, never a value.
pub fn stored<T>(result: Result<T, StoreError>) -> Result<T, Reply> {
    result.map_err(|err| {
        Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorName::Storage,
            format!("the change was not made: {err}"),
        )
    })
}

/// 404 naming the kind of thing that is missing, never the name asked for: a caller may have
/// put a value where a name goes, and an error must not hand it back (to a log, a terminal, a
/// proxy). The caller knows what it asked for.
pub fn not_found(what: &'static str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        ErrorName::NotFound,
        format!("no such {what}"),
    )
}

/// What is wrong with a JSON body, in words that quote none of it. serde_json's own messages
/// do quote input (`invalid type: string "…"`, ``unknown field `…` ``), so they are never
/// passed on; the kind of problem and its position are.
pub fn json_problem(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match error.classify() {
        Category::Syntax => "is not valid JSON",
        Category::Eof => "ends too early",
        Category::Data => "has an unknown field, a missing field or a field of the wrong type",
        Category::Io => "cannot be read",
    };
    format!(
        "the body {kind} (line {}, column {})",
        error.line(),
        error.column()
    )
}

/// 400 with `message` (which quotes nothing the caller sent).
pub fn bad_request(message: impl Into<String>) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, ErrorName::BadRequest, message)
}

/// Checks a tenant, config, environment or token name.
pub fn check_label(what: &str, name: &str) -> Result<(), Reply> {
    let ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    if name.is_empty() || name.len() > MAX_LABEL_LEN || !name.as_bytes().iter().all(ok) {
        return Err(bad_request(format!(
            "a {what} name is 1 to {MAX_LABEL_LEN} characters of A-Z a-z 0-9 . _ : -"
        )));
    }
    Ok(())
}

fn list_json(list: Vec<Value>) -> Reply {
    Reply::json(StatusCode::OK, &json!({"secrets": list}))
}

/// Runs `f` on tenant `name` (read-only) under the state lock; 404 if there is none.
pub fn with_tenant(app: &App, name: &str, f: impl FnOnce(&str, &Tenant) -> Reply) -> Reply {
    let state = app.state();
    match state.tenants.get(name) {
        Some(tenant) => f(name, tenant),
        None => not_found("tenant"),
    }
}

/// Runs `f` on tenant `name` under the state lock; 404 if there is none.
pub fn with_tenant_mut(app: &App, name: &str, f: impl FnOnce(&mut Tenant) -> Reply) -> Reply {
    let mut state = app.state();
    match state.tenants.get_mut(name) {
        Some(tenant) => f(tenant),
        None => not_found("tenant"),
    }
}

fn list_tenants(app: &App) -> Reply {
    let state = app.state();
    let list: Vec<Value> = state
        .tenants
        .iter()
        .map(|(name, t)| json!({"name": name, "created_at": t.created_at}))
        .collect();
    Reply::json(StatusCode::OK, &json!({"tenants": list}))
}

fn tenant_summary(name: &str, t: &Tenant) -> Reply {
    Reply::json(
        StatusCode::OK,
        &json!({
            "name": name,
            "created_at": t.created_at,
            "secrets": t.secrets.entries.len(),
            "environments": t.environments.keys().collect::<Vec<_>>(),
            "configs": t.configs.keys().collect::<Vec<_>>(),
            "faults": t.faults,
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    name: String,
}

fn create_tenant(app: &App, body: &[u8], actor: &Actor) -> Reply {
    let req: NewTenant = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"name\": \"...\"}}: {}",
                json_problem(&e)
            ));
        }
    };
    if let Err(reply) = check_label("tenant", &req.name) {
        return reply;
    }
    let mut state = app.state();
    if state.tenants.contains_key(&req.name) {
        return Reply::error(StatusCode::CONFLICT, ErrorName::Exists, "the tenant exists");
    }
    let now = util::now_secs();
    let kept = app.store.create_tenant(&req.name, now).and_then(|()| {
        app.store
            .put_environment(&req.name, DEFAULT_ENVIRONMENT, now)
    });
    if let Err(reply) = stored(kept) {
        return reply;
    }
    let mut tenant = Tenant {
        created_at: now,
        ..Default::default()
    };
    tenant
        .environments
        .insert(DEFAULT_ENVIRONMENT.to_owned(), now);
    let reply = Reply::json(
        StatusCode::CREATED,
        &json!({"name": req.name, "created_at": now, "environments": [DEFAULT_ENVIRONMENT]}),
    );
    let reply = recorded(
        app,
        &req.name,
        &mut tenant,
        actor,
        "tenant_create",
        Subject::default(),
        reply,
    );
    state.tenants.insert(req.name.clone(), tenant);
    reply
}

fn parse_faults(body: &[u8]) -> Result<Faults, Reply> {
    let faults: Faults =
        serde_json::from_slice(body).map_err(|e| bad_request(faults_problem(&e)))?;
    faults.validate().map_err(bad_request)?;
    Ok(faults)
}

fn faults_problem(error: &serde_json::Error) -> String {
    format!(
        "bad faults object, whose fields are {}: {}",
        super::faults::FIELDS,
        json_problem(error)
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct NewExecution {
    config: Option<String>,
    environment: Option<String>,
    faults: Option<Faults>,
}

fn create_execution(app: &App, tenant_name: &str, body: &[u8]) -> Reply {
    let req: NewExecution = if body.is_empty() {
        NewExecution::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => {
                return bad_request(format!(
                    "bad execution request, whose fields are config, environment and faults \
                     ({}): {}",
                    super::faults::FIELDS,
                    json_problem(&e)
                ));
            }
        }
    };
    if let Some(faults) = &req.faults {
        if let Err(message) = faults.validate() {
            return bad_request(message);
        }
    }
    let (execution_id, token) = match (util::random_hex(12), util::random_token("axe_")) {
        (Ok(id), Ok(token)) => (format!("exec-{id}"), token),
        _ => {
            return Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorName::Internal,
                "the random generator failed",
            );
        }
    };
    let environment = req
        .environment
        .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned());
    let now = util::now_secs();
    let mut state = app.state();
    let Some(tenant) = state.tenants.get(tenant_name) else {
        return not_found("tenant");
    };
    if let Some(c) = &req.config {
        if !tenant.configs.contains_key(c) {
            return not_found("config");
        }
    }
    if !tenant.environments.contains_key(&environment) {
        return not_found("environment");
    }
    let faults = req.faults.unwrap_or_else(|| tenant.faults.clone());
    let execution = Execution {
        tenant: tenant_name.to_owned(),
        config: req.config.clone(),
        environment: environment.clone(),
        token_hash: token_hash(&token),
        created_at: now,
        order: state.next_order,
        fetch_by: now.saturating_add(app.config.fetch_window_secs),
        bundle_expires_at: now.saturating_add(app.config.bundle_ttl_secs),
        fetched: false,
        finished: false,
        fetch_attempts: 0,
        audit_posts: 0,
        events: Default::default(),
        dropped: 0,
        faults,
    };
    if let Err(reply) = stored(app.store.create_execution(&execution_id, &execution)) {
        return reply;
    }
    state.next_order += 1;
    state.executions.insert(execution_id.clone(), execution);
    Reply::json(
        StatusCode::CREATED,
        &json!({
            "execution_id": execution_id,
            "token": token,
            "tenant": tenant_name,
            "config": req.config,
            "environment": environment,
            "fetch_by": now.saturating_add(app.config.fetch_window_secs),
        }),
    )
}

/// A reply with `Retry-After` set.
pub fn with_retry_after(mut reply: Reply, secs: Option<u64>) -> Reply {
    reply.retry_after = secs;
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_problems_quote_none_of_the_body() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Named {
            name: u64,
        }
        for body in [
            r#"{"name": "Zq7marker"}"#,
            r#"{"Zq7marker": 1}"#,
            r#"{"name": Zq7marker}"#,
            r#"{"name": "Zq7marker"#,
        ] {
            let Err(error) = serde_json::from_str::<Named>(body) else {
                panic!("{body} parsed");
            };
            let message = json_problem(&error);
            assert!(message.starts_with("the body "), "{message}");
            assert!(!message.contains("Zq7marker"), "{message}");
        }
    }
}
