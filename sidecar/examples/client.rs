//! A minimal blocking client for a running sidecar: what a shim does, in one screen.
//!
//! ```sh
//! cargo run -p ax-sidecar --example client -- SOCKET list
//! cargo run -p ax-sidecar --example client -- SOCKET get DB_URL
//! cargo run -p ax-sidecar --example client -- SOCKET render 'postgres at {{ secrets.DB_URL }}'
//! cargo run -p ax-sidecar --example client -- SOCKET redact 'log line with sk-example-...'
//! ```
//!
//! It prints what the sidecar answers, values included: it is a tool for the person who owns
//! the secrets, like `cat` on a file they own.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use ax_protocol::blocking::{read_frame, write_frame};
use ax_protocol::frame::decode_response;
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION};
use ax_protocol::{Request, RequestBody, ResponseBody, SecretText};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (socket, command, argument) = match args.as_slice() {
        [socket, command] => (socket, command.as_str(), ""),
        [socket, command, argument] => (socket, command.as_str(), argument.as_str()),
        _ => return usage(),
    };
    let body = match command {
        "list" => RequestBody::List,
        "ping" => RequestBody::Ping,
        "get" => RequestBody::Get {
            name: Cow::Borrowed(argument),
        },
        "render" => RequestBody::Render {
            template: SecretText::borrowed(argument),
        },
        "redact" => RequestBody::Redact {
            text: SecretText::borrowed(argument),
        },
        _ => return usage(),
    };
    match run(socket, body) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("client: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(socket: &str, body: RequestBody<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("connect {socket}: {e}"))?;
    let token = std::env::var("AX_SECRETS_TOKEN").ok();
    let hello = RequestBody::Hello {
        version: PROTOCOL_VERSION,
        client: Cow::Borrowed("example-client/0.1"),
        token: token.as_deref().map(SecretText::borrowed),
    };
    let (mut scratch, mut buf) = (Vec::new(), Vec::new());
    for (id, body) in [(1, hello), (2, body)] {
        write_frame(
            &mut stream,
            &Request { id, body },
            MAX_REQUEST_FRAME,
            &mut scratch,
        )?;
        let frame = read_frame(&mut stream, MAX_RESPONSE_FRAME, &mut buf)?
            .ok_or("the sidecar closed the connection")?;
        let response = decode_response(frame)?;
        if response.id != id {
            return Err(format!("response id {} for request {id}", response.id).into());
        }
        print(response.body)?;
    }
    Ok(())
}

fn print(body: ResponseBody<'_>) -> Result<(), String> {
    match body {
        ResponseBody::Hello {
            sidecar,
            execution_id,
            ..
        } => {
            eprintln!("connected to {sidecar}, execution {execution_id}");
        }
        ResponseBody::Secret { value: Some(value) } => println!("{}", value.expose()),
        ResponseBody::Secret { value: None } => {
            eprintln!("not found");
        }
        ResponseBody::List { secrets } => {
            for s in secrets {
                println!("{:<24} v{:<4} updated {}", s.name, s.version, s.updated_at);
            }
        }
        ResponseBody::Rendered { text, missing } => {
            println!("{}", text.expose());
            if !missing.is_empty() {
                eprintln!("missing: {}", missing.join(", "));
            }
        }
        ResponseBody::Redacted { text, found } => {
            println!("{text}");
            eprintln!("found: {}", found.join(", "));
        }
        ResponseBody::Pong => println!("pong"),
        ResponseBody::Error { code, message } => {
            return Err(format!("{}: {message}", code.name()));
        }
    }
    Ok(())
}

fn usage() -> ExitCode {
    eprintln!("usage: client SOCKET (list | ping | get NAME | render TEMPLATE | redact TEXT)");
    ExitCode::from(64)
}
