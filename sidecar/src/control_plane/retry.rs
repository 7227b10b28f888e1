//! Retrying what the control plane may answer later (PROTOCOL §13.1).
//!
//! The n-th wait (from 0) is drawn uniformly from zero to `min(2 s, 100 ms × 2ⁿ)` ("full
//! jitter": many sidecars retrying at once spread out instead of arriving together), unless the
//! answer carried `Retry-After: SECONDS`, which is then waited exactly. Everything, attempts and
//! waits, happens inside one total deadline, and the loop gives up only when it has really
//! passed: a launcher that allowed ten seconds gets ten seconds of trying, and "could not be
//! reached within the deadline" is then the truth. Each attempt has its own timeout, so a
//! server that accepts and never answers costs one attempt, not the whole deadline. A wait
//! that would end too close to the deadline (or past it, as a long `Retry-After` may) is cut so
//! that one last attempt still fits: one request more per sidecar is cheap for the control
//! plane, and it reaches one that has recovered.
//!
//! Time is tokio's, so tests run the whole schedule on a paused clock without sleeping.

use std::future::Future;
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use tokio::time::Instant;

use crate::limits::{RETRY_FIRST_WAIT, RETRY_LAST_ATTEMPT, RETRY_MAX_WAIT};

/// The ceilings of successive waits: 100 ms, 200 ms, 400 ms, 800 ms, 1.6 s, then 2 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    ceiling: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            ceiling: RETRY_FIRST_WAIT,
        }
    }
}

impl Backoff {
    /// The schedule from its first wait.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ceiling of the next wait; advances the schedule.
    pub fn next_ceiling(&mut self) -> Duration {
        let ceiling = self.ceiling;
        self.ceiling = (ceiling * 2).min(RETRY_MAX_WAIT);
        ceiling
    }
}

/// Picks the wait actually taken below a ceiling.
pub trait Jitter: Send {
    /// A wait between zero and `ceiling`, both included.
    fn pick(&mut self, ceiling: Duration) -> Duration;
}

/// Uniform from zero to the ceiling, at microsecond resolution, from the system RNG.
#[derive(Debug)]
pub struct FullJitter(SystemRandom);

impl Default for FullJitter {
    fn default() -> Self {
        Self(SystemRandom::new())
    }
}

impl Jitter for FullJitter {
    fn pick(&mut self, ceiling: Duration) -> Duration {
        let mut bytes = [0u8; 8];
        if self.0.fill(&mut bytes).is_err() {
            return ceiling;
        }
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(u64::from_le_bytes(bytes) % micros.saturating_add(1))
    }
}

/// Why an attempt is worth repeating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// What went wrong, for the last line (no secret: a status or a transport error kind).
    pub reason: String,
    /// The server's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

impl Retry {
    /// A retry without `Retry-After`.
    pub fn because(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// The outcome of one attempt.
#[derive(Debug)]
pub enum Attempt<T, E> {
    /// It worked.
    Done(T),
    /// It failed for good: no retry.
    Fail(E),
    /// It may work later.
    Retry(Retry),
}

/// The deadline passed before an attempt succeeded or failed for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no answer within the {deadline:?} deadline after {attempts} attempt(s) (last: {last})")]
pub struct GaveUp {
    /// Attempts started.
    pub attempts: u32,
    /// The total deadline.
    pub deadline: Duration,
    /// The last reason to retry.
    pub last: String,
}

/// Runs `attempt` until it is done or fails for good, retrying on the schedule above until
/// `deadline` has passed. Each attempt is given `attempt_timeout` or the time left, whichever is
/// less (it receives that budget), and one that runs out of it is retried like a transport
/// error. A wait that would leave less than [`RETRY_LAST_ATTEMPT`] before the deadline, a
/// `Retry-After` included, is cut so that one last attempt starts that long before it; if that
/// one asks for a retry too, the rest of the deadline is waited out. So the loop gives up only
/// once the deadline has passed, and never later than it.
pub async fn with_retries<T, E, F, Fut>(
    deadline: Duration,
    attempt_timeout: Duration,
    jitter: &mut dyn Jitter,
    mut attempt: F,
) -> Result<Result<T, E>, GaveUp>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
{
    let end = Instant::now() + deadline;
    let mut backoff = Backoff::new();
    let mut attempts = 0;
    let mut last = String::from("the deadline passed before the first attempt");
    let mut last_chance = false;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(GaveUp {
                attempts,
                deadline,
                last,
            });
        }
        attempts += 1;
        let budget = left.min(attempt_timeout);
        let retry = match tokio::time::timeout(budget, attempt(budget)).await {
            Err(_) => Retry::because(format!("no answer within {budget:?}")),
            Ok(Attempt::Done(value)) => return Ok(Ok(value)),
            Ok(Attempt::Fail(err)) => return Ok(Err(err)),
            Ok(Attempt::Retry(retry)) => retry,
        };
        let wanted = retry
            .retry_after
            .unwrap_or_else(|| jitter.pick(backoff.next_ceiling()));
        let left = end.saturating_duration_since(Instant::now());
        let wait = if last_chance {
            left
        } else if wanted.saturating_add(RETRY_LAST_ATTEMPT) <= left {
            wanted
        } else {
            last_chance = true;
            left.saturating_sub(RETRY_LAST_ATTEMPT)
        };
        last = match retry.retry_after {
            Some(after) if after > left => {
                format!(
                    "{}, Retry-After {after:?} is past the deadline",
                    retry.reason
                )
            }
            _ => retry.reason,
        };
        tracing::debug!(attempt = attempts, reason = %last, ?wait, "retrying");
        tokio::time::sleep(wait).await;
    }
}

/// The `Retry-After` of a response, when it is a number of seconds (an HTTP date is ignored).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(86_400)))
}
