//! Who may connect (PROTOCOL §1), against the real binary: `--socket-group` and `--allow-gid`
//! open the socket to peers of other uids, by their `SO_PEERCRED` gid; everyone else is
//! refused with `Unauthorized`, id 0, and a message naming their uid. The modes and owners of
//! the directory and the socket, and the 107-byte limit of a socket path.
//!
//! Peers of other uids are made by `support::peer` (the test runs as root, as in CI); the uids
//! and gids (4711...) need no entry in /etc/passwd or /etc/group.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ax_protocol::{ErrorCode, ResponseBody};
use support::peer::{Creds, connect_as, require_root};
use support::{Client, Fixture, SECRETS, Sidecar};

/// The socket group of these tests, and a peer in it of another uid.
const GROUP: u32 = 4711;
const MEMBER: Creds<'static> = Creds {
    uid: 4712,
    gid: GROUP,
    groups: &[],
};
/// A peer that can reach the socket (the group is a supplementary group of it) but whose
/// uid and primary gid are not allowed.
const OUTSIDER: Creds<'static> = Creds {
    uid: 4713,
    gid: 4714,
    groups: &[GROUP],
};

/// A fixture whose socket lies in `run/` under a directory others may traverse (0711): the
/// fixture's own directory is 0700 and holds the key.
fn shared_fixture() -> (Fixture, tempfile::TempDir) {
    let outer = tempfile::Builder::new()
        .prefix("ax-access-")
        .tempdir()
        .unwrap();
    fs::set_permissions(outer.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let mut fixture = Fixture::standard();
    fixture.socket = outer.path().join("run").join("sidecar.sock");
    (fixture, outer)
}

fn value_of(name: &str) -> String {
    SECRETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
        .to_owned()
}

fn mode_owner_group(path: &Path) -> (u32, u32, u32) {
    let meta = fs::symlink_metadata(path).unwrap();
    (meta.mode() & 0o7777, meta.uid(), meta.gid())
}

#[test]
fn a_peer_of_another_uid_whose_gid_is_the_socket_group_is_served() {
    require_root();
    let (fixture, _outer) = shared_fixture();
    let sidecar = Sidecar::start(&fixture, &["--socket-group", &GROUP.to_string()]);
    let mut client = Client::from_stream(connect_as(&sidecar.socket, MEMBER).unwrap());
    client.hello(None);
    assert_eq!(
        client.get("OPENAI_API_KEY"),
        Some(value_of("OPENAI_API_KEY"))
    );
}

#[test]
fn a_peer_outside_the_allowed_uids_and_gids_is_refused_with_id_0_naming_its_uid() {
    require_root();
    let (fixture, _outer) = shared_fixture();
    let sidecar = Sidecar::start(&fixture, &["--socket-group", &GROUP.to_string()]);
    // It reaches the socket through its supplementary group, but only the primary gid counts.
    let mut client = Client::from_stream(connect_as(&sidecar.socket, OUTSIDER).unwrap());
    let answer = client.read().expect("a refusal");
    assert_eq!(answer.id, 0);
    match answer.body {
        ResponseBody::Error { code, message } => {
            assert_eq!(code, ErrorCode::Unauthorized);
            assert_eq!(message, "this uid (4713) may not connect to this sidecar");
            assert!(!message.contains("token"), "{message}");
        }
        other => panic!("expected Error, got {other:?}"),
    }
    client.expect_closed();

    let (status, _, stderr) = sidecar.stop();
    assert!(status.success(), "{stderr}");
    let refused: Vec<_> = fixture
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["reason"], "uid");
    assert_eq!(refused[0]["peer"]["uid"], OUTSIDER.uid);
    assert_eq!(refused[0]["peer"]["gid"], OUTSIDER.gid);
}

#[test]
fn a_peer_whose_gid_is_given_with_allow_gid_is_served_and_its_uid_needs_no_entry() {
    require_root();
    let (fixture, _outer) = shared_fixture();
    let sidecar = Sidecar::start(
        &fixture,
        &[
            "--socket-group",
            &GROUP.to_string(),
            "--allow-gid",
            &OUTSIDER.gid.to_string(),
        ],
    );
    let mut client = Client::from_stream(connect_as(&sidecar.socket, OUTSIDER).unwrap());
    client.hello(None);
    assert_eq!(client.get("DB_URL"), Some(value_of("DB_URL")));
}

#[test]
fn allow_uid_admits_that_uid_alone_and_no_longer_the_sidecars_own() {
    require_root();
    let (fixture, _outer) = shared_fixture();
    let sidecar = Sidecar::start(
        &fixture,
        &[
            "--socket-group",
            &GROUP.to_string(),
            "--allow-uid",
            &OUTSIDER.uid.to_string(),
        ],
    );
    let mut outsider = Client::from_stream(connect_as(&sidecar.socket, OUTSIDER).unwrap());
    outsider.hello(None);
    // The group still admits its members; root (uid 0, gid 0) is no longer on either list.
    let mut member = Client::from_stream(connect_as(&sidecar.socket, MEMBER).unwrap());
    member.hello(None);
    let mut own = Client::connect(&sidecar.socket);
    own.expect_error(0, ErrorCode::Unauthorized);
}

#[test]
fn with_a_socket_group_the_directory_is_0750_and_the_socket_0660_both_of_that_group() {
    require_root();
    let (fixture, _outer) = shared_fixture();
    let sidecar = Sidecar::start(&fixture, &["--socket-group", &GROUP.to_string()]);
    let dir = sidecar.socket.parent().unwrap().to_path_buf();
    assert_eq!(mode_owner_group(&dir), (0o750, 0, GROUP));
    assert_eq!(mode_owner_group(&sidecar.socket), (0o660, 0, GROUP));
}

#[test]
fn a_socket_group_given_by_name_is_looked_up() {
    require_root();
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(1))
        .unwrap()
        .expect("a group with gid 1 (daemon on Debian)");
    let (fixture, _outer) = shared_fixture();
    let sidecar = Sidecar::start(&fixture, &["--socket-group", &group.name]);
    assert_eq!(mode_owner_group(&sidecar.socket), (0o660, 0, 1));
}

#[test]
fn an_unknown_socket_group_name_is_a_usage_error() {
    let (fixture, _outer) = shared_fixture();
    let failed = Sidecar::try_start(&fixture, &["--socket-group", "no-such-group-ax"])
        .err()
        .expect("refused");
    assert_eq!(failed.status.code(), Some(64), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("no-such-group-ax"),
        "{}",
        failed.stderr
    );
}

#[test]
fn without_a_socket_group_the_directory_is_0700_and_the_socket_0600() {
    let (fixture, _outer) = shared_fixture();
    let sidecar = Sidecar::start(&fixture, &[]);
    let own = nix::unistd::Uid::effective().as_raw();
    let gid = nix::unistd::Gid::effective().as_raw();
    let dir = sidecar.socket.parent().unwrap().to_path_buf();
    assert_eq!(mode_owner_group(&dir), (0o700, own, gid));
    assert_eq!(mode_owner_group(&sidecar.socket).0, 0o600);
    // A member of no list cannot even reach it.
    if nix::unistd::Uid::effective().is_root() {
        let err = connect_as(&sidecar.socket, MEMBER).expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    }
}

/// Starts with an existing directory of the given mode and group; the sidecar's answer.
fn start_with_existing_dir(mode: u32, gid: u32) -> Result<Sidecar, support::Failed> {
    let (fixture, outer) = shared_fixture();
    let dir = fixture.socket.parent().unwrap();
    fs::create_dir(dir).unwrap();
    nix::unistd::chown(dir, None, Some(nix::unistd::Gid::from_raw(gid))).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).unwrap();
    let started = Sidecar::try_start(&fixture, &["--socket-group", &GROUP.to_string()]);
    drop((fixture, outer));
    started
}

#[test]
fn an_existing_directory_of_the_socket_group_is_used_when_only_we_may_write_it() {
    require_root();
    for mode in [0o750, 0o710, 0o700] {
        let started = start_with_existing_dir(mode, GROUP);
        assert!(started.is_ok(), "mode {mode:o}: {:?}", started.err());
    }
}

#[test]
fn an_existing_directory_writable_by_group_or_others_or_of_another_group_is_refused() {
    require_root();
    for (mode, gid) in [(0o770, GROUP), (0o757, GROUP), (0o750, 4799)] {
        let failed = start_with_existing_dir(mode, gid)
            .err()
            .unwrap_or_else(|| panic!("mode {mode:o} group {gid} was accepted"));
        assert_eq!(failed.status.code(), Some(71), "{}", failed.stderr);
        assert!(
            failed
                .stderr
                .contains("must belong to uid 0 and group 4711"),
            "{}",
            failed.stderr
        );
    }
}

/// A socket path of exactly `len` bytes under a fresh directory (name kept under 64 bytes).
fn socket_path_of(outer: &Path, len: usize) -> PathBuf {
    let mut dir = outer.to_path_buf();
    let name_len = 20;
    while dir.as_os_str().len() + 1 + 1 + name_len + 40 < len {
        dir.push("d".repeat(30));
    }
    let room = len - dir.as_os_str().len() - 1 - 1 - name_len;
    dir.push("e".repeat(room));
    dir.join("s".repeat(name_len))
}

#[test]
fn a_socket_path_of_107_bytes_serves_and_one_of_108_is_refused_with_exit_64() {
    let (mut fixture, outer) = shared_fixture();
    let fits = socket_path_of(outer.path(), 107);
    assert_eq!(fits.as_os_str().len(), 107);
    fs::create_dir_all(fits.parent().unwrap().parent().unwrap()).unwrap();
    fixture.socket = fits;
    let sidecar = Sidecar::start(&fixture, &[]);
    let mut client = sidecar.client();
    assert_eq!(client.get("DB_URL"), Some(value_of("DB_URL")));
    drop(sidecar);

    fixture.socket = socket_path_of(outer.path(), 108);
    let failed = Sidecar::try_start(&fixture, &[]).err().expect("refused");
    assert_eq!(failed.status.code(), Some(64), "{}", failed.stderr);
    assert_eq!(
        failed.stderr.trim_end(),
        "ax-sidecar: --socket path is 108 bytes; a Unix socket path holds at most 107"
    );
    assert!(!fixture.socket.parent().unwrap().exists());
}
