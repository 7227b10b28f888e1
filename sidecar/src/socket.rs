//! The listening socket: a private directory, a 0600 socket file, no symlink ever followed.
//!
//! The directory is opened once with `O_NOFOLLOW` and checked (a real directory, ours, closed
//! to group and others); from then on everything goes through that descriptor: the stale-socket
//! check and removal use `*at` calls, and `bind` goes through `/proc/self/fd/N/NAME`, so a
//! directory swapped for a symlink after the check cannot redirect the socket. The file is
//! created under `umask 0177`, so it is never more open than 0600, not even for an instant.
//!
//! With a socket group (`--socket-group`) the directory is ours and the group's, 0750, and the
//! socket 0660 with that group: a directory we create is made 0700 first and only then given
//! the group and 0750; an existing one must already be exactly so (never writable by group or
//! others, so nobody else can put or swap anything in it). The socket gets its group and then
//! 0660 through the directory descriptor, after `bind`; before that it is 0600 and ours.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, open};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, fchmod, fchmodat, fstat, fstatat, umask};
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchown, fchownat, unlinkat};

/// Why the socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The path has no file name, or one too long to bind.
    #[error("the socket path must end in a file name of 1 to {MAX_NAME_LEN} bytes")]
    BadName,
    /// The directory could not be created or opened.
    #[error("cannot open its directory {dir}: {errno}")]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// The OS error (`ELOOP`: it is a symlink).
        errno: Errno,
    },
    /// The directory is not ours and the socket group's, or is writable by others.
    #[error(
        "its directory {dir} must belong to uid {uid} and group {gid} and be writable by \
         neither group nor others (mode 0750), but has owner {owner}, group {group} and mode \
         {mode:04o}"
    )]
    NotGroupOnly {
        /// The directory.
        dir: PathBuf,
        /// This process's uid.
        uid: u32,
        /// The socket group.
        gid: u32,
        /// The directory's owner.
        owner: u32,
        /// The directory's group.
        group: u32,
        /// The directory's permission bits.
        mode: u32,
    },
    /// The directory is not private to this user.
    #[error(
        "its directory {dir} must belong to uid {uid} and be closed to group and others \
         (mode 0700), but has owner {owner} and mode {mode:04o}"
    )]
    NotPrivate {
        /// The directory.
        dir: PathBuf,
        /// This process's uid.
        uid: u32,
        /// The directory's owner.
        owner: u32,
        /// The directory's permission bits.
        mode: u32,
    },
    /// Something that is not a socket is at the path.
    #[error("the path exists and is not a socket; refusing to remove it")]
    Occupied,
    /// A live process answers on the socket already.
    #[error("another process is already listening on it")]
    InUse,
    /// Checking, removing or binding failed.
    #[error("cannot {step}: {errno}")]
    Os {
        /// What was being done.
        step: &'static str,
        /// The OS error.
        errno: Errno,
    },
}

/// Longest socket file name: `sun_path` holds 108 bytes, and binding goes through
/// `/proc/self/fd/N/`.
pub const MAX_NAME_LEN: usize = 64;

/// A bound socket file; removed when dropped, if it is still the one bound.
#[derive(Debug)]
pub struct SocketFile {
    dir: OwnedFd,
    name: OsString,
    path: PathBuf,
    inode: (u64, u64),
}

impl SocketFile {
    /// The path the socket was asked for.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The socket directory, opened once and checked: for making other files in it.
    pub fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.remove();
    }
}

impl SocketFile {
    /// Removes the socket file now (what dropping does); for the shutdown watchdog, which
    /// exits without running destructors. Doing it twice is harmless.
    pub fn remove(&self) {
        remove_if_ours(self.dir.as_fd(), self.name.as_os_str(), self.inode);
    }
}

/// Removes `name` from `dir` if it is still the inode (`(st_dev, st_ino)`) this process made:
/// a file put there by someone else since (a later sidecar after a stale-socket replacement)
/// is theirs. Doing it twice is harmless.
pub(crate) fn remove_if_ours(dir: BorrowedFd<'_>, name: &std::ffi::OsStr, inode: (u64, u64)) {
    let same = fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| (st.st_dev, st.st_ino) == inode);
    if same {
        let _ = unlinkat(dir, name, UnlinkatFlags::NoRemoveDir);
    }
}

/// Creates the listening socket at `path`, as described in the module documentation: private
/// to this user, or shared with `group` when one is given.
pub fn bind_private(
    path: &Path,
    group: Option<Gid>,
) -> Result<(UnixListener, SocketFile), SocketError> {
    let name = path.file_name().ok_or(SocketError::BadName)?;
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(SocketError::BadName);
    }
    let dir_path = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = match group {
        None => open_private_dir(&dir_path)?,
        Some(gid) => open_group_dir(&dir_path, gid)?,
    };
    remove_stale(&dir, name.as_ref())?;

    let via = bind_path(&dir, name.as_ref());
    let old = umask(Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(&via);
    umask(old);
    let listener = bound.map_err(|e| SocketError::Os {
        step: "bind the socket",
        errno: io_errno(&e),
    })?;
    if let Some(gid) = group {
        // The directory is writable by us alone, so the name still means the socket we bound.
        let os = |step| move |errno| SocketError::Os { step, errno };
        fchownat(&dir, name, None, Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(os("give the socket its group"))?;
        fchmodat(
            &dir,
            name,
            Mode::from_bits_truncate(GROUP_SOCKET_MODE),
            FchmodatFlags::FollowSymlink,
        )
        .map_err(os("make the socket 0660"))?;
    }
    let st =
        fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|errno| SocketError::Os {
            step: "check the new socket",
            errno,
        })?;
    let file = SocketFile {
        dir,
        name: name.to_os_string(),
        path: path.to_path_buf(),
        inode: (st.st_dev, st.st_ino),
    };
    listener
        .set_nonblocking(true)
        .map_err(|e| SocketError::Os {
            step: "make the socket non-blocking",
            errno: io_errno(&e),
        })?;
    Ok((listener, file))
}

/// Mode of the socket directory with a socket group: the group may enter, nobody else.
const GROUP_DIR_MODE: u32 = 0o750;
/// Mode of the socket file with a socket group: connecting needs write permission.
const GROUP_SOCKET_MODE: u32 = 0o660;

/// Opens (creating it 0700 if missing) the directory for a socket shared with `gid`. One we
/// created gets the group and 0750; one that existed must already be ours and the group's and
/// writable by neither group nor others.
fn open_group_dir(dir: &Path, gid: Gid) -> Result<OwnedFd, SocketError> {
    let failed = |errno| SocketError::Directory {
        dir: dir.to_path_buf(),
        errno,
    };
    let created = match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(failed(io_errno(&e))),
    };
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = open(dir, flags, Mode::empty()).map_err(failed)?;
    let uid = Uid::effective().as_raw();
    if created {
        let st = fstat(&fd).map_err(failed)?;
        // Ours and still 0700 (nobody else could have entered it); only then opened up.
        if st.st_uid == uid && st.st_mode & 0o077 == 0 {
            let os = |step| move |errno| SocketError::Os { step, errno };
            fchown(&fd, None, Some(gid)).map_err(os("give the socket directory its group"))?;
            fchmod(&fd, Mode::from_bits_truncate(GROUP_DIR_MODE))
                .map_err(os("make the socket directory 0750"))?;
        }
    }
    let st = fstat(&fd).map_err(failed)?;
    let mode = st.st_mode & 0o7777;
    if st.st_uid != uid || st.st_gid != gid.as_raw() || mode & 0o022 != 0 {
        return Err(SocketError::NotGroupOnly {
            dir: dir.to_path_buf(),
            uid,
            gid: gid.as_raw(),
            owner: st.st_uid,
            group: st.st_gid,
            mode,
        });
    }
    Ok(fd)
}

fn open_private_dir(dir: &Path) -> Result<OwnedFd, SocketError> {
    let failed = |errno| SocketError::Directory {
        dir: dir.to_path_buf(),
        errno,
    };
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed(io_errno(&e))),
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = open(dir, flags, Mode::empty()).map_err(failed)?;
    let st = fstat(&fd).map_err(failed)?;
    let uid = Uid::effective().as_raw();
    let mode = st.st_mode & 0o7777;
    if st.st_uid != uid || mode & 0o077 != 0 {
        return Err(SocketError::NotPrivate {
            dir: dir.to_path_buf(),
            uid,
            owner: st.st_uid,
            mode,
        });
    }
    Ok(fd)
}

/// Removes a socket nobody listens on; refuses a live socket and anything that is not one.
fn remove_stale(dir: &OwnedFd, name: &Path) -> Result<(), SocketError> {
    let st = match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(errno) => {
            return Err(SocketError::Os {
                step: "check the socket path",
                errno,
            });
        }
    };
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFSOCK {
        return Err(SocketError::Occupied);
    }
    match UnixStream::connect(bind_path(dir, name)) {
        Ok(_) => Err(SocketError::InUse),
        Err(e) if io_errno(&e) == Errno::ECONNREFUSED => {
            unlinkat(dir, name, UnlinkatFlags::NoRemoveDir).map_err(|errno| SocketError::Os {
                step: "remove the stale socket",
                errno,
            })
        }
        Err(e) => Err(SocketError::Os {
            step: "probe the existing socket",
            errno: io_errno(&e),
        }),
    }
}

/// `NAME` inside the already-opened directory, without resolving the directory's path again.
fn bind_path(dir: &impl AsFd, name: &Path) -> PathBuf {
    Path::new(&format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd())).join(name)
}

fn io_errno(err: &std::io::Error) -> Errno {
    err.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}
