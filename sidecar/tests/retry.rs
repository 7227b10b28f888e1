//! The retry schedule and the status tables of PROTOCOL §13.1 and §13.2, on tokio's paused
//! clock: whole schedules run in virtual time, nothing sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::time::Duration;

use ax_sidecar::control_plane::retry::{
    Attempt, Backoff, FullJitter, GaveUp, Jitter, Retry, with_retries,
};
use ax_sidecar::control_plane::status::{
    AuditVerdict, FetchVerdict, audit_verdict, error_detail, fetch_verdict,
};
use ax_sidecar::exit::{self, StartupError};
use tokio::time::Instant;

/// Always waits the whole ceiling, so the schedule is exact.
struct Ceiling;
impl Jitter for Ceiling {
    fn pick(&mut self, ceiling: Duration) -> Duration {
        ceiling
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The per-attempt timeout the fetch uses.
const ATTEMPT: Duration = ax_sidecar::limits::FETCH_ATTEMPT_TIMEOUT;

#[test]
fn backoff_doubles_from_100ms_up_to_2s() {
    let mut backoff = Backoff::new();
    let ceilings: Vec<Duration> = (0..8).map(|_| backoff.next_ceiling()).collect();
    assert_eq!(
        ceilings,
        [
            ms(100),
            ms(200),
            ms(400),
            ms(800),
            ms(1600),
            ms(2000),
            ms(2000),
            ms(2000)
        ]
    );
}

#[test]
fn full_jitter_stays_between_zero_and_the_ceiling_and_spreads() {
    let mut jitter = FullJitter::default();
    let picks: Vec<Duration> = (0..2000).map(|_| jitter.pick(ms(800))).collect();
    assert!(picks.iter().all(|p| *p <= ms(800)));
    assert!(picks.iter().any(|p| *p < ms(200)), "no low picks");
    assert!(picks.iter().any(|p| *p > ms(600)), "no high picks");
    assert_eq!(jitter.pick(Duration::ZERO), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn retries_on_the_schedule_until_done() {
    let calls = Cell::new(0);
    let started = Instant::now();
    let result: Result<Result<&str, ()>, GaveUp> =
        with_retries(ms(10_000), ATTEMPT, &mut Ceiling, |_| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n <= 3 {
                    Attempt::Retry(Retry::because("HTTP 503"))
                } else {
                    Attempt::Done("bundle")
                }
            }
        })
        .await;
    assert_eq!(result, Ok(Ok("bundle")));
    assert_eq!(calls.get(), 4);
    assert_eq!(started.elapsed(), ms(100 + 200 + 400));
}

#[tokio::test(start_paused = true)]
async fn keeps_trying_until_the_deadline_has_really_passed() {
    let calls = Cell::new(0);
    let started = Instant::now();
    let result: Result<Result<(), ()>, GaveUp> =
        with_retries(ms(10_000), ATTEMPT, &mut Ceiling, |_| {
            calls.set(calls.get() + 1);
            async { Attempt::Retry(Retry::because("HTTP 503")) }
        })
        .await;
    // Attempts at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 5.1, 7.1 and 9.1 s; the next 2 s wait would end
    // past 10 s, so it is cut to start a last attempt at 9.5 s, and the rest is waited out.
    let gave_up = result.unwrap_err();
    assert_eq!(gave_up.attempts, 10);
    assert_eq!(calls.get(), 10);
    assert_eq!(gave_up.last, "HTTP 503");
    assert_eq!(gave_up.deadline, ms(10_000));
    assert_eq!(
        started.elapsed(),
        ms(10_000),
        "gave up before or after the deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn never_gives_up_early_whatever_the_jitter_picks() {
    for deadline in [ms(300), ms(1_000), ms(2_345), ms(5_000)] {
        let started = Instant::now();
        let result: Result<Result<(), ()>, GaveUp> =
            with_retries(deadline, ATTEMPT, &mut FullJitter::default(), |_| async {
                Attempt::Retry(Retry::because("cannot connect"))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(started.elapsed(), deadline, "{deadline:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after_instead_of_the_schedule() {
    let calls = Cell::new(0);
    let started = Instant::now();
    let result: Result<Result<(), ()>, GaveUp> =
        with_retries(ms(10_000), ATTEMPT, &mut Ceiling, |_| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 1 {
                    Attempt::Retry(Retry {
                        reason: "HTTP 429".into(),
                        retry_after: Some(Duration::from_secs(3)),
                    })
                } else {
                    Attempt::Done(())
                }
            }
        })
        .await;
    assert_eq!(result, Ok(Ok(())));
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_past_the_deadline_leaves_one_last_attempt_and_says_so() {
    let calls = Cell::new(0);
    let started = Instant::now();
    let result: Result<Result<(), ()>, GaveUp> =
        with_retries(ms(2_000), ATTEMPT, &mut Ceiling, |_| {
            calls.set(calls.get() + 1);
            async {
                Attempt::Retry(Retry {
                    reason: "HTTP 429".into(),
                    retry_after: Some(Duration::from_secs(30)),
                })
            }
        })
        .await;
    let gave_up = result.unwrap_err();
    assert_eq!(
        gave_up.attempts, 2,
        "one at once, one 500 ms before the deadline"
    );
    assert_eq!(calls.get(), 2);
    assert_eq!(
        gave_up.last,
        "HTTP 429, Retry-After 30s is past the deadline"
    );
    assert_eq!(started.elapsed(), ms(2_000));
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_past_the_deadline_still_reaches_a_recovered_server() {
    let calls = Cell::new(0);
    let started = Instant::now();
    let result: Result<Result<u32, ()>, GaveUp> =
        with_retries(ms(2_000), ATTEMPT, &mut Ceiling, |_| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 1 {
                    Attempt::Retry(Retry {
                        reason: "HTTP 503".into(),
                        retry_after: Some(Duration::from_secs(30)),
                    })
                } else {
                    Attempt::Done(n)
                }
            }
        })
        .await;
    assert_eq!(result, Ok(Ok(2)));
    assert_eq!(started.elapsed(), ms(1_500));
}

#[tokio::test(start_paused = true)]
async fn an_attempt_that_hangs_costs_one_attempt_timeout_and_is_retried() {
    let calls = Cell::new(0);
    let started = Instant::now();
    let result: Result<Result<&str, ()>, GaveUp> =
        with_retries(ms(10_000), ATTEMPT, &mut Ceiling, |budget| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                assert_eq!(budget, ATTEMPT);
                if n == 1 {
                    std::future::pending::<()>().await;
                }
                Attempt::Done("bundle")
            }
        })
        .await;
    assert_eq!(result, Ok(Ok("bundle")));
    assert_eq!(calls.get(), 2);
    assert_eq!(started.elapsed(), ATTEMPT + ms(100));
}

#[tokio::test(start_paused = true)]
async fn attempts_that_hang_are_cut_and_the_last_ends_at_the_deadline() {
    let budgets = std::cell::RefCell::new(Vec::new());
    let started = Instant::now();
    let result: Result<Result<(), ()>, GaveUp> =
        with_retries(ms(2_500), ATTEMPT, &mut Ceiling, |budget| {
            budgets.borrow_mut().push(budget);
            std::future::pending::<Attempt<(), ()>>()
        })
        .await;
    let gave_up = result.unwrap_err();
    // 0 to 2 s; then the 100 ms wait would leave less than 500 ms, so the last starts at once.
    assert_eq!(*budgets.borrow(), [ATTEMPT, ms(500)]);
    assert_eq!(gave_up.attempts, 2);
    assert_eq!(gave_up.last, "no answer within 500ms");
    assert_eq!(started.elapsed(), ms(2_500));
}

#[tokio::test(start_paused = true)]
async fn a_final_failure_is_never_retried() {
    let calls = Cell::new(0);
    let started = Instant::now();
    let result: Result<Result<(), u16>, GaveUp> =
        with_retries(ms(10_000), ATTEMPT, &mut Ceiling, |_| {
            calls.set(calls.get() + 1);
            async { Attempt::Fail(401) }
        })
        .await;
    assert_eq!(result, Ok(Err(401)));
    assert_eq!(calls.get(), 1);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[test]
fn fetch_statuses_map_as_the_table_says() {
    assert_eq!(fetch_verdict(200), FetchVerdict::Bundle);
    assert_eq!(fetch_verdict(400), FetchVerdict::BadRequest);
    for status in [401, 403, 404, 409, 410, 201, 204, 302, 405, 418] {
        assert_eq!(fetch_verdict(status), FetchVerdict::Refused, "{status}");
    }
    for status in [429, 500, 502, 503, 504, 599] {
        assert_eq!(fetch_verdict(status), FetchVerdict::Retry, "{status}");
    }
}

#[test]
fn fetch_refusals_map_onto_exit_codes() {
    let refused = |status| StartupError::Refused {
        refused: "refused",
        execution_id: "e".into(),
        status,
        detail: String::new(),
    };
    assert_eq!(refused(400).exit_code(), exit::SOFTWARE);
    for status in [401, 403, 404, 409, 410, 302] {
        assert_eq!(refused(status).exit_code(), exit::NO_PERM, "{status}");
    }
    let unreachable = StartupError::Unreachable {
        url: "https://cp".into(),
        gave_up: GaveUp {
            attempts: 3,
            deadline: ms(10_000),
            last: "HTTP 503".into(),
        },
    };
    assert_eq!(unreachable.exit_code(), exit::UNAVAILABLE);
    let truncated = StartupError::Truncated {
        received: "10 of 20 bytes".into(),
        reason: "the body ended early".into(),
    };
    assert_eq!(truncated.exit_code(), exit::PROTOCOL);
    let untrusted = StartupError::Untrusted {
        url: "https://cp".into(),
        reason: "invalid peer certificate: UnknownIssuer".into(),
    };
    assert_eq!(untrusted.exit_code(), exit::CONFIG);
    assert_eq!(
        (
            exit::UNAVAILABLE,
            exit::PROTOCOL,
            exit::NO_PERM,
            exit::CONFIG,
            exit::DATA
        ),
        (69, 76, 77, 78, 65)
    );
}

#[test]
fn audit_statuses_map_as_the_table_says() {
    for status in [200, 202, 204] {
        assert_eq!(
            audit_verdict(status),
            AuditVerdict::Acknowledged,
            "{status}"
        );
    }
    for status in [429, 500, 503, 599] {
        assert_eq!(audit_verdict(status), AuditVerdict::Retry, "{status}");
    }
    for status in [401, 403] {
        assert_eq!(audit_verdict(status), AuditVerdict::Stop, "{status}");
    }
    for status in [201, 400, 404, 413, 302] {
        assert_eq!(audit_verdict(status), AuditVerdict::Drop, "{status}");
    }
}

#[test]
fn quotes_error_bodies_on_one_line_and_briefly() {
    assert_eq!(
        error_detail(br#"{"error":"token_used","message":"already used"}"#),
        " (token_used: already used)"
    );
    assert_eq!(error_detail(b"<html>oops</html>"), "");
    let long = format!(r#"{{"error":"x","message":"{}\nline2"}}"#, "m".repeat(500));
    let detail = error_detail(long.as_bytes());
    assert!(!detail.contains('\n'));
    assert!(detail.len() < 220);
}
