//! A connection made by another uid and gid: for tests of who may connect (PROTOCOL §1).
//!
//! `SO_PEERCRED` records the credentials of the process that called `connect`. The test makes
//! the socket, then spawns `/bin/true` with a `pre_exec` step that, in the child, sets the
//! groups, gid and uid and connects that very socket (the child shares it), before `exec`. The
//! test then speaks over the connected socket as usual: the sidecar saw the child's uid and
//! gid. The child only makes raw system calls on memory prepared before the fork.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::libc;

/// Who the child is when it connects.
#[derive(Debug, Clone, Copy)]
pub struct Creds<'a> {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (searching directories counts them; `SO_PEERCRED` does not).
    pub groups: &'a [u32],
}

/// Panics unless this process is root: switching uids needs it, and CI runs as root.
pub fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test switches uid and gid for a peer and must run as root (CI does)"
    );
}

/// Connects to `socket` as `creds`; the error is the child's `connect` error.
#[allow(unsafe_code)]
pub fn connect_as(socket: &Path, creds: Creds<'_>) -> io::Result<UnixStream> {
    // SAFETY: plain socket(2); the result is checked and owned at once.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = socket.as_os_str().as_bytes();
    assert!(bytes.len() < addr.sun_path.len(), "socket path too long");
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let groups: Vec<libc::gid_t> = creds.groups.to_vec();
    let raw = owned.as_raw_fd();
    let mut command = Command::new("/bin/true");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: between fork and exec the closure makes only async-signal-safe system calls
    // (setgroups, setgid, setuid, connect) on memory prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            let check = |rc: libc::c_int| {
                if rc < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            };
            check(libc::setgroups(groups.len(), groups.as_ptr()))?;
            check(libc::setgid(creds.gid))?;
            check(libc::setuid(creds.uid))?;
            check(libc::connect(
                raw,
                std::ptr::addr_of!(addr).cast(),
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            ))
        });
    }
    // A failed pre_exec step comes back as the spawn's error, with the child's errno.
    let mut child = command.spawn()?;
    child.wait()?;
    let stream = UnixStream::from(owned);
    stream.set_read_timeout(Some(super::PATIENCE))?;
    Ok(stream)
}
