//! The endpoints a sidecar calls (PROTOCOL §13): the one-time bundle fetch and audit ingest,
//! both authorised by the execution token; and the admin views of an execution.

use std::time::Duration;

use ax_protocol::bundle::envelope::seal;
use ax_protocol::bundle::hpke::PUBLIC_KEY_LEN;
use ax_protocol::contract::status::{EXECUTION_ENDED, FETCH_OK, MALFORMED, TOKEN_REFUSED};
use ax_protocol::contract::{AuditBatch, BUNDLE_MEDIA_TYPE, ErrorName, FetchRequest, SUITE};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::StatusCode;
use serde_json::{Value, json};

use super::model::{Execution, SnapshotError, StoredEvent};
use super::routes::{Reply, not_found, stored, with_retry_after};
use super::{App, token_hash};
use crate::util;

fn unauthorized(message: &str) -> Reply {
    Reply::error(http(TOKEN_REFUSED), ErrorName::Unauthorized, message)
}

/// The `StatusCode` of one of the contract's statuses (all of them valid).
fn http(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Checks the execution token; `Err` is the reply to send.
fn authorize<'s>(
    state: &'s mut super::model::State,
    id: &str,
    bearer: Option<&str>,
) -> Result<&'s mut Execution, Reply> {
    let Some(execution) = state.executions.get_mut(id) else {
        return Err(not_found("execution"));
    };
    let Some(token) = bearer else {
        return Err(unauthorized("an execution token is required"));
    };
    if token_hash(token) != execution.token_hash {
        return Err(unauthorized("the token is not valid for this execution"));
    }
    Ok(execution)
}

/// Faults to apply before answering, decided under the lock.
enum Planned {
    Answer(Reply),
    Seal { delay: Duration },
}

/// `POST /v1/executions/{id}/bundle`.
pub async fn bundle(app: &App, id: &str, bearer: Option<&str>, body: &[u8]) -> Reply {
    let planned = {
        let mut state = app.state();
        match authorize(&mut state, id, bearer) {
            Err(reply) => Planned::Answer(reply),
            Ok(execution) => {
                let planned = plan_fetch(execution);
                match stored(app.store.update_execution(id, execution)) {
                    Ok(()) => planned,
                    Err(reply) => Planned::Answer(reply),
                }
            }
        }
    };
    let delay = match planned {
        Planned::Answer(reply) => return reply,
        Planned::Seal { delay } => delay,
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let recipient = match parse_bundle_request(body) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    seal_for(app, id, bearer, &recipient)
}

fn plan_fetch(execution: &mut Execution) -> Planned {
    execution.fetch_attempts = execution.fetch_attempts.saturating_add(1);
    let now = util::now_secs();
    if execution.finished {
        return Planned::Answer(Reply::error(
            StatusCode::GONE,
            ErrorName::Finished,
            "the execution has ended",
        ));
    }
    if execution.fetched {
        return Planned::Answer(unauthorized(
            "the execution token was already used to fetch the bundle",
        ));
    }
    if now >= execution.fetch_by {
        return Planned::Answer(unauthorized("the execution token has expired"));
    }
    let faults = &execution.faults;
    if let Some(code) = faults.status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Planned::Answer(with_retry_after(
            Reply::error(status, ErrorName::Fault, "injected: faults.status"),
            faults.retry_after,
        ));
    }
    if execution.fetch_attempts <= faults.fail_times {
        return Planned::Answer(with_retry_after(
            Reply::error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorName::Fault,
                "injected: faults.fail_times",
            ),
            faults.retry_after,
        ));
    }
    Planned::Seal {
        delay: Duration::from_millis(faults.delay_ms),
    }
}

fn parse_bundle_request(body: &[u8]) -> Result<[u8; PUBLIC_KEY_LEN], Reply> {
    let bad = |m: &str| Reply::error(http(MALFORMED), ErrorName::BadRequest, m);
    let req: FetchRequest<'_> = serde_json::from_slice(body).map_err(|_| {
        bad("expected {\"recipient_key\", \"suite\", \"sidecar\"} (PROTOCOL §13.1)")
    })?;
    if req.suite != SUITE {
        return Err(bad(
            "unknown suite; protocol v1 has x25519-hkdf-sha256-aes-256-gcm",
        ));
    }
    let key = STANDARD
        .decode(req.recipient_key.as_bytes())
        .map_err(|_| bad("recipient_key must be standard base64 with padding"))?;
    key.try_into()
        .map_err(|_| bad("recipient_key must be 32 bytes (an X25519 public key)"))
}

fn seal_for(app: &App, id: &str, bearer: Option<&str>, recipient: &[u8; PUBLIC_KEY_LEN]) -> Reply {
    let mut state = app.state();
    // Checked again: another fetch may have won while this one was delayed.
    let execution = match authorize(&mut state, id, bearer) {
        Ok(e) => e,
        Err(reply) => return reply,
    };
    if execution.fetched {
        return unauthorized("the execution token was already used to fetch the bundle");
    }
    let faults = execution.faults.clone();
    let now = util::now_secs();
    let (issued_at, expires_at) = if faults.expired {
        (now.saturating_sub(7200), now.saturating_sub(3600))
    } else {
        (now, execution.bundle_expires_at.max(now + 1))
    };
    let sealed_for = if faults.wrong_execution {
        format!("{id}-other")
    } else {
        id.to_owned()
    };
    let bundle = match state.executions.get(id) {
        Some(e) => state.snapshot(&*app.store, &sealed_for, e, issued_at, expires_at),
        None => Err(SnapshotError::Gone),
    };
    let bundle = match bundle {
        Ok(bundle) => bundle,
        Err(SnapshotError::Gone) => {
            return Reply::error(
                StatusCode::GONE,
                ErrorName::Gone,
                "the execution's tenant or config no longer exists",
            );
        }
        Err(SnapshotError::Unreadable {
            scope,
            name,
            version,
        }) => {
            super::tracing_fallback(&super::store::refused_bundle_log(
                id, &scope, &name, version,
            ));
            return Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorName::Unreadable,
                super::store::UNREADABLE_ANSWER,
            );
        }
    };
    let mut envelope = match seal(&bundle, recipient, app.keys().signer(), &app.rng) {
        Ok(e) => e,
        Err(err) => {
            return Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorName::Internal,
                format!("cannot seal the bundle: {err}"),
            );
        }
    };
    drop(bundle);
    // The store decides: with a shared database, another fetch may have consumed the token.
    match stored(app.store.consume_token(id)) {
        Ok(true) => {}
        Ok(false) => {
            return unauthorized("the execution token was already used to fetch the bundle");
        }
        Err(reply) => return reply,
    }
    if faults.tamper {
        // The first ciphertext byte: at 58 + L (PROTOCOL §11.2).
        let offset = 58 + sealed_for.len();
        if let Some(byte) = envelope.get_mut(offset) {
            *byte ^= 0x01;
        }
    }
    if let Some(execution) = state.executions.get_mut(id) {
        execution.fetched = true;
    }
    Reply {
        status: http(FETCH_OK),
        content_type: BUNDLE_MEDIA_TYPE,
        body: envelope,
        retry_after: None,
    }
}

/// `POST /v1/executions/{id}/audit`: stores each event once, by `seq`.
pub fn audit(app: &App, id: &str, bearer: Option<&str>, body: &[u8]) -> Reply {
    let mut state = app.state();
    let execution = match authorize(&mut state, id, bearer) {
        Ok(e) => e,
        Err(reply) => return reply,
    };
    execution.audit_posts = execution.audit_posts.saturating_add(1);
    if let Err(reply) = stored(app.store.update_execution(id, execution)) {
        return reply;
    }
    let now = util::now_secs();
    // An ended execution (finished, or past its time to live) still takes the batch, so the
    // reads a sidecar served before it learned of the end are not lost; the 410 then tells
    // the sidecar to stop serving (PROTOCOL §13.2).
    let ended = execution.finished
        || now
            >= execution
                .created_at
                .saturating_add(app.config.execution_ttl_secs);
    if let Some(code) = execution.faults.audit_status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Reply::error(status, ErrorName::Fault, "injected: faults.audit_status");
    }
    if execution.audit_posts <= execution.faults.audit_fail_times {
        return Reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorName::Fault,
            "injected: faults.audit_fail_times",
        );
    }
    let bad = |m: &str| Reply::error(http(MALFORMED), ErrorName::BadRequest, m);
    let Ok(batch) = serde_json::from_slice::<AuditBatch<'_>>(body) else {
        return bad(
            "expected {\"execution_id\", \"sidecar\", \"dropped\", \"events\"} with events of \
             PROTOCOL §13.2",
        );
    };
    if batch.execution_id != id {
        return bad("the batch names another execution");
    }
    // Checked for the whole batch first, so a refused one stores nothing.
    if batch.events.iter().any(|event| event.seq == 0) {
        return bad("every event needs a seq of at least 1");
    }
    let mut accepted = 0u64;
    let mut duplicates = 0u64;
    // What this control plane understood of each event: fields it does not know are ignored
    // (§13.2), and what it stores is the contract's JSON of the rest.
    let mut sequenced = Vec::with_capacity(batch.events.len());
    for event in &batch.events {
        let Ok(value) = serde_json::to_value(event) else {
            return Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorName::Internal,
                "cannot store an audit event",
            );
        };
        sequenced.push((event.seq, value));
    }
    let borrowed: Vec<(u64, &Value)> = sequenced.iter().map(|(seq, v)| (*seq, v)).collect();
    let kept = match stored(app.store.insert_events(id, &borrowed)) {
        Ok(kept) => kept,
        Err(reply) => return reply,
    };
    drop(borrowed);
    for ((seq, event), kept) in sequenced.into_iter().zip(kept) {
        if !kept || execution.events.contains_key(&seq) {
            duplicates += 1;
            continue;
        }
        execution.events.insert(
            seq,
            StoredEvent {
                execution_id: id.to_owned(),
                seq,
                event,
            },
        );
        accepted += 1;
    }
    execution.dropped = execution.dropped.saturating_add(batch.dropped);
    if let Err(reply) = stored(app.store.update_execution(id, execution)) {
        return reply;
    }
    if ended {
        return Reply::error(
            http(EXECUTION_ENDED),
            ErrorName::ExecutionEnded,
            "the execution has ended: the batch is stored, stop serving",
        );
    }
    Reply::json(
        StatusCode::OK,
        &json!({"accepted": accepted, "duplicates": duplicates}),
    )
}

/// `GET /v1/executions/{id}`: what happened to an execution (no token, no value).
pub fn status(app: &App, id: &str) -> Reply {
    let state = app.state();
    let Some(e) = state.executions.get(id) else {
        return not_found("execution");
    };
    Reply::json(
        StatusCode::OK,
        &json!({
            "execution_id": id,
            "tenant": e.tenant,
            "config": e.config,
            "environment": e.environment,
            "created_at": e.created_at,
            "fetched": e.fetched,
            "finished": e.finished,
            "fetch_attempts": e.fetch_attempts,
            "audit_posts": e.audit_posts,
            "audit_events": e.events.len(),
            "dropped": e.dropped,
            "faults": e.faults,
        }),
    )
}

/// `POST /v1/executions/{id}/finish`: the execution ended; its token is dead from now on.
pub fn finish(app: &App, id: &str) -> Reply {
    let mut state = app.state();
    match state.executions.get_mut(id) {
        Some(e) => {
            e.finished = true;
            match stored(app.store.update_execution(id, e)) {
                Ok(()) => Reply::no_content(),
                Err(reply) => reply,
            }
        }
        None => not_found("execution"),
    }
}
