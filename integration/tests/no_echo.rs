//! The reference control plane never hands back what a caller put in the wrong place: a value
//! sent as a tenant, secret, config, environment or execution name, a bad field of a faults
//! object or an execution request, malformed or oversized JSON, a wrong token. Every route
//! gets such requests, each with its own marker, and no marker may appear in a response body,
//! a response header or the control plane's output.
//!
//! The control plane runs as its own process (`ax-control-plane`) so that its stdout and
//! stderr can be read whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ax_integration::admin::{Admin, encode_component};
use ax_integration::https::HttpResponse;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

const CONTROL_PLANE: &str = env!("CARGO_BIN_EXE_ax-control-plane");

/// The control plane process; killed if the test fails.
struct Plane {
    child: Child,
    /// Its first line of stdout, the URL, already read.
    url_line: String,
}

impl Plane {
    fn start(state_dir: &Path) -> (Self, Admin) {
        let mut child = Command::new(CONTROL_PLANE)
            .arg("--state-dir")
            .arg(state_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // It writes the URL file last, then prints the URL: a line on stdout means it serves.
        // (It prints one line on each stream at start and nothing more, far below what a
        // pipe holds, so nothing blocks until `stop` reads the rest.)
        let mut url_line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut url_line)
            .unwrap();
        assert!(
            url_line.starts_with("https://"),
            "the control plane started"
        );
        let plane = Self { child, url_line };
        let admin = Admin::from_state_dir(state_dir).unwrap();
        (plane, admin)
    }

    /// Stops it and returns everything it printed.
    fn stop(mut self) -> String {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let mut output = std::mem::take(&mut self.url_line);
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut output)
            .unwrap();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut output)
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
        output
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request with a marker in the wrong place, and what it got.
struct Probe {
    marker: String,
    what: String,
    response: HttpResponse,
}

/// Sends the requests and keeps their answers.
struct Prober {
    admin: Admin,
    state: PathBuf,
    probes: Vec<Probe>,
    next: u32,
}

impl Prober {
    /// A fresh marker: letters and digits only, so that no escaping can disguise an echo.
    fn marker(&mut self) -> String {
        self.next += 1;
        format!(
            "Zq{}echo{:03}",
            ax_integration::util::random_hex(6).unwrap(),
            self.next
        )
    }

    fn keep(&mut self, marker: &str, what: &str, response: HttpResponse) {
        assert!(
            !(200..300).contains(&response.status),
            "{what}: a misplaced marker must be refused, got {}",
            response.status
        );
        self.probes.push(Probe {
            marker: marker.to_owned(),
            what: what.to_owned(),
            response,
        });
    }

    /// `method path` with a JSON body, as the admin.
    fn json(&mut self, marker: &str, what: &str, method: &str, path: &str, body: &Value) {
        let response = self.admin.raw(method, path, Some(body)).unwrap();
        self.keep(marker, what, response);
    }

    /// `method path` with raw bytes as the body.
    fn raw(&mut self, marker: &str, what: &str, method: &str, path: &str, body: &[u8]) {
        self.bearer(marker, what, method, path, None, body);
    }

    /// With a bearer token of our choice (`None`: the admin token).
    fn bearer(
        &mut self,
        marker: &str,
        what: &str,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: &[u8],
    ) {
        let admin_token = self.admin_token();
        let response = self
            .admin
            .https()
            .request(
                method,
                path,
                Some(bearer.unwrap_or(&admin_token)),
                Some(("application/json", body)),
            )
            .unwrap();
        self.keep(marker, what, response);
    }

    fn admin_token(&self) -> String {
        std::fs::read_to_string(self.admin_token_file())
            .unwrap()
            .trim()
            .to_owned()
    }

    fn admin_token_file(&self) -> PathBuf {
        self.state.join("admin-token")
    }
}

/// Makes a request body around a marker.
type BodyOf = Box<dyn Fn(&str) -> String>;

/// A wrong-place request for every route of the management API and the sidecar endpoints.
fn probe_every_route(p: &mut Prober, execution_id: &str, token: &str) {
    let enc = |s: &str| encode_component(s);
    let valid_value = json!({"value": "not-a-marker", "replace": false});

    // Names in path segments: unknown, malformed (not a label), too long.
    for (shape, make) in [
        ("unknown", (|m: &str| m.to_owned()) as fn(&str) -> String),
        ("malformed", |m: &str| format!("{m} !\"/")),
        ("oversized", |m: &str| m.repeat(12)),
    ] {
        let m = p.marker();
        let name = enc(&make(&m));
        let routes: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", format!("/v1/tenants/{name}"), None),
            ("GET", format!("/v1/tenants/{name}/secrets"), None),
            (
                "PUT",
                format!("/v1/tenants/{name}/secrets/API_KEY"),
                Some(valid_value.clone()),
            ),
            ("GET", format!("/v1/tenants/acme/secrets/{name}"), None),
            ("DELETE", format!("/v1/tenants/acme/secrets/{name}"), None),
            ("GET", format!("/v1/tenants/{name}/environments"), None),
            (
                "PUT",
                format!("/v1/tenants/{name}/environments/staging"),
                None,
            ),
            (
                "DELETE",
                format!("/v1/tenants/acme/environments/{name}"),
                None,
            ),
            ("GET", format!("/v1/tenants/{name}/configs"), None),
            ("PUT", format!("/v1/tenants/{name}/configs/nightly"), None),
            ("DELETE", format!("/v1/tenants/acme/configs/{name}"), None),
            (
                "PUT",
                format!("/v1/tenants/acme/configs/{name}/overrides/API_KEY"),
                Some(valid_value.clone()),
            ),
            (
                "DELETE",
                format!("/v1/tenants/acme/configs/{name}/overrides/API_KEY"),
                None,
            ),
            (
                "DELETE",
                format!("/v1/tenants/acme/configs/nightly/overrides/{name}"),
                None,
            ),
            ("PUT", format!("/v1/tenants/{name}/faults"), Some(json!({}))),
            (
                "POST",
                format!("/v1/tenants/{name}/executions"),
                Some(json!({})),
            ),
            ("GET", format!("/v1/tenants/{name}/audit?name={name}"), None),
            ("GET", format!("/v1/executions/{name}"), None),
            ("POST", format!("/v1/executions/{name}/finish"), None),
            (
                "POST",
                format!("/v1/executions/{name}/bundle"),
                Some(json!({})),
            ),
            (
                "POST",
                format!("/v1/executions/{name}/audit"),
                Some(json!({})),
            ),
            ("GET", format!("/v1/{name}"), None),
            ("POST", format!("/v1/tenants/acme/{name}"), None),
            (
                "GET",
                format!("/v1/tenants/acme/secrets/{name}/history"),
                None,
            ),
            (
                "GET",
                format!("/v1/tenants/acme/configs/{name}/overrides/API_KEY/history"),
                None,
            ),
            ("DELETE", format!("/v1/tokens/{name}"), None),
            (
                "POST",
                "/v1/tokens".to_owned(),
                Some(json!({"name": "probe", "role": name})),
            ),
            ("DELETE", format!("/v1/admin/signing-keys/{name}"), None),
        ];
        let mut routes = routes;
        for key in ["since", "until", "days", "limit", "cursor", "kind"] {
            routes.push(("GET", format!("/v1/tenants/acme/audit?{key}={name}"), None));
        }
        if shape != "unknown" {
            let body = json!({"name": make(&m), "role": "viewer"});
            p.json(
                &m,
                &format!("{shape} name: POST /v1/tokens"),
                "POST",
                "/v1/tokens",
                &body,
            );
            // A well-formed name is the right place for a name (a secret, an environment or a
            // config is created, and named in the answer); a name that is not one is refused.
            for path in [
                format!("/v1/tenants/acme/secrets/{name}"),
                format!("/v1/tenants/acme/configs/nightly/overrides/{name}"),
            ] {
                let what = format!("{shape} name: PUT {path}");
                p.json(&m, &what, "PUT", &path, &valid_value);
            }
            for path in [
                format!("/v1/tenants/acme/environments/{name}"),
                format!("/v1/tenants/acme/configs/{name}"),
            ] {
                let what = format!("{shape} name: PUT {path}");
                p.raw(&m, &what, "PUT", &path, b"");
            }
        }
        for (method, path, body) in routes {
            let what = format!("{shape} name: {method} {path}");
            match body {
                Some(b) => p.json(&m, &what, method, &path, &b),
                None => p.raw(&m, &what, method, &path, b""),
            }
        }
    }

    // An existing name sent again: the conflict does not repeat it.
    let m = p.marker();
    p.admin.create_tenant(&m).unwrap();
    p.json(
        &m,
        "existing tenant",
        "POST",
        "/v1/tenants",
        &json!({"name": m}),
    );
    let name = format!("K{m}");
    p.admin
        .put_secret("acme", &name, "v1-not-a-marker", false)
        .unwrap();
    let path = format!("/v1/tenants/acme/secrets/{name}");
    p.json(&name, "existing secret", "PUT", &path, &valid_value);
    p.admin
        .put_override("acme", "nightly", &name, "v1-not-a-marker", false)
        .unwrap();
    let path = format!("/v1/tenants/acme/configs/nightly/overrides/{name}");
    p.json(&name, "existing override", "PUT", &path, &valid_value);

    // Annotations over their limits or of the wrong shape: refused, and not quoted.
    let m = p.marker();
    for body in [
        json!({"value": "v", "description": m.repeat(100)}),
        json!({"value": "v", "metadata": {"team": m.repeat(50)}}),
        json!({"value": "v", "metadata": {format!("{m} !"): "x"}}),
        json!({"value": "v", "metadata": {"team": [m.clone()]}}),
        json!({"value": "v", "reason": m.repeat(100)}),
        json!({"value": "v", "rotation_days": m.clone()}),
    ] {
        let what = format!("annotations: {body}");
        p.json(
            &m,
            &what,
            "PUT",
            "/v1/tenants/acme/secrets/ANNOTATED",
            &body,
        );
    }

    // JSON fields: unknown, of the wrong type, malformed, cut short, each body on each route.
    let json_routes = [
        ("POST", "/v1/tenants".to_owned()),
        ("PUT", "/v1/tenants/acme/secrets/API_KEY".to_owned()),
        (
            "PUT",
            "/v1/tenants/acme/configs/nightly/overrides/API_KEY".to_owned(),
        ),
        ("PUT", "/v1/tenants/acme/faults".to_owned()),
        ("POST", "/v1/tenants/acme/executions".to_owned()),
        ("POST", format!("/v1/executions/{execution_id}/audit")),
    ];
    for (method, path) in &json_routes {
        let bodies: Vec<(&str, BodyOf)> = vec![
            (
                "unknown field",
                Box::new(|m| format!(r#"{{"{m}": "{m}"}}"#)),
            ),
            (
                "wrong types",
                Box::new(|m| {
                    format!(
                        r#"{{"name": ["{m}"], "value": ["{m}"], "delay_ms": "{m}", "config": ["{m}"], "execution_id": ["{m}"], "events": "{m}"}}"#
                    )
                }),
            ),
            ("malformed", Box::new(|m| format!(r#"{{"name": {m}}}"#))),
            ("cut short", Box::new(|m| format!(r#"{{"name": "{m}"#))),
            ("not json", Box::new(|m| format!("{m} {m}"))),
        ];
        for (shape, make) in bodies {
            let m = p.marker();
            let what = format!("{shape} body: {method} {path}");
            if path.ends_with("/audit") {
                p.bearer(&m, &what, method, path, Some(token), make(&m).as_bytes());
            } else {
                p.raw(&m, &what, method, path, make(&m).as_bytes());
            }
        }
    }

    // Fields that parse but name what does not exist or is not allowed.
    let m = p.marker();
    for (what, body) in [
        ("unknown config", json!({"config": m})),
        ("unknown environment", json!({"environment": m})),
        ("oversized config", json!({"config": m.repeat(20)})),
        ("unknown faults field", json!({"faults": {m.clone(): 1}})),
        (
            "faults field of the wrong type",
            json!({"faults": {"status": m}}),
        ),
    ] {
        p.json(&m, what, "POST", "/v1/tenants/acme/executions", &body);
    }
    for (what, body) in [
        ("faults field", json!({m.clone(): true})),
        ("faults value", json!({"tamper": m})),
        ("faults status", json!({"status": m})),
    ] {
        p.json(&m, what, "PUT", "/v1/tenants/acme/faults", &body);
    }
    let m = p.marker();
    p.json(
        &m,
        "tenant name in the wrong field",
        "POST",
        "/v1/tenants",
        &json!({"name": format!("{m}!")}),
    );
    p.json(
        &m,
        "oversized tenant name",
        "POST",
        "/v1/tenants",
        &json!({"name": m.repeat(20)}),
    );

    // The sidecar endpoints: a wrong token, a bad bundle request, a batch for another id.
    let m = p.marker();
    let bundle = format!("/v1/executions/{execution_id}/bundle");
    let audit = format!("/v1/executions/{execution_id}/audit");
    p.bearer(
        &m,
        "wrong execution token",
        "POST",
        &bundle,
        Some(&m),
        b"{}",
    );
    p.bearer(&m, "wrong execution token", "POST", &audit, Some(&m), b"{}");
    p.bearer(&m, "wrong admin token", "GET", "/v1/tenants", Some(&m), b"");
    let body = json!({"recipient_key": m, "suite": m, "sidecar": m}).to_string();
    p.bearer(
        &m,
        "bad bundle request",
        "POST",
        &bundle,
        Some(token),
        body.as_bytes(),
    );
    let body = json!({"recipient_key": "AAAA", "suite": m}).to_string();
    p.bearer(
        &m,
        "unknown suite",
        "POST",
        &bundle,
        Some(token),
        body.as_bytes(),
    );
    let body = json!({"execution_id": m, "events": []}).to_string();
    p.bearer(
        &m,
        "batch of another execution",
        "POST",
        &audit,
        Some(token),
        body.as_bytes(),
    );
    let body = json!({"execution_id": execution_id, "events": [{"seq": m}]}).to_string();
    p.bearer(
        &m,
        "event without a seq",
        "POST",
        &audit,
        Some(token),
        body.as_bytes(),
    );

    // A body over the limit, made of markers.
    // The server may close the connection before reading all of it (a reset then loses the
    // answer): then nothing came back, which echoes nothing either.
    let m = p.marker();
    let huge = format!(r#"{{"name": "{}"}}"#, m.repeat((8 << 20) / m.len() + 1));
    let token = p.admin_token();
    let sent = p.admin.https().request(
        "POST",
        "/v1/tenants",
        Some(&token),
        Some(("application/json", huge.as_bytes())),
    );
    if let Ok(response) = sent {
        assert_eq!(response.status, 413);
        p.keep(&m, "oversized body", response);
    }
}

#[test]
fn no_error_of_any_route_echoes_what_the_caller_sent() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (plane, admin) = Plane::start(&state);
    admin.create_tenant("acme").unwrap();
    admin.create_config("acme", "nightly").unwrap();
    let execution = admin.create_execution("acme", None, None, None).unwrap();
    let mut prober = Prober {
        admin,
        state,
        probes: Vec::new(),
        next: 0,
    };
    probe_every_route(&mut prober, &execution.execution_id, &execution.token);
    let output = plane.stop();

    assert!(prober.probes.len() > 100, "every route was probed");
    for probe in &prober.probes {
        let Probe {
            marker,
            what,
            response,
        } = probe;
        let body = String::from_utf8_lossy(&response.body);
        assert!(
            !body.contains(marker.as_str()),
            "{what}: the answer {} echoes the caller's input: {body}",
            response.status
        );
        for (name, value) in &response.headers {
            assert!(
                !name.contains(marker.as_str()) && !value.contains(marker.as_str()),
                "{what}: the header {name} echoes the caller's input"
            );
        }
        assert!(
            !output.contains(marker.as_str()),
            "{what}: the control plane printed the caller's input: {output}"
        );
    }
}
