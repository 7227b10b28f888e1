//! What one `get` costs through the shim, next to a raw round trip of the same bytes.
//!
//! Usage: `bench ECHO_SOCKET NAME CALLS` with `AX_SECRETS_SOCKET` (and `AX_SECRETS_TOKEN`) set
//! for a real sidecar. ECHO_SOCKET answers a Hello frame with a Hello response and any other
//! frame with the sidecar's response bytes for Get(NAME). After 1000 warm-up calls of each,
//! blocks of 1000 raw and 1000 shim calls alternate until CALLS of each; every call is timed
//! with `Instant`. Prints one JSON line. Run by `cargo bench -p ax-sidecar --bench shims`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Instant;

use ax_protocol::limits::PROTOCOL_VERSION;
use ax_protocol::{Request, RequestBody, SecretText};
use ax_secrets::wire::encode_request;
use ax_secrets::{AxiomContext, TOKEN_ENV};

const BLOCK: usize = 1000;
const WARM_UP: usize = 1000;

/// A plain socket doing what the shim does at the least: write the frame, read the answer.
struct Raw {
    stream: UnixStream,
    request: Vec<u8>,
    answer: Vec<u8>,
}

impl Raw {
    fn round_trip(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.request)?;
        let mut header = [0u8; 4];
        self.stream.read_exact(&mut header)?;
        let len = u32::from_be_bytes(header) as usize;
        self.answer.resize(len, 0);
        self.stream.read_exact(&mut self.answer)
    }
}

fn connect_raw(path: &str, name: &str) -> io::Result<Raw> {
    let token = std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty());
    let hello = Request {
        id: 0,
        body: RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: Cow::Borrowed("rust-bench/0.1.0"),
            token: token.as_deref().map(SecretText::borrowed),
        },
    };
    let get = Request {
        id: 1,
        body: RequestBody::Get {
            name: Cow::Borrowed(name),
        },
    };
    let mut frame = Vec::new();
    encode_request(&hello, &mut frame).map_err(io::Error::other)?;
    let mut raw = Raw {
        stream: UnixStream::connect(path)?,
        request: frame,
        answer: Vec::with_capacity(256),
    };
    raw.round_trip()?;
    encode_request(&get, &mut raw.request).map_err(io::Error::other)?;
    Ok(raw)
}

fn timed(count: usize, into: &mut Vec<u64>, mut call: impl FnMut()) {
    for _ in 0..count {
        let start = Instant::now();
        call();
        into.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
}

fn percentile(samples: &mut [u64], fraction: f64) -> u64 {
    samples.sort_unstable();
    let at = ((fraction * samples.len() as f64) as usize).min(samples.len().saturating_sub(1));
    samples.get(at).copied().unwrap_or(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, echo, name, calls] = args.as_slice() else {
        eprintln!("usage: bench ECHO_SOCKET NAME CALLS");
        return ExitCode::from(64);
    };
    let Ok(calls) = calls.parse::<usize>() else {
        eprintln!("bench: CALLS must be a count, not {calls:?}");
        return ExitCode::from(64);
    };
    let mut raw = match connect_raw(echo, name) {
        Ok(raw) => raw,
        Err(e) => {
            eprintln!("bench: the echo server at {echo}: {e}");
            return ExitCode::from(1);
        }
    };
    let ax = AxiomContext::new();
    match ax.secrets().try_get(name) {
        Ok(Some(_)) => {}
        Ok(None) => {
            eprintln!("bench: the sidecar has no secret named {name}");
            return ExitCode::from(1);
        }
        Err(error) => {
            eprintln!("bench: {error}");
            return ExitCode::from(1);
        }
    }
    let secrets = ax.secrets();
    let mut raw_call = || {
        if let Err(e) = raw.round_trip() {
            eprintln!("bench: the echo server failed: {e}");
            std::process::exit(1);
        }
    };
    let mut shim_call = || {
        let (value, found) = secrets.get(name);
        std::hint::black_box((value, found));
    };
    let mut ignored = Vec::with_capacity(WARM_UP);
    timed(WARM_UP, &mut ignored, &mut raw_call);
    ignored.clear();
    timed(WARM_UP, &mut ignored, &mut shim_call);
    let mut raw_ns = Vec::with_capacity(calls);
    let mut shim_ns = Vec::with_capacity(calls);
    while raw_ns.len() < calls {
        let block = BLOCK.min(calls - raw_ns.len());
        timed(block, &mut raw_ns, &mut raw_call);
        timed(block, &mut shim_ns, &mut shim_call);
    }
    println!(
        "{{\"lang\": \"rust\", \"calls\": {calls}, \"raw_p50_ns\": {}, \"raw_p99_ns\": {}, \
         \"shim_p50_ns\": {}, \"shim_p99_ns\": {}}}",
        percentile(&mut raw_ns, 0.50),
        percentile(&mut raw_ns, 0.99),
        percentile(&mut shim_ns, 0.50),
        percentile(&mut shim_ns, 0.99),
    );
    ExitCode::SUCCESS
}
