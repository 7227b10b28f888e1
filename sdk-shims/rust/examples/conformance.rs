//! The conformance program of the Rust shim (`integration/conformance/DRIVER.md`).
//!
//! Reads one JSON request per line on stdin and writes one JSON answer per line on stdout,
//! using one context for the whole run: [`AxiomContext::new`], or the mock built from the JSON
//! map named by `$AX_CONFORMANCE_MOCK`. The shim's typed transport error is what `try_get` and
//! the other calls return, so `get` requests are answered through `try_get` (the panicking
//! `get` gives the same answers otherwise). Built with
//! `cargo build --release -p ax-secrets --examples`; run from `sdk-shims/rust` as
//! `../../target/release/examples/conformance`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use ax_secrets::{AxiomContext, Context, Error, MockAxiomContext};
use serde_json::{Value, json};

fn make_context() -> Result<Box<dyn Context>, String> {
    match std::env::var_os("AX_CONFORMANCE_MOCK") {
        Some(path) if !path.is_empty() => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.to_string_lossy()))?;
            let map: BTreeMap<String, String> =
                serde_json::from_str(&text).map_err(|e| format!("not a JSON map: {e}"))?;
            let mock = MockAxiomContext::try_from_map(map).map_err(|e| e.to_string())?;
            Ok(Box::new(mock))
        }
        _ => Ok(Box::new(AxiomContext::new())),
    }
}

fn get_answer(ax: &dyn Context, name: &str) -> Result<Value, Error> {
    Ok(match ax.secrets().try_get(name)? {
        Some(value) => json!({"found": true, "value": value}),
        None => json!({"found": false}),
    })
}

fn concurrent_get(
    ax: &dyn Context,
    name: &str,
    callers: usize,
    calls: usize,
) -> Result<Value, Error> {
    let start = std::sync::Barrier::new(callers);
    let answers: Vec<Result<Vec<Value>, Error>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    (0..calls).map(|_| get_answer(ax, name)).collect()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut distinct: Vec<Value> = Vec::new();
    let mut count = 0;
    for mine in answers {
        for answer in mine? {
            count += 1;
            if !distinct.contains(&answer) {
                distinct.push(answer);
            }
        }
    }
    Ok(json!({"calls": count, "results": distinct}))
}

fn str_field<'r>(request: &'r Value, key: &str) -> Result<&'r str, String> {
    request[key]
        .as_str()
        .ok_or_else(|| format!("{key} is not a string"))
}

fn count_field(request: &Value, key: &str) -> Result<usize, String> {
    request[key]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("{key} is not a count"))
}

/// The answer to one request; `Err` holds a malformed request's problem.
fn answer(ax: &dyn Context, request: &Value) -> Result<Value, String> {
    let secrets = ax.secrets();
    let result = match request["op"].as_str() {
        Some("get") => get_answer(ax, str_field(request, "name")?),
        Some("exists") => secrets
            .exists(str_field(request, "name")?)
            .map(|exists| json!({"exists": exists})),
        Some("list") => secrets.list().map(|listed| {
            let names: Vec<&str> = listed.iter().map(|info| info.name.as_str()).collect();
            json!({"names": names})
        }),
        Some("list_info") => secrets.list().map(|listed| {
            let secrets: Vec<Value> = listed
                .iter()
                .map(|info| {
                    json!({
                        "name": info.name,
                        "version": info.version,
                        "updated_at": info.updated_at,
                    })
                })
                .collect();
            json!({"secrets": secrets})
        }),
        Some("render") => secrets
            .render(str_field(request, "template")?)
            .map(|r| json!({"text": r.text, "missing": r.missing})),
        Some("redact") => secrets
            .redact(str_field(request, "text")?)
            .map(|r| json!({"text": r.text, "found": r.found})),
        Some("concurrent_get") => concurrent_get(
            ax,
            str_field(request, "name")?,
            count_field(request, "callers")?,
            count_field(request, "calls")?,
        ),
        _ => return Ok(json!({"error": "unknown_op"})),
    };
    Ok(match result {
        Ok(answer) => answer,
        Err(error) if error.is_unavailable() => {
            let socket = std::env::var("AX_SECRETS_SOCKET").unwrap_or_default();
            let message = error.to_string();
            let mentions = !socket.is_empty() && message.contains(&socket);
            json!({
                "error": "unavailable",
                "mentions_socket": mentions,
                "code": error.code().map(|code| code.name()),
                "mentions_uid": message.contains("uid"),
            })
        }
        Err(error) => json!({"error": "unexpected", "detail": format!("{error:?}: {error}")}),
    })
}

fn main() -> ExitCode {
    let ax = match make_context() {
        Ok(ax) => ax,
        Err(problem) => {
            eprintln!("conformance: {problem}");
            return ExitCode::from(2);
        }
    };
    let stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    for line in stdin.lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                eprintln!("conformance: reading stdin: {e}");
                return ExitCode::from(1);
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Value>(&line) {
            Ok(request) => answer(&*ax, &request)
                .unwrap_or_else(|problem| json!({"error": "unexpected", "detail": problem})),
            Err(e) => json!({"error": "unexpected", "detail": format!("not JSON: {e}")}),
        };
        if writeln!(stdout, "{reply}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
