//! Logs on stderr through `tracing`, as text or JSON lines.
//!
//! Nothing that can hold a value is ever given to a log macro: handlers log names, counts,
//! peers and error kinds only, and every type that holds a value prints `[redacted]`.

use tracing::Level;

use crate::cli::LogFormat;

/// Installs the global subscriber. Fails only if one is installed already.
pub fn init(format: LogFormat, level: Level) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
