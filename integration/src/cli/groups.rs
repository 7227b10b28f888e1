//! The commands beside `secrets`: configs and environments (one shape: list, create, delete),
//! the audit query and API tokens. Printed through `Output` like the rest.

use serde::Serialize;
use serde_json::Value;

use super::args::{AuditArgs, NamedCommand, TokensCommand};
use super::commands::Output;
use super::connect::Connection;
use super::error::CliError;
use super::table;
use crate::admin::encode_component as enc;

pub(super) fn named(
    conn: &Connection,
    out: &Output,
    tenant: &str,
    route: &str,
    what: &str,
    cmd: &NamedCommand,
) -> Result<(), CliError> {
    let base = format!("/v1/tenants/{tenant}/{route}");
    match cmd {
        NamedCommand::List => {
            let r = conn.call("GET", &base, None)?;
            out.emit(&r, |v| {
                let items = v.get(route);
                if route == "configs" {
                    let rows: Vec<Vec<String>> = items
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .map(|c| {
                                    let overrides = c
                                        .get("overrides")
                                        .and_then(Value::as_array)
                                        .map(|o| {
                                            o.iter()
                                                .map(|x| table::cell(x.get("name"), false))
                                                .collect::<Vec<_>>()
                                                .join(",")
                                        })
                                        .unwrap_or_default();
                                    vec![
                                        table::cell(c.get("name"), false),
                                        table::cell(c.get("created_at"), true),
                                        if overrides.is_empty() {
                                            "-".into()
                                        } else {
                                            overrides
                                        },
                                    ]
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    table::print(&["NAME", "CREATED", "OVERRIDES"], &rows);
                } else {
                    table::print_list(
                        items,
                        &[("NAME", "name", false), ("CREATED", "created_at", true)],
                    );
                }
            })
        }
        NamedCommand::Create { name } => {
            let r = conn.call("PUT", &format!("{base}/{}", enc(name)), None)?;
            let verb = if r.status == 201 {
                "created"
            } else {
                "exists:"
            };
            out.done(&r, &format!("{verb} {what} {name}"))
        }
        NamedCommand::Delete { name } => {
            let r = conn.call("DELETE", &format!("{base}/{}", enc(name)), None)?;
            out.done(&r, &format!("deleted {what} {name}"))
        }
    }
}

pub(super) fn audit(
    conn: &Connection,
    out: &Output,
    tenant: &str,
    a: &AuditArgs,
) -> Result<(), CliError> {
    let mut query = Vec::new();
    if let Some(n) = &a.name {
        query.push(format!("name={}", enc(n)));
    }
    if let Some(d) = a.days {
        query.push(format!("days={d}"));
    }
    if let Some(x) = &a.action {
        query.push(format!("action={}", enc(x)));
    }
    if let Some(k) = &a.kind {
        query.push(format!("kind={}", enc(k)));
    }
    if let Some(l) = a.limit {
        query.push(format!("limit={l}"));
    }
    let mut path = format!("/v1/tenants/{tenant}/audit");
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    let r = conn.call("GET", &path, None)?;
    out.emit(&r, |v| {
        let rows: Vec<Vec<String>> = v
            .get("events")
            .and_then(Value::as_array)
            .map(|events| {
                events
                    .iter()
                    .map(|e| {
                        let who = match e.get("actor") {
                            Some(Value::String(s)) => s.clone(),
                            _ => format!("execution {}", table::cell(e.get("execution_id"), false)),
                        };
                        let what = match e.get("name") {
                            Some(Value::String(s)) => s.clone(),
                            _ => table::cell(e.get("names"), false),
                        };
                        vec![
                            table::cell(e.get("time"), true),
                            // Access events carry no `kind`: they are the sidecars' own events.
                            e.get("kind")
                                .and_then(Value::as_str)
                                .unwrap_or("access")
                                .to_owned(),
                            table::cell(e.get("action"), false),
                            what,
                            who,
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        table::print(&["TIME", "KIND", "ACTION", "NAME", "WHO"], &rows);
        if let Some(Value::String(c)) = v.get("next_cursor") {
            println!("(more: the API's next_cursor is {c})");
        }
    })
}

pub(super) fn tokens(conn: &Connection, out: &Output, cmd: &TokensCommand) -> Result<(), CliError> {
    match cmd {
        TokensCommand::List => out.list(
            &conn.call("GET", "/v1/tokens", None)?,
            "tokens",
            &[
                ("NAME", "name", false),
                ("ROLE", "role", false),
                ("CREATED", "created_at", true),
                ("BY", "created_by", false),
            ],
        ),
        TokensCommand::Create { name, role } => {
            #[derive(Serialize)]
            struct Body<'a> {
                name: &'a str,
                role: &'a str,
            }
            let body = serde_json::to_vec(&Body { name, role })
                .map_err(|e| CliError::BadInput(e.to_string()))?;
            let r = conn.call("POST", "/v1/tokens", Some(&body))?;
            out.emit(&r, |v| {
                println!("created token {name} ({role}); it is shown this once:");
                println!("{}", table::cell(v.get("token"), false));
            })
        }
        TokensCommand::Revoke { name } => {
            let r = conn.call("DELETE", &format!("/v1/tokens/{}", enc(name)), None)?;
            out.done(&r, &format!("revoked token {name}"))
        }
    }
}
