//! `ax-control-plane rotate-master-key` on a real SQLite file: every data key and the identity
//! are rewrapped while no value row changes by a byte; the control plane then starts with the
//! new key, serves the same secrets with the same identity, and refuses the old key; and every
//! bad request is refused with nothing changed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use ax_integration::control_plane::store::Storage;
use ax_integration::control_plane::{Config, ControlPlane, StartError};
use support::sqlite::write_key;
use support::{Env, fingerprint};

const API_KEY: &str = "sk-master-rotation-marker-1a2b3c";
const OVERRIDE: &str = "override-master-rotation-4d5e6f";
const CONTROL_PLANE: &str = env!("CARGO_BIN_EXE_ax-control-plane");

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ax-master-rotation-")
            .tempdir()
            .unwrap();
        let files = Self { dir };
        write_key(&files.path("old.key"), &[7u8; 32], 0o600);
        write_key(&files.path("new.key"), &[8u8; 32], 0o600);
        files
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, key: &str) -> Config {
        Config {
            storage: Storage::Sqlite {
                path: self.path("cp.db"),
                master_key_file: self.path(key),
            },
            ..Config::default()
        }
    }

    fn rotate(&self, old: &str, new: &str) -> Output {
        Command::new(CONTROL_PLANE)
            .arg("rotate-master-key")
            .arg("--db")
            .arg(self.path("cp.db"))
            .arg("--master-key-file")
            .arg(self.path(old))
            .arg("--new-master-key-file")
            .arg(self.path(new))
            .output()
            .unwrap()
    }

    /// Every row of `table` (all columns, as bytes), in a stable order.
    fn rows(&self, table: &str) -> Vec<Vec<Vec<u8>>> {
        let conn = rusqlite::Connection::open(self.path("cp.db")).unwrap();
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
            .unwrap();
        let columns = stmt.column_count();
        stmt.query_map([], |r| {
            (0..columns)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => {
                            b.to_vec()
                        }
                        rusqlite::types::ValueRef::Integer(n) => n.to_le_bytes().to_vec(),
                        other => format!("{other:?}").into_bytes(),
                    })
                })
                .collect()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }
}

fn refused(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
}

fn assert_serves(env: &Env) {
    let run = env.probe("acme", &[], &["get", "API_KEY"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains(&fingerprint(API_KEY)), "{}", run.stdout);
    let run = env.probe("acme", &["--config", "nightly"], &["get", "API_KEY"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains(&fingerprint(OVERRIDE)),
        "{}",
        run.stdout
    );
}

/// A database with a tenant, a value, an override and a published next signing key.
fn populated(files: &Files) -> String {
    let env = Env::with_config(files.config("old.key"));
    env.tenant("acme", &[("API_KEY", API_KEY)]);
    env.tenant("other", &[("TOKEN", "other-tenant-marker-value")]);
    env.admin.create_config("acme", "nightly").unwrap();
    env.admin
        .put_override("acme", "nightly", "API_KEY", OVERRIDE, false)
        .unwrap();
    let next = env
        .admin
        .raw("POST", "/v1/admin/signing-keys", None)
        .unwrap();
    assert_eq!(next.status, 201);
    assert_serves(&env);
    env.plane.published_keys()
}

#[test]
fn rotating_the_master_key_rewraps_the_keys_and_leaves_every_value_row_as_it_was() {
    let files = Files::new();
    let published = populated(&files);
    let secrets = files.rows("secrets");
    let tenants = files.rows("tenants");
    let identity = files.rows("identity");
    let signing_keys = files.rows("signing_keys");
    assert_eq!(secrets.len(), 3);

    let out = files.rotate("old.key", "new.key");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("rewrapped 2 data keys"), "{stderr}");

    assert_eq!(files.rows("secrets"), secrets, "a value row changed");
    let raw: Vec<u8> = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            std::fs::read(format!("{}{suffix}", files.path("cp.db").display())).ok()
        })
        .flatten()
        .collect();
    for row in &tenants {
        assert!(
            !raw.windows(row[2].len()).any(|w| w == row[2].as_slice()),
            "a data key's old wrapping is still on disk"
        );
    }
    let rewrapped = files.rows("tenants");
    assert_eq!(rewrapped.len(), tenants.len());
    for (before, after) in tenants.iter().zip(&rewrapped) {
        assert_eq!(before[0], after[0], "same tenant, same order");
        assert_ne!(before[2], after[2], "the data key was not rewrapped");
    }
    for (table, before) in [("identity", identity), ("signing_keys", signing_keys)] {
        let after = files.rows(table);
        assert_eq!(before.len(), after.len());
        let sealed = after[0].len() - 1;
        for (b, a) in before.iter().zip(&after) {
            assert_ne!(b[sealed], a[sealed], "{table} was not rewrapped");
        }
    }

    let env = Env::with_config(files.config("new.key"));
    assert_serves(&env);
    assert_eq!(env.plane.published_keys(), published, "the same identity");
    drop(env);

    match ControlPlane::start(files.config("old.key")) {
        Ok(_) => panic!("the old master key still opens the database"),
        Err(e) => {
            assert!(matches!(e, StartError::Store(_)), "{e}");
            assert!(e.to_string().contains("does not open this database"), "{e}");
        }
    }
}

#[test]
fn a_bad_rotation_request_is_refused_and_changes_nothing() {
    let files = Files::new();
    populated(&files);
    let before = [
        files.rows("tenants"),
        files.rows("identity"),
        files.rows("meta"),
    ];

    refused(&files.rotate("old.key", "old.key"), "same key");
    std::fs::copy(files.path("old.key"), files.path("copy.key")).unwrap();
    refused(&files.rotate("old.key", "copy.key"), "same key");
    write_key(&files.path("loose.key"), &[9u8; 32], 0o644);
    refused(&files.rotate("old.key", "loose.key"), "mode 644");
    write_key(&files.path("short.key"), &[9u8; 31], 0o600);
    refused(&files.rotate("old.key", "short.key"), "31 bytes");
    refused(&files.rotate("old.key", "absent.key"), "absent.key");
    write_key(&files.path("wrong.key"), &[6u8; 32], 0o600);
    refused(
        &files.rotate("wrong.key", "new.key"),
        "does not open this database",
    );
    let out = Command::new(CONTROL_PLANE)
        .args(["rotate-master-key", "--db"])
        .arg(files.path("absent.db"))
        .arg("--master-key-file")
        .arg(files.path("old.key"))
        .arg("--new-master-key-file")
        .arg(files.path("new.key"))
        .output()
        .unwrap();
    refused(&out, "does not exist");
    assert!(!files.path("absent.db").exists());

    let after = [
        files.rows("tenants"),
        files.rows("identity"),
        files.rows("meta"),
    ];
    assert_eq!(before, after);
    let env = Env::with_config(files.config("old.key"));
    assert_serves(&env);
}
