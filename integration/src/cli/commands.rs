//! Each command as one management call (CONTROL_PLANE.md, "Management API"), its answer printed
//! as JSON (`--json`, as it came) or as text.

use std::borrow::Cow;
use std::io::Write;

use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use super::args::{Cli, Command, SecretsCommand, SetArgs, TenantsCommand};
use super::connect::{Connection, ConnectionArgs};
use super::error::{self, CliError};
use super::{groups, table, value};
use crate::admin::encode_component as enc;
use crate::https::HttpResponse;

/// Runs the parsed command.
pub(super) fn dispatch(cli: &Cli, conn_args: &ConnectionArgs) -> Result<(), CliError> {
    if let Command::Completions { shell } = &cli.command {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(*shell, &mut cmd, "ax", &mut std::io::stdout());
        return Ok(());
    }
    let tenant = || {
        cli.tenant
            .as_deref()
            .map(enc)
            .ok_or_else(|| CliError::Usage(error::NO_TENANT.into()))
    };
    // `rotate` is `set --replace --reason`; a value is read before connecting, so bad input
    // fails without a round trip.
    let set = match &cli.command {
        Command::Secrets(SecretsCommand::Set(set)) => Some(Cow::Borrowed(set)),
        Command::Secrets(SecretsCommand::Rotate(rotate)) => Some(Cow::Owned(rotate.as_set())),
        _ => None,
    };
    let value = match &set {
        Some(set) => {
            check_set(set)?;
            Some(value::read_value(set.value_file.as_deref())?)
        }
        None => None,
    };
    let conn = Connection::open(conn_args)?;
    let out = Output { json: cli.json };
    match &cli.command {
        Command::Secrets(cmd) => {
            let base = format!("/v1/tenants/{}/secrets", tenant()?);
            match cmd {
                SecretsCommand::Set(_) | SecretsCommand::Rotate(_) => {
                    if let SecretsCommand::Rotate(r) = cmd {
                        // A rotation replaces; it never creates (a replace of a missing name would).
                        conn.call("GET", &format!("{base}/{}", enc(&r.name)), None)
                            .map_err(|e| with_hint(e, 404, error::HINT_ROTATE_MISSING))?;
                    }
                    let (Some(set), Some(value)) = (&set, &value) else {
                        return Err(CliError::BadInput(error::EMPTY_VALUE.into()));
                    };
                    set_secret(&conn, &out, &tenant()?, set, value)
                }
                SecretsCommand::List => {
                    out.list(&conn.call("GET", &base, None)?, "secrets", SECRET_COLUMNS)
                }
                SecretsCommand::Get { name } => {
                    let r = conn.call("GET", &format!("{base}/{}", enc(name)), None)?;
                    out.object(&r, SECRET_FIELDS)
                }
                SecretsCommand::History { name } => out.list(
                    &conn.call("GET", &format!("{base}/{}/history", enc(name)), None)?,
                    "versions",
                    &[
                        ("VERSION", "version", false),
                        ("AT", "at", true),
                        ("ACTOR", "actor", false),
                        ("ACTION", "action", false),
                        ("REASON", "reason", false),
                    ],
                ),
                SecretsCommand::Delete { name } => {
                    let r = conn.call("DELETE", &format!("{base}/{}", enc(name)), None)?;
                    out.done(&r, &format!("deleted secret {name}"))
                }
            }
        }
        Command::Configs(cmd) => groups::named(&conn, &out, &tenant()?, "configs", "config", cmd),
        Command::Envs(cmd) => {
            groups::named(&conn, &out, &tenant()?, "environments", "environment", cmd)
        }
        Command::Audit(a) => groups::audit(&conn, &out, &tenant()?, a),
        Command::Tokens(cmd) => groups::tokens(&conn, &out, cmd),
        Command::Tenants(TenantsCommand::List) => out.list(
            &conn.call("GET", "/v1/tenants", None)?,
            "tenants",
            &[("NAME", "name", false), ("CREATED", "created_at", true)],
        ),
        Command::Tenants(TenantsCommand::Create { name }) => {
            let body = serde_json::to_vec(&serde_json::json!({ "name": name }))
                .map_err(|e| CliError::BadInput(e.to_string()))?;
            let r = conn.call("POST", "/v1/tenants", Some(&body))?;
            out.done(&r, &format!("created tenant {name}"))
        }
        Command::Completions { .. } => Ok(()),
    }
}

const SECRET_COLUMNS: &[(&str, &str, bool)] = &[
    ("NAME", "name", false),
    ("VERSION", "version", false),
    ("UPDATED", "updated_at", true),
    ("ROTATION DUE", "rotation_due_at", true),
    ("OVERDUE", "overdue", false),
    ("DESCRIPTION", "description", false),
];

const SECRET_FIELDS: &[(&str, bool)] = &[
    ("name", false),
    ("version", false),
    ("created_at", true),
    ("updated_at", true),
    ("description", false),
    ("metadata", false),
    ("rotation_days", false),
    ("rotation_due_at", true),
    ("overdue", false),
];

/// How answers are printed.
pub(super) struct Output {
    json: bool,
}

impl Output {
    /// Prints the body as it came for `--json` (`{}` when empty); else runs `text`.
    pub(super) fn emit(&self, r: &HttpResponse, text: impl FnOnce(&Value)) -> Result<(), CliError> {
        if self.json {
            let mut stdout = std::io::stdout().lock();
            let body: &[u8] = if r.body.is_empty() { b"{}" } else { &r.body };
            let _ = stdout.write_all(body);
            let _ = stdout.write_all(b"\n");
        } else {
            text(&r.json());
        }
        Ok(())
    }

    pub(super) fn list(
        &self,
        r: &HttpResponse,
        key: &str,
        columns: &[(&str, &str, bool)],
    ) -> Result<(), CliError> {
        self.emit(r, |v| table::print_list(v.get(key), columns))
    }

    pub(super) fn object(&self, r: &HttpResponse, fields: &[(&str, bool)]) -> Result<(), CliError> {
        self.emit(r, |v| table::print_object(v, fields))
    }

    pub(super) fn done(&self, r: &HttpResponse, line: &str) -> Result<(), CliError> {
        self.emit(r, |_| println!("{line}"))
    }
}

/// Flags a config override does not have are refused before anything is read or sent.
fn check_set(set: &SetArgs) -> Result<(), CliError> {
    if set.config.is_some()
        && (set.description.is_some()
            || set.metadata.is_some()
            || set.rotation_days.is_some()
            || set.reason.is_some())
    {
        return Err(CliError::Usage(error::OVERRIDE_FIELDS.into()));
    }
    Ok(())
}

/// The `PUT` body. Serialised straight into a wiped buffer: the value is never copied into a
/// `serde_json::Value` that would be freed unwiped.
#[derive(Serialize)]
struct PutBody<'a> {
    value: &'a str,
    replace: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<serde_json::Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

fn set_secret(
    conn: &Connection,
    out: &Output,
    tenant: &str,
    set: &SetArgs,
    value: &str,
) -> Result<(), CliError> {
    let metadata = match &set.metadata {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) if m.values().all(Value::is_string) => Some(m),
            _ => return Err(CliError::BadInput(error::BAD_METADATA.into())),
        },
    };
    let body = PutBody {
        value,
        replace: set.replace,
        description: set.description.as_deref(),
        metadata,
        rotation_days: set.rotation_days,
        reason: set.reason.as_deref(),
    };
    let bytes =
        Zeroizing::new(serde_json::to_vec(&body).map_err(|e| CliError::BadInput(e.to_string()))?);
    let path = match &set.config {
        Some(c) => format!(
            "/v1/tenants/{tenant}/configs/{}/overrides/{}",
            enc(c),
            enc(&set.name)
        ),
        None => format!("/v1/tenants/{tenant}/secrets/{}", enc(&set.name)),
    };
    let r = conn
        .call("PUT", &path, Some(&bytes))
        .map_err(|e| with_hint(e, 409, error::HINT_REPLACE))?;
    let verb = if r.status == 201 {
        "created"
    } else {
        "replaced"
    };
    out.emit(&r, |v| {
        println!(
            "{verb} {} version {}",
            set.name,
            table::cell(v.get("version"), false)
        );
    })
}

/// Adds `hint` to an API error of status `status`.
fn with_hint(e: CliError, status: u16, hint: &'static str) -> CliError {
    match e {
        CliError::Api {
            status: s,
            code,
            message,
            ..
        } if s == status => CliError::Api {
            status,
            code,
            message,
            hint: Some(hint),
        },
        other => other,
    }
}
