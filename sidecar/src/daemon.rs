//! `ax-sidecar serve`: start-up in a fixed order, serving, and shutdown within a deadline.
//!
//! Order: refuse a socket path no client could connect to, claim the inherited descriptors
//! (ready line, token, streams), resolve the socket group and check the ready file's
//! directory, harden the process, read the key and the token, get the bundle (open the local
//! file, or fetch it from the control plane) into the locked arena, open the audit sink, bind
//! the socket (and make the redact FIFO beside it), start the streams, write `READY` (file,
//! then descriptor), serve. Hardening comes before any secret is in memory; descriptors are
//! claimed before anything else opens one, so their numbers still name what the launcher
//! passed.
//!
//! Any failure before `READY` returns a [`StartupError`] and leaves no socket behind (the
//! socket file removes itself when dropped). Between the stages, the start-up guard looks for
//! SIGTERM, SIGINT or a dead launcher ([`Guard::check`]); the last look is immediately before
//! `READY`, so a sidecar that writes `READY` serves, and one told to stop before does neither.
//!
//! After `READY`, only a signal, the parent's death or the control plane's end of the execution
//! (an audit batch answered 410, which raises SIGTERM) stops the sidecar: connections and
//! streams get `--shutdown-timeout`, the audit writer what is left of it plus
//! [`AUDIT_FINISH_GRACE`] (online, plus `--audit-flush-timeout`), then memory is wiped and the
//! socket removed. The [`Watchdog`], armed when the signal arrives, ends the process at
//! [`SHUTDOWN_MARGIN`] past that whatever is still stuck. The exit status then says whether
//! audit was lost ([`exit::after_serving`]).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use crate::audit::{AuditQueue, AuditWriter};
use crate::cli::ServeArgs;
use crate::exit::{self, StartupError};
use crate::harden::harden;
use crate::limits::{
    AUDIT_FINISH_GRACE, AUDIT_FLUSH_INTERVAL, ConnectionLimits, LOG_FLUSH_PATIENCE,
    MAX_SOCKET_PATH, SHUTDOWN_MARGIN,
};
use crate::mode;
use crate::ready::{ReadyFd, ReadyFile};
use crate::request::Service;
use crate::server::{self, Admission};
use crate::socket::bind_private;
use crate::source::{BundleSource, MemoryPolicy};
use crate::startup::Guard;
use crate::store::Store;
use crate::stream::Streams;
use crate::stream::fifo::{FifoReader, RedactFifo};
use crate::token::ClientToken;
use crate::watchdog::{Teardown, Watchdog};

/// Runs the daemon until it is told to stop; `Ok` holds the exit status of a sidecar that
/// served (0, or [`exit::AUDIT_LOST`], or [`exit::NO_PERM`] for an ended execution).
///
/// `guard` holds SIGTERM and SIGINT pending since the first instruction of `main`.
pub fn run(args: ServeArgs, guard: Guard) -> Result<u8, StartupError> {
    let socket_len = args.socket.as_os_str().len();
    if socket_len > MAX_SOCKET_PATH {
        return Err(StartupError::SocketPathTooLong { len: socket_len });
    }
    mode::check_descriptors(&args)?;
    let ready = args.ready_fd.map(ReadyFd::claim).transpose()?;
    let execution_token = mode::claim_token(&args)?;
    let claimed_streams = crate::stream::pump::claim(&args.redact_streams)?;
    // Both may open files (the group database), so only once the descriptors are claimed.
    let socket_group = args
        .socket_group
        .as_deref()
        .map(mode::resolve_group)
        .transpose()?;
    let ready_file = args
        .ready_file
        .as_deref()
        .map(ReadyFile::check)
        .transpose()?
        .map(Arc::new);
    let launcher = mode::launcher_peer();
    crate::logging::init(args.log_format, args.log_level.into());
    guard.check()?;
    harden(args.allow_unlocked_memory)?;
    let runtime = build_runtime(args.threads)?;
    guard.check()?;

    let source = mode::bundle_source(&args, execution_token)?;
    let token = args
        .client_token_file
        .as_deref()
        .map(read_token)
        .transpose()?;
    let policy = if args.allow_unlocked_memory {
        MemoryPolicy::AllowUnlocked
    } else {
        MemoryPolicy::RequireLocked
    };
    let store = runtime.block_on(async {
        tokio::select! {
            store = source.load(policy) => store,
            stopped = guard.stopped() => Err(stopped),
        }
    })?;
    guard.check()?;
    let store = Arc::new(store);
    let sink = mode::audit_sink(&args, &source, &store.info().execution_id)?;
    guard.check()?;

    let (listener, socket_file) =
        bind_private(&args.socket, socket_group).map_err(|source| StartupError::Socket {
            path: args.socket.clone(),
            source,
        })?;
    let redact_fifo = match &args.redact_fifo {
        Some(path) => {
            let dir = args.socket.parent().unwrap_or(Path::new(""));
            Some(RedactFifo::create(
                path,
                dir,
                socket_file.dir(),
                socket_group,
            )?)
        }
        None => None,
    }
    .map(Arc::new);
    let socket_file = Arc::new(socket_file);
    let queue = Arc::new(AuditQueue::new(args.audit_queue as usize));
    let writer = AuditWriter::spawn(
        Arc::clone(&queue),
        Arc::clone(&store),
        sink,
        AUDIT_FLUSH_INTERVAL,
    )
    .map_err(|source| StartupError::Runtime {
        what: "audit writer",
        source,
    })?;
    // The streams' matcher is built by the stream threads themselves, after READY: with
    // thousands of secrets it costs milliseconds the launcher would otherwise wait for, while
    // a node's first output can wait in its pipe.
    let streams = if claimed_streams.is_empty() {
        None
    } else {
        Some(Streams::start(
            claimed_streams,
            Arc::clone(&store),
            Arc::clone(&queue),
            launcher,
        )?)
    };
    let fifo_reader = redact_fifo
        .as_ref()
        .map(|fifo| fifo.start(Arc::clone(&store), Arc::clone(&queue), launcher))
        .transpose()?;
    let limits = ConnectionLimits {
        max_request_bytes: args.max_request_bytes,
        max_response_bytes: args.max_response_bytes,
        idle_timeout: args.idle_timeout,
        partial_frame_timeout: args.partial_frame_timeout,
    };
    let service = Arc::new(Service::new(
        Arc::clone(&store),
        Arc::clone(&queue),
        token,
        limits,
    ));
    let admission = Admission {
        allowed_uids: if args.allow_uids.is_empty() {
            vec![nix::unistd::Uid::effective().as_raw()]
        } else {
            args.allow_uids.clone()
        },
        allowed_gids: args
            .allow_gids
            .iter()
            .copied()
            .chain(socket_group.map(nix::unistd::Gid::as_raw))
            .collect(),
        max_connections: args.max_connections as usize,
        shutdown_timeout: args.shutdown_timeout,
    };
    // Shutdown's budget beyond --shutdown-timeout: online, the control plane gets its own.
    let audit_budget = match source {
        BundleSource::ControlPlane { .. } => args.audit_flush_timeout,
        BundleSource::LocalFile { .. } => Duration::ZERO,
    };

    let listener = {
        let _context = runtime.enter();
        tokio::net::UnixListener::from_std(listener).map_err(|source| StartupError::Runtime {
            what: "listener",
            source,
        })?
    };
    // The one decision: past this check the sidecar writes READY and serves; a signal that
    // comes later is taken by the signal thread and is an ordinary shutdown.
    guard.check()?;
    // Started only now: it holds the socket file, which an earlier failure must remove.
    let watchdog = Watchdog::spawn(Teardown {
        wiper: store.wiper(),
        socket: Arc::clone(&socket_file),
        ready_file: ready_file.clone(),
        redact_fifo: redact_fifo.clone(),
        queue: Arc::clone(&queue),
    })
    .map_err(|source| StartupError::Runtime {
        what: "shutdown watchdog",
        source,
    })?;
    tracing::info!(
        socket = %socket_file.path().display(),
        execution_id = %store.info().execution_id,
        tenant = %store.info().tenant,
        secrets = store.len(),
        overrides = store.override_count(),
        memory_locked = store.is_locked(),
        allowed_uids = ?admission.allowed_uids,
        allowed_gids = ?admission.allowed_gids,
        client_token = service.token.is_some(),
        streams = streams.as_ref().map_or(0, Streams::len),
        redact_fifo = fifo_reader.is_some(),
        "serving"
    );
    let unmasked = crate::redact::Unmasked::of(&store);
    if unmasked.count > 0 {
        tracing::info!(
            count = unmasked.count,
            names = ?unmasked.names,
            min_len = ax_protocol::limits::MIN_REDACTED_LEN,
            "values too short to be redacted"
        );
    }
    let shutdown = CancellationToken::new();
    let stopping = Arc::new(std::sync::OnceLock::<Instant>::new());
    guard
        .hand_over({
            let shutdown = shutdown.clone();
            let watchdog = watchdog.clone();
            let stopping = Arc::clone(&stopping);
            let ready_file = ready_file.clone();
            let hard = args.shutdown_timeout + audit_budget + SHUTDOWN_MARGIN;
            move |name| {
                let now = Instant::now();
                let _ = stopping.set(now);
                watchdog.arm(now + hard);
                // Not ready from the first moment of shutdown: a probe reading the file
                // must not send a node to a sidecar that is leaving.
                if let Some(file) = &ready_file {
                    file.remove();
                }
                tracing::info!(signal = name, "shutting down");
                shutdown.cancel();
            }
        })
        .map_err(|source| {
            // The watchdog holds the socket file, so it is not removed by dropping ours.
            socket_file.remove();
            StartupError::Runtime {
                what: "signal thread",
                source,
            }
        })?;
    if let Some(file) = &ready_file {
        if let Err(err) = file.signal() {
            // The watchdog holds the socket file, so it is not removed by dropping ours.
            socket_file.remove();
            return Err(err);
        }
    }
    if let Some(ready) = ready {
        ready.signal();
    }

    runtime.block_on(async {
        let drained = drain_streams(streams, shutdown.clone(), args.shutdown_timeout);
        let fifo = stop_fifo(fifo_reader, shutdown.clone(), args.shutdown_timeout);
        tokio::join!(
            server::run(listener, Arc::clone(&service), admission, shutdown),
            drained,
            fifo
        );
    });
    // Tasks still running (a request stuck in the blocking pool) are abandoned, not awaited.
    runtime.shutdown_timeout(Duration::from_millis(100));
    drop(service);
    let started = stopping.get().copied().unwrap_or_else(Instant::now);
    let not_written =
        writer.finish(started + args.shutdown_timeout + audit_budget + AUDIT_FINISH_GRACE);
    watchdog.disarm();
    socket_file.remove();
    if let Some(file) = &ready_file {
        file.remove();
    }
    if let Some(fifo) = &redact_fifo {
        fifo.remove();
    }
    wipe(store);
    let lost = not_written + crate::audit::ship::lost_events();
    let code = exit::after_serving(lost, crate::audit::ship::execution_ended());
    if lost > 0 {
        tracing::error!(
            audit_events_lost = lost,
            exit_status = code,
            "stopped: the secrets were served but {lost} audit events were lost; memory wiped, \
             socket removed"
        );
    } else {
        tracing::info!(
            exit_status = code,
            "stopped: audit flushed, memory wiped, socket removed"
        );
    }
    crate::logging::flush(LOG_FLUSH_PATIENCE);
    Ok(code)
}

/// Wipes the secrets: by dropping the store when this was the last reference, or in place
/// when a thread stuck in a sink still holds one (the process exits right after either way).
fn wipe(store: Arc<Store>) {
    match Arc::try_unwrap(store) {
        Ok(store) => drop(store),
        Err(shared) => {
            // SAFETY: `shared` keeps the arena alive, the watchdog is disarmed, and the
            // caller returns to `main`, which exits.
            #[allow(unsafe_code)]
            unsafe {
                shared.wiper().wipe_before_exit();
            }
        }
    }
}

/// Once shutdown starts, waits for every stream to reach end of file, within `timeout`, so
/// what a node printed last still comes through.
async fn drain_streams(
    streams: Option<Streams>,
    shutdown: CancellationToken,
    timeout: std::time::Duration,
) {
    let Some(streams) = streams else { return };
    shutdown.cancelled().await;
    let count = streams.len();
    if !streams.wait(timeout).await {
        tracing::warn!(
            streams = count,
            "the shutdown deadline passed before every stream ended; their last bytes are lost"
        );
    }
}

/// At shutdown, wakes the `--redact-fifo` reader and waits for what is waiting in the FIFO.
async fn stop_fifo(
    reader: Option<FifoReader>,
    shutdown: CancellationToken,
    timeout: std::time::Duration,
) {
    let Some(reader) = reader else { return };
    shutdown.cancelled().await;
    if !reader.stop(timeout).await {
        tracing::warn!("the shutdown deadline passed before the redact FIFO was copied");
    }
}

fn read_token(path: &Path) -> Result<ClientToken, StartupError> {
    let mut contents = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|f| {
            use std::io::Read;
            f.take(ax_protocol::limits::MAX_TOKEN_LEN as u64 + 3)
                .read_to_end(&mut contents)
        })
        .map_err(|source| StartupError::Input {
            what: "client token file",
            path: path.to_path_buf(),
            source,
        })?;
    ClientToken::from_file_contents(contents).map_err(|source| StartupError::Token {
        path: path.to_path_buf(),
        source,
    })
}

fn build_runtime(threads: u16) -> Result<tokio::runtime::Runtime, StartupError> {
    let mut builder = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(usize::from(threads));
        b
    };
    builder
        .enable_io()
        .enable_time()
        .max_blocking_threads(2)
        .thread_stack_size(256 * 1024)
        .build()
        .map_err(|source| StartupError::Runtime {
            what: "runtime",
            source,
        })
}

/// Prints a start-up failure as the one line PROTOCOL §14 promises; never waits on stderr
/// longer than [`LOG_FLUSH_PATIENCE`] once logging has started.
pub fn report(err: &StartupError) {
    crate::logging::write_line(&format!("ax-sidecar: {err}\n"));
    crate::logging::flush(LOG_FLUSH_PATIENCE);
}
