//! `ax-run --node-uid UID --node-gid GID`: the command runs as another, unprivileged user and
//! reads its secrets through the socket group, against the real sidecar and a reference
//! control plane. Runs as root (as CI does); the uid and gid need no /etc/passwd entry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use support::{AX_PROBE, AX_RUN, Env, fingerprint, run, sidecar_bin};

const API_KEY: &str = "sk-node-user-0123456789abcdef";
const NODE_UID: &str = "4731";
const NODE_GID: &str = "4732";

fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "ax-run --node-uid needs root; this test must run as root (CI does)"
    );
}

/// `ax-run` with a runtime directory the node can traverse (0711), then `flags`, `--`, `cmd`.
fn ax_run(env: &Env, flags: &[&str], cmd: &[&str]) -> (Command, tempfile::TempDir) {
    let runtime = tempfile::Builder::new()
        .prefix("ax-node-run-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let mut command = Command::new(AX_RUN);
    command
        .arg("--state-dir")
        .arg(env.state_dir())
        .arg("--tenant")
        .arg("acme")
        .arg("--sidecar")
        .arg(sidecar_bin())
        .arg("--runtime-dir")
        .arg(runtime.path())
        .args(flags)
        .arg("--")
        .args(cmd)
        .stdin(Stdio::null());
    (command, runtime)
}

fn env() -> Env {
    let env = Env::start();
    env.tenant("acme", &[("OPENAI_API_KEY", API_KEY)]);
    env
}

#[test]
fn the_command_runs_as_the_node_user_without_other_groups_and_reads_its_secret() {
    require_root();
    let env = env();
    // Who the command is, what its socket directory and socket look like, then a read.
    let script = format!(
        "id -u; id -g; id -G; d=$(dirname \"$AX_SECRETS_SOCKET\"); \
         stat -c '%a %u %g' \"$d\" \"$AX_SECRETS_SOCKET\"; exec {AX_PROBE} get OPENAI_API_KEY"
    );
    let (command, runtime) = ax_run(
        &env,
        &["--node-uid", NODE_UID, "--node-gid", NODE_GID],
        &["sh", "-c", &script],
    );
    let r = run(command);
    assert_eq!(r.code, Some(0), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], NODE_UID, "{r:?}");
    assert_eq!(lines[1], NODE_GID, "{r:?}");
    assert_eq!(lines[2], NODE_GID, "supplementary groups were kept: {r:?}");
    assert_eq!(lines[3], format!("750 0 {NODE_GID}"), "{r:?}");
    assert_eq!(lines[4], format!("660 0 {NODE_GID}"), "{r:?}");
    assert_eq!(r.get("OPENAI_API_KEY")["fingerprint"], fingerprint(API_KEY));
    // The socket directory went away with the run.
    assert_eq!(std::fs::read_dir(runtime.path()).unwrap().count(), 0);
}

#[test]
fn node_uid_0_is_refused_with_exit_64() {
    require_root();
    let env = env();
    let (command, _runtime) = ax_run(&env, &["--node-uid", "0", "--node-gid", "0"], &["true"]);
    let r = run(command);
    assert_eq!(r.code, Some(64), "{r:?}");
    assert!(r.stderr.contains("--node-uid 0"), "{r:?}");
}

#[test]
fn node_uid_without_root_is_refused_with_exit_64() {
    require_root();
    let env = env();
    let (mut command, _runtime) = ax_run(
        &env,
        &["--node-uid", NODE_UID, "--node-gid", NODE_GID],
        &["true"],
    );
    // ax-run itself as an unprivileged user: it cannot switch users, and says so first.
    std::os::unix::process::CommandExt::uid(&mut command, 4733);
    std::os::unix::process::CommandExt::gid(&mut command, 4733);
    let r = run(command);
    assert_eq!(r.code, Some(64), "{r:?}");
    assert!(r.stderr.contains("needs ax-run to run as root"), "{r:?}");
}

#[test]
fn node_uid_without_node_gid_is_a_usage_error() {
    let env = env();
    let (command, _runtime) = ax_run(&env, &["--node-uid", NODE_UID], &["true"]);
    let r = run(command);
    assert_eq!(r.code, Some(64), "{r:?}");
    assert!(r.stderr.contains("--node-gid"), "{r:?}");
}
