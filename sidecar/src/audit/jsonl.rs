//! The JSON-lines audit sink: one JSON object per event, one line each (PROTOCOL §13.3; the
//! types and their field order are `ax_protocol::contract`'s).
//!
//! ```text
//! {"seq":1,"time":"2026-11-23T01:02:03.456Z","execution_id":"exec-7f3a","action":"get","names":["DB_URL"],"found":true,"peer":{"pid":4242,"uid":1000,"gid":1000}}
//! {"time":"2026-11-23T01:02:04.000Z","execution_id":"exec-7f3a","action":"dropped","count":17}
//! ```

use std::borrow::Cow;
use std::io::{self, Write};
use std::time::SystemTime;

use ax_protocol::contract::{self, DroppedLine};

use super::time::rfc3339_millis;
use super::{Action, AuditEvent, AuditSink};
use crate::store::Store;

/// A batch is written out in pieces of about this size, each ending at a line's end.
const WRITE_CHUNK: usize = 64 * 1024;

/// Writes events as JSON lines to any writer (an audit file, or stderr).
///
/// Lines are formatted in memory and handed to the writer whole, one `write_all` per piece of
/// up to 64 KiB that ends at a line's end. On stderr that keeps every line in one
/// piece beside the log lines, which `tracing` writes the same way under the same lock.
pub struct JsonLinesSink<W: Write> {
    out: W,
    pending: Vec<u8>,
    execution_id: String,
}

impl<W: Write> JsonLinesSink<W> {
    /// A sink writing to `out`, labelling each line with `execution_id`.
    pub fn new(out: W, execution_id: &str) -> Self {
        Self {
            out,
            pending: Vec::with_capacity(WRITE_CHUNK),
            execution_id: execution_id.to_owned(),
        }
    }

    /// Ends a line; writes what is pending once it is a whole chunk.
    fn end_line(&mut self) -> io::Result<()> {
        self.pending.push(b'\n');
        if self.pending.len() >= WRITE_CHUNK {
            self.write_pending()?;
        }
        Ok(())
    }

    fn write_pending(&mut self) -> io::Result<()> {
        let written = self.out.write_all(&self.pending);
        self.pending.clear();
        written
    }
}

/// The JSON of `event` (PROTOCOL §13.2), its names resolved through `store`; `execution_id`
/// only on the local trail's lines (§13.3).
pub(crate) fn event_json<'a>(
    event: &'a AuditEvent,
    store: &'a Store,
    execution_id: Option<&'a str>,
) -> contract::AuditEvent<'a> {
    let (reason, count) = match event.action {
        Action::Refused { reason, count } => (Some(reason), Some(count)),
        _ => (None, None),
    };
    contract::AuditEvent {
        seq: event.seq,
        time: Cow::Owned(rfc3339_millis(event.time)),
        execution_id: execution_id.map(Cow::Borrowed),
        action: event.action.wire(),
        names: event
            .names
            .as_slice()
            .iter()
            .map(|n| Cow::Borrowed(n.resolve(store)))
            .collect(),
        found: event.found,
        peer: event.peer,
        reason,
        count,
    }
}

impl<W: Write + Send + 'static> AuditSink for JsonLinesSink<W> {
    fn write_batch(
        &mut self,
        events: &[AuditEvent],
        dropped: u64,
        store: &Store,
    ) -> io::Result<()> {
        for event in events {
            let line = event_json(event, store, Some(&self.execution_id));
            serde_json::to_writer(&mut self.pending, &line)?;
            self.end_line()?;
        }
        if dropped > 0 {
            let line = DroppedLine::new(
                Cow::Owned(rfc3339_millis(SystemTime::now())),
                Cow::Borrowed(&self.execution_id),
                dropped,
            );
            serde_json::to_writer(&mut self.pending, &line)?;
            self.end_line()?;
        }
        self.write_pending()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditName, AuditNames, Peer, RefusalReason};
    use crate::store::tests::store;
    use std::time::{Duration, UNIX_EPOCH};

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_one_json_object_per_line() {
        let store = store(&[("DB_URL", "postgres://secret")], &[]);
        let out = Shared::default();
        let mut sink = JsonLinesSink::new(out.clone(), "exec-7f3a");
        let event = AuditEvent {
            seq: 1,
            time: UNIX_EPOCH + Duration::from_millis(1_795_395_723_456),
            action: Action::Render,
            names: AuditNames::Many(vec![AuditName::Known(0), AuditName::Missing("NOPE".into())]),
            found: false,
            peer: Peer {
                pid: 4242,
                uid: 1000,
                gid: 1001,
            },
        };
        sink.write_batch(&[event], 3, &store).unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            r#"{"seq":1,"time":"2026-11-23T01:02:03.456Z","execution_id":"exec-7f3a","action":"render","names":["DB_URL","NOPE"],"found":false,"peer":{"pid":4242,"uid":1000,"gid":1001}}"#
        );
        let dropped: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(dropped["action"], "dropped");
        assert_eq!(dropped["count"], 3);
        assert!(lines.next().is_none());
        assert!(!text.contains("postgres"));
    }

    #[test]
    fn a_refusal_line_says_why_and_how_many_and_a_value_like_name_is_a_placeholder() {
        let store = store(&[("HOOK", "whk_live_5555")], &[]);
        let out = Shared::default();
        let mut sink = JsonLinesSink::new(out.clone(), "exec-1");
        let peer = Peer {
            pid: 7,
            uid: 1000,
            gid: 1000,
        };
        let refused = AuditEvent {
            seq: 1,
            time: UNIX_EPOCH,
            action: Action::Refused {
                reason: RefusalReason::Token,
                count: 5,
            },
            names: AuditNames::Many(Vec::new()),
            found: false,
            peer,
        };
        let get = AuditEvent {
            seq: 2,
            action: Action::Get,
            names: AuditNames::One(AuditName::ValueLike),
            ..refused.clone()
        };
        sink.write_batch(&[refused, get], 0, &store).unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["action"], "refused");
        assert_eq!(lines[0]["reason"], "token");
        assert_eq!(lines[0]["count"], 5);
        assert_eq!(lines[0]["names"], serde_json::json!([]));
        assert_eq!(lines[1]["names"], serde_json::json!(["<value>"]));
        assert!(lines[1].get("reason").is_none());
        assert!(!text.contains("whk_live"));
    }
}
