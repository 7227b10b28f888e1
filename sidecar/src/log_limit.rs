//! A rate limit on log lines that peers can trigger.
//!
//! A refused, busy or dropped connection is worth a warning, but a peer decides how many of
//! them happen: one client connecting and closing in a loop could otherwise write thousands of
//! lines a second, filling the operator's log and, when stderr is a pipe, slowing the serving
//! thread down with it. Each kind of line is written at most once per [`INTERVAL`]; the lines
//! held back meanwhile are counted and the count goes with the next line that is written.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// At most one line of each kind per interval.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The state of one kind of line.
#[derive(Debug)]
pub struct LogLimit {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimit {
    /// A limit that lets the first line through.
    pub const fn new() -> Self {
        Self {
            state: Mutex::new(State {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// Whether a line may be written now: `Some(n)` with the number of lines held back since
    /// the last one written, or `None` (and this one is counted) when it must be held back.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.last {
            Some(last) if now.saturating_duration_since(last) < INTERVAL => {
                state.suppressed = state.suppressed.saturating_add(1);
                None
            }
            _ => {
                state.last = Some(now);
                Some(std::mem::take(&mut state.suppressed))
            }
        }
    }
}

impl Default for LogLimit {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_one_line_per_interval_through_and_counts_the_rest() {
        let limit = LogLimit::new();
        let start = Instant::now();
        assert_eq!(limit.allow_at(start), Some(0));
        for i in 1..=5 {
            assert_eq!(limit.allow_at(start + Duration::from_millis(i * 100)), None);
        }
        assert_eq!(limit.allow_at(start + INTERVAL), Some(5));
        assert_eq!(limit.allow_at(start + INTERVAL), None);
        assert_eq!(limit.allow_at(start + 3 * INTERVAL), Some(1));
    }
}
