//! The ready signal for the launcher: a line on an inherited descriptor (`--ready-fd`) or in a
//! file (`--ready-file`), written once the socket serves, so the launcher starts nodes only
//! when their secrets can be read.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

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

/// The ready file (`--ready-file`): `READY\n` at a path, for a launcher that cannot pass a
/// descriptor (a container's probe, a supervisor polling a shared volume).
///
/// Written to `PATH.tmp-<pid>` and renamed over `PATH`, so a reader sees no file or the whole
/// line, never a part. Removed again at shutdown, only if the file there is still the one this
/// process wrote (a later sidecar's file is theirs).
#[derive(Debug)]
pub struct ReadyFile {
    path: PathBuf,
    written: std::sync::OnceLock<(u64, u64)>,
}

impl ReadyFile {
    /// Checks at start that the file can go where it is asked for: its directory exists.
    pub fn check(path: &Path) -> Result<Self, StartupError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let is_dir = std::fs::metadata(dir).map_err(|source| StartupError::ReadyFile {
            path: path.to_path_buf(),
            source,
        })?;
        if !is_dir.is_dir() || path.file_name().is_none() {
            return Err(StartupError::ReadyFile {
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            written: std::sync::OnceLock::new(),
        })
    }

    /// Writes the line to the temporary name and renames it into place.
    pub fn signal(&self) -> Result<(), StartupError> {
        let failed = |source| StartupError::ReadyFile {
            path: self.path.clone(),
            source,
        };
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(format!(".tmp-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp); // a leftover of an earlier process with our pid
        let write = || -> std::io::Result<(u64, u64)> {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
                .open(&tmp)?;
            file.write_all(READY_LINE)?;
            let meta = file.metadata()?;
            std::fs::rename(&tmp, &self.path)?;
            Ok((meta.dev(), meta.ino()))
        };
        match write() {
            Ok(inode) => {
                let _ = self.written.set(inode);
                Ok(())
            }
            Err(source) => {
                let _ = std::fs::remove_file(&tmp);
                Err(failed(source))
            }
        }
    }

    /// Removes the file if it is still the one written; harmless twice or before `signal`.
    pub fn remove(&self) {
        let Some(inode) = self.written.get() else {
            return;
        };
        let same = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == *inode);
        if same {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
