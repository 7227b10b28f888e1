//! A minimal node: speaks the socket protocol (through `ax_protocol::blocking`) to the sidecar
//! named by `AX_SECRETS_SOCKET`, with `AX_SECRETS_TOKEN`, and reports what it saw as JSON
//! lines. The `ax-probe` binary runs it; tests and the benchmark use it as the node under
//! `ax-run`. It prints a value only when asked to (`print`), to show the redaction.

use std::borrow::Cow;
use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use ax_protocol::blocking::{read_frame, write_frame};
use ax_protocol::frame::decode_response;
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION};
use ax_protocol::{Request, RequestBody, ResponseBody, SecretText};
use serde_json::{Value, json};

use crate::util::fingerprint;

/// One connection that has done the handshake.
pub struct ProbeClient {
    stream: UnixStream,
    next_id: u32,
    scratch: Vec<u8>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for ProbeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProbeClient")
    }
}

/// The answer to a `get`: `None` if not found.
pub type Got = Option<String>;

impl ProbeClient {
    /// Connects to `socket` and says Hello with `token`.
    pub fn connect(socket: &Path, token: Option<&str>) -> io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
        let mut client = Self {
            stream,
            next_id: 1,
            scratch: Vec::new(),
            buf: Vec::new(),
        };
        let answer = client.request(RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: Cow::Borrowed(concat!("ax-probe/", env!("CARGO_PKG_VERSION"))),
            token: token.map(SecretText::borrowed),
        })?;
        match answer {
            Answered::Hello => Ok(client),
            Answered::Error(code) => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("the sidecar refused the handshake: {code}"),
            )),
            _ => Err(io::Error::other("unexpected answer to Hello")),
        }
    }

    /// Connects to `AX_SECRETS_SOCKET` with `AX_SECRETS_TOKEN`.
    pub fn from_env() -> io::Result<Self> {
        let socket = std::env::var_os("AX_SECRETS_SOCKET")
            .ok_or_else(|| io::Error::other("AX_SECRETS_SOCKET is not set"))?;
        let token = std::env::var("AX_SECRETS_TOKEN").ok();
        Self::connect(Path::new(&socket), token.as_deref())
    }

    fn request(&mut self, body: RequestBody<'_>) -> io::Result<Answered> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        write_frame(
            &mut self.stream,
            &Request { id, body },
            MAX_REQUEST_FRAME,
            &mut self.scratch,
        )?;
        let Some(frame) = read_frame(&mut self.stream, MAX_RESPONSE_FRAME, &mut self.buf)? else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the sidecar closed the connection",
            ));
        };
        let response =
            decode_response(frame).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(match response.body {
            ResponseBody::Hello { .. } => Answered::Hello,
            ResponseBody::Secret { value } => Answered::Secret(value.map(SecretText::into_string)),
            ResponseBody::List { secrets } => {
                Answered::Names(secrets.into_iter().map(|s| s.name.into_owned()).collect())
            }
            ResponseBody::Error { code, .. } => Answered::Error(format!("{code:?}")),
            _ => Answered::Other,
        })
    }

    /// `Get`.
    pub fn get(&mut self, name: &str) -> io::Result<Got> {
        match self.request(RequestBody::Get {
            name: Cow::Borrowed(name),
        })? {
            Answered::Secret(v) => Ok(v),
            Answered::Error(code) => Err(io::Error::other(format!("get failed: {code}"))),
            _ => Err(io::Error::other("unexpected answer to Get")),
        }
    }

    /// `List`: the names.
    pub fn list(&mut self) -> io::Result<Vec<String>> {
        match self.request(RequestBody::List)? {
            Answered::Names(n) => Ok(n),
            _ => Err(io::Error::other("unexpected answer to List")),
        }
    }
}

enum Answered {
    Hello,
    Secret(Option<String>),
    Names(Vec<String>),
    Error(String),
    Other,
}

/// What a `get` reports: found, length and a fingerprint, never the value.
pub fn describe(name: &str, got: &Got) -> Value {
    match got {
        Some(v) => json!({"op": "get", "name": name, "found": true, "len": v.len(),
                          "fingerprint": fingerprint(v.as_bytes(), 6)}),
        None => json!({"op": "get", "name": name, "found": false}),
    }
}

/// Runs the operations in `args`, printing one JSON line per result on stdout. Returns the
/// exit code.
///
/// Operations: `get NAME`, `list`, `print NAME` (writes `NAME=<value>` to stdout),
/// `eprint NAME` (to stderr), `split NAME` (the value in two writes), `get-at SOCKET NAME`
/// (another sidecar's socket, same token), `socket` (prints `AX_SECRETS_SOCKET`), `wait`
/// (reads a line from stdin), `say TEXT`, `exit CODE`, `raise SIGNAL` (dies by it), `pause`
/// (blocks until a signal ends the process).
pub fn run(args: &[String]) -> i32 {
    let mut client: Option<ProbeClient> = None;
    let mut i = 0;
    while i < args.len() {
        match step(&mut client, &args[i..]) {
            Ok(used) => i += used,
            Err(e) => {
                let mut out = io::stdout().lock();
                let _ = writeln!(out, "{}", json!({"op": args[i], "error": e.to_string()}));
                let _ = out.flush();
                return 1;
            }
        }
    }
    0
}

fn connected(client: &mut Option<ProbeClient>) -> io::Result<&mut ProbeClient> {
    if client.is_none() {
        *client = Some(ProbeClient::from_env()?);
    }
    client
        .as_mut()
        .ok_or_else(|| io::Error::other("not connected"))
}

/// Runs the operation at the head of `args`; returns how many arguments it used.
fn step(client: &mut Option<ProbeClient>, args: &[String]) -> io::Result<usize> {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let mut out = io::stdout().lock();
    let used = match arg(0) {
        "get" => {
            let name = arg(1);
            let got = connected(client)?.get(name)?;
            writeln!(out, "{}", describe(name, &got))?;
            2
        }
        "list" => {
            let names = connected(client)?.list()?;
            writeln!(out, "{}", json!({"op": "list", "names": names}))?;
            1
        }
        op @ ("print" | "eprint" | "split") => {
            let name = arg(1);
            let value = connected(client)?.get(name)?.unwrap_or_default();
            let line = format!("{name}={value}\n");
            if op == "eprint" {
                let mut err = io::stderr().lock();
                err.write_all(line.as_bytes())?;
                err.flush()?;
            } else if op == "split" {
                let mid = (line.len() / 2..line.len())
                    .find(|m| line.is_char_boundary(*m))
                    .unwrap_or(line.len());
                out.write_all(&line.as_bytes()[..mid])?;
                out.flush()?;
                // Not synchronisation: a pause so the two halves travel in two reads.
                std::thread::sleep(std::time::Duration::from_millis(30));
                out.write_all(&line.as_bytes()[mid..])?;
            } else {
                out.write_all(line.as_bytes())?;
            }
            2
        }
        "get-at" => {
            let (socket, name) = (arg(1), arg(2));
            let token = std::env::var("AX_SECRETS_TOKEN").ok();
            let answer = ProbeClient::connect(Path::new(socket), token.as_deref())
                .and_then(|mut c| c.get(name));
            let line = match answer {
                Ok(got) => describe(name, &got),
                Err(e) => json!({"op": "get-at", "name": name, "error": e.to_string()}),
            };
            writeln!(out, "{line}")?;
            3
        }
        "socket" => {
            let socket = std::env::var("AX_SECRETS_SOCKET").unwrap_or_default();
            writeln!(out, "{}", json!({"op": "socket", "socket": socket}))?;
            1
        }
        "wait" => {
            out.flush()?;
            let mut line = String::new();
            io::stdin().read_line(&mut line)?;
            1
        }
        "say" => {
            writeln!(out, "{}", arg(1))?;
            2
        }
        "exit" => {
            out.flush()?;
            std::process::exit(arg(1).parse().unwrap_or(1));
        }
        "raise" => {
            out.flush()?;
            let signal = arg(1)
                .parse::<nix::sys::signal::Signal>()
                .map_err(|e| io::Error::other(e.to_string()))?;
            nix::sys::signal::raise(signal).map_err(io::Error::from)?;
            2
        }
        "pause" => {
            out.flush()?;
            loop {
                std::thread::park();
            }
        }
        other => return Err(io::Error::other(format!("unknown operation {other:?}"))),
    };
    out.flush()?;
    Ok(used)
}
