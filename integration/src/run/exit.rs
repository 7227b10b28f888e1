//! `ax-run`'s exit codes and the one-line reports it prints when the code is its own.
//!
//! | code | meaning |
//! |---|---|
//! | CMD's code | the command ran; its exit code, or 128+N if signal N killed it |
//! | 64 | usage: a bad flag or argument |
//! | 66 | an input file (CA, control-plane key, admin token) is missing or unreadable |
//! | 69 | the control plane could not be reached to create the execution |
//! | 70 | internal error; or the sidecar died by a signal or without saying why |
//! | 71 | OS failure: the socket directory, a pipe, or the sidecar binary could not be started |
//! | 75 | CMD succeeded, but the sidecar lost audit events (its own exit 75): the run is not fully audited |
//! | 77 | the control plane refused to create the execution (admin token, tenant, config, environment); or it ended the execution while CMD ran (the sidecar stopped serving) |
//! | 65, 69, 71, 77, ... | the sidecar failed before it was ready: its own exit code (PROTOCOL §14) |
//! | 126 | the command could not be executed |
//! | 127 | the command was not found |
//! | 128+N | `ax-run` got signal N before the command started |
//!
//! Every code that is `ax-run`'s own, not the command's, comes with one line on stderr that
//! starts with `ax-run:`.

/// A bad flag or argument.
pub const USAGE: u8 = 64;
/// An input file is missing or unreadable.
pub const NO_INPUT: u8 = 66;
/// The control plane could not be reached.
pub const UNAVAILABLE: u8 = 69;
/// An internal error.
pub const SOFTWARE: u8 = 70;
/// An OS failure.
pub const OS: u8 = 71;
/// CMD succeeded but audit events were lost (the sidecar's own code for it, sysexits
/// `EX_TEMPFAIL`): a run whose trail is incomplete must not look like a clean success.
pub const AUDIT_LOST: u8 = 75;
/// The control plane refused.
pub const NO_PERM: u8 = 77;
/// The command could not be executed.
pub const CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
pub const NOT_FOUND: u8 = 127;

/// Prints one `ax-run:` line on stderr.
#[allow(clippy::print_stderr)]
pub fn report(message: &str) {
    eprintln!("ax-run: {message}");
}

/// The code for a process that ended with `status`: its exit code, or 128+signal.
pub fn code_of(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(SOFTWARE),
        (None, Some(signal)) => u8::try_from(128 + (signal & 0x7f)).unwrap_or(SOFTWARE),
        (None, None) => SOFTWARE,
    }
}

/// How a process ended, in words: "exited with 65" or "was killed by signal 9".
pub fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended".to_owned(),
    }
}
