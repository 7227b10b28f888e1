//! The ready signal for the launcher: a line on an inherited descriptor, written once the
//! socket serves, so the launcher starts nodes only when their secrets can be read.

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};

use crate::exit::StartupError;

/// The line written once the sidecar serves.
pub const READY_LINE: &[u8] = b"READY\n";

/// The launcher's ready descriptor, claimed at start so nothing else can be given its number.
#[derive(Debug)]
pub struct ReadyFd(File);

impl ReadyFd {
    /// Takes ownership of descriptor `fd`, which must be open, and keeps it from children.
    ///
    /// Called first thing in `main`, before the process opens anything: the number then still
    /// names what the launcher passed, and nothing of ours is closed by mistake.
    pub fn claim(fd: i32) -> Result<Self, StartupError> {
        if fd < 0 {
            return Err(StartupError::ReadyFd { fd });
        }
        // SAFETY: `F_GETFD` only reads the flags of `fd`; it fails with EBADF if fd is closed.
        #[allow(unsafe_code)]
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        fcntl(borrowed, FcntlArg::F_GETFD).map_err(|_| StartupError::ReadyFd { fd })?;
        let _ = fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
        // SAFETY: `fd` is open (checked above) and was inherited for this purpose; nothing
        // else in this process has opened or claimed it yet.
        #[allow(unsafe_code)]
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self(File::from(owned)))
    }

    /// Writes the ready line and closes the descriptor. A launcher that has gone away is not
    /// an error of the sidecar's: it is logged, and parent-death handling does the rest.
    pub fn signal(mut self) {
        if let Err(err) = self.0.write_all(READY_LINE) {
            tracing::warn!(error = %err, "cannot write to the ready descriptor");
        }
    }
}
