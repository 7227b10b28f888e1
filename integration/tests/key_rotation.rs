//! Signing-key rotation end to end: the control plane publishes a next key while the current
//! one signs, promotes it, retires the old one, and keeps all of it across a restart on
//! SQLite; real sidecars (through `ax-run`) given the published keys verify bundles throughout,
//! and one given only the old key refuses a bundle signed by the new one (exit 65, PROTOCOL
//! §14).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ax_integration::control_plane::Config;
use ax_integration::control_plane::store::Storage;
use ax_integration::https::HttpsClient;
use serde_json::Value;
use support::{Env, fingerprint};

const VALUE: &str = "rotation-marker-value-5e4d3c2b";

fn env_with(config: Config) -> Env {
    let env = Env::with_config(config);
    if env.admin.list_secrets("acme").is_err() {
        env.tenant("acme", &[("API_KEY", VALUE)]);
    }
    env
}

/// `GET /v1/signing-keys` without any token: the published keys' file.
fn published(env: &Env) -> String {
    let client = HttpsClient::new(&env.plane.url, env.plane.ca_pem.as_bytes()).unwrap();
    let response = client
        .request("GET", "/v1/signing-keys", None, None)
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    String::from_utf8(response.body.clone()).unwrap()
}

/// The key lines of a published file (comments dropped).
fn key_lines(file: &str) -> Vec<String> {
    file.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `GET /v1/admin/signing-keys`: (id, role) of each key, current first.
fn roles(env: &Env) -> Vec<(String, String)> {
    let response = env
        .admin
        .raw("GET", "/v1/admin/signing-keys", None)
        .unwrap();
    assert_eq!(response.status, 200);
    response.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["id"].as_str().unwrap().to_owned(),
                k["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn admin_post(env: &Env, path: &str) -> (u16, Value) {
    let response = env.admin.raw("POST", path, None).unwrap();
    (response.status, response.json())
}

/// Gives the sidecars `ax-run` starts exactly `keys` (the state directory's key file).
fn trust(env: &Env, keys: &str) {
    ax_integration::util::write_private_file_atomic(&env.files.public_key_file, keys.as_bytes())
        .unwrap();
}

/// A sidecar started with the trusted keys serves the value.
fn assert_serves(env: &Env) {
    let run = env.probe("acme", &[], &["get", "API_KEY"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains(&fingerprint(VALUE)), "{}", run.stdout);
}

/// A sidecar started with the trusted keys refuses the bundle's signature.
fn assert_refuses_the_signature(env: &Env) {
    let run = env.probe("acme", &[], &["get", "API_KEY"]);
    assert_eq!(run.code, Some(65), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ax-run: the sidecar exited with 65 before it was ready: "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("signature"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "the command ran: {}", run.stdout);
}

#[test]
fn a_sidecar_given_both_keys_verifies_bundles_before_and_after_the_promotion() {
    let env = env_with(Config::default());
    let old = published(&env);
    assert_eq!(key_lines(&old), vec![env.plane.public_key_b64.clone()]);
    let old_key = format!("{}\n", key_lines(&old)[0]);
    let old_id = roles(&env)[0].0.clone();

    let (status, body) = admin_post(&env, "/v1/admin/signing-keys");
    assert_eq!(status, 201, "{body}");
    let (status, body) = admin_post(&env, "/v1/admin/signing-keys");
    assert_eq!(status, 409, "only one next key at a time: {body}");
    assert_eq!(body["error"], "exists");
    let both = published(&env);
    assert_eq!(key_lines(&both).len(), 2);
    assert_eq!(
        key_lines(&both)[0],
        key_lines(&old)[0],
        "the old key still signs"
    );
    let next_id = roles(&env)[1].0.clone();
    assert_eq!(roles(&env)[1].1, "next");

    trust(&env, &both);
    assert_serves(&env);
    trust(&env, &old_key);
    assert_serves(&env);

    let (status, body) = admin_post(&env, "/v1/admin/signing-keys/promote");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        roles(&env),
        vec![
            (next_id.clone(), "current".to_owned()),
            (old_id.clone(), "previous".to_owned())
        ]
    );
    trust(&env, &both);
    assert_serves(&env);
    trust(&env, &old_key);
    assert_refuses_the_signature(&env);

    let current = env
        .admin
        .raw("DELETE", &format!("/v1/admin/signing-keys/{next_id}"), None)
        .unwrap();
    assert_eq!(current.status, 409, "the current key cannot be retired");
    let retired = env
        .admin
        .raw("DELETE", &format!("/v1/admin/signing-keys/{old_id}"), None)
        .unwrap();
    assert_eq!(retired.status, 204);
    let after = published(&env);
    assert_eq!(key_lines(&after), vec![key_lines(&both)[1].clone()]);
    trust(&env, &after);
    assert_serves(&env);
    let (status, _) = admin_post(&env, "/v1/admin/signing-keys/promote");
    assert_eq!(status, 404, "no next key to promote");
}

#[test]
fn the_rotation_routes_need_the_admin_token() {
    let env = env_with(Config::default());
    let client = HttpsClient::new(&env.plane.url, env.plane.ca_pem.as_bytes()).unwrap();
    for (method, path) in [
        ("GET", "/v1/admin/signing-keys"),
        ("POST", "/v1/admin/signing-keys"),
        ("POST", "/v1/admin/signing-keys/promote"),
        ("DELETE", "/v1/admin/signing-keys/0011223344556677"),
    ] {
        let response = client.request(method, path, Some("wrong"), None).unwrap();
        assert_eq!(response.status, 401, "{method} {path}");
    }
    assert_eq!(roles(&env).len(), 1, "nothing changed");
}

fn write_master_key(path: &Path) {
    std::fs::write(path, [9u8; 32]).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn a_rotation_survives_a_control_plane_restart_on_sqlite() {
    let dir = tempfile::Builder::new()
        .prefix("ax-rotation-")
        .tempdir()
        .unwrap();
    let key = dir.path().join("master.key");
    write_master_key(&key);
    let config = || Config {
        storage: Storage::Sqlite {
            path: dir.path().join("cp.db"),
            master_key_file: key.clone(),
        },
        ..Config::default()
    };

    let env = env_with(config());
    let (status, _) = admin_post(&env, "/v1/admin/signing-keys");
    assert_eq!(status, 201);
    let before = roles(&env);
    let both = published(&env);
    drop(env);

    let env = env_with(config());
    assert_eq!(roles(&env), before, "the next key is kept, still next");
    assert_eq!(published(&env), both);
    let (status, _) = admin_post(&env, "/v1/admin/signing-keys/promote");
    assert_eq!(status, 200);
    drop(env);

    let env = env_with(config());
    let after = roles(&env);
    assert_eq!(after[0], (before[1].0.clone(), "current".to_owned()));
    assert_eq!(after[1], (before[0].0.clone(), "previous".to_owned()));
    assert_eq!(
        env.plane.public_key_b64,
        key_lines(&both)[1],
        "the promoted key signs after the restart"
    );
    let new_only = format!("{}\n", key_lines(&both)[1]);
    trust(&env, &new_only);
    assert_serves(&env);
    trust(&env, &format!("{}\n", key_lines(&both)[0]));
    assert_refuses_the_signature(&env);
}
