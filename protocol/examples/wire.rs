//! Decodes protocol frames given in hex, for shim authors comparing their bytes with the spec.
//!
//! ```text
//! cargo run -p ax-protocol --example wire -- request  0000001107010e4f50454e41495f4150495f4b4559
//! cargo run -p ax-protocol --example wire -- response 00000003080100
//! ```
//!
//! Values print as `[redacted]`, as everywhere else in ax-secrets.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use ax_protocol::frame::{decode_request, decode_response, split_frame};
use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};

const USAGE: &str = "usage: wire (request|response) HEX   (spaces in HEX are ignored)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [direction, rest @ ..] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(64);
    };
    let hex_text: String = rest.concat().split_whitespace().collect();
    let Some(bytes) = parse_hex(&hex_text) else {
        eprintln!("not hexadecimal: expected pairs of 0-9a-f\n{USAGE}");
        return ExitCode::from(64);
    };
    let limit = match direction.as_str() {
        "request" => MAX_REQUEST_FRAME,
        "response" => MAX_RESPONSE_FRAME,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(64);
        }
    };
    let (body, used) = match split_frame(&bytes, limit) {
        Ok(Some(frame)) => frame,
        Ok(None) => {
            eprintln!("Truncated: {} bytes do not hold a whole frame", bytes.len());
            return ExitCode::from(65);
        }
        Err(err) => {
            eprintln!("{}: {err}", err.kind());
            return ExitCode::from(65);
        }
    };
    let decoded = if limit == MAX_REQUEST_FRAME {
        decode_request(body).map(|m| format!("{m:#?}"))
    } else {
        decode_response(body).map(|m| format!("{m:#?}"))
    };
    match decoded {
        Ok(text) => {
            println!("frame: 4 + {} bytes", body.len());
            println!("{text}");
            if used < bytes.len() {
                println!("({} more bytes follow: the next frame)", bytes.len() - used);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{}: {err}", err.kind());
            ExitCode::from(65)
        }
    }
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
