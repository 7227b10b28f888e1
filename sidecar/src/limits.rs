//! Every operator-tunable limit of the daemon: its default and its valid range, in one place.
//!
//! The protocol's own limits (frame sizes, name and value lengths) live in
//! `ax_protocol::limits`; these are the daemon's choices within them.

use std::time::Duration;

use ax_protocol::limits::{MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME};

/// Longest `--socket` path, in bytes: `sockaddr_un.sun_path` holds 108 with the closing NUL.
/// A longer path could be bound through the directory descriptor, but no client could reach
/// it by its path, so it is refused at start (PROTOCOL §1).
pub const MAX_SOCKET_PATH: usize = 107;

/// Most keys a `--control-plane-key` file may hold (PROTOCOL §13): a rotation needs three at
/// most (previous, current, next); more is room, not a use.
pub const MAX_CONTROL_PLANE_KEYS: usize = 16;
/// Largest `--control-plane-key` file, in bytes: 16 key lines and generous comments.
pub const MAX_CONTROL_PLANE_KEY_FILE: u64 = 16 * 1024;

/// Default `--max-connections`: far above what one execution's nodes open, low enough that a
/// runaway client cannot exhaust descriptors or memory (each idle connection holds ~8 KiB).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 512;
/// Valid range of `--max-connections`.
pub const MAX_CONNECTIONS_RANGE: std::ops::RangeInclusive<i64> = 1..=65_536;

/// Default and maximum `--max-request-bytes`: the protocol's request limit.
pub const DEFAULT_MAX_REQUEST_BYTES: u32 = MAX_REQUEST_FRAME;
/// Valid range of `--max-request-bytes`: a `Hello` with a full token must still fit.
pub const MAX_REQUEST_BYTES_RANGE: std::ops::RangeInclusive<i64> = 8_192..=MAX_REQUEST_FRAME as i64;

/// Default and maximum `--max-response-bytes`: the protocol's response limit.
pub const DEFAULT_MAX_RESPONSE_BYTES: u32 = MAX_RESPONSE_FRAME;
/// Valid range of `--max-response-bytes`: a 1 MiB value must still fit in a `Secret`.
pub const MAX_RESPONSE_BYTES_RANGE: std::ops::RangeInclusive<i64> =
    (MAX_REQUEST_FRAME as i64 + 64)..=MAX_RESPONSE_FRAME as i64;

/// Requests that cost CPU in proportion to their size (`Render`, `Redact`, and the redaction
/// matcher's first build) run on the blocking pool, at most this many at once; the serving
/// thread only moves bytes, so a huge request never delays another connection's `Get`. Two
/// keep a second heavy client from waiting behind the first without letting a crowd of them
/// take every core.
pub const MAX_HEAVY_JOBS: usize = 2;

/// Default `--idle-timeout`: clients reconnect transparently, so idle connections are cheap to
/// drop; five minutes keeps a node that reads a secret per task on one connection.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default `--partial-frame-timeout`: a frame of 1 MiB arrives in milliseconds over a Unix
/// socket; a peer that starts one and stalls for seconds is broken or hostile.
pub const DEFAULT_PARTIAL_FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--shutdown-timeout`: how long requests in flight may take to finish on SIGTERM.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Valid range of every timeout flag.
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_secs(24 * 3600));

/// Default `--audit-queue`: events held between the server and the audit writer; beyond it
/// events are counted as dropped rather than slowing down or blocking reads.
pub const DEFAULT_AUDIT_QUEUE: u32 = 65_536;
/// Valid range of `--audit-queue`.
pub const AUDIT_QUEUE_RANGE: std::ops::RangeInclusive<i64> = 16..=4_194_304;
/// How often the audit writer wakes up to write what is queued, at most.
pub const AUDIT_FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// After SIGTERM or SIGINT the process is gone within `--shutdown-timeout` plus this (online,
/// plus `--audit-flush-timeout` too), whatever a client, the log sink or the audit sink does:
/// past it the shutdown watchdog wipes memory, removes the socket and exits.
pub const SHUTDOWN_MARGIN: Duration = Duration::from_secs(1);
/// Of [`SHUTDOWN_MARGIN`], how long the audit writer may take to hand its last events to the
/// sink after connections are done; the rest covers logging and wiping.
pub const AUDIT_FINISH_GRACE: Duration = Duration::from_millis(500);
/// How long the last log lines may take to reach stderr at exit before the process goes anyway.
pub const LOG_FLUSH_PATIENCE: Duration = Duration::from_millis(200);

/// Default `--fetch-deadline`: how long the start-up fetch of the bundle may take in all,
/// retries included (PROTOCOL §13.1); past it the sidecar exits 69.
pub const DEFAULT_FETCH_DEADLINE: Duration = Duration::from_secs(10);
/// The first wait before a retry; each further wait doubles, up to [`RETRY_MAX_WAIT`], and the
/// wait taken is drawn uniformly from zero to that ceiling (full jitter).
pub const RETRY_FIRST_WAIT: Duration = Duration::from_millis(100);
/// The longest ceiling of a retry wait.
pub const RETRY_MAX_WAIT: Duration = Duration::from_secs(2);
/// How long one attempt of the fetch may take to get an answer's status line and headers,
/// connect and TLS included (PROTOCOL §13.1). A control plane that accepts and never answers
/// costs this much, then the fetch tries again: a fresh connection may reach a healthy
/// replica. Two seconds is a hundred times what a healthy answer takes.
pub const FETCH_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The time kept for one last attempt before the deadline: a wait that would end later is cut
/// so that the last attempt starts this long before the deadline, and the fetch never gives up
/// while time is left.
pub const RETRY_LAST_ATTEMPT: Duration = Duration::from_millis(500);
/// The least time the body of a 200 is given: it must have arrived by the fetch deadline or
/// this long after its headers, whichever is later. The token was spent on that answer, so one
/// that came just before the deadline is not cut at once.
pub const FETCH_BODY_GRACE: Duration = Duration::from_secs(2);
/// Longest error body read from the control plane, in bytes; the rest is ignored.
pub const MAX_ERROR_BODY: usize = 4096;
/// Longest part of the control plane's error message quoted in a log or exit line, in chars.
pub const MAX_ERROR_DETAIL: usize = 200;

/// Default `--audit-batch`: audit events per POST to the control plane at most.
pub const DEFAULT_AUDIT_BATCH: u32 = 1000;
/// Valid range of `--audit-batch`.
pub const AUDIT_BATCH_RANGE: std::ops::RangeInclusive<i64> = 1..=65_536;
/// How long an audit event waits for others to share its POST, at most.
pub const AUDIT_SHIP_INTERVAL: Duration = Duration::from_secs(1);
/// Default `--audit-flush-timeout`: at shutdown, how long the last audit batches may take to
/// reach the control plane, retries included.
pub const DEFAULT_AUDIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one audit POST may take while serving before it counts as failed and is retried.
pub const AUDIT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time the audit shipper goes without a POST while serving: with nothing to ship it
/// sends an empty batch, so a sidecar that serves no reads still learns that the control plane
/// ended its execution (a 410) within this plus one [`AUDIT_REQUEST_TIMEOUT`].
pub const AUDIT_HEARTBEAT: Duration = Duration::from_secs(1);

/// Bytes read from a redacted stream at a time.
pub const STREAM_READ_CHUNK: usize = 64 * 1024;

/// Default `--valid-for` of `seal`: a local file stops working after this, which bounds the
/// damage of a file and key that leaked together.
pub const DEFAULT_LOCAL_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);

/// The limits every connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Largest request frame body accepted.
    pub max_request_bytes: u32,
    /// Largest response frame body sent.
    pub max_response_bytes: u32,
    /// Idle time after which a connection is closed between frames.
    pub idle_timeout: Duration,
    /// Time a peer has to finish a frame it started.
    pub partial_frame_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            partial_frame_timeout: DEFAULT_PARTIAL_FRAME_TIMEOUT,
        }
    }
}

/// Parses `250ms`, `10s`, `5m`, `2h` or `90d` into a duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{text}' has no unit: write e.g. 250ms, 10s, 5m, 2h or 90d"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a whole number"))?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("'{unit}' is not a unit: use ms, s, m, h or d")),
    };
    n.checked_mul(scale)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{text}' is too long"))
}

/// Parses a timeout flag that may also be given as whole seconds (`10` is `10s`), and checks
/// it against [`TIMEOUT_RANGE`].
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_timeout(&format!("{text}s"));
    }
    parse_timeout(text)
}

/// Parses a timeout flag and checks it against [`TIMEOUT_RANGE`].
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    let (low, high) = TIMEOUT_RANGE;
    if d < low || d > high {
        return Err(format!("'{text}' is out of range: use 10ms to 24h"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in [
            "",
            "10",
            "s",
            "1.5s",
            "10 s",
            "10sec",
            "-1s",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_timeout("5ms").is_err());
        assert!(parse_timeout("25h").is_err());
        assert!(parse_timeout("10ms").is_ok());
        assert_eq!(parse_seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_seconds("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("").is_err());
    }
}
