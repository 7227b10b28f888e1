//! `--redact-fifo PATH`: a named pipe in the socket directory whose input is copied, masked,
//! to the sidecar's own stdout. For nodes that cannot hand the sidecar a pipe (containers of
//! one pod, a sandbox): they write their output to the FIFO, and the sidecar's log is theirs,
//! masked by the one process that holds the values.
//!
//! The FIFO is made with `mkfifoat` in the socket directory (through its descriptor, like the
//! socket), 0600, then, with a socket group, given the group and 0620: the group may write, not
//! read. A *session* is one run from the first writer's open to the last writer's close: the
//! reader opens the FIFO non-blocking, waits in `poll` (Linux reports no hang-up until a writer
//! has come), copies through a fresh [`StreamFilter`] until end of file, flushes what the
//! filter held back, records one `redact_stream` audit event, closes, and opens again. At
//! shutdown a byte on a wake-up pipe ends the wait: what is in the FIFO then is copied, and the
//! thread ends. Bytes a writer sends after that are not copied. The FIFO is removed at exit,
//! by the orderly stop or by the watchdog.

use std::ffi::OsString;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, fchmodat, fstatat};
use nix::unistd::{Gid, UnlinkatFlags, fchownat, mkfifoat, pipe2, unlinkat};
use zeroize::Zeroize;

use super::filter::{StreamFilter, StreamMatcher};
use crate::audit::{Action, AuditName, AuditNames, AuditQueue, Peer};
use crate::exit::StartupError;
use crate::limits::STREAM_READ_CHUNK;
use crate::messages::STREAM_WITHHELD;
use crate::store::Store;

/// Mode of the FIFO with a socket group: the sidecar reads, the group writes, nobody else.
const GROUP_FIFO_MODE: u32 = 0o620;

/// The FIFO, made in the socket directory; removed when dropped if it is still ours.
#[derive(Debug)]
pub struct RedactFifo {
    dir: OwnedFd,
    name: OsString,
    inode: (u64, u64),
}

/// The running reader: [`FifoReader::stop`] wakes it and waits for its last session.
#[derive(Debug)]
pub struct FifoReader {
    wake: OwnedFd,
    done: tokio::sync::mpsc::Receiver<()>,
}

fn failed(path: &Path, step: &'static str, errno: Errno) -> StartupError {
    StartupError::RedactFifo {
        path: path.to_path_buf(),
        reason: format!("cannot {step}: {errno}"),
    }
}

impl RedactFifo {
    /// Makes the FIFO at `path`, which must name a file directly in `socket_dir` (`dir`, the
    /// socket directory's descriptor). A FIFO left there by an earlier run is replaced; anything
    /// else is refused.
    pub fn create(
        path: &Path,
        socket_dir: &Path,
        dir: BorrowedFd<'_>,
        group: Option<Gid>,
    ) -> Result<Self, StartupError> {
        let name = match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) if parent == socket_dir => name.to_os_string(),
            _ => {
                return Err(StartupError::RedactFifo {
                    path: path.to_path_buf(),
                    reason: format!(
                        "must name a file directly in the socket's directory {}",
                        socket_dir.display()
                    ),
                });
            }
        };
        let dir = dir.try_clone_to_owned().map_err(|e| {
            failed(
                path,
                "keep the directory",
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            )
        })?;
        match fstatat(&dir, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFIFO => {
                unlinkat(&dir, name.as_os_str(), UnlinkatFlags::NoRemoveDir)
                    .map_err(|e| failed(path, "remove the old FIFO", e))?;
            }
            Ok(_) => {
                return Err(StartupError::RedactFifo {
                    path: path.to_path_buf(),
                    reason: "exists and is not a FIFO; refusing to remove it".into(),
                });
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(failed(path, "check the path", e)),
        }
        mkfifoat(&dir, name.as_os_str(), Mode::from_bits_truncate(0o600))
            .map_err(|e| failed(path, "create the FIFO", e))?;
        if let Some(gid) = group {
            // The directory is writable by us alone: the name still means the FIFO we made.
            fchownat(
                &dir,
                name.as_os_str(),
                None,
                Some(gid),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| failed(path, "give the FIFO its group", e))?;
            fchmodat(
                &dir,
                name.as_os_str(),
                Mode::from_bits_truncate(GROUP_FIFO_MODE),
                FchmodatFlags::FollowSymlink,
            )
            .map_err(|e| failed(path, "make the FIFO 0620", e))?;
        }
        let st = fstatat(&dir, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| failed(path, "check the new FIFO", e))?;
        Ok(Self {
            dir,
            name,
            inode: (st.st_dev, st.st_ino),
        })
    }

    /// Starts the reader thread; its events are recorded in `queue` as `peer`.
    pub fn start(
        &self,
        store: Arc<Store>,
        queue: Arc<AuditQueue>,
        peer: Peer,
    ) -> Result<FifoReader, StartupError> {
        let runtime = |source| StartupError::Runtime {
            what: "redact FIFO reader",
            source,
        };
        let (wake_r, wake_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| runtime(e.into()))?;
        let dir = self.dir.try_clone().map_err(runtime)?;
        let name = self.name.clone();
        let (done, receiver) = tokio::sync::mpsc::channel::<()>(1);
        std::thread::Builder::new()
            .name("ax-redact-fifo".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                let matcher = OnceLock::new();
                read_sessions(&dir, &name, &wake_r, &matcher, &store, &queue, peer);
                drop(done);
            })
            .map_err(runtime)?;
        Ok(FifoReader {
            wake: wake_w,
            done: receiver,
        })
    }
}

impl Drop for RedactFifo {
    fn drop(&mut self) {
        self.remove();
    }
}

impl RedactFifo {
    /// Removes the FIFO now if it is still the one made (what dropping does); for the shutdown
    /// watchdog, which exits without running destructors. Doing it twice is harmless.
    pub fn remove(&self) {
        crate::socket::remove_if_ours(self.dir.as_fd(), self.name.as_os_str(), self.inode);
    }
}

impl FifoReader {
    /// Wakes the reader and waits, at most `timeout`, for it to copy what is waiting and end.
    pub async fn stop(mut self, timeout: Duration) -> bool {
        let _ = nix::unistd::write(&self.wake, b"x");
        tokio::time::timeout(timeout, self.done.recv())
            .await
            .is_ok()
    }
}

/// Sessions until woken; each ends at the last writer's close, or at the wake-up.
fn read_sessions(
    dir: &OwnedFd,
    name: &OsString,
    wake: &OwnedFd,
    matcher: &OnceLock<Result<StreamMatcher, crate::redact::BuildError>>,
    store: &Store,
    queue: &AuditQueue,
    peer: Peer,
) {
    let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    loop {
        let fifo = match openat(dir, name.as_os_str(), flags, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(err) => {
                tracing::error!(
                    error = %err,
                    fifo = ?Path::new(name),
                    "cannot open the redact FIFO; no longer reading it"
                );
                return;
            }
        };
        let Some(woken) = wait_for_writer(&fifo, wake) else {
            return;
        };
        if woken {
            return;
        }
        let matcher = match matcher.get_or_init(|| StreamMatcher::build(store)) {
            Ok(m) => Some(m),
            Err(err) => {
                tracing::error!(error = %err, "withholding the redact FIFO: it cannot be masked");
                None
            }
        };
        let woken = copy_session(fifo, matcher, wake, queue, peer);
        if woken {
            return;
        }
    }
}

/// Waits until the FIFO has a writer (readable or hung up) or the wake-up pipe is readable;
/// `Some(true)` if woken with nothing to copy, `Some(false)` for a writer, `None` on error.
fn wait_for_writer(fifo: &File, wake: &OwnedFd) -> Option<bool> {
    let mut fds = [
        PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
        PollFd::new(wake.as_fd(), PollFlags::POLLIN),
    ];
    loop {
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(err) => {
                tracing::error!(error = %err, "cannot wait on the redact FIFO");
                return None;
            }
        }
        let writer = fds[0].any().unwrap_or(false);
        let woken = fds[1].any().unwrap_or(false);
        if woken && !writer {
            return Some(true);
        }
        if writer {
            return Some(false);
        }
    }
}

/// Copies one session through a fresh filter to stdout; `true` if the wake-up came. Without
/// a matcher nothing may pass unmasked: the session gets one line saying its output was
/// withheld, and its bytes are read and discarded, so no writer blocks on a full FIFO.
fn copy_session(
    mut fifo: File,
    matcher: Option<&StreamMatcher>,
    wake: &OwnedFd,
    queue: &AuditQueue,
    peer: Peer,
) -> bool {
    let mut filter = matcher.map(StreamFilter::new);
    let mut buf = vec![0u8; STREAM_READ_CHUNK];
    let mut out = Vec::with_capacity(STREAM_READ_CHUNK + 64);
    let mut stdout = std::io::stdout().lock();
    if filter.is_none() {
        let _ = stdout.write_all(STREAM_WITHHELD.as_bytes());
    }
    let mut woken = false;
    loop {
        match fifo.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Some(filter) = filter.as_mut() {
                    filter.feed(&buf[..n], &mut out);
                    let _ = stdout.write_all(&out);
                    out.zeroize();
                }
                buf[..n].zeroize();
                continue;
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                if woken {
                    break; // shutting down, and nothing more is waiting
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the redact FIFO; ending the session");
                break;
            }
        }
        match wait_for_writer(&fifo, wake) {
            Some(false) => {}
            Some(true) | None => woken = true,
        }
        if woken {
            // One more pass over what is waiting, then out.
            continue;
        }
    }
    let Some(mut filter) = filter else {
        return woken;
    };
    filter.finish(&mut out);
    let _ = stdout.write_all(&out);
    let _ = stdout.flush();
    out.zeroize();
    let names = filter
        .found()
        .into_iter()
        .map(AuditName::Known)
        .collect::<Vec<_>>();
    let any = !names.is_empty();
    queue.record(Action::RedactStream, AuditNames::Many(names), any, peer);
    woken
}
