//! The management CLI `ax`, the real binary against the real `ax-control-plane` on a SQLite
//! file: set from stdin, the `--replace` confirmation, list/get/history/delete, `--json`,
//! configs, environments, the audit, tokens and their roles, the exit codes, and that a value
//! never appears in any output or error nor in argv.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

const CONTROL_PLANE: &str = env!("CARGO_BIN_EXE_ax-control-plane");
const AX: &str = env!("CARGO_BIN_EXE_ax");
const VALUE_ONE: &str = "sk-cli-marker-first-9f8e";
const VALUE_TWO: &str = "sk-cli-marker-second-7d6c";

/// A control plane on a SQLite file in a private temporary directory; SIGTERM when dropped.
struct Plane {
    dir: tempfile::TempDir,
    child: Child,
}

impl Plane {
    fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ax-cli-")
            .tempdir()
            .unwrap();
        let key = dir.path().join("master.key");
        std::fs::write(&key, [7u8; 32]).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut child = Command::new(CONTROL_PLANE)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--db")
            .arg(dir.path().join("cp.db"))
            .arg("--master-key-file")
            .arg(&key)
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
        Self { dir, child }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = kill(pid, Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// One `ax` run: its exit code and both streams, and the argv it was given.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    argv: Vec<String>,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("--json output does not parse ({e}): {}", self.stdout))
    }
}

/// Every `ax` run of a test, so the leak check sees all of them.
#[derive(Default)]
struct Ax {
    runs: Vec<(String, String, Vec<String>)>,
}

impl Ax {
    /// Runs `ax --state-dir STATE --tenant acme ARGS`, with `stdin` on its standard input.
    fn run(&mut self, plane: &Plane, args: &[&str], stdin: &str) -> Run {
        let mut cmd = Command::new(AX);
        cmd.arg("--state-dir")
            .arg(plane.state())
            .args(["--tenant", "acme"])
            .args(args)
            .env_remove("AX_URL")
            .env_remove("AX_TOKEN")
            .env_remove("AX_TENANT")
            .env_remove("AX_CA_FILE");
        self.exec(cmd, stdin)
    }

    fn exec(&mut self, mut cmd: Command, stdin: &str) -> Run {
        let argv: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A run that fails before reading its stdin (a usage error) closes it: a broken pipe
        // here is that, not a failure of the test.
        match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("stdin: {e}"),
            _ => {}
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().unwrap();
        let run = Run {
            code: status.code().unwrap(),
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
            argv,
        };
        self.runs
            .push((run.stdout.clone(), run.stderr.clone(), run.argv.clone()));
        run
    }

    /// No run printed a value, on either stream, nor was given one in argv.
    fn assert_no_leak(&self) {
        for (out, err, argv) in &self.runs {
            for v in [VALUE_ONE, VALUE_TWO] {
                assert!(!out.contains(v), "a value in stdout: {out}");
                assert!(!err.contains(v), "a value in stderr: {err}");
                assert!(!argv.iter().any(|a| a.contains(v)), "a value in argv");
            }
        }
    }
}

/// Creates the tenant `acme` with `ax tenants create`, and checks it is listed.
fn tenant(plane: &Plane) {
    let mut ax = Ax::default();
    let made = ax.run(plane, &["tenants", "create", "acme"], "");
    assert_eq!(made.code, 0, "{}", made.stderr);
    let list = ax.run(plane, &["--json", "tenants", "list"], "");
    assert_eq!(list.json()["tenants"][0]["name"], "acme");
    let again = ax.run(plane, &["tenants", "create", "acme"], "");
    assert_eq!(again.code, 1, "{}", again.stderr);
}

#[test]
fn a_secret_is_set_from_stdin_replaced_only_with_confirmation_listed_and_deleted() {
    let plane = Plane::start();
    tenant(&plane);
    let mut ax = Ax::default();

    let set = ax.run(
        &plane,
        &[
            "secrets",
            "set",
            "API_KEY",
            "--description",
            "the payments key",
            "--metadata",
            r#"{"team":"payments"}"#,
            "--rotation-days",
            "30",
        ],
        &format!("{VALUE_ONE}\n"),
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    assert!(
        set.stdout.contains("created API_KEY version 1"),
        "{}",
        set.stdout
    );

    let again = ax.run(&plane, &["secrets", "set", "API_KEY"], VALUE_TWO);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("409"), "{}", again.stderr);
    assert!(again.stderr.contains("add --replace"), "{}", again.stderr);

    let replaced = ax.run(
        &plane,
        &[
            "--json",
            "secrets",
            "set",
            "API_KEY",
            "--replace",
            "--reason",
            "leaked in a log",
        ],
        VALUE_TWO,
    );
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    assert_eq!(replaced.json()["version"], 2);

    let list = ax.run(&plane, &["--json", "secrets", "list"], "");
    assert_eq!(list.code, 0, "{}", list.stderr);
    let secrets = list.json()["secrets"].as_array().unwrap().clone();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0]["name"], "API_KEY");
    assert_eq!(secrets[0]["rotation_days"], 30);
    let text = ax.run(&plane, &["secrets", "list"], "");
    assert!(text.stdout.starts_with("NAME"), "{}", text.stdout);
    assert!(text.stdout.contains("API_KEY  2"), "{}", text.stdout);

    let get = ax.run(&plane, &["--json", "secrets", "get", "API_KEY"], "");
    assert_eq!(get.json()["description"], "the payments key");
    assert_eq!(get.json()["metadata"]["team"], "payments");
    let get_text = ax.run(&plane, &["secrets", "get", "API_KEY"], "");
    assert!(
        get_text.stdout.contains("version: 2"),
        "{}",
        get_text.stdout
    );

    let history = ax.run(&plane, &["--json", "secrets", "history", "API_KEY"], "");
    let versions = history.json()["versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["action"], "rotate");
    assert_eq!(versions[1]["reason"], "leaked in a log");
    let history_text = ax.run(&plane, &["secrets", "history", "API_KEY"], "");
    assert!(
        history_text.stdout.contains("leaked in a log"),
        "{}",
        history_text.stdout
    );

    let audit = ax.run(
        &plane,
        &[
            "--json",
            "audit",
            "--kind",
            "management",
            "--name",
            "API_KEY",
        ],
        "",
    );
    let actions: Vec<String> = audit.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["secret_create", "secret_rotate"]);

    let delete = ax.run(&plane, &["secrets", "delete", "API_KEY"], "");
    assert_eq!(delete.code, 0, "{}", delete.stderr);
    let gone = ax.run(&plane, &["secrets", "get", "API_KEY"], "");
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("404"), "{}", gone.stderr);
    ax.assert_no_leak();
}

#[test]
fn a_value_comes_from_a_file_or_stdin_and_never_from_a_flag() {
    let plane = Plane::start();
    tenant(&plane);
    let mut ax = Ax::default();
    let file = plane.dir.path().join("value");
    std::fs::write(&file, VALUE_ONE).unwrap();
    let from_file = ax.run(
        &plane,
        &[
            "secrets",
            "set",
            "FROM_FILE",
            "--value-file",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);

    // There is no flag that takes a value: clap refuses one as a usage error.
    let flag = ax.run(&plane, &["secrets", "set", "FLAG", "--value", "x"], "");
    assert_eq!(flag.code, 64, "{}", flag.stderr);
    let empty = ax.run(&plane, &["secrets", "set", "EMPTY"], "");
    assert_eq!(empty.code, 65, "{}", empty.stderr);
    let metadata = ax.run(
        &plane,
        &["secrets", "set", "META", "--metadata", "[1]"],
        VALUE_TWO,
    );
    assert_eq!(metadata.code, 65, "{}", metadata.stderr);
    ax.assert_no_leak();
}

#[test]
fn a_viewer_token_reads_but_is_refused_writes_with_exit_77() {
    let plane = Plane::start();
    tenant(&plane);
    let mut ax = Ax::default();
    assert_eq!(
        ax.run(&plane, &["secrets", "set", "SEEN"], VALUE_ONE).code,
        0
    );
    let made = ax.run(
        &plane,
        &["--json", "tokens", "create", "auditor", "--role", "viewer"],
        "",
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let token_file = plane.dir.path().join("viewer-token");
    std::fs::write(&token_file, made.json()["token"].as_str().unwrap()).unwrap();
    let listed = ax.run(&plane, &["tokens", "list"], "");
    assert!(
        listed.stdout.contains("auditor  viewer"),
        "{}",
        listed.stdout
    );

    let as_viewer = |ax: &mut Ax, args: &[&str], stdin: &str| {
        let mut cmd = Command::new(AX);
        cmd.arg("--state-dir")
            .arg(plane.state())
            .arg("--token-file")
            .arg(&token_file)
            .args(["--tenant", "acme"])
            .args(args);
        ax.exec(cmd, stdin)
    };
    let read = as_viewer(&mut ax, &["secrets", "list"], "");
    assert_eq!(read.code, 0, "{}", read.stderr);
    assert!(read.stdout.contains("SEEN"), "{}", read.stdout);
    let write = as_viewer(&mut ax, &["secrets", "set", "NEW", "--replace"], VALUE_TWO);
    assert_eq!(write.code, 77, "{}", write.stderr);
    assert!(write.stderr.contains("403 forbidden"), "{}", write.stderr);
    let delete = as_viewer(&mut ax, &["secrets", "delete", "SEEN"], "");
    assert_eq!(delete.code, 77, "{}", delete.stderr);

    let revoke = ax.run(&plane, &["tokens", "revoke", "auditor"], "");
    assert_eq!(revoke.code, 0, "{}", revoke.stderr);
    let revoked = as_viewer(&mut ax, &["secrets", "list"], "");
    assert_eq!(revoked.code, 77, "{}", revoked.stderr);
    ax.assert_no_leak();
}

#[test]
fn configs_and_environments_are_created_listed_and_deleted() {
    let plane = Plane::start();
    tenant(&plane);
    let mut ax = Ax::default();
    assert_eq!(
        ax.run(&plane, &["configs", "create", "nightly"], "").code,
        0
    );
    let over = ax.run(
        &plane,
        &["secrets", "set", "API_KEY", "--config", "nightly"],
        VALUE_ONE,
    );
    assert_eq!(over.code, 0, "{}", over.stderr);
    let configs = ax.run(&plane, &["--json", "configs", "list"], "");
    assert_eq!(
        configs.json()["configs"][0]["overrides"][0]["name"],
        "API_KEY"
    );
    let text = ax.run(&plane, &["configs", "list"], "");
    assert!(text.stdout.contains("API_KEY"), "{}", text.stdout);
    assert_eq!(
        ax.run(&plane, &["configs", "delete", "nightly"], "").code,
        0
    );

    assert_eq!(ax.run(&plane, &["envs", "create", "staging"], "").code, 0);
    let envs = ax.run(&plane, &["--json", "envs", "list"], "");
    let names: Vec<String> = envs.json()["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == "staging"), "{names:?}");
    assert_eq!(ax.run(&plane, &["envs", "delete", "staging"], "").code, 0);
    ax.assert_no_leak();
}

#[test]
fn an_unreachable_control_plane_exits_69_and_a_missing_tenant_64() {
    let plane = Plane::start();
    let mut ax = Ax::default();
    let mut cmd = Command::new(AX);
    cmd.arg("--state-dir").arg(plane.state()).args([
        "--url",
        "https://127.0.0.1:1",
        "--tenant",
        "acme",
        "secrets",
        "list",
    ]);
    let unreachable = ax.exec(cmd, "");
    assert_eq!(unreachable.code, 69, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.contains("cannot reach"),
        "{}",
        unreachable.stderr
    );

    let mut cmd = Command::new(AX);
    cmd.arg("--state-dir")
        .arg(plane.state())
        .args(["secrets", "list"])
        .env_remove("AX_TENANT");
    let no_tenant = ax.exec(cmd, "");
    assert_eq!(no_tenant.code, 64, "{}", no_tenant.stderr);
}

#[test]
fn completions_are_printed_for_bash() {
    let mut ax = Ax::default();
    let mut cmd = Command::new(AX);
    cmd.args(["completions", "bash"]);
    let run = ax.exec(cmd, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("_ax()"),
        "{}",
        &run.stdout[..200.min(run.stdout.len())]
    );
}

#[test]
fn a_terminal_gets_a_masked_prompt_that_does_not_echo_the_value() {
    use std::io::Read;

    let plane = Plane::start();
    tenant(&plane);
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut child = Command::new(AX)
        .arg("--state-dir")
        .arg(plane.state())
        .args(["--tenant", "acme", "secrets", "set", "PROMPTED"])
        .stdin(Stdio::from(pty.slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The prompt is written once echo is off: reading it is the event to wait for.
    let mut stderr = child.stderr.take().unwrap();
    let prompt = b"value (not shown): ";
    let mut seen = vec![0u8; prompt.len()];
    stderr.read_exact(&mut seen).unwrap();
    assert_eq!(seen, prompt);
    let mut master = std::fs::File::from(pty.master);
    master
        .write_all(format!("{VALUE_ONE}\n").as_bytes())
        .unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(stdout.contains("created PROMPTED version 1"), "{stdout}");
    // What the terminal showed: the child is gone and held the only slave, so the read ends
    // (EIO) once the echoed bytes, if any, are read.
    let mut shown = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        shown.extend_from_slice(&buf[..n]);
    }
    let shown = String::from_utf8_lossy(&shown);
    assert!(!shown.contains(VALUE_ONE), "the terminal echoed the value");
    assert!(!rest.contains(VALUE_ONE) && !stdout.contains(VALUE_ONE));
}

#[test]
fn a_rotation_replaces_with_a_reason_and_never_creates() {
    let plane = Plane::start();
    tenant(&plane);
    let mut ax = Ax::default();
    assert_eq!(
        ax.run(&plane, &["secrets", "set", "DB_URL"], VALUE_ONE)
            .code,
        0
    );
    let rotated = ax.run(
        &plane,
        &["secrets", "rotate", "DB_URL", "--reason", "quarterly"],
        VALUE_TWO,
    );
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    assert!(
        rotated.stdout.contains("replaced DB_URL version 2"),
        "{}",
        rotated.stdout
    );
    let history = ax.run(&plane, &["--json", "secrets", "history", "DB_URL"], "");
    assert_eq!(history.json()["versions"][1]["reason"], "quarterly");

    let missing = ax.run(
        &plane,
        &["secrets", "rotate", "NOT_THERE", "--reason", "quarterly"],
        VALUE_TWO,
    );
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("ax secrets set"),
        "{}",
        missing.stderr
    );
    let list = ax.run(&plane, &["--json", "secrets", "list"], "");
    assert_eq!(list.json()["secrets"].as_array().unwrap().len(), 1);
    let no_reason = ax.run(&plane, &["secrets", "rotate", "DB_URL"], VALUE_ONE);
    assert_eq!(no_reason.code, 64, "{}", no_reason.stderr);
    ax.assert_no_leak();
}

#[test]
fn an_interrupt_at_the_prompt_gives_the_terminal_its_echo_back() {
    use std::io::Read;

    let plane = Plane::start();
    let pty = nix::pty::openpty(None, None).unwrap();
    let echo = |fd: &std::os::fd::OwnedFd| {
        nix::sys::termios::tcgetattr(fd)
            .unwrap()
            .local_flags
            .contains(nix::sys::termios::LocalFlags::ECHO)
    };
    // Checked before the child exists: it turns echo off as soon as it starts.
    assert!(echo(&pty.master), "a new pseudo-terminal echoes");
    let mut child = Command::new(AX)
        .arg("--state-dir")
        .arg(plane.state())
        .args(["--tenant", "acme", "secrets", "set", "INTERRUPTED"])
        .stdin(Stdio::from(pty.slave))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let master = pty.master;
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = vec![0u8; b"value (not shown): ".len()];
    stderr.read_exact(&mut seen).unwrap();
    assert!(!echo(&master), "echo is off at the prompt");
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGINT).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(echo(&master), "the interrupted prompt left echo off");
}
