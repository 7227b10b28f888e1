//! The credentials a launcher hands an online sidecar, refused with the exit codes PROTOCOL §13
//! and §14 give them: the execution token (file or descriptor) and the control plane's signing
//! key. Every case fails before any request is made, so no control plane is needed: the URL
//! points at a port nobody listens on, and a case that wrongly got past its check would end
//! in 69 (unreachable) instead of the code asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::BIN;

const TOKEN: &str = "ax-exec-token.credentials_1";
/// The base64 of 32 zero bytes: well-formed, and never asked to verify anything here.
const SIGNING_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

struct Launch {
    dir: tempfile::TempDir,
}

impl Launch {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ax-sidecar-credentials-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
        fs::write(dir.path().join("key"), SIGNING_KEY).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `serve` in online mode with `token` (the flag and its argument) and `key_file`.
    fn run(&self, token: &[&str], key_file: &str) -> Output {
        let socket = self.path("sidecar.sock");
        let mut args = vec![
            "serve",
            "--socket",
            &socket,
            "--control-plane",
            "https://127.0.0.1:9",
            "--execution-id",
            "exec-credentials",
            "--control-plane-key",
            key_file,
            "--fetch-deadline",
            "1s",
        ];
        args.extend_from_slice(token);
        Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// Exit `code` with one line on stderr that never holds the token; returns the line.
fn refused(output: &Output, code: i32, socket_dir: &Path) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr:?}");
    assert!(lines[0].starts_with("ax-sidecar: "), "{stderr:?}");
    assert!(!stderr.contains(TOKEN), "the token leaked: {stderr:?}");
    assert!(
        fs::symlink_metadata(socket_dir.join("sidecar.sock")).is_err(),
        "socket left behind"
    );
    lines[0].to_owned()
}

#[test]
fn a_missing_execution_token_file_exits_66() {
    let launch = Launch::new();
    let out = launch.run(
        &["--token-file", &launch.path("absent")],
        &launch.path("key"),
    );
    let line = refused(&out, 66, launch.dir.path());
    assert!(line.contains("execution token file"), "{line}");
}

#[test]
fn an_execution_token_file_with_unusable_contents_exits_65() {
    let launch = Launch::new();
    let too_long = "t".repeat(4097);
    for (what, contents) in [
        ("empty", ""),
        ("only a newline", "\n"),
        ("a space inside", "ax token"),
        ("a control character", "ax\u{1}token"),
        ("two lines", "ax-token\nsecond\n"),
        ("4097 bytes", too_long.as_str()),
    ] {
        fs::write(launch.dir.path().join("bad-token"), contents).unwrap();
        let out = launch.run(
            &["--token-file", &launch.path("bad-token")],
            &launch.path("key"),
        );
        let line = refused(&out, 65, launch.dir.path());
        assert!(line.contains("execution token"), "{what}: {line}");
        if !contents.trim().is_empty() {
            assert!(
                !line.contains(contents.trim()),
                "{what}: the contents were echoed"
            );
        }
    }
}

#[test]
fn a_token_descriptor_that_is_not_open_exits_64() {
    let launch = Launch::new();
    let out = launch.run(&["--token-fd", "47"], &launch.path("key"));
    let line = refused(&out, 64, launch.dir.path());
    assert!(line.contains("--token-fd 47"), "{line}");
}

#[test]
fn a_missing_control_plane_key_file_exits_66() {
    let launch = Launch::new();
    let out = launch.run(
        &["--token-file", &launch.path("token")],
        &launch.path("absent"),
    );
    let line = refused(&out, 66, launch.dir.path());
    assert!(line.contains("control-plane key file"), "{line}");
}

#[test]
fn a_control_plane_key_file_that_is_not_a_list_of_keys_exits_65() {
    let launch = Launch::new();
    let malformed_second = format!("# current\n{SIGNING_KEY}not-a-key\n");
    let seventeen = SIGNING_KEY.repeat(17);
    for (what, contents) in [
        ("empty", ""),
        (
            "43 characters",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        (
            "not base64",
            "!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        ),
        (
            "a malformed line after a good one",
            malformed_second.as_str(),
        ),
        ("comments only", "# no key here\n\n"),
        ("17 keys", seventeen.as_str()),
    ] {
        fs::write(launch.dir.path().join("bad-key"), contents).unwrap();
        let out = launch.run(
            &["--token-file", &launch.path("token")],
            &launch.path("bad-key"),
        );
        let line = refused(&out, 65, launch.dir.path());
        assert!(line.contains("control-plane key file"), "{what}: {line}");
        if what.starts_with("a malformed line") {
            assert!(line.contains("line 3:"), "{what}: {line}");
            assert!(!line.contains("not-a-key"), "{what}: {line}");
        }
    }
}

#[test]
fn a_control_plane_key_file_of_several_keys_with_comments_is_accepted() {
    let launch = Launch::new();
    let several = format!(
        "# current\n{SIGNING_KEY}\n# next\n{}\n",
        "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="
    );
    fs::write(launch.dir.path().join("keys"), several).unwrap();
    let out = launch.run(
        &["--token-file", &launch.path("token")],
        &launch.path("keys"),
    );
    // Past the key file, the start fails only at the fetch: nothing listens on port 9.
    let line = refused(&out, 69, launch.dir.path());
    assert!(!line.contains("control-plane key file"), "{line}");
}
