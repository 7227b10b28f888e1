//! Online or offline: which bundle source and which audit sinks the flags of `serve` choose,
//! and the inherited descriptors they name.
//!
//! Offline (`--bundle-file`, `--key-file`): the local sealed file, audit as JSON lines to
//! `--audit-file` (default stderr). Online (`--control-plane`): the control plane's bundle,
//! audit shipped to it, and also to `--audit-file` when that is given.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use nix::fcntl::{FcntlArg, OFlag, fcntl};

use crate::audit::jsonl::JsonLinesSink;
use crate::audit::ship::{ControlPlaneSink, ShipConfig};
use crate::audit::tee::Tee;
use crate::audit::{AuditSink, Peer};
use crate::cli::ServeArgs;
use crate::control_plane::ControlPlane;
use crate::control_plane::credentials::{TokenSource, read_signing_keys};
use crate::exit::StartupError;
use crate::limits::AUDIT_SHIP_INTERVAL;
use crate::source::BundleSource;

/// Refuses a descriptor number named by two flags (the ready line, the token, the streams),
/// before any of them is claimed. Streams among themselves are checked when claimed.
pub fn check_descriptors(args: &ServeArgs) -> Result<(), StartupError> {
    let streams = args
        .redact_streams
        .iter()
        .flat_map(|s| [s.input, s.output])
        .collect::<Vec<_>>();
    let singles = [("--ready-fd", args.ready_fd), ("--token-fd", args.token_fd)];
    for (index, (flag, fd)) in singles.iter().enumerate() {
        let Some(fd) = *fd else { continue };
        let twice = singles[index + 1..]
            .iter()
            .any(|(_, other)| *other == Some(fd))
            || streams.contains(&fd);
        if twice {
            return Err(StartupError::Fd {
                flag,
                fd,
                reason: "is also named by another descriptor flag",
            });
        }
    }
    Ok(())
}

/// The gid `--socket-group` names: a number is taken as it is, anything else is looked up as a
/// group name.
pub fn resolve_group(group: &str) -> Result<nix::unistd::Gid, StartupError> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(nix::unistd::Gid::from_raw(gid));
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(found)) => Ok(found.gid),
        _ => Err(StartupError::SocketGroup {
            group: group.to_owned(),
        }),
    }
}

/// Claims `--token-fd` now, while its number still names what the launcher passed; a token
/// file is only read later.
pub fn claim_token(args: &ServeArgs) -> Result<Option<TokenSource>, StartupError> {
    match (&args.token_file, args.token_fd) {
        (Some(path), _) => Ok(Some(TokenSource::File(path.clone()))),
        (None, Some(fd)) => TokenSource::claim_fd(fd).map(Some),
        (None, None) => Ok(None),
    }
}

/// The bundle source the flags name (clap has already checked that they name exactly one).
pub fn bundle_source(
    args: &ServeArgs,
    token: Option<TokenSource>,
) -> Result<BundleSource, StartupError> {
    let (Some(url), Some(token)) = (&args.control_plane, token) else {
        return Ok(BundleSource::LocalFile {
            bundle: args.bundle_file.clone().unwrap_or_default(),
            key: args.key_file.clone().unwrap_or_default(),
        });
    };
    let token = token.read()?;
    let signing_keys =
        read_signing_keys(args.control_plane_key.as_deref().unwrap_or(Path::new("")))?;
    let plane = ControlPlane::new(
        url,
        args.execution_id.as_deref().unwrap_or_default(),
        token,
        args.ca_file.as_deref(),
    )?;
    Ok(BundleSource::ControlPlane {
        plane: Arc::new(plane),
        signing_keys,
        deadline: args.fetch_deadline,
    })
}

/// The audit sink(s) for this mode.
pub fn audit_sink(
    args: &ServeArgs,
    source: &BundleSource,
    execution_id: &str,
) -> Result<Box<dyn AuditSink>, StartupError> {
    let BundleSource::ControlPlane { plane, .. } = source else {
        let path = args.audit_file.as_deref().unwrap_or(Path::new("-"));
        return open_jsonl(path, execution_id);
    };
    let config = ShipConfig {
        batch: args.audit_batch as usize,
        capacity: args.audit_queue as usize,
        interval: AUDIT_SHIP_INTERVAL,
        flush_timeout: args.audit_flush_timeout,
    };
    let local = args
        .audit_file
        .as_deref()
        .map(|path| open_jsonl(path, execution_id))
        .transpose()?;
    let shipped: Box<dyn AuditSink> = Box::new(ControlPlaneSink::spawn(plane, config)?);
    Ok(match local {
        Some(local) => Box::new(Tee(shipped, local)),
        None => shipped,
    })
}

/// The JSON-lines sink on a file (appended to, created 0600) or on stderr for `-`.
fn open_jsonl(path: &Path, execution_id: &str) -> Result<Box<dyn AuditSink>, StartupError> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(JsonLinesSink::new(
            std::io::stderr(),
            execution_id,
        )));
    }
    let failed = |source| StartupError::AuditFile {
        path: path.to_path_buf(),
        source,
    };
    // O_NONBLOCK: opening a FIFO for writing otherwise waits until someone opens it for
    // reading, which may be never; non-blocking, that fails at once with ENXIO instead.
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| {
            failed(if err.raw_os_error() == Some(nix::libc::ENXIO) {
                std::io::Error::other("it is a FIFO that nobody has open for reading")
            } else {
                err
            })
        })?;
    // Writes block again: they happen on the audit writer thread only, whose wait shutdown
    // bounds, and a non-blocking write would lose events whenever a reader is briefly slow.
    let flags = fcntl(&file, FcntlArg::F_GETFL).map_err(|e| failed(e.into()))?;
    let flags = OFlag::from_bits_retain(flags) & !OFlag::O_NONBLOCK;
    fcntl(&file, FcntlArg::F_SETFL(flags)).map_err(|e| failed(e.into()))?;
    Ok(Box::new(JsonLinesSink::new(file, execution_id)))
}

/// Who a redacted stream's audit event names: the process that handed the stream over (the
/// sidecar's parent, the launcher), with this process's uid and gid.
pub fn launcher_peer() -> Peer {
    Peer {
        pid: nix::unistd::getppid().as_raw(),
        uid: nix::unistd::Uid::effective().as_raw(),
        gid: nix::unistd::Gid::effective().as_raw(),
    }
}
