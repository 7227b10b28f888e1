//! The signing-key routes (see [`keys`](super::keys) and `integration/CONTROL_PLANE.md`):
//!
//! - `GET /v1/signing-keys` (no token: public keys): the published keys in the format of
//!   `ax-sidecar --control-plane-key`, `text/plain`.
//! - `GET /v1/admin/signing-keys`: the same as JSON, with ids, roles and times.
//! - `POST /v1/admin/signing-keys`: makes and publishes the next key (it signs nothing yet).
//! - `POST /v1/admin/signing-keys/promote`: the next key signs from now on; the old one stays
//!   published, as `previous`.
//! - `DELETE /v1/admin/signing-keys/{id}`: stops publishing a next or previous key.
//!
//! Every change is written to the store before the keys in memory change, under the write
//! lock, so two admin calls cannot interleave and a failed write changes nothing.

use hyper::StatusCode;

use ax_protocol::contract::ErrorName;

use super::App;
use super::keys::{Keyring, KeyringError, StoredKey};
use super::routes::{Reply, stored};
use crate::util;

/// `GET /v1/signing-keys`.
pub fn published(app: &App) -> Reply {
    Reply {
        status: StatusCode::OK,
        content_type: "text/plain; charset=utf-8",
        body: app.keys().published_file().into_bytes(),
        retry_after: None,
    }
}

/// `GET /v1/admin/signing-keys`.
pub fn list(app: &App) -> Reply {
    Reply::json(StatusCode::OK, &app.keys().to_json())
}

/// `POST /v1/admin/signing-keys`: 201 with the listing.
pub fn create_next(app: &App) -> Reply {
    change(app, StatusCode::CREATED, |ring| {
        ring.with_next(&app.rng, util::now_secs())
            .map(|(keys, _)| keys)
    })
}

/// `POST /v1/admin/signing-keys/promote`: 200 with the listing.
pub fn promote(app: &App) -> Reply {
    change(app, StatusCode::OK, Keyring::promoted)
}

/// `DELETE /v1/admin/signing-keys/{id}`: 204.
pub fn retire(app: &App, id: &str) -> Reply {
    let reply = change(app, StatusCode::OK, |ring| ring.without(id));
    if reply.status == StatusCode::OK {
        Reply::no_content()
    } else {
        reply
    }
}

fn change(
    app: &App,
    status: StatusCode,
    next: impl FnOnce(&Keyring) -> Result<Vec<StoredKey>, KeyringError>,
) -> Reply {
    let mut ring = app
        .keys
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let keys = match next(&ring) {
        Ok(keys) => keys,
        Err(err) => return refused(&err),
    };
    if let Err(reply) = stored(app.store.save_signing_keys(&keys)) {
        return reply;
    }
    match Keyring::from_stored(keys) {
        Ok(changed) => *ring = changed,
        Err(err) => return refused(&err),
    }
    Reply::json(status, &ring.to_json())
}

/// The answer to a refused step; the message never repeats the id asked for.
fn refused(err: &KeyringError) -> Reply {
    let (status, code) = match err {
        KeyringError::NextExists => (StatusCode::CONFLICT, ErrorName::Exists),
        KeyringError::NoNext | KeyringError::NotFound => {
            (StatusCode::NOT_FOUND, ErrorName::NotFound)
        }
        KeyringError::RetireCurrent | KeyringError::Full => {
            (StatusCode::CONFLICT, ErrorName::BadRequest)
        }
        KeyringError::Unreadable | KeyringError::Random => {
            (StatusCode::INTERNAL_SERVER_ERROR, ErrorName::Internal)
        }
    };
    Reply::error(status, code, err.to_string())
}
