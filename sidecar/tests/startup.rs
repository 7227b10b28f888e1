//! Start-up of the real binary: refused inputs and their exit codes (PROTOCOL §14), the socket
//! path rules, the command line, memory locking failing closed, and the `seal` command.
//!
//! Every failure before READY must exit with its sysexits code, print exactly one line on
//! stderr starting with `ax-sidecar:`, and leave no socket file behind.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ax_protocol::{RequestBody, ResponseBody};
use nix::unistd::Uid;
use support::*;

/// Exit codes of PROTOCOL §14.
const USAGE: i32 = 64;
const DATA: i32 = 65;
const NO_INPUT: i32 = 66;
const OS: i32 = 71;
const CANT_CREATE: i32 = 73;

/// Starts `serve` for `fixture`, expecting it to fail before READY.
fn start_failing(fixture: &Fixture, extra: &[&str]) -> Failed {
    match Sidecar::try_start(fixture, extra) {
        Ok(sidecar) => {
            let (_, _, stderr) = sidecar.stop();
            panic!("the sidecar started but should not have: {stderr}");
        }
        Err(failed) => failed,
    }
}

/// Asserts exit `code`, exactly one line on stderr starting with `ax-sidecar:`, and no socket
/// file at `socket`; returns the line.
fn assert_refused(failed: &Failed, code: i32, socket: &Path) -> String {
    assert_eq!(failed.status.code(), Some(code), "{failed:?}");
    let line = one_line(&failed.stderr);
    assert_no_socket(socket);
    line
}

/// The one line of `stderr`, which must start with `ax-sidecar`.
fn one_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line on stderr, got {stderr:?}"
    );
    assert!(
        lines[0].starts_with("ax-sidecar"),
        "the line should start with the program name: {stderr:?}"
    );
    lines[0].to_owned()
}

fn assert_no_socket(socket: &Path) {
    assert!(
        fs::symlink_metadata(socket).is_err(),
        "a file was left at the socket path {}",
        socket.display()
    );
}

/// Runs the binary with `args` to completion (no ready descriptor).
fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Key and bundle.

#[test]
fn refuses_a_missing_key_file_with_exit_66() {
    let fixture = Fixture::standard();
    fs::remove_file(&fixture.key).unwrap();
    let failed = start_failing(&fixture, &[]);
    let line = assert_refused(&failed, NO_INPUT, &fixture.socket);
    assert!(line.contains("key"), "{line}");
}

#[test]
fn refuses_a_missing_bundle_file_with_exit_66() {
    let fixture = Fixture::standard();
    fs::remove_file(&fixture.bundle).unwrap();
    let failed = start_failing(&fixture, &[]);
    let line = assert_refused(&failed, NO_INPUT, &fixture.socket);
    assert!(line.contains("bundle"), "{line}");
}

#[test]
fn refuses_a_key_of_31_bytes_with_exit_65() {
    let fixture = Fixture::standard();
    let key = fs::read(&fixture.key).unwrap();
    fs::write(&fixture.key, &key[..31]).unwrap();
    let failed = start_failing(&fixture, &[]);
    let line = assert_refused(&failed, DATA, &fixture.socket);
    assert!(
        line.contains("32"),
        "the line should say what is expected: {line}"
    );
}

#[test]
fn refuses_a_key_of_33_bytes_with_exit_65() {
    let fixture = Fixture::standard();
    let mut key = fs::read(&fixture.key).unwrap();
    key.push(b'\n');
    fs::write(&fixture.key, &key).unwrap();
    let failed = start_failing(&fixture, &[]);
    assert_refused(&failed, DATA, &fixture.socket);
}

#[test]
fn refuses_a_wrong_key_with_exit_65() {
    let fixture = Fixture::standard();
    let mut key = fs::read(&fixture.key).unwrap();
    key[0] ^= 0x80;
    fs::write(&fixture.key, &key).unwrap();
    let failed = start_failing(&fixture, &[]);
    assert_refused(&failed, DATA, &fixture.socket);
}

#[test]
fn refuses_a_bundle_with_any_byte_flipped_with_exit_65() {
    let fixture = Fixture::standard();
    let original = fs::read(&fixture.bundle).unwrap();
    let len = original.len();
    // Magic, nonce, first ciphertext byte, middle of the ciphertext, last byte of the tag.
    for position in [0, 27, 39, 39 + (len - 39) / 2, len - 1] {
        let mut tampered = original.clone();
        tampered[position] ^= 0x01;
        fs::write(&fixture.bundle, &tampered).unwrap();
        let failed = start_failing(&fixture, &[]);
        assert_refused(&failed, DATA, &fixture.socket);
    }
}

#[test]
fn refuses_a_truncated_bundle_with_exit_65() {
    let fixture = Fixture::standard();
    let original = fs::read(&fixture.bundle).unwrap();
    for len in [0, 26, 39, original.len() - 1] {
        fs::write(&fixture.bundle, &original[..len]).unwrap();
        let failed = start_failing(&fixture, &[]);
        assert_refused(&failed, DATA, &fixture.socket);
    }
}

#[test]
fn refuses_an_expired_bundle_with_exit_65() {
    let mut expired = bundle(SECRETS, OVERRIDES);
    expired.issued_at = now() - 7200;
    expired.expires_at = now() - 3600;
    let fixture = Fixture::with_bundle(&expired);
    let failed = start_failing(&fixture, &[]);
    let line = assert_refused(&failed, DATA, &fixture.socket);
    assert!(line.contains("expired"), "{line}");
}

#[test]
fn refuses_a_missing_client_token_file_with_exit_66() {
    let fixture = Fixture::standard();
    let token = fixture.path("no-such-token");
    let failed = start_failing(&fixture, &["--client-token-file", token.to_str().unwrap()]);
    assert_refused(&failed, NO_INPUT, &fixture.socket);
}

#[test]
fn refuses_an_empty_client_token_file_with_exit_65() {
    let fixture = Fixture::standard();
    let token = fixture.path("token");
    fs::write(&token, "\n").unwrap();
    let failed = start_failing(&fixture, &["--client-token-file", token.to_str().unwrap()]);
    assert_refused(&failed, DATA, &fixture.socket);
}

#[test]
fn refuses_an_audit_file_it_cannot_create_with_exit_73() {
    let fixture = Fixture::standard();
    let audit = fixture.path("no-such-dir").join("audit.jsonl");
    let mut args = serve_args_with_ready_fd(&fixture, &[]);
    let at = args.iter().position(|a| a == "--audit-file").unwrap();
    args[at + 1] = audit.display().to_string();
    let failed =
        match Sidecar::spawn_with(fixture.dir.path(), &args, fixture.socket.clone(), |_| {}) {
            Ok(_) => panic!("started without its audit file"),
            Err(failed) => failed,
        };
    assert_refused(&failed, CANT_CREATE, &fixture.socket);
}

// ---------------------------------------------------------------------------------------------
// The socket path.

/// Creates the fixture's socket directory, private.
fn make_socket_dir(fixture: &Fixture) -> PathBuf {
    let dir = fixture.socket.parent().unwrap().to_path_buf();
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

#[test]
fn refuses_a_socket_path_held_by_a_regular_file_and_leaves_it_alone() {
    let fixture = Fixture::standard();
    make_socket_dir(&fixture);
    fs::write(&fixture.socket, "not a socket").unwrap();
    let failed = start_failing(&fixture, &[]);
    assert_eq!(failed.status.code(), Some(OS), "{failed:?}");
    one_line(&failed.stderr);
    assert_eq!(fs::read_to_string(&fixture.socket).unwrap(), "not a socket");
}

#[test]
fn refuses_a_socket_held_by_a_live_sidecar_which_keeps_serving() {
    let fixture = Fixture::standard();
    let first = Sidecar::start(&fixture, &[]);
    let mut client = first.client();
    let failed = start_failing(&fixture, &[]);
    assert_eq!(failed.status.code(), Some(OS), "{failed:?}");
    one_line(&failed.stderr);
    // The connection made before, and a new one, are both still served.
    assert_eq!(
        client.get("OPENAI_API_KEY").as_deref(),
        Some("sk-test-1234567890abcdef")
    );
    assert_eq!(
        first.client().get("DB_URL").as_deref(),
        Some("postgres://app:p@ss w0rd/ü@db.internal:5432/app")
    );
    drop(client);
    let (status, _, stderr) = first.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn refuses_a_symlink_at_the_socket_path_and_leaves_its_target_alone() {
    let fixture = Fixture::standard();
    make_socket_dir(&fixture);
    let target = fixture.path("target.txt");
    fs::write(&target, "precious").unwrap();
    symlink(&target, &fixture.socket).unwrap();
    let failed = start_failing(&fixture, &[]);
    assert_eq!(failed.status.code(), Some(OS), "{failed:?}");
    one_line(&failed.stderr);
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious");
    assert_eq!(fs::read_link(&fixture.socket).unwrap(), target);
}

#[test]
fn refuses_a_dangling_symlink_at_the_socket_path_without_creating_its_target() {
    let fixture = Fixture::standard();
    make_socket_dir(&fixture);
    let target = fixture.path("elsewhere.sock");
    symlink(&target, &fixture.socket).unwrap();
    let failed = start_failing(&fixture, &[]);
    assert_eq!(failed.status.code(), Some(OS), "{failed:?}");
    one_line(&failed.stderr);
    assert!(
        fs::symlink_metadata(&target).is_err(),
        "the target was created"
    );
    assert_eq!(fs::read_link(&fixture.socket).unwrap(), target);
}

#[test]
fn refuses_a_socket_directory_that_is_a_symlink() {
    let fixture = Fixture::standard();
    let real = fixture.path("real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).unwrap();
    symlink(&real, fixture.socket.parent().unwrap()).unwrap();
    let failed = start_failing(&fixture, &[]);
    assert_refused(&failed, OS, &fixture.socket);
    assert_eq!(
        fs::read_dir(&real).unwrap().count(),
        0,
        "something was created through the symlink"
    );
}

#[test]
fn replaces_a_stale_socket_and_serves() {
    let fixture = Fixture::standard();
    make_socket_dir(&fixture);
    drop(UnixListener::bind(&fixture.socket).unwrap());
    assert!(
        fixture.socket.exists(),
        "the stale socket file should remain"
    );
    let sidecar = Sidecar::start(&fixture, &[]);
    assert_eq!(
        sidecar.client().get("GREETING").as_deref(),
        Some("grüß dich 🌍")
    );
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    assert_no_socket(&fixture.socket);
}

#[test]
fn refuses_a_socket_directory_open_to_group_or_others_and_names_the_mode() {
    let fixture = Fixture::standard();
    let dir = make_socket_dir(&fixture);
    for mode in [0o755, 0o750, 0o705, 0o701, 0o720] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        let failed = start_failing(&fixture, &[]);
        let line = assert_refused(&failed, OS, &fixture.socket);
        assert!(
            line.contains(&format!("{mode:04o}")),
            "the line should name the mode {mode:04o}: {line}"
        );
    }
}

#[test]
fn creates_a_missing_socket_directory() {
    let fixture = Fixture::standard();
    assert!(!fixture.socket.parent().unwrap().exists());
    let sidecar = Sidecar::start(&fixture, &[]);
    assert_eq!(sidecar.client().get("EMPTY").as_deref(), Some(""));
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn refuses_a_socket_directory_under_a_regular_file() {
    let mut fixture = Fixture::standard();
    let file = fixture.path("file");
    fs::write(&file, "x").unwrap();
    fixture.socket = file.join("sub").join("s.sock");
    let failed = start_failing(&fixture, &[]);
    assert_refused(&failed, OS, &fixture.socket);
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn refuses_a_socket_directory_whose_parent_is_missing() {
    let mut fixture = Fixture::standard();
    let grandparent = fixture.path("missing");
    fixture.socket = grandparent.join("sub").join("s.sock");
    let failed = start_failing(&fixture, &[]);
    assert_refused(&failed, OS, &fixture.socket);
    assert!(
        !grandparent.exists(),
        "directories were created recursively"
    );
}

// ---------------------------------------------------------------------------------------------
// The command line.

#[test]
fn refuses_an_unknown_flag_with_exit_64_and_one_line_naming_it() {
    let fixture = Fixture::standard();
    let mut args = fixture.serve_args();
    args.push("--bogus".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    assert_eq!(output.status.code(), Some(USAGE), "{output:?}");
    let line = one_line(&text(&output.stderr));
    assert!(line.contains("--bogus"), "{line}");
    assert_no_socket(&fixture.socket);
}

#[test]
fn refuses_a_missing_required_flag_with_exit_64_and_one_line_naming_it() {
    let fixture = Fixture::standard();
    let output = run(&[
        "serve",
        "--socket",
        fixture.socket.to_str().unwrap(),
        "--bundle-file",
        fixture.bundle.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(USAGE), "{output:?}");
    let line = one_line(&text(&output.stderr));
    assert!(
        line.contains("--key-file"),
        "the line should name the missing flag: {line}"
    );
    assert_no_socket(&fixture.socket);
}

#[test]
fn refuses_a_malformed_flag_value_with_exit_64() {
    let fixture = Fixture::standard();
    let mut args = fixture.serve_args();
    args.extend(["--idle-timeout".into(), "ten seconds".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    assert_eq!(output.status.code(), Some(USAGE), "{output:?}");
    let line = one_line(&text(&output.stderr));
    assert!(line.contains("--idle-timeout"), "{line}");
    assert_no_socket(&fixture.socket);
}

#[test]
fn prints_help_and_exits_0() {
    for args in [&["--help"][..], &["serve", "--help"], &["seal", "--help"]] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {output:?}");
        let help = text(&output.stdout);
        assert!(help.contains("Usage"), "{args:?}: {help}");
    }
    let help = text(&run(&["serve", "--help"]).stdout);
    for flag in ["--socket", "--bundle-file", "--key-file", "--ready-fd"] {
        assert!(help.contains(flag), "serve --help should list {flag}");
    }
}

#[test]
fn prints_the_package_version_and_exits_0() {
    let output = run(&["--version"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        text(&output.stdout).trim(),
        format!("ax-sidecar {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn refuses_a_ready_fd_that_is_not_open_with_exit_64() {
    let fixture = Fixture::standard();
    let mut args = fixture.serve_args();
    args.extend(["--ready-fd".into(), "99".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    assert_eq!(output.status.code(), Some(USAGE), "{output:?}");
    let line = one_line(&text(&output.stderr));
    assert!(line.contains("--ready-fd"), "{line}");
    assert_no_socket(&fixture.socket);
}

// ---------------------------------------------------------------------------------------------
// Locked memory.

/// `CAP_IPC_LOCK` (linux/capability.h).
const CAP_IPC_LOCK: nix::libc::c_int = 14;

/// Makes `command` run with `RLIMIT_MEMLOCK` 0 and, for root, without `CAP_IPC_LOCK` in its
/// bounding set: a program executed as uid 0 gets the bounding set as its permitted
/// capabilities, so this is what takes `CAP_IPC_LOCK` away from a root child.
#[allow(unsafe_code)]
fn without_memory_locking(command: &mut Command) {
    let root = Uid::effective().is_root();
    // SAFETY: between fork and exec the closure only makes the setrlimit and prctl system
    // calls, which are async-signal-safe, and reads nothing but its own copied `bool`.
    unsafe {
        command.pre_exec(move || {
            let zero = nix::libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if nix::libc::setrlimit(nix::libc::RLIMIT_MEMLOCK, &zero) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if root
                && nix::libc::prctl(
                    nix::libc::PR_CAPBSET_DROP,
                    CAP_IPC_LOCK as nix::libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn serve_args_with_ready_fd(fixture: &Fixture, extra: &[&str]) -> Vec<String> {
    let mut args = fixture.serve_args();
    args.extend(["--ready-fd".into(), "3".into()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// `VmLck` of a process, in kB.
fn vm_lck_kb(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmLck:"))
        .expect("a VmLck line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn refuses_to_start_when_memory_cannot_be_locked() {
    let fixture = Fixture::standard();
    let args = serve_args_with_ready_fd(&fixture, &[]);
    let failed = match Sidecar::spawn_with(
        fixture.dir.path(),
        &args,
        fixture.socket.clone(),
        without_memory_locking,
    ) {
        Ok(sidecar) => {
            let (_, _, stderr) = sidecar.stop();
            panic!("started although memory cannot be locked: {stderr}");
        }
        Err(failed) => failed,
    };
    let line = assert_refused(&failed, OS, &fixture.socket);
    assert!(
        line.contains("--allow-unlocked-memory"),
        "the line should name the way out: {line}"
    );
}

#[test]
fn serves_from_unlocked_memory_only_when_allowed() {
    let fixture = Fixture::standard();
    let args = serve_args_with_ready_fd(&fixture, &["--allow-unlocked-memory"]);
    let sidecar = Sidecar::spawn_with(
        fixture.dir.path(),
        &args,
        fixture.socket.clone(),
        without_memory_locking,
    )
    .unwrap();
    assert_eq!(vm_lck_kb(sidecar.pid()), 0);
    assert_eq!(
        sidecar.client().get("OPENAI_API_KEY").as_deref(),
        Some("sk-test-1234567890abcdef")
    );
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("memory_locked=false"),
        "the start-up line should say memory is not locked: {stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// `seal`.

/// Runs `seal` with `input` written to a file in `fixture`'s directory.
fn seal(fixture: &Fixture, input: &str, key: &Path, output: &Path, extra: &[&str]) -> Output {
    let input_path = fixture.path("secrets.json");
    fs::write(&input_path, input).unwrap();
    let mut args = vec![
        "seal",
        "--input",
        input_path.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Serves `bundle` sealed under `key` from `fixture`'s directory.
fn serve_sealed(fixture: &Fixture, bundle: &Path, key: &Path) -> Sidecar {
    let args: Vec<String> = [
        "serve",
        "--socket",
        fixture.socket.to_str().unwrap(),
        "--bundle-file",
        bundle.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--audit-file",
        fixture.path("audit.jsonl").to_str().unwrap(),
        "--ready-fd",
        "3",
    ]
    .map(String::from)
    .into();
    match Sidecar::spawn_with(fixture.dir.path(), &args, fixture.socket.clone(), |_| {}) {
        Ok(sidecar) => sidecar,
        Err(failed) => panic!("the sealed bundle was not served: {failed:?}"),
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn seal_with_a_new_key_writes_private_files_that_serve() {
    let fixture = Fixture::standard();
    let key = fixture.path("new.key");
    let output = fixture.path("new.sealed");
    let sealed = seal(
        &fixture,
        r#"{"secrets": {"API_KEY": "from-seal-1", "OTHER": "from-seal-2"}}"#,
        &key,
        &output,
        &["--new-key"],
    );
    assert_eq!(sealed.status.code(), Some(0), "{sealed:?}");
    let summary = one_line(&text(&sealed.stderr));
    assert!(summary.contains("sealed"), "{summary}");
    assert_eq!(fs::read(&key).unwrap().len(), 32);
    assert_eq!(mode(&key), 0o600, "key file mode");
    assert_eq!(mode(&output), 0o600, "sealed file mode");

    let sidecar = serve_sealed(&fixture, &output, &key);
    let mut client = sidecar.client();
    assert_eq!(client.get("API_KEY").as_deref(), Some("from-seal-1"));
    assert_eq!(client.get("OTHER").as_deref(), Some("from-seal-2"));
    drop(client);
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
}

/// How long `seal` of 200,000 secrets may take in a debug build on a loaded machine: a few
/// seconds now; before the duplicate check was a set it did not finish in minutes.
const SEAL_PATIENCE: Duration = Duration::from_secs(90);

#[test]
fn seals_and_serves_200_000_secrets() {
    const COUNT: usize = 200_000;
    let fixture = Fixture::standard();
    let key = fixture.path("many.key");
    let output = fixture.path("many.sealed");
    let input_path = fixture.path("many.json");
    // Short names and values keep the bundle (about 5 MiB) under an 8 MiB RLIMIT_MEMLOCK.
    let mut input = String::with_capacity(COUNT * 24);
    input.push_str(r#"{"secrets": {"#);
    for i in 0..COUNT {
        if i > 0 {
            input.push(',');
        }
        input.push_str(&format!(r#""S{i:06}": "v{i}""#));
    }
    input.push_str("}}");
    fs::write(&input_path, input).unwrap();
    let mut child = Command::new(BIN)
        .args(["seal", "--new-key", "--input"])
        .arg(&input_path)
        .arg("--key-file")
        .arg(&key)
        .arg("--output")
        .arg(&output)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > SEAL_PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("seal of {COUNT} secrets did not finish within {SEAL_PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("sealed 200000 secrets"), "{stderr}");

    let sidecar = serve_sealed(&fixture, &output, &key);
    let mut client = sidecar.client();
    for i in [0, 1, COUNT / 2, COUNT - 1] {
        let name = format!("S{i:06}");
        assert_eq!(
            client.get(&name).as_deref(),
            Some(format!("v{i}").as_str()),
            "{name}"
        );
    }
    assert_eq!(client.get("S200000"), None);
    drop(client);
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn seal_refuses_to_overwrite_an_existing_key_with_exit_73() {
    let fixture = Fixture::standard();
    let before = fs::read(&fixture.key).unwrap();
    let output = fixture.path("new.sealed");
    let sealed = seal(
        &fixture,
        r#"{"secrets": {"API_KEY": "v"}}"#,
        &fixture.key,
        &output,
        &["--new-key"],
    );
    assert_eq!(sealed.status.code(), Some(CANT_CREATE), "{sealed:?}");
    one_line(&text(&sealed.stderr));
    assert_eq!(fs::read(&fixture.key).unwrap(), before, "the key changed");
    assert!(!output.exists(), "an output was written");
}

#[test]
fn seal_refuses_invalid_input_with_exit_65_without_repeating_any_value() {
    let fixture = Fixture::standard();
    let output = fixture.path("out.sealed");
    let cases = [
        (
            "malformed JSON",
            r#"{"secrets": {"A": "SEKRET-VALUE-123" "B": "SEKRET-VALUE-456"}}"#,
        ),
        (
            "a number where a value belongs",
            r#"{"secrets": {"A": "SEKRET-VALUE-123", "B": 42, "C": "SEKRET-VALUE-456"}}"#,
        ),
        (
            "a version that is not a number",
            r#"{"secrets": {"A": {"value": "SEKRET-VALUE-123", "version": "SEKRET-VALUE-456"}}}"#,
        ),
        (
            "an unknown top-level field",
            r#"{"secrets": {"A": "SEKRET-VALUE-123"}, "SEKRET-VALUE-456": "SEKRET-VALUE-789"}"#,
        ),
        (
            "an unknown field in the long form",
            r#"{"secrets": {"A": {"value": "SEKRET-VALUE-123", "SEKRET-VALUE-456": 1}}}"#,
        ),
        (
            "a value pasted where a name belongs",
            r#"{"secrets": {"A": "x", "SEKRET-VALUE-123": "SEKRET-VALUE-456"}}"#,
        ),
        (
            "an invalid override name",
            r#"{"secrets": {"A": "x"}, "overrides": {"SEKRET-VALUE-123": "SEKRET-VALUE-456"}}"#,
        ),
        (
            "a duplicate name",
            r#"{"secrets": {"SEKRET_NAME_123": "SEKRET-VALUE-123", "SEKRET_NAME_123": "SEKRET-VALUE-456"}}"#,
        ),
        (
            "a duplicate override name",
            r#"{"secrets": {"A": "x"}, "overrides": {"SEKRET_NAME_123": "SEKRET-VALUE-123", "SEKRET_NAME_123": "SEKRET-VALUE-456"}}"#,
        ),
        (
            "no secrets object",
            r#"{"overrides": {"A": "SEKRET-VALUE-123"}}"#,
        ),
    ];
    for (what, input) in cases {
        let sealed = seal(&fixture, input, &fixture.key, &output, &[]);
        assert_eq!(sealed.status.code(), Some(DATA), "{what}: {sealed:?}");
        let stderr = text(&sealed.stderr);
        let line = one_line(&stderr);
        for secret in ["SEKRET", "VALUE-123", "VALUE-456", "VALUE-789", "NAME_123"] {
            assert!(
                !line.contains(secret),
                "{what}: the error repeats the input: {line}"
            );
        }
        assert!(text(&sealed.stdout).is_empty(), "{what}: {sealed:?}");
        assert!(!output.exists(), "{what}: an output was written");
    }
}

#[test]
fn seal_does_not_create_a_key_for_invalid_input() {
    let fixture = Fixture::standard();
    let key = fixture.path("new.key");
    let sealed = seal(
        &fixture,
        r#"{"secrets": {"A": 1}}"#,
        &key,
        &fixture.path("out.sealed"),
        &["--new-key"],
    );
    assert_eq!(sealed.status.code(), Some(DATA), "{sealed:?}");
    assert!(
        !key.exists(),
        "a key was created for input that was refused"
    );
}

#[test]
fn seal_reports_a_missing_input_with_exit_66() {
    let fixture = Fixture::standard();
    let output = fixture.path("out.sealed");
    let sealed = run(&[
        "seal",
        "--input",
        fixture.path("no-such.json").to_str().unwrap(),
        "--key-file",
        fixture.key.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(sealed.status.code(), Some(NO_INPUT), "{sealed:?}");
    one_line(&text(&sealed.stderr));
    assert!(!output.exists());
}

#[test]
fn seal_keeps_versions_timestamps_labels_and_overrides() {
    let fixture = Fixture::standard();
    let output = fixture.path("out.sealed");
    let input = r#"{
        "secrets": {
            "DB_PASSWORD": {"value": "long-form-value", "version": 7, "updated_at": 1700000123},
            "PLAIN": "plain-value",
            "SHADOWED": "tenant-value"
        },
        "overrides": {
            "SHADOWED": {"value": "override-value", "version": 2, "updated_at": 1700000456},
            "ONLY_OVERRIDE": "only-override-value"
        },
        "execution_id": "exec-from-file",
        "tenant": "tenant-from-file"
    }"#;
    let sealed = seal(&fixture, input, &fixture.key, &output, &[]);
    assert_eq!(sealed.status.code(), Some(0), "{sealed:?}");

    let sidecar = serve_sealed(&fixture, &output, &fixture.key);
    let mut client = Client::connect(&sidecar.socket);
    match client.hello(None).body {
        ResponseBody::Hello { execution_id, .. } => assert_eq!(execution_id, "exec-from-file"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        client.get("DB_PASSWORD").as_deref(),
        Some("long-form-value")
    );
    assert_eq!(client.get("PLAIN").as_deref(), Some("plain-value"));
    assert_eq!(client.get("SHADOWED").as_deref(), Some("override-value"));
    assert_eq!(
        client.get("ONLY_OVERRIDE").as_deref(),
        Some("only-override-value")
    );
    let ResponseBody::List { secrets } = client.request(RequestBody::List).body else {
        panic!("expected List");
    };
    let find = |name: &str| {
        secrets
            .iter()
            .find(|s| s.name == Cow::Borrowed(name))
            .unwrap_or_else(|| panic!("{name} not listed: {secrets:?}"))
    };
    let db = find("DB_PASSWORD");
    assert_eq!((db.version, db.updated_at), (7, 1_700_000_123));
    let shadowed = find("SHADOWED");
    assert_eq!((shadowed.version, shadowed.updated_at), (2, 1_700_000_456));
    assert_eq!(find("PLAIN").version, 1);
    assert_eq!(secrets.len(), 4, "{secrets:?}");
    drop(client);
    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// A launcher that dies or signals at any instant of start-up (PROTOCOL §14): exit 0 without
// serving, or READY and then a clean stop; never a READY line followed by nothing, never a
// socket left behind, never killed by the signal.

/// The delays after the spawn at which the launcher acts: a sweep across start-up (a debug
/// build starts in 5–50 ms), from before `main` runs to well past READY.
const SWEEP_US: &[u64] = &[
    0, 50, 100, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 4_000, 6_000, 8_000, 12_000,
    16_000, 25_000, 40_000, 80_000,
];

/// Whether process `pid` has gone (or is a zombie waiting to be reaped).
fn is_gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next()
                .unwrap();
            matches!(state, "Z" | "X")
        }
    }
}

/// Kills a process that is not our child if a test fails before it exits.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !is_gone(self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Blocks SIGTERM and SIGINT in the child before it executes the sidecar: a signal that
/// arrives before the sidecar's first instruction then waits for it, as it would for a launcher
/// that blocks them around the spawn. (Without that, no program can catch a signal sent before
/// its `main`: it dies of it, which is the launcher's choice to make, not the sidecar's.) The
/// sidecar must not depend on the mask it inherits, so this also checks it does not leave
/// them blocked.
#[allow(unsafe_code)]
fn with_signals_blocked(command: &mut Command) {
    // SAFETY: between fork and exec the closure only calls sigemptyset, sigaddset and
    // pthread_sigmask, which are async-signal-safe, on a set on its own stack.
    unsafe {
        command.pre_exec(|| {
            let mut set = std::mem::MaybeUninit::<nix::libc::sigset_t>::uninit();
            nix::libc::sigemptyset(set.as_mut_ptr());
            nix::libc::sigaddset(set.as_mut_ptr(), nix::libc::SIGTERM);
            nix::libc::sigaddset(set.as_mut_ptr(), nix::libc::SIGINT);
            if nix::libc::pthread_sigmask(nix::libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut())
                != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// What one start that was interrupted came to.
struct Outcome {
    ready: bool,
    stderr: String,
}

/// Asserts the outcome is one of the two allowed: no READY, no socket and one line saying
/// why (`why` is one of the texts allowed); or READY and a clean stop. `what` names the case.
fn assert_stopped_cleanly(outcome: &Outcome, socket: &Path, why: &[&str], what: &str) {
    assert_no_socket(socket);
    if outcome.ready {
        assert!(
            outcome.stderr.contains("stopped: "),
            "{what}: READY, then no clean stop: {}",
            outcome.stderr
        );
    } else {
        let line = one_line(&outcome.stderr);
        assert!(
            why.iter().any(|w| line.contains(w)),
            "{what}: no READY, and the line does not say why: {line}"
        );
    }
}

#[test]
fn exits_0_without_serving_or_shuts_down_cleanly_whenever_sigterm_comes_during_start_up() {
    let fixture = Fixture::standard();
    let mut served = 0;
    for &delay in SWEEP_US {
        let args = serve_args_with_ready_fd(&fixture, &[]);
        let ReadyCommand {
            mut command,
            read,
            write,
            stderr,
            ..
        } = command_with_ready_pipe(fixture.dir.path(), &args);
        with_signals_blocked(&mut command);
        let mut child = command.spawn().unwrap();
        drop(write);
        std::thread::sleep(Duration::from_micros(delay));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let mut line = Vec::new();
        fs::File::from(read).read_to_end(&mut line).unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("SIGTERM {delay} µs after the spawn: still running after {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let outcome = Outcome {
            ready: line == b"READY\n",
            stderr: fs::read_to_string(&stderr).unwrap_or_default(),
        };
        let what = format!("SIGTERM {delay} µs after the spawn");
        assert_eq!(
            status.code(),
            Some(0),
            "{what}: {status:?}: {}",
            outcome.stderr
        );
        assert!(
            line.is_empty() || outcome.ready,
            "{what}: ready line {line:?}"
        );
        assert_stopped_cleanly(&outcome, &fixture.socket, &["stopped by SIGTERM"], &what);
        served += usize::from(outcome.ready);
    }
    eprintln!(
        "SIGTERM sweep: {served} of {} starts had written READY",
        SWEEP_US.len()
    );
}

/// Starts the sidecar from an intermediate process that exits `delay` after forking it, so the
/// sidecar loses its parent at that instant of its start-up (and is reparented to init or the
/// nearest subreaper, not to this test). Returns the sidecar's pid, whether it wrote READY,
/// and the path of its stderr.
#[allow(unsafe_code)]
fn start_then_orphan(fixture: &Fixture, extra: &[&str], delay: Duration) -> (i32, bool, PathBuf) {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;

    let mut args = serve_args_with_ready_fd(fixture, extra);
    args.insert(0, BIN.to_owned());
    let argv: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap())
        .collect();
    let mut argv_ptrs: Vec<*const nix::libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).unwrap()
        })
        .collect();
    let mut env_ptrs: Vec<*const nix::libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    let bin = CString::new(BIN).unwrap();
    let stderr_path = fixture.path(&format!("stderr-orphan-{}", delay.as_micros()));
    let stderr = fs::File::create(&stderr_path).unwrap();
    let (ready_read, ready_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let (pid_read, pid_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let sleep = nix::libc::timespec {
        tv_sec: delay.as_secs() as nix::libc::time_t,
        tv_nsec: delay.subsec_nanos() as nix::libc::c_long,
    };
    let (ready_fd, stderr_fd, pid_fd) = (
        ready_write.as_raw_fd(),
        stderr.as_raw_fd(),
        pid_write.as_raw_fd(),
    );
    // SAFETY: after fork, both children only call async-signal-safe functions (fork, dup2,
    // execve, write, nanosleep, _exit) on memory prepared before the fork.
    let intermediate = unsafe { nix::libc::fork() };
    assert!(intermediate >= 0, "fork failed");
    if intermediate == 0 {
        unsafe {
            let sidecar = nix::libc::fork();
            if sidecar == 0 {
                // stderr first: the file may have been given number 3. dup2 onto itself
                // keeps FD_CLOEXEC, so clear it explicitly in that case.
                let ready = if ready_fd == 3 {
                    nix::libc::fcntl(3, nix::libc::F_SETFD, 0)
                } else {
                    0
                };
                if nix::libc::dup2(stderr_fd, 2) < 0
                    || ready < 0
                    || (ready_fd != 3 && nix::libc::dup2(ready_fd, 3) < 0)
                {
                    nix::libc::_exit(126);
                }
                nix::libc::execve(bin.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr());
                nix::libc::_exit(127);
            }
            let bytes = sidecar.to_ne_bytes();
            nix::libc::write(pid_fd, bytes.as_ptr().cast(), bytes.len());
            nix::libc::nanosleep(&sleep, std::ptr::null_mut());
            nix::libc::_exit(0);
        }
    }
    drop(ready_write);
    drop(pid_write);
    let mut pid = [0u8; 4];
    fs::File::from(pid_read).read_exact(&mut pid).unwrap();
    let pid = i32::from_ne_bytes(pid);
    assert!(pid > 0, "the intermediate could not fork");
    nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(intermediate), None).unwrap();
    let mut line = Vec::new();
    fs::File::from(ready_read).read_to_end(&mut line).unwrap();
    let ready = line == b"READY\n";
    assert!(line.is_empty() || ready, "ready line {line:?}");
    (pid, ready, stderr_path)
}

/// Waits until `pid` has gone; panics (killing it) if it is still there after [`PATIENCE`].
fn wait_gone(pid: i32, what: &str, stderr: &Path) {
    let guard = KillOnDrop(pid);
    let started = std::time::Instant::now();
    while !is_gone(pid) {
        assert!(
            started.elapsed() < PATIENCE,
            "{what}: the sidecar {pid} outlived its launcher: {}",
            fs::read_to_string(stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(guard);
}

#[test]
fn exits_without_serving_or_shuts_down_cleanly_whenever_its_launcher_dies_during_start_up() {
    let fixture = Fixture::standard();
    let mut served = 0;
    for &delay in SWEEP_US {
        let what = format!("launcher dead {delay} µs after the spawn");
        let (pid, ready, stderr) = start_then_orphan(&fixture, &[], Duration::from_micros(delay));
        wait_gone(pid, &what, &stderr);
        let outcome = Outcome {
            ready,
            stderr: fs::read_to_string(&stderr).unwrap_or_default(),
        };
        // Before the death signal is armed, the sidecar sees it has lost its parent; after,
        // the death signal stops it.
        assert_stopped_cleanly(
            &outcome,
            &fixture.socket,
            &["the parent process exited", "stopped by SIGTERM"],
            &what,
        );
        served += usize::from(outcome.ready);
    }
    eprintln!(
        "launcher-death sweep: {served} of {} starts had written READY",
        SWEEP_US.len()
    );
}

#[test]
fn serves_without_its_launcher_when_told_not_to_follow_the_parent() {
    let fixture = Fixture::standard();
    let (pid, ready, stderr) = start_then_orphan(&fixture, &["--no-parent-death"], Duration::ZERO);
    let guard = KillOnDrop(pid);
    assert!(
        ready,
        "no READY: {}",
        fs::read_to_string(&stderr).unwrap_or_default()
    );
    let mut client = Client::connect(&fixture.socket);
    client.hello(None);
    assert_eq!(client.get("DB_URL").as_deref(), Some(SECRETS[1].1));
    drop(client);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    wait_gone(pid, "SIGTERM", &stderr);
    drop(guard);
    assert_no_socket(&fixture.socket);
    let help = run(&["serve", "--help"]);
    assert!(text(&help.stdout).contains("--no-parent-death"));
}
