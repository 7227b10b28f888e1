//! The node user (`--node-uid`, `--node-gid`): the command runs as an unprivileged uid and gid
//! of its own, apart from the sidecar (root), and reaches the socket through that gid alone.
//!
//! ax-run must be root to switch users; uid 0 is refused, since a node running as root could
//! read the sidecar's memory and the point is that it cannot. In the child, after fork and
//! before exec: supplementary groups cleared (`setgroups(0)`), then `setgid`, then `setuid`,
//! in that order (after `setuid` the others are no longer permitted), each checked.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::libc;
use nix::sys::stat::{FchmodatFlags, Mode, fchmodat};
use nix::unistd::{Gid, chown};

/// Mode of the socket directory shared with the node's gid: the group may enter and no more.
const SHARED_DIR_MODE: u32 = 0o750;

/// The uid and gid the command runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeUser {
    /// Its uid (never 0).
    pub uid: u32,
    /// Its gid: the only group it has, and the socket's group.
    pub gid: u32,
}

impl NodeUser {
    /// Checks the request: ax-run must be root, and the uid must not be.
    ///
    /// # Errors
    ///
    /// The usage message, for exit 64.
    pub fn new(uid: u32, gid: u32) -> Result<Self, String> {
        if !nix::unistd::Uid::effective().is_root() {
            return Err(
                "--node-uid needs ax-run to run as root (it switches the command's user)".into(),
            );
        }
        if uid == 0 {
            return Err(
                "--node-uid 0 would run the command as root; give an unprivileged uid".into(),
            );
        }
        Ok(Self { uid, gid })
    }
}

/// Gives the (new, 0700, ours) socket directory the node's gid, then mode 0750.
///
/// # Errors
///
/// The OS error of `chown` or `chmod`.
pub fn share_dir(dir: &Path, node: NodeUser) -> io::Result<()> {
    chown(dir, None, Some(Gid::from_raw(node.gid)))?;
    fchmodat(
        nix::fcntl::AT_FDCWD,
        dir,
        Mode::from_bits_truncate(SHARED_DIR_MODE),
        FchmodatFlags::FollowSymlink,
    )?;
    Ok(())
}

/// Makes `command` run as `node`: groups cleared, gid, uid, in the child before exec.
#[allow(unsafe_code)]
pub fn run_as(command: &mut Command, node: NodeUser) {
    // SAFETY: between fork and exec the closure makes only async-signal-safe system calls
    // (setgroups, setgid, setuid) and touches no memory of the parent's but two integers.
    unsafe {
        command.pre_exec(move || {
            let check = |rc: libc::c_int| {
                if rc < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            };
            check(libc::setgroups(0, std::ptr::null()))?;
            check(libc::setgid(node.gid))?;
            check(libc::setuid(node.uid))
        });
    }
}
