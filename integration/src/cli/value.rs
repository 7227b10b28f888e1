//! Where a secret's value comes from: `--value-file`, else stdin; a masked prompt (echo off via
//! termios) when stdin is a terminal. Never argv: there is no flag that takes a value, so it
//! cannot land in shell history or `/proc/PID/cmdline`. The value lives in wiped buffers only.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::Path;

use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
use zeroize::Zeroizing;

use super::error::{self, CliError};

/// Reads the value: the whole file or stdin with one trailing newline removed.
pub(super) fn read_value(value_file: Option<&Path>) -> Result<Zeroizing<String>, CliError> {
    let raw = match value_file {
        Some(path) => Zeroizing::new(std::fs::read(path).map_err(|e| {
            CliError::BadInput(format!("cannot read --value-file {}: {e}", path.display()))
        })?),
        None if io::stdin().is_terminal() => prompt()?,
        None => {
            let mut buf = Zeroizing::new(Vec::new());
            io::stdin().lock().read_to_end(&mut buf).map_err(|e| {
                CliError::BadInput(format!("cannot read the value from stdin: {e}"))
            })?;
            buf
        }
    };
    let mut end = raw.len();
    if raw[..end].ends_with(b"\n") {
        end -= 1;
        if raw[..end].ends_with(b"\r") {
            end -= 1;
        }
    }
    if end == 0 {
        return Err(CliError::BadInput(error::EMPTY_VALUE.into()));
    }
    let text = std::str::from_utf8(&raw[..end])
        .map_err(|_| CliError::BadInput(error::VALUE_NOT_UTF8.into()))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Restores the terminal's settings when dropped, on every path out of the prompt; and while
/// it lives, a thread does the same on SIGINT, SIGTERM or SIGHUP before exiting 130, so a
/// Ctrl-C at the prompt does not leave the terminal without echo.
struct EchoOff {
    saved: nix::sys::termios::Termios,
    signals: Option<signal_hook::iterator::Handle>,
}

impl EchoOff {
    fn new(saved: nix::sys::termios::Termios) -> Self {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).ok();
        let handle = signals.as_ref().map(signal_hook::iterator::Signals::handle);
        if let Some(mut signals) = signals {
            let restore = saved.clone();
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &restore);
                    let _ = writeln!(io::stderr());
                    std::process::exit(130);
                }
            });
        }
        Self {
            saved,
            signals: handle,
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &self.saved);
        if let Some(h) = &self.signals {
            h.close();
        }
    }
}

/// Asks for the value on stderr with echo off, reads one line from the terminal.
fn prompt() -> Result<Zeroizing<Vec<u8>>, CliError> {
    let term_err =
        |e: nix::Error| CliError::BadInput(format!("cannot turn the terminal's echo off: {e}"));
    let saved = tcgetattr(io::stdin()).map_err(term_err)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    let guard = EchoOff::new(saved);
    tcsetattr(io::stdin(), SetArg::TCSAFLUSH, &quiet).map_err(term_err)?;
    let mut stderr = io::stderr();
    let _ = write!(stderr, "value (not shown): ");
    let _ = stderr.flush();
    let mut line = Zeroizing::new(String::with_capacity(64 * 1024));
    io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::BadInput(format!("cannot read the value from the terminal: {e}")))?;
    drop(guard);
    Ok(Zeroizing::new(line.as_bytes().to_vec()))
}
