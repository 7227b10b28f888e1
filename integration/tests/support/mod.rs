//! Shared helpers of the end-to-end tests: a reference control plane on loopback (recording
//! every response body), its state directory, the real `ax-sidecar`, `ax-run` and `ax-probe`
//! binaries, and a leak scan over everything the tests saw.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod sqlite;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use ax_integration::admin::Admin;
use ax_integration::control_plane::{Config, ControlPlane, StateFiles};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

/// `ax-run`.
pub const AX_RUN: &str = env!("CARGO_BIN_EXE_ax-run");
/// `ax-probe`.
pub const AX_PROBE: &str = env!("CARGO_BIN_EXE_ax-probe");

/// How long a test waits for something that takes milliseconds before failing.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The sidecar binary: `$AX_SIDECAR_BIN`, or built with `cargo build -q -p ax-sidecar`.
pub fn sidecar_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("AX_SIDECAR_BIN").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", "ax-sidecar"])
            .current_dir(repo_root())
            .status()
            .expect("cargo build -p ax-sidecar");
        assert!(status.success(), "cargo build -p ax-sidecar failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"));
        target.join("debug").join("ax-sidecar")
    })
    .clone()
}

/// Everything printed and received in this test process, for the leak scan.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records text the tests saw.
pub fn saw(text: &str) {
    SEEN.lock().unwrap().push(text.to_owned());
}

/// A control plane with its state directory.
pub struct Env {
    pub plane: ControlPlane,
    pub dir: tempfile::TempDir,
    pub files: StateFiles,
    pub admin: Admin,
}

impl Env {
    /// A fresh control plane that records its responses.
    pub fn start() -> Self {
        Self::with_config(Config {
            record_responses: true,
            ..Config::default()
        })
    }

    /// With settings.
    pub fn with_config(config: Config) -> Self {
        let plane = ControlPlane::start(config).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("ax-integration-")
            .tempdir()
            .unwrap();
        let files = plane.write_state_dir(&dir.path().join("state")).unwrap();
        let admin = Admin::new(&plane.url, plane.ca_pem.as_bytes(), &plane.admin_token).unwrap();
        Self {
            plane,
            dir,
            files,
            admin,
        }
    }

    /// A tenant with `secrets`.
    pub fn tenant(&self, tenant: &str, secrets: &[(&str, &str)]) {
        self.admin.create_tenant(tenant).unwrap();
        for (name, value) in secrets {
            self.admin.put_secret(tenant, name, value, false).unwrap();
        }
    }

    /// The state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// A private runtime directory for ax-run's socket directories, to check they go away.
    pub fn runtime_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("run");
        ax_integration::util::create_private_dir(&dir).unwrap();
        dir
    }

    /// `ax-run` with the state directory, tenant and extra flags, then `--` and `cmd`.
    pub fn ax_run(&self, tenant: &str, flags: &[&str], cmd: &[&str]) -> Command {
        let mut command = Command::new(AX_RUN);
        command
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("--tenant")
            .arg(tenant)
            .arg("--sidecar")
            .arg(sidecar_bin())
            .arg("--runtime-dir")
            .arg(self.runtime_dir())
            .args(flags)
            .arg("--")
            .args(cmd)
            .stdin(Stdio::null());
        command
    }

    /// Runs `ax-run ... -- ax-probe OPS...` to completion.
    pub fn probe(&self, tenant: &str, flags: &[&str], ops: &[&str]) -> Run {
        let mut cmd = vec![AX_PROBE];
        cmd.extend_from_slice(ops);
        run(self.ax_run(tenant, flags, &cmd))
    }

    /// Every response body the control plane sent, as (lossy) text.
    pub fn responses(&self) -> Vec<String> {
        self.plane
            .responses()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    /// Asserts the runtime directory holds no socket directory.
    pub fn assert_no_socket_dirs(&self) {
        let left: Vec<_> = std::fs::read_dir(self.runtime_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "socket directories left behind: {left:?}");
    }
}

/// A finished process.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON lines of stdout.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The probe's `get` line for `name`.
    pub fn get(&self, name: &str) -> serde_json::Value {
        self.lines()
            .into_iter()
            .find(|l| l["op"] == "get" && l["name"] == name)
            .unwrap_or_else(|| panic!("no get line for {name} in {self:?}"))
    }
}

/// Runs a command to completion, recording its output for the leak scan.
pub fn run(mut command: Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let run = Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    saw(&run.stdout);
    saw(&run.stderr);
    run
}

/// The fingerprint the probe prints for `value`.
pub fn fingerprint(value: &str) -> String {
    ax_integration::util::fingerprint(value.as_bytes(), 6)
}

/// The forms a value commonly leaks in.
pub fn encodings(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_owned(),
        STANDARD.encode(value),
        URL_SAFE.encode(value),
        URL_SAFE_NO_PAD.encode(value),
    ];
    let json = serde_json::to_string(value).unwrap();
    forms.push(json[1..json.len() - 1].to_owned());
    let percent: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    forms.push(percent);
    forms.sort();
    forms.dedup();
    forms
}

/// Asserts none of `values` (nor an encoding) appears in `texts`.
pub fn assert_no_leak(texts: &[String], values: &[&str]) {
    for value in values {
        assert!(value.len() >= 8, "leak-scan values must be distinctive");
        for form in encodings(value) {
            for (i, text) in texts.iter().enumerate() {
                assert!(
                    !text.contains(&form),
                    "a secret value (in some encoding) appears in output #{i}"
                );
            }
        }
    }
}

/// Everything recorded by [`saw`] and [`run`] so far.
pub fn seen() -> Vec<String> {
    SEEN.lock().unwrap().clone()
}

/// A child whose stdout we read line by line (for the signal tests).
pub struct Live {
    pub child: Child,
    pub stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Live {
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        Self { child, stdout }
    }

    /// The next line of stdout.
    pub fn line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        saw(&line);
        line
    }

    /// Waits and returns (code, signal, stderr).
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut stderr).unwrap();
        }
        saw(&stderr);
        (status.code(), stderr)
    }
}
