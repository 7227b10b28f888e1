//! The demo node in Rust: runs the operations it is given, one JSON line per result.
//!
//! Operations (the contract every demo node follows, see ../README.md):
//!
//! - `get NAME`: `{"op": "get", "name": NAME, "found": bool, "fingerprint": hex|null}`
//! - `get-or NAME DEFAULT`: like get; when NAME is missing, uses DEFAULT and reports it
//! - `print NAME`: prints `NAME is <value>` (the platform log shows `***`)
//! - `wait`: reads one line from stdin (the demo changes something meanwhile)

use std::process::ExitCode;

use ax_secrets::AxiomContext;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Twelve hex digits of SHA-256: shows which value was read without printing it.
fn fingerprint(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn emit(record: Value) {
    println!("{record}");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ax = AxiomContext::new();
    let arg = |i: usize| args.get(i).map_or("", String::as_str);
    let mut i = 0;
    while i < args.len() {
        match arg(i) {
            "get" => {
                let name = arg(i + 1);
                let (value, ok) = ax.secrets().get(name);
                emit(json!({"op": "get", "name": name, "found": ok,
                            "fingerprint": ok.then(|| fingerprint(&value))}));
                i += 2;
            }
            "get-or" => {
                let (name, default) = (arg(i + 1), arg(i + 2));
                let (value, ok) = ax.secrets().get(name);
                emit(json!({"op": "get-or", "name": name, "found": ok,
                            "fingerprint": ok.then(|| fingerprint(&value)),
                            "used": (!ok).then_some(default)}));
                i += 3;
            }
            "print" => {
                let name = arg(i + 1);
                let (value, _) = ax.secrets().get(name);
                println!("{name} is {value}");
                i += 2;
            }
            "wait" => {
                let _ = std::io::stdin().read_line(&mut String::new());
                i += 1;
            }
            op => {
                emit(json!({"op": op, "error": "unknown operation"}));
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}
