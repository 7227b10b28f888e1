//! The durable control plane (`--db`, `--master-key-file`) against a real SQLite file: what a
//! restart keeps, what the file holds (no value, in no form), rows tampered with or moved by
//! someone with write access to the file, the master key's checks, and the one-time token
//! raced by two instances over one file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};

use ax_integration::admin::Admin;
use ax_integration::control_plane::store::Storage;
use ax_integration::control_plane::{Config, ControlPlane, StartError};
use ax_integration::https::HttpResponse;
use ax_protocol::bundle::open;
use ax_protocol::encodings::forms;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::agreement::{EphemeralPrivateKey, X25519};
use ring::rand::SystemRandom;
use serde_json::{Value, json};
use support::sqlite::{SqliteFiles, write_key};
use support::{Env, fingerprint};

const API_KEY: &str = "sk-durable-marker-0f9e8d7c6b5a";
const DB_URL: &str = "postgres://durable:pässwörd-marker@db/app";
const OVERRIDE: &str = "override-marker-4b3c2d1e0f";
const REPLACED: &str = "replaced-marker-old-value-77aa";
const CONTROL_PLANE: &str = env!("CARGO_BIN_EXE_ax-control-plane");

/// A database file and a master key in a private temporary directory.
type Files = SqliteFiles;

/// What these tests do with the files beyond the shared helpers.
trait DurableFiles {
    fn storage(&self) -> Storage;
    fn config(&self) -> Config;
    fn start(&self) -> Env;
    fn flip_byte(&self, tenant: &str, offset: usize);
}

impl DurableFiles for SqliteFiles {
    fn storage(&self) -> Storage {
        Storage::Sqlite {
            path: self.db(),
            master_key_file: self.key(),
        }
    }

    fn config(&self) -> Config {
        Config {
            record_responses: true,
            storage: self.storage(),
            ..Config::default()
        }
    }

    fn start(&self) -> Env {
        Env::with_config(self.config())
    }

    /// Flips one byte of every sealed value of `tenant`, with rusqlite directly.
    fn flip_byte(&self, tenant: &str, offset: usize) {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        let mut sealed: Vec<u8> = conn
            .query_row(
                "SELECT sealed FROM secrets WHERE tenant = ?1",
                [tenant],
                |r| r.get(0),
            )
            .unwrap();
        sealed[offset] ^= 0x01;
        let changed = conn
            .execute(
                "UPDATE secrets SET sealed = ?2 WHERE tenant = ?1",
                rusqlite::params![tenant, sealed],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
}

/// Fetches the bundle of `id` with `token`, opening it with `public_key_b64` when it is 200:
/// the response and the opened secrets (name → value) and overrides.
fn fetch(
    admin: &Admin,
    public_key_b64: &str,
    id: &str,
    token: &str,
) -> (HttpResponse, Option<Value>) {
    let rng = SystemRandom::new();
    let key = EphemeralPrivateKey::generate(&X25519, &rng).unwrap();
    let public = key.compute_public_key().unwrap();
    let body = json!({
        "recipient_key": STANDARD.encode(public.as_ref()),
        "suite": "x25519-hkdf-sha256-aes-256-gcm",
        "sidecar": "test/0",
    });
    let response = admin
        .https()
        .json(
            "POST",
            &format!("/v1/executions/{id}/bundle"),
            Some(token),
            &body,
        )
        .unwrap();
    if response.status != 200 {
        return (response, None);
    }
    let signer = STANDARD.decode(public_key_b64).unwrap();
    let bundle = open(
        &response.body,
        key,
        &signer,
        id,
        ax_integration::util::now_secs(),
    )
    .expect("the bundle opens and its signature verifies");
    let list = |l: &[ax_protocol::bundle::BundleSecret<'_>]| -> Value {
        l.iter()
            .map(|s| (s.name.to_string(), json!([s.value.expose(), s.version])))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let opened = json!({"secrets": list(&bundle.secrets), "overrides": list(&bundle.overrides)});
    (response, Some(opened))
}

fn audit_event(seq: u64, name: &str) -> Value {
    json!({"seq": seq, "time": "2026-11-23T01:02:03.456Z", "action": "get",
           "names": [name], "found": true, "peer": {"pid": 1, "uid": 0, "gid": 0}})
}

fn post_audit(admin: &Admin, id: &str, token: &str, events: Vec<Value>) -> HttpResponse {
    let batch = json!({"execution_id": id, "sidecar": "test/0", "dropped": 0, "events": events});
    admin
        .https()
        .json(
            "POST",
            &format!("/v1/executions/{id}/audit"),
            Some(token),
            &batch,
        )
        .unwrap()
}

#[test]
fn everything_outlives_a_restart_on_the_same_file_and_master_key() {
    let files = SqliteFiles::new("ax-durable-", 7);
    let env = files.start();
    env.tenant("acme", &[("API_KEY", API_KEY), ("DB_URL", REPLACED)]);
    env.admin
        .put_secret("acme", "DB_URL", DB_URL, true)
        .unwrap();
    env.admin.create_environment("acme", "staging").unwrap();
    env.admin.create_config("acme", "nightly").unwrap();
    env.admin
        .put_override("acme", "nightly", "DB_URL", OVERRIDE, false)
        .unwrap();
    env.admin
        .set_faults("acme", &json!({"delay_ms": 1}))
        .unwrap();
    // A sidecar's run before the restart: its execution, fetch and audit trail are kept.
    let before = env.probe("acme", &[], &["get", "API_KEY"]);
    assert_eq!(before.code, Some(0), "{before:?}");
    let trail = env.admin.audit("acme", None, None).unwrap();
    assert!(!trail.is_empty(), "the sidecar shipped its audit");
    // An execution fetched before the restart, one fetched after it.
    let used = env
        .admin
        .create_execution("acme", Some("nightly"), Some("staging"), None)
        .unwrap();
    let (first, _) = fetch(
        &env.admin,
        &env.plane.public_key_b64,
        &used.execution_id,
        &used.token,
    );
    assert_eq!(first.status, 200);
    assert_eq!(
        post_audit(
            &env.admin,
            &used.execution_id,
            &used.token,
            vec![audit_event(1, "DB_URL")]
        )
        .status,
        200
    );
    let waiting = env
        .admin
        .create_execution("acme", Some("nightly"), None, None)
        .unwrap();
    let public_key = env.plane.public_key_b64.clone();
    let ca_pem = env.plane.ca_pem.clone();
    let secrets = env.admin.list_secrets("acme").unwrap();
    let configs = env.admin.list_configs("acme").unwrap();
    let tenant = env
        .admin
        .raw("GET", "/v1/tenants/acme", None)
        .unwrap()
        .json();
    drop(env);

    let env = files.start();
    assert_eq!(
        env.plane.public_key_b64, public_key,
        "the signing key is kept"
    );
    assert_eq!(env.plane.ca_pem, ca_pem, "the CA is kept");
    assert_eq!(env.admin.list_secrets("acme").unwrap(), secrets);
    assert_eq!(env.admin.list_configs("acme").unwrap(), configs);
    assert_eq!(
        env.admin
            .raw("GET", "/v1/tenants/acme", None)
            .unwrap()
            .json(),
        tenant
    );
    assert_eq!(
        env.admin.audit("acme", None, None).unwrap(),
        trail_with(&trail, &used.execution_id)
    );
    let status = env.admin.execution(&used.execution_id).unwrap();
    assert_eq!(status["fetched"], true);
    assert_eq!(status["environment"], "staging");
    // The consumed token stays consumed; the audit batch is still de-duplicated by seq.
    let (again, _) = fetch(&env.admin, &public_key, &used.execution_id, &used.token);
    assert_eq!(again.status, 401, "{}", again.error_message());
    let retried = post_audit(
        &env.admin,
        &used.execution_id,
        &used.token,
        vec![audit_event(1, "DB_URL"), audit_event(2, "API_KEY")],
    )
    .json();
    assert_eq!(retried["accepted"], 1);
    assert_eq!(retried["duplicates"], 1);
    // The execution made before the restart fetches now, signed by the same key.
    let (late, opened) = fetch(
        &env.admin,
        &public_key,
        &waiting.execution_id,
        &waiting.token,
    );
    assert_eq!(late.status, 200, "{}", late.error_message());
    let opened = opened.unwrap();
    assert_eq!(opened["secrets"]["API_KEY"], json!([API_KEY, 1]));
    assert_eq!(opened["secrets"]["DB_URL"], json!([DB_URL, 2]));
    assert_eq!(opened["overrides"]["DB_URL"], json!([OVERRIDE, 1]));
    // A sidecar started after the restart fetches and verifies its bundle.
    let after = env.probe("acme", &[], &["get", "API_KEY", "get", "DB_URL"]);
    assert_eq!(after.code, Some(0), "{after:?}");
    assert_eq!(after.get("API_KEY")["fingerprint"], fingerprint(API_KEY));
    assert_eq!(after.get("DB_URL")["fingerprint"], fingerprint(DB_URL));
}

/// `trail` plus the event posted directly for `execution` before the restart.
fn trail_with(trail: &[Value], execution: &str) -> Vec<Value> {
    let mut all = trail.to_vec();
    let mut event = audit_event(1, "DB_URL");
    event["execution_id"] = json!(execution);
    all.push(event);
    all
}

/// Every form (PROTOCOL §8.4) of every marker, scanned for in the raw bytes.
fn assert_no_form_in(files: &Files, values: &[&str]) {
    let raw = files.raw_bytes();
    assert!(!raw.is_empty(), "the database file exists");
    for value in values {
        for form in forms(value) {
            for (path, bytes) in &raw {
                assert!(
                    memchr::memmem::find(bytes, form.as_bytes()).is_none(),
                    "a form of a value appears in {path}"
                );
            }
        }
    }
}

#[test]
fn the_database_file_holds_no_value_in_any_form() {
    let files = SqliteFiles::new("ax-durable-", 7);
    let env = files.start();
    env.tenant("acme", &[("API_KEY", API_KEY), ("DB_URL", REPLACED)]);
    env.admin
        .put_secret("acme", "DB_URL", DB_URL, true)
        .unwrap();
    env.admin.create_config("acme", "nightly").unwrap();
    env.admin
        .put_override("acme", "nightly", "DB_URL", OVERRIDE, false)
        .unwrap();
    let r = env.probe("acme", &[], &["get", "API_KEY"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let markers = [API_KEY, DB_URL, OVERRIDE, REPLACED];
    // While it runs (the -wal holds the recent writes) and after it stopped.
    assert_no_form_in(&files, &markers);
    for (path, _) in files.raw_bytes() {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path} is private");
    }
    drop(env);
    assert_no_form_in(&files, &markers);
    // The names are there in the clear (they are not secret): the scan would have found them.
    let raw = files.raw_bytes();
    assert!(
        raw.iter()
            .any(|(_, b)| memchr::memmem::find(b, b"API_KEY").is_some())
    );
}

/// The control plane as a process, to read what it logs.
struct Process {
    child: Child,
    state: tempfile::TempDir,
}

impl Process {
    fn start(files: &Files) -> Self {
        let state = tempfile::tempdir().unwrap();
        let mut child = Command::new(CONTROL_PLANE)
            .arg("--state-dir")
            .arg(state.path().join("s"))
            .arg("--db")
            .arg(files.db())
            .arg("--master-key-file")
            .arg(files.key())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("https://"), "no URL printed: {line:?}");
        Self { child, state }
    }

    fn admin(&self) -> Admin {
        Admin::from_state_dir(&self.state.path().join("s")).unwrap()
    }

    fn public_key(&self) -> String {
        std::fs::read_to_string(self.state.path().join("s/control-plane.pub"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// SIGTERM, wait, and its stderr.
    fn stop(mut self) -> String {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> String {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        stderr
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // After a failed assertion: stop it rather than leave it running.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_tampered_or_moved_value_is_refused_and_never_served() {
    let files = SqliteFiles::new("ax-durable-", 7);
    let plane = Process::start(&files);
    let admin = plane.admin();
    for (tenant, name) in [
        ("tampered", "API_KEY"),
        ("moved", "OLD_NAME"),
        ("replayed", "API_KEY"),
        ("stolen", "OTHER"),
        ("clean", "API_KEY"),
    ] {
        admin.create_tenant(tenant).unwrap();
        admin.put_secret(tenant, name, API_KEY, false).unwrap();
    }
    admin
        .put_secret("stolen", "API_KEY", DB_URL, false)
        .unwrap();
    plane.stop();
    // Someone with write access to the file: flips a byte of a ciphertext, renames a row,
    // bumps a version, and copies one tenant's row over another tenant's.
    files.flip_byte("tampered", 20);
    files.sql(
        "UPDATE secrets SET name = 'NEW_NAME' WHERE tenant = 'moved';
         UPDATE secrets SET version = version + 1 WHERE tenant = 'replayed';
         UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE tenant = 'clean') \
           WHERE tenant = 'stolen' AND name = 'API_KEY';",
    );
    let plane = Process::start(&files);
    let admin = plane.admin();
    let public_key = plane.public_key();
    for tenant in ["tampered", "moved", "replayed", "stolen"] {
        let e = admin.create_execution(tenant, None, None, None).unwrap();
        let (response, opened) = fetch(&admin, &public_key, &e.execution_id, &e.token);
        assert_eq!(
            response.status,
            500,
            "{tenant}: {}",
            response.error_message()
        );
        assert!(opened.is_none());
        assert_eq!(response.json()["error"], "unreadable");
        let body = String::from_utf8_lossy(&response.body).into_owned();
        for form in forms(API_KEY).iter().chain(forms(DB_URL).iter()) {
            assert!(
                !body.contains(form.as_str()),
                "{tenant}: a value in the answer"
            );
        }
    }
    // One bad row stops no one else.
    let e = admin.create_execution("clean", None, None, None).unwrap();
    let (response, opened) = fetch(&admin, &public_key, &e.execution_id, &e.token);
    assert_eq!(response.status, 200, "{}", response.error_message());
    assert_eq!(opened.unwrap()["secrets"]["API_KEY"], json!([API_KEY, 1]));
    let log = plane.stop();
    for named in [
        "tampered/tenant/API_KEY",
        "moved/tenant/NEW_NAME",
        "replayed/tenant/API_KEY (version 2)",
        "stolen/tenant/API_KEY",
    ] {
        assert!(log.contains(named), "the log names {named}: {log}");
    }
    for form in forms(API_KEY).iter().chain(forms(DB_URL).iter()) {
        assert!(!log.contains(form.as_str()), "a value in the log");
    }
}

#[test]
fn a_wrong_or_badly_kept_master_key_is_refused_at_start_with_a_clear_error() {
    let files = SqliteFiles::new("ax-durable-", 7);
    drop(ControlPlane::start(files.config()).unwrap());
    let refused = |config: Config| match ControlPlane::start(config) {
        Ok(_) => panic!("started"),
        Err(e) => {
            assert!(matches!(e, StartError::Store(_)), "{e}");
            e.to_string()
        }
    };
    write_key(&files.key(), &[8u8; 32], 0o600);
    let message = refused(files.config());
    assert!(
        message.contains("does not open this database") && message.contains("master.key"),
        "{message}"
    );
    write_key(&files.key(), &[7u8; 32], 0o644);
    let message = refused(files.config());
    assert!(
        message.contains("mode 644") && message.contains("0600"),
        "{message}"
    );
    write_key(&files.key(), &[7u8; 31], 0o600);
    let message = refused(files.config());
    assert!(
        message.contains("31 bytes") && message.contains("exactly 32"),
        "{message}"
    );
    // The process says so and exits 78; the right key still opens the file.
    write_key(&files.key(), &[8u8; 32], 0o400);
    let out = Command::new(CONTROL_PLANE)
        .arg("--state-dir")
        .arg(files.dir.path().join("state"))
        .arg("--db")
        .arg(files.db())
        .arg("--master-key-file")
        .arg(files.key())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not open this database"), "{stderr}");
    write_key(&files.key(), &[7u8; 32], 0o400);
    drop(ControlPlane::start(files.config()).unwrap());
    // --db without a master key is a usage error.
    let out = Command::new(CONTROL_PLANE)
        .arg("--state-dir")
        .arg(files.dir.path().join("state"))
        .arg("--db")
        .arg(files.db())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--master-key-file"));
}

#[test]
fn a_token_raced_by_two_fetches_on_two_instances_is_accepted_exactly_once() {
    let files = SqliteFiles::new("ax-durable-", 7);
    let one = files.start();
    one.tenant("acme", &[("API_KEY", API_KEY)]);
    let mut executions = Vec::new();
    for _ in 0..8 {
        executions.push(
            one.admin
                .create_execution("acme", None, None, None)
                .unwrap(),
        );
    }
    // The second instance loads the executions from the file; each keeps its own memory, so
    // only the database's `UPDATE ... WHERE consumed = 0` can tell the two fetches apart.
    let two = files.start();
    assert_eq!(two.plane.public_key_b64, one.plane.public_key_b64);
    for e in &executions {
        let barrier = Arc::new(Barrier::new(2));
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = [&one, &two]
                .into_iter()
                .map(|env| {
                    let barrier = Arc::clone(&barrier);
                    s.spawn(move || {
                        barrier.wait();
                        fetch(
                            &env.admin,
                            &env.plane.public_key_b64,
                            &e.execution_id,
                            &e.token,
                        )
                        .0
                        .status
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = statuses.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [200, 401], "{statuses:?}");
    }
}

#[test]
fn a_database_file_open_to_others_or_from_a_newer_schema_is_refused() {
    let files = SqliteFiles::new("ax-durable-", 7);
    drop(ControlPlane::start(files.config()).unwrap());
    let conn = rusqlite::Connection::open(files.db()).unwrap();
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert!(version >= 1, "migrations are recorded");
    drop(conn);
    let message = |config: Config| match ControlPlane::start(config) {
        Ok(_) => panic!("started"),
        Err(e) => e.to_string(),
    };
    std::fs::set_permissions(files.db(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = message(files.config());
    assert!(refused.contains("mode 644"), "{refused}");
    std::fs::set_permissions(files.db(), std::fs::Permissions::from_mode(0o600)).unwrap();
    files.sql(&format!(
        "INSERT INTO schema_version (version) VALUES ({})",
        version + 1
    ));
    let refused = message(files.config());
    assert!(
        refused.contains(&format!("schema version {}", version + 1)),
        "{refused}"
    );
}
