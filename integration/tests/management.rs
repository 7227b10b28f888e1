//! The management side of the control plane, against the real `ax-control-plane` binary on a
//! SQLite file: descriptions, metadata and rotation reminders, the rotation history, the audit
//! of management actions (with its filters and pages), API tokens and their roles, and a
//! restart that keeps all of it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use ax_integration::admin::{Admin, AdminError};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use support::sqlite::SqliteFiles;

const CONTROL_PLANE: &str = env!("CARGO_BIN_EXE_ax-control-plane");
const VALUE_ONE: &str = "sk-management-marker-first-1a2b";
const VALUE_TWO: &str = "sk-management-marker-second-3c4d";

/// A database, a master key and (beside them) a state directory.
type Files = SqliteFiles;

/// The binary, started on the files; stopped (SIGTERM) when dropped.
struct Plane {
    child: Child,
    state: PathBuf,
}

impl Plane {
    fn start(files: &Files) -> Self {
        let state = files.dir.path().join("state");
        let mut child = Command::new(CONTROL_PLANE)
            .arg("--state-dir")
            .arg(&state)
            .arg("--db")
            .arg(files.db())
            .arg("--master-key-file")
            .arg(files.dir.path().join("master.key"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The URL line is printed once the state directory is complete: no sleep needed.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("https://"), "no URL printed: {line:?}");
        Self { child, state }
    }

    /// The bootstrap owner (the admin token of this start).
    fn admin(&self) -> Admin {
        Admin::from_state_dir(&self.state).unwrap()
    }

    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap());
            let _ = kill(pid, Signal::SIGTERM);
            let _ = self.child.wait();
        }
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn status(result: Result<Value, AdminError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(e) => e.status().unwrap_or(0),
    }
}

/// The raw answer of a call: status and body.
fn raw(admin: &Admin, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let response = admin.raw(method, path, body).unwrap();
    (response.status, response.json())
}

fn actions(events: &Value) -> Vec<String> {
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_secret_carries_its_description_metadata_and_rotation_reminder() {
    let files = SqliteFiles::new("ax-management-", 9);
    let plane = Plane::start(&files);
    let admin = plane.admin();
    admin.create_tenant("acme").unwrap();
    let created = admin
        .put_secret_body(
            "acme",
            "API_KEY",
            &json!({"value": VALUE_ONE, "description": "the payments API key",
                    "metadata": {"team": "payments", "ticket": "OPS-12"},
                    "rotation_days": 30}),
        )
        .unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(created["description"], "the payments API key");
    assert_eq!(created["metadata"]["team"], "payments");
    let updated_at = created["updated_at"].as_u64().unwrap();
    assert_eq!(
        created["rotation_due_at"].as_u64(),
        Some(updated_at + 30 * 86_400)
    );
    assert_eq!(created["overdue"], false);
    admin.put_secret("acme", "PLAIN", VALUE_TWO, false).unwrap();
    let listed = admin.list_secrets("acme").unwrap();
    let plain = &listed["secrets"][1];
    assert_eq!(plain["name"], "PLAIN");
    assert_eq!(plain["description"], Value::Null);
    assert_eq!(plain["metadata"], json!({}));
    assert_eq!(plain["rotation_due_at"], Value::Null);
    assert_eq!(plain["overdue"], false);

    // A replace that says nothing of them keeps them; one that does replaces them.
    let kept = admin
        .put_secret("acme", "API_KEY", VALUE_TWO, true)
        .unwrap();
    assert_eq!(kept["version"], 2);
    assert_eq!(kept["description"], "the payments API key");
    assert_eq!(kept["rotation_days"], 30);
    let changed = admin
        .put_secret_body(
            "acme",
            "API_KEY",
            &json!({"value": VALUE_ONE, "replace": true, "metadata": {"team": "core"},
                    "rotation_days": 0}),
        )
        .unwrap();
    assert_eq!(changed["metadata"], json!({"team": "core"}));
    assert_eq!(changed["rotation_days"], Value::Null);
    assert_eq!(changed["rotation_due_at"], Value::Null);

    // An old value with a reminder is overdue.
    admin
        .put_secret_body(
            "acme",
            "OLD_KEY",
            &json!({"value": VALUE_ONE, "rotation_days": 7}),
        )
        .unwrap();
    plane.stop();
    files.sql("UPDATE secrets SET updated_at = updated_at - 8 * 86400 WHERE name = 'OLD_KEY'");
    let plane = Plane::start(&files);
    let old = plane.admin().secret("acme", "OLD_KEY").unwrap();
    assert_eq!(old["overdue"], true);
    assert!(old["rotation_due_at"].as_u64().unwrap() < ax_integration::util::now_secs());
    let text = serde_json::to_string(&plane.admin().list_secrets("acme").unwrap()).unwrap();
    assert!(!text.contains(VALUE_ONE) && !text.contains(VALUE_TWO));
}

#[test]
fn oversized_or_malformed_annotations_are_refused_without_quoting_them() {
    let files = SqliteFiles::new("ax-management-", 9);
    let plane = Plane::start(&files);
    let admin = plane.admin();
    admin.create_tenant("acme").unwrap();
    let marker = "Zq7annotation";
    let bodies = [
        json!({"value": "v", "description": marker.repeat(100)}),
        json!({"value": "v", "metadata": {"team": marker.repeat(50)}}),
        json!({"value": "v", "metadata": {format!("{marker} key"): "x"}}),
        json!({"value": "v", "metadata": {"team": 5}}),
        json!({"value": "v", "metadata": [marker]}),
        json!({"value": "v", "rotation_days": 4000}),
        json!({"value": "v", "rotation_days": -1}),
        json!({"value": "v", "reason": marker.repeat(100)}),
        json!({"value": "v", "metadata": (0..40).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
    ];
    for body in &bodies {
        let (code, answer) = raw(&admin, "PUT", "/v1/tenants/acme/secrets/NAME", Some(body));
        assert_eq!(code, 400, "{body}");
        assert_eq!(answer["error"], "bad_request");
        let text = answer.to_string();
        assert!(!text.contains(marker), "{text}");
    }
    assert!(
        admin.list_secrets("acme").unwrap()["secrets"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn each_replace_is_a_rotation_in_the_history_with_its_actor_and_reason() {
    let files = SqliteFiles::new("ax-management-", 9);
    let plane = Plane::start(&files);
    let admin = plane.admin();
    admin.create_tenant("acme").unwrap();
    let token = admin.create_token("deploy-bot", "manager").unwrap();
    let bot = admin.with_token(token["token"].as_str().unwrap());
    admin
        .put_secret("acme", "API_KEY", VALUE_ONE, false)
        .unwrap();
    bot.put_secret_body(
        "acme",
        "API_KEY",
        &json!({"value": VALUE_TWO, "replace": true, "reason": "quarterly rotation"}),
    )
    .unwrap();
    let history = bot.history("acme", "API_KEY").unwrap();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["action"], "create");
    assert_eq!(versions[0]["actor"], "admin");
    assert_eq!(versions[0]["reason"], Value::Null);
    assert_eq!(versions[1]["version"], 2);
    assert_eq!(versions[1]["action"], "rotate");
    assert_eq!(versions[1]["actor"], "deploy-bot");
    assert_eq!(versions[1]["reason"], "quarterly rotation");
    // Refused without confirmation: no new version.
    assert_eq!(
        status(bot.put_secret("acme", "API_KEY", VALUE_ONE, false)),
        409
    );
    assert_eq!(
        bot.history("acme", "API_KEY").unwrap()["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Deleted and created again: a new history from version 1.
    bot.delete_secret("acme", "API_KEY").unwrap();
    assert_eq!(status(bot.history("acme", "API_KEY")), 404);
    bot.put_secret("acme", "API_KEY", VALUE_ONE, false).unwrap();
    let again = bot.history("acme", "API_KEY").unwrap();
    assert_eq!(again["versions"].as_array().unwrap().len(), 1);
    assert_eq!(again["versions"][0]["actor"], "deploy-bot");
}

#[test]
fn management_actions_are_audited_with_their_actor_and_can_be_filtered_and_paged() {
    let files = SqliteFiles::new("ax-management-", 9);
    let plane = Plane::start(&files);
    let admin = plane.admin();
    admin.create_tenant("acme").unwrap();
    let token = admin.create_token("ops", "manager").unwrap();
    let ops = admin.with_token(token["token"].as_str().unwrap());
    ops.put_secret("acme", "API_KEY", VALUE_ONE, false).unwrap();
    ops.put_secret_body(
        "acme",
        "API_KEY",
        &json!({"value": VALUE_TWO, "replace": true, "reason": "leaked"}),
    )
    .unwrap();
    ops.create_environment("acme", "staging").unwrap();
    ops.create_config("acme", "nightly").unwrap();
    ops.put_override("acme", "nightly", "API_KEY", VALUE_ONE, false)
        .unwrap();
    ops.delete_secret("acme", "API_KEY").unwrap();
    let all = ops.audit_query("acme", "kind=management").unwrap();
    assert_eq!(
        actions(&all),
        [
            "tenant_create",
            "secret_create",
            "secret_rotate",
            "environment_create",
            "config_create",
            "override_create",
            "secret_delete"
        ]
    );
    let events = all["events"].as_array().unwrap();
    assert_eq!(events[0]["actor"], "admin");
    assert!(events[1..].iter().all(|e| e["actor"] == "ops"));
    assert!(events.iter().all(|e| e["kind"] == "management"));
    assert_eq!(events[2]["reason"], "leaked");
    assert_eq!(events[2]["version"], 2);
    assert_eq!(events[5]["config"], "nightly");
    assert_eq!(events[3]["environment"], "staging");
    let text = all.to_string();
    assert!(!text.contains(VALUE_ONE) && !text.contains(VALUE_TWO));

    // Filters: name, action, time window.
    let named = ops
        .audit_query("acme", "kind=management&name=API_KEY")
        .unwrap();
    assert_eq!(actions(&named).len(), 4);
    let rotations = ops
        .audit_query("acme", "kind=management&action=secret_rotate")
        .unwrap();
    assert_eq!(actions(&rotations), ["secret_rotate"]);
    assert_eq!(
        actions(&ops.audit_query("acme", "kind=management&days=1").unwrap()).len(),
        7
    );
    assert!(
        actions(
            &ops.audit_query("acme", "kind=management&since=2999-01-01T00:00:00Z")
                .unwrap()
        )
        .is_empty()
    );
    assert!(
        actions(
            &ops.audit_query("acme", "kind=management&until=1000")
                .unwrap()
        )
        .is_empty()
    );
    // The default kind is the access trail, as before: no management event in it.
    assert!(actions(&ops.audit_query("acme", "").unwrap()).is_empty());

    // Pages of 3, cursor to cursor, give the whole trail once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("kind=management&limit=3&cursor={c}"),
            None => "kind=management&limit=3".to_owned(),
        };
        let page = ops.audit_query("acme", &query).unwrap();
        assert!(page["events"].as_array().unwrap().len() <= 3);
        seen.extend(actions(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, actions(&all));

    for bad in [
        "since=yesterday",
        "until=2026-13-01T00:00:00Z",
        "days=many",
        "limit=0",
        "limit=100000",
        "cursor=x",
        "kind=everything",
    ] {
        let (code, answer) = raw(&ops, "GET", &format!("/v1/tenants/acme/audit?{bad}"), None);
        assert_eq!(code, 400, "{bad}");
        assert_eq!(answer["error"], "bad_request");
    }
}

#[test]
fn access_events_are_filtered_by_action_and_time_window() {
    let files = SqliteFiles::new("ax-management-", 9);
    let plane = Plane::start(&files);
    let admin = plane.admin();
    admin.create_tenant("acme").unwrap();
    admin
        .put_secret("acme", "API_KEY", VALUE_ONE, false)
        .unwrap();
    let execution = admin.create_execution("acme", None, None, None).unwrap();
    let id = execution.execution_id.as_str();
    let token = execution.token.as_str();
    let event = |seq: u64, time: &str, action: &str| {
        json!({"seq": seq, "time": time, "action": action, "names": ["API_KEY"],
               "found": true, "peer": {"pid": 1, "uid": 0, "gid": 0}})
    };
    let batch = json!({"execution_id": id, "sidecar": "test/0", "dropped": 0, "events": [
        event(1, "2026-11-23T01:02:03.456Z", "get"),
        event(2, "2026-11-24T01:02:03.456Z", "list"),
    ]});
    let posted = admin
        .https()
        .json(
            "POST",
            &format!("/v1/executions/{id}/audit"),
            Some(token),
            &batch,
        )
        .unwrap();
    assert_eq!(posted.status, 200);
    let q = |query: &str| actions(&admin.audit_query("acme", query).unwrap());
    assert_eq!(q(""), ["get", "list"]);
    assert_eq!(q("action=list"), ["list"]);
    assert_eq!(
        q("since=2026-11-23T00:00:00Z&until=2026-11-24T00:00:00Z"),
        ["get"]
    );
    assert_eq!(q("since=2026-11-24T00:00:00%2B00:00"), ["list"]);
    assert_eq!(q(&format!("execution={id}&limit=1")), ["get"]);
    // Both trails, by time: the management actions of now come after these events.
    let both = q("kind=all");
    assert_eq!(both, ["get", "list", "tenant_create", "secret_create"]);
    // Management actions belong to no execution.
    assert_eq!(q(&format!("kind=all&execution={id}")), ["get", "list"]);
}

#[test]
fn each_role_may_call_its_routes_and_is_refused_the_others_with_403() {
    let files = SqliteFiles::new("ax-management-", 9);
    let plane = Plane::start(&files);
    let admin = plane.admin();
    admin.create_tenant("acme").unwrap();
    admin
        .put_secret("acme", "API_KEY", VALUE_ONE, false)
        .unwrap();
    let make = |name: &str, role: &str| {
        let created = admin.create_token(name, role).unwrap();
        assert_eq!(created["name"], name);
        assert_eq!(created["role"], role);
        assert_eq!(created["created_by"], "admin");
        let token = created["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("axtok_"));
        admin.with_token(&token)
    };
    let owner = make("second-owner", "owner");
    let manager = make("ci", "manager");
    let viewer = make("auditor", "viewer");

    // A viewer reads names, metadata, history and audit...
    for path in [
        "/v1/tenants",
        "/v1/tenants/acme",
        "/v1/tenants/acme/secrets",
        "/v1/tenants/acme/secrets/API_KEY",
        "/v1/tenants/acme/secrets/API_KEY/history",
        "/v1/tenants/acme/audit?kind=all",
        "/v1/tenants/acme/configs",
        "/v1/tenants/acme/environments",
    ] {
        assert_eq!(raw(&viewer, "GET", path, None).0, 200, "{path}");
    }
    // ...and changes nothing.
    let value = json!({"value": VALUE_TWO, "replace": true});
    let changes: [(&str, &str, Option<&Value>); 8] = [
        ("PUT", "/v1/tenants/acme/secrets/API_KEY", Some(&value)),
        ("PUT", "/v1/tenants/acme/secrets/NEW_KEY", Some(&value)),
        ("DELETE", "/v1/tenants/acme/secrets/API_KEY", None),
        ("PUT", "/v1/tenants/acme/configs/nightly", None),
        ("PUT", "/v1/tenants/acme/environments/staging", None),
        ("POST", "/v1/tenants/acme/executions", None),
        ("PUT", "/v1/tenants/acme/faults", Some(&json!({}))),
        ("POST", "/v1/tenants", Some(&json!({"name": "other"}))),
    ];
    for (method, path, body) in changes {
        let (code, answer) = raw(&viewer, method, path, body);
        assert_eq!(code, 403, "{method} {path}");
        assert_eq!(answer["error"], "forbidden");
        assert!(answer["message"].as_str().unwrap().contains("viewer"));
    }
    assert_eq!(
        admin.history("acme", "API_KEY").unwrap()["versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Neither a viewer nor a manager touches the tokens or the signing keys.
    for who in [&viewer, &manager] {
        for (method, path, body) in [
            ("GET", "/v1/tokens", None),
            (
                "POST",
                "/v1/tokens",
                Some(json!({"name": "x", "role": "owner"})),
            ),
            ("DELETE", "/v1/tokens/auditor", None),
            ("GET", "/v1/admin/signing-keys", None),
            ("POST", "/v1/admin/signing-keys", None),
            ("POST", "/v1/admin/signing-keys/promote", None),
        ] {
            let (code, answer) = raw(who, method, path, body.as_ref());
            assert_eq!(code, 403, "{method} {path}");
            assert_eq!(answer["error"], "forbidden");
            assert!(answer["message"].as_str().unwrap().contains("owner"));
        }
    }
    // A manager adds, edits and deletes.
    for (method, path, body) in changes {
        let (code, _) = raw(&manager, method, path, body);
        assert!((200..300).contains(&code), "{method} {path}: {code}");
    }
    // An owner token manages tokens; listings never show a token.
    let listed = owner.list_tokens().unwrap();
    let names: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["auditor", "ci", "second-owner"]);
    assert!(listed["tokens"][0].get("token").is_none());
    assert_eq!(status(owner.create_token("ci", "viewer")), 409);
    assert_eq!(status(owner.create_token("admin", "viewer")), 400);
    assert_eq!(status(owner.create_token("bad name", "viewer")), 400);
    assert_eq!(status(owner.create_token("x", "superuser")), 400);
    owner.revoke_token("auditor").unwrap();
    assert_eq!(status(owner.list_tokens().map(|_| Value::Null)), 200);
    let (code, answer) = raw(&viewer, "GET", "/v1/tenants", None);
    assert_eq!(code, 401, "a revoked token is unknown");
    assert_eq!(answer["error"], "unauthorized");
    assert_eq!(
        raw(&admin.with_token("axtok_guess"), "GET", "/v1/tenants", None).0,
        401
    );
    assert_eq!(
        status(owner.revoke_token("auditor").map(|()| Value::Null)),
        404
    );
    // Making and revoking tokens is audited with its actor, never with a token.
    let trail = owner.token_audit().unwrap();
    let events: Vec<(String, String, String)> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (s("action"), s("token"), s("actor"))
        })
        .collect();
    let own = |a: &str, t: &str, by: &str| (a.to_owned(), t.to_owned(), by.to_owned());
    assert_eq!(
        events,
        [
            own("token_create", "second-owner", "admin"),
            own("token_create", "ci", "admin"),
            own("token_create", "auditor", "admin"),
            own("token_revoke", "auditor", "second-owner"),
        ]
    );
    assert!(!trail.to_string().contains("axtok_"));
    assert_eq!(raw(&manager, "GET", "/v1/tokens/audit", None).0, 403);
}

#[test]
fn a_restart_keeps_metadata_history_tokens_and_the_management_audit() {
    let files = SqliteFiles::new("ax-management-", 9);
    let plane = Plane::start(&files);
    let admin = plane.admin();
    admin.create_tenant("acme").unwrap();
    let viewer_token = admin.create_token("auditor", "viewer").unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let manager_token = admin.create_token("ci", "manager").unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ci = admin.with_token(&manager_token);
    ci.put_secret_body(
        "acme",
        "API_KEY",
        &json!({"value": VALUE_ONE, "description": "payments", "metadata": {"team": "pay"},
                "rotation_days": 90}),
    )
    .unwrap();
    ci.put_secret_body(
        "acme",
        "API_KEY",
        &json!({"value": VALUE_TWO, "replace": true, "reason": "scheduled"}),
    )
    .unwrap();
    ci.create_config("acme", "nightly").unwrap();
    ci.put_override("acme", "nightly", "API_KEY", VALUE_ONE, false)
        .unwrap();
    let before_secret = admin.secret("acme", "API_KEY").unwrap();
    let before_history = admin.history("acme", "API_KEY").unwrap();
    let before_audit = admin.audit_query("acme", "kind=management").unwrap();
    let before_tokens = admin.list_tokens().unwrap();
    let before_token_audit = admin.token_audit().unwrap();
    plane.stop();

    // The tokens are kept as digests only.
    let raw_db: Vec<u8> = files.raw_bytes().into_iter().flat_map(|(_, b)| b).collect();
    for token in [&viewer_token, &manager_token] {
        assert!(memchr::memmem::find(&raw_db, token.as_bytes()).is_none());
    }

    let plane = Plane::start(&files);
    let admin = plane.admin();
    // The viewer token of the first start still works, and still only reads.
    let viewer = admin.with_token(&viewer_token);
    assert_eq!(viewer.secret("acme", "API_KEY").unwrap(), before_secret);
    assert_eq!(viewer.history("acme", "API_KEY").unwrap(), before_history);
    assert_eq!(
        viewer.audit_query("acme", "kind=management").unwrap(),
        before_audit
    );
    assert_eq!(admin.list_tokens().unwrap(), before_tokens);
    assert_eq!(admin.token_audit().unwrap(), before_token_audit);
    assert_eq!(before_token_audit["events"].as_array().unwrap().len(), 2);
    assert_eq!(
        status(viewer.put_secret("acme", "API_KEY", VALUE_ONE, true)),
        403
    );
    // The trail goes on after the restart.
    let ci = admin.with_token(&manager_token);
    ci.delete_secret("acme", "API_KEY").unwrap();
    let after = admin.audit_query("acme", "kind=management").unwrap();
    let last = after["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "secret_delete");
    assert_eq!(last["actor"], "ci");
    assert_eq!(
        last["seq"].as_u64().unwrap(),
        before_audit["events"].as_array().unwrap().len() as u64 + 1
    );
}

#[test]
fn a_database_of_schema_1_is_migrated_at_start_and_keeps_its_secrets() {
    let files = SqliteFiles::new("ax-management-", 9);
    let plane = Plane::start(&files);
    let admin = plane.admin();
    admin.create_tenant("acme").unwrap();
    admin
        .put_secret("acme", "API_KEY", VALUE_ONE, false)
        .unwrap();
    let before = admin.secret("acme", "API_KEY").unwrap();
    plane.stop();
    // Back to what schema 1 had: no annotation columns, none of the later tables (those of
    // schema 2, and schema 3's signing keys, whose current one schema 1 keeps in `identity`).
    files.sql(
        "ALTER TABLE secrets DROP COLUMN description;
         ALTER TABLE secrets DROP COLUMN metadata;
         ALTER TABLE secrets DROP COLUMN rotation_days;
         DROP TABLE rotations; DROP TABLE management_events; DROP TABLE api_tokens;
         DROP TABLE token_events; DROP TABLE signing_keys;
         DELETE FROM schema_version WHERE version >= 2;",
    );
    let plane = Plane::start(&files);
    let admin = plane.admin();
    let version: i64 = rusqlite::Connection::open(files.db())
        .unwrap()
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3, "every migration step applied");
    let after = admin.secret("acme", "API_KEY").unwrap();
    for key in ["name", "version", "created_at", "updated_at"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    assert_eq!(after["metadata"], json!({}));
    // Its history starts with its next rotation, which is served as usual.
    assert!(
        admin.history("acme", "API_KEY").unwrap()["versions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let rotated = admin
        .put_secret("acme", "API_KEY", VALUE_TWO, true)
        .unwrap();
    assert_eq!(rotated["version"], 2);
    let history = admin.history("acme", "API_KEY").unwrap();
    assert_eq!(history["versions"][0]["version"], 2);
    assert_eq!(history["versions"][0]["action"], "rotate");
}
