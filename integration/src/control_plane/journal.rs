//! The audit of management actions, and the one audit query that answers both trails.
//!
//! Every change made through the management API (a secret or override created, rotated or
//! deleted, a config or environment created or deleted, faults set) is a [`ManagementEvent`]
//! with the actor (the API token's name). It holds names, never a value.
//!
//! `GET /v1/tenants/{t}/audit` answers the access events the sidecars shipped (`kind=access`,
//! the default, as before), the management events (`kind=management`) or both (`kind=all`, by
//! time), filtered by `name`, `action`, `execution` and a time window (`days`, or `since` and
//! `until` in RFC 3339 or unix seconds), a page at a time (`limit`, `cursor`).

use serde::Serialize;
use serde_json::{Value, json};

use super::App;
use super::model::{Execution, Tenant};
use super::routes::{Call, Reply, not_found};
use crate::util::now_secs as util_now;
use ax_protocol::contract::ErrorName;
use hyper::StatusCode;

/// Most events in one page, and the page size when `limit` is not given.
pub const MAX_PAGE: usize = 1000;

/// One management action.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ManagementEvent {
    /// 1, 2, ... within the tenant.
    pub seq: u64,
    /// When, seconds since the epoch.
    pub time: u64,
    /// Who: the API token's name.
    pub actor: String,
    /// What: `secret_create`, `secret_rotate`, `secret_delete`, `override_create`,
    /// `override_rotate`, `override_delete`, `config_create`, `config_delete`,
    /// `environment_create`, `environment_delete`, `faults_set`.
    pub action: String,
    /// The secret or override, if the action is about one.
    pub name: Option<String>,
    /// The flow config, for a config or an override.
    pub config: Option<String>,
    /// The environment, for an environment action.
    pub environment: Option<String>,
    /// The version a create or rotation made.
    pub version: Option<u32>,
    /// The reason a rotation gave.
    pub reason: Option<String>,
}

/// What an action is about, for [`record`].
#[derive(Debug, Default)]
pub struct Subject<'a> {
    /// A secret or override name.
    pub name: Option<&'a str>,
    /// A config.
    pub config: Option<&'a str>,
    /// An environment.
    pub environment: Option<&'a str>,
    /// The version made.
    pub version: Option<u32>,
    /// The reason given.
    pub reason: Option<&'a str>,
}

/// Records an action on `tenant_name` (written through the store first, then kept in
/// memory). A failure to write it is an error answer: the change was made, its record was not,
/// and the caller must know.
pub fn record(
    app: &App,
    tenant_name: &str,
    tenant: &mut Tenant,
    actor: &str,
    action: &str,
    subject: Subject<'_>,
) -> Result<(), Reply> {
    let seq = tenant.journal.last().map_or(1, |e| e.seq.saturating_add(1));
    let event = ManagementEvent {
        seq,
        time: util_now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        name: subject.name.map(str::to_owned),
        config: subject.config.map(str::to_owned),
        environment: subject.environment.map(str::to_owned),
        version: subject.version,
        reason: subject.reason.map(str::to_owned),
    };
    app.store
        .record_management(tenant_name, &event)
        .map_err(|err| {
            Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorName::Storage,
                format!("the change was made but its audit record was not: {err}"),
            )
        })?;
    tenant.journal.push(event);
    Ok(())
}

/// The filters of a query, parsed.
struct Filter<'a> {
    name: Option<&'a str>,
    action: Option<&'a str>,
    execution: Option<&'a str>,
    since: Option<u64>,
    until: Option<u64>,
    kind: Kind,
    offset: usize,
    limit: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access,
    Management,
    All,
}

fn bad(message: impl Into<String>) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, ErrorName::BadRequest, message)
}

fn parse_filter(call: &Call) -> Result<Filter<'_>, Reply> {
    let time = |key: &'static str| -> Result<Option<u64>, Reply> {
        call.query_param(key)
            .map(|v| {
                parse_time(v).ok_or_else(|| {
                    bad(format!(
                        "{key} is RFC 3339 (2026-01-31T12:00:00Z) or unix seconds"
                    ))
                })
            })
            .transpose()
    };
    let mut since = time("since")?;
    let until = time("until")?;
    if let Some(days) = call.query_param("days") {
        let days: u64 = days
            .parse()
            .map_err(|_| bad("days is a whole number of days"))?;
        since = Some(util_now().saturating_sub(days.saturating_mul(86_400)));
    }
    let kind = match call.query_param("kind").unwrap_or("access") {
        "access" => Kind::Access,
        "management" => Kind::Management,
        "all" => Kind::All,
        _ => return Err(bad("kind is access, management or all")),
    };
    let limit = match call.query_param("limit") {
        None => MAX_PAGE,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => return Err(bad(format!("limit is 1 to {MAX_PAGE}"))),
        },
    };
    let offset = match call.query_param("cursor") {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| bad("cursor is the next_cursor of an earlier page"))?,
    };
    Ok(Filter {
        name: call.query_param("name"),
        action: call.query_param("action"),
        execution: call.query_param("execution"),
        since,
        until,
        kind,
        offset,
        limit,
    })
}

impl Filter<'_> {
    fn in_window(&self, t: Option<u64>) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Some(t) = t else { return false };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// `GET /v1/tenants/{t}/audit`: see the module documentation and CONTROL_PLANE.md.
pub fn query_audit(app: &App, tenant_name: &str, call: &Call) -> Reply {
    let filter = match parse_filter(call) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let state = app.state();
    let Some(tenant) = state.tenants.get(tenant_name) else {
        return not_found("tenant");
    };
    let mut found: Vec<(u64, Value)> = Vec::new();
    let mut dropped = 0u64;
    if filter.kind != Kind::Management {
        let mut executions: Vec<(&String, &Execution)> = state
            .executions
            .iter()
            .filter(|(id, e)| {
                e.tenant == tenant_name && filter.execution.is_none_or(|o| o == id.as_str())
            })
            .collect();
        executions.sort_by_key(|(_, e)| e.order);
        for (_, execution) in executions {
            dropped = dropped.saturating_add(execution.dropped);
            for stored in execution.events.values() {
                let event = &stored.event;
                let mentions = |n: &str| {
                    event
                        .get("names")
                        .and_then(Value::as_array)
                        .is_some_and(|names| names.iter().any(|x| x.as_str() == Some(n)))
                };
                let time = event
                    .get("time")
                    .and_then(Value::as_str)
                    .and_then(parse_time);
                let action_ok = filter
                    .action
                    .is_none_or(|a| event.get("action").and_then(Value::as_str) == Some(a));
                if filter.name.is_none_or(mentions) && action_ok && filter.in_window(time) {
                    let mut event = event.clone();
                    if let Some(obj) = event.as_object_mut() {
                        obj.insert("execution_id".into(), json!(stored.execution_id));
                    }
                    found.push((time.unwrap_or(0), event));
                }
            }
        }
    }
    // Management actions belong to no execution: a query for one execution has none.
    if filter.kind != Kind::Access && filter.execution.is_none() {
        for event in &tenant.journal {
            let keep = filter.name.is_none_or(|n| event.name.as_deref() == Some(n))
                && filter.action.is_none_or(|a| event.action == a)
                && filter.in_window(Some(event.time));
            if keep {
                let mut value = json!(event);
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("kind".into(), json!("management"));
                }
                found.push((event.time, value));
            }
        }
    }
    if filter.kind == Kind::All {
        // Stable: within one second, access events keep their order, then management ones.
        found.sort_by_key(|(t, _)| *t);
    }
    let total = found.len();
    let end = filter.offset.saturating_add(filter.limit).min(total);
    let page: Vec<Value> = found
        .into_iter()
        .take(end)
        .skip(filter.offset)
        .map(|(_, v)| v)
        .collect();
    // The cursor is the position of the next event in the filtered trail. The management
    // trail only grows at its end; an access event of an older execution still running lands
    // before it, so a complete read of access events pages through a closed window (`until`).
    let next_cursor = (end < total).then(|| end.to_string());
    Reply::json(
        StatusCode::OK,
        &json!({"events": page, "dropped": dropped, "next_cursor": next_cursor}),
    )
}

/// RFC 3339 (`2026-01-31T12:00:00Z`, `...T12:00:00.123Z`, `...+02:00`) or unix seconds, to
/// unix seconds.
pub fn parse_time(text: &str) -> Option<u64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_are_read_in_both_forms() {
        assert_eq!(parse_time("0"), Some(0));
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20.123Z"), Some(1_700_000_000));
        assert_eq!(parse_time("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Some(951_782_400));
    }

    #[test]
    fn malformed_times_are_refused() {
        for bad in [
            "",
            "yesterday",
            "2023-11-14",
            "2023-13-01T00:00:00Z",
            "-5",
            "2023-11-14T22:13:20",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
