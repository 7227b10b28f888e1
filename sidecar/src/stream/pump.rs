//! The streams the launcher hands over: their descriptors, and one thread each that copies
//! input to output through the filter until end of file.
//!
//! Each stream gets its own OS thread with blocking reads and writes, so a stream whose reader
//! stalls blocks only itself, never serving or another stream. When its input ends the thread
//! writes what it held, closes its output, records one audit event naming the secrets it masked,
//! and says it is done; the daemon waits for every stream at shutdown, within the shutdown
//! timeout, so nothing a node printed last is lost.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use zeroize::Zeroize;

use super::filter::{StreamFilter, StreamMatcher};
use crate::audit::{Action, AuditName, AuditNames, AuditQueue, Peer};
use crate::exit::StartupError;
use crate::limits::STREAM_READ_CHUNK;
use crate::messages::STREAM_WITHHELD;
use crate::redact::BuildError;
use crate::store::Store;

/// One `--redact-stream IN_FD:OUT_FD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSpec {
    /// The inherited descriptor read until end of file (a pipe's read end).
    pub input: i32,
    /// The inherited descriptor the masked bytes are written to.
    pub output: i32,
}

impl std::str::FromStr for StreamSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not IN_FD:OUT_FD (two descriptor numbers, e.g. 5:1)");
        let (input, output) = text.split_once(':').ok_or_else(bad)?;
        let input: i32 = input.parse().map_err(|_| bad())?;
        let output: i32 = output.parse().map_err(|_| bad())?;
        if input < 0 || output < 0 {
            return Err(bad());
        }
        if input == output {
            return Err(format!(
                "'{text}': a stream cannot read and write the same descriptor"
            ));
        }
        Ok(Self { input, output })
    }
}

/// A stream whose descriptors this process now owns.
#[derive(Debug)]
pub struct ClaimedStream {
    spec: StreamSpec,
    input: File,
    output: File,
}

/// Takes ownership of every stream's descriptors, marked close-on-exec. Called first thing,
/// with the ready descriptor, while the numbers still name what the launcher passed.
///
/// Standard input, output and error are duplicated rather than taken, so that closing a
/// stream's end never closes the sidecar's own stdio (its logs go to stderr). An output named by
/// several streams is shared. An input named twice, or an input that is also an output, is a
/// usage error.
pub fn claim(specs: &[StreamSpec]) -> Result<Vec<ClaimedStream>, StartupError> {
    let mut claimed: Vec<ClaimedStream> = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let conflict = specs[..index].iter().any(|s| s.input == spec.input)
            || specs.iter().any(|s| s.output == spec.input);
        if conflict {
            return Err(StartupError::Fd {
                flag: "--redact-stream",
                fd: spec.input,
                reason: "is named twice",
            });
        }
        let input = own(spec.input)?;
        let output = match claimed.iter().find(|c| c.spec.output == spec.output) {
            Some(earlier) => {
                earlier
                    .output
                    .try_clone()
                    .map_err(|source| StartupError::Runtime {
                        what: "stream output",
                        source,
                    })?
            }
            None => own(spec.output)?,
        };
        claimed.push(ClaimedStream {
            spec: *spec,
            input,
            output,
        });
    }
    Ok(claimed)
}

/// Owns descriptor `fd` (a duplicate of it for 0, 1 and 2), close-on-exec.
fn own(fd: i32) -> Result<File, StartupError> {
    let error = |reason| StartupError::Fd {
        flag: "--redact-stream",
        fd,
        reason,
    };
    // SAFETY: `F_GETFD` only reads the flags of `fd`; it fails with EBADF if fd is closed.
    #[allow(unsafe_code)]
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    fcntl(borrowed, FcntlArg::F_GETFD).map_err(|_| error("is not an open file descriptor"))?;
    if fd <= 2 {
        let copy = fcntl(borrowed, FcntlArg::F_DUPFD_CLOEXEC(3))
            .map_err(|_| error("cannot be duplicated"))?;
        // SAFETY: `copy` is the fresh descriptor `F_DUPFD_CLOEXEC` just returned; nothing
        // else owns it.
        #[allow(unsafe_code)]
        let owned = unsafe { OwnedFd::from_raw_fd(copy) };
        return Ok(File::from(owned));
    }
    let _ = fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    // SAFETY: `fd` is open (checked above), was inherited for this stream, and nothing else in
    // this process has claimed it (`claim` refuses a number named twice).
    #[allow(unsafe_code)]
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(File::from(owned))
}

/// The running streams; [`Streams::wait`] returns once every one has reached end of file.
#[derive(Debug)]
pub struct Streams {
    done: tokio::sync::mpsc::Receiver<()>,
    count: usize,
}

impl Streams {
    /// Starts one thread per stream. Each records its audit event in `queue` as `peer`.
    ///
    /// The matcher over `store`'s values is built once, by whichever thread needs it first,
    /// so that start-up does not wait for it; the others wait for that build, and no byte is
    /// written before it is done.
    pub fn start(
        claimed: Vec<ClaimedStream>,
        store: Arc<Store>,
        queue: Arc<AuditQueue>,
        peer: Peer,
    ) -> Result<Self, StartupError> {
        let (done, receiver) = tokio::sync::mpsc::channel::<()>(1);
        let count = claimed.len();
        let matcher = Arc::new(OnceLock::new());
        for stream in claimed {
            let matcher = Arc::clone(&matcher);
            let store = Arc::clone(&store);
            let queue = Arc::clone(&queue);
            // Each thread holds a sender and drops it when its stream is done; the receiver
            // sees the channel close once all are.
            let done = done.clone();
            std::thread::Builder::new()
                .name(format!("ax-stream-{}", stream.spec.input))
                .stack_size(128 * 1024)
                .spawn(move || {
                    match matcher.get_or_init(|| StreamMatcher::build(&store)) {
                        Ok(matcher) => pump(stream, matcher, &queue, peer),
                        Err(err) => withhold(stream, err),
                    }
                    drop(done);
                })
                .map_err(|source| StartupError::Runtime {
                    what: "stream thread",
                    source,
                })?;
        }
        Ok(Self {
            done: receiver,
            count,
        })
    }

    /// How many streams there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Waits until every stream has ended, or `timeout`; `false` if some had not.
    pub async fn wait(mut self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.done.recv())
            .await
            .is_ok()
    }
}

/// Copies one stream to its end, then audits it.
fn pump(stream: ClaimedStream, matcher: &StreamMatcher, queue: &AuditQueue, peer: Peer) {
    let ClaimedStream {
        spec,
        mut input,
        output,
    } = stream;
    let mut output = Some(output);
    let mut filter = StreamFilter::new(matcher);
    let mut buf = vec![0u8; STREAM_READ_CHUNK];
    let mut out = Vec::with_capacity(STREAM_READ_CHUNK + 64);
    let mut bytes: u64 = 0;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => {
                tracing::warn!(stream = spec.input, error = %err, "cannot read a stream; ending it");
                break;
            }
        };
        bytes += n as u64;
        filter.feed(&buf[..n], &mut out);
        // What the node printed holds values before masking, and the masked bytes may still
        // hold a value too short to mask: both are wiped as soon as they are written.
        buf[..n].zeroize();
        write_out(&mut output, &out, spec);
        out.zeroize();
    }
    filter.finish(&mut out);
    write_out(&mut output, &out, spec);
    out.zeroize();
    drop(output);
    let found = filter.found();
    tracing::debug!(
        stream = spec.input,
        bytes,
        secrets = found.len(),
        "stream ended"
    );
    let names = found.into_iter().map(AuditName::Known).collect::<Vec<_>>();
    let any = !names.is_empty();
    queue.record(Action::RedactStream, AuditNames::Many(names), any, peer);
}

/// Without a matcher nothing may pass unmasked: the input is read to its end and discarded,
/// and the output gets one line saying so (the node is never blocked on a full pipe).
fn withhold(stream: ClaimedStream, err: &BuildError) {
    let ClaimedStream {
        spec,
        mut input,
        output,
    } = stream;
    tracing::error!(stream = spec.input, error = %err, "withholding a stream: it cannot be masked");
    let mut output = Some(output);
    write_out(&mut output, STREAM_WITHHELD.as_bytes(), spec);
    drop(output);
    let _ = std::io::copy(&mut input, &mut std::io::sink());
}

/// Writes `bytes` to the output; once the output has failed, input is still drained (so the
/// writer is never blocked) but nothing more is written.
fn write_out(output: &mut Option<File>, bytes: &[u8], spec: StreamSpec) {
    if bytes.is_empty() {
        return;
    }
    if let Some(file) = output {
        if let Err(err) = file.write_all(bytes) {
            tracing::warn!(
                stream = spec.input,
                output = spec.output,
                error = %err,
                "cannot write a stream's output; discarding the rest of it"
            );
            *output = None;
        }
    }
}
