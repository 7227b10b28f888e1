//! Why a command failed and the exit code that says so (sysexits, as `ax-run` uses them), with
//! every message the CLI prints of its own in one place. No message ever holds a value: the
//! control plane's own messages never quote what was sent (CONTROL_PLANE.md, Conventions), and
//! ours name only flags, files and names.

use std::fmt;
use std::io;

/// Exit code: the command did what was asked.
pub const EXIT_OK: u8 = 0;
/// Exit code: another error answer of the API (404, 409, 5xx, ...).
pub const EXIT_API: u8 = 1;
/// Exit code: the command line is wrong (EX_USAGE).
pub const EXIT_USAGE: u8 = 64;
/// Exit code: the input is wrong: a value, a metadata object, a field the API refused (EX_DATAERR).
pub const EXIT_BAD_INPUT: u8 = 65;
/// Exit code: the control plane could not be reached (EX_UNAVAILABLE).
pub const EXIT_UNREACHABLE: u8 = 69;
/// Exit code: the token was refused, 401 or 403 (EX_NOPERM).
pub const EXIT_REFUSED: u8 = 77;

/// The hint added to a `409 exists` answer of `ax secrets set`.
pub const HINT_REPLACE: &str =
    "the secret exists; add --replace to replace it (a rotation: version + 1)";
/// The hint added to a `404` of `ax secrets rotate`.
pub const HINT_ROTATE_MISSING: &str =
    "there is no such secret to rotate; create it with ax secrets set";
/// No control plane URL anywhere.
pub const NO_URL: &str = "no control plane URL: give --url, AX_URL or --state-dir";
/// No token anywhere.
pub const NO_TOKEN: &str = "no API token: give --token-file, AX_TOKEN or --state-dir";
/// No CA anywhere.
pub const NO_CA: &str = "no CA certificate: give --ca-file, AX_CA_FILE or --state-dir";
/// No tenant for a tenant's command.
pub const NO_TENANT: &str = "this command needs a tenant: give --tenant or AX_TENANT";
/// An empty value.
pub const EMPTY_VALUE: &str = "the value is empty (it is read from stdin, --value-file or the prompt, never from the command line)";
/// `--metadata` is not a JSON object of strings.
pub const BAD_METADATA: &str =
    "--metadata must be a JSON object of strings, e.g. '{\"team\": \"payments\"}'";
/// Fields a config override does not have.
pub const OVERRIDE_FIELDS: &str = "--description, --metadata, --rotation-days and --reason apply to tenant-wide secrets, not to a config override";
/// The value is not UTF-8.
pub const VALUE_NOT_UTF8: &str = "the value is not UTF-8 text";

/// A failed command.
#[derive(Debug)]
pub enum CliError {
    /// The command line is wrong.
    Usage(String),
    /// The input is wrong (before anything was sent).
    BadInput(String),
    /// The control plane could not be reached or spoke nonsense.
    Unreachable(io::Error),
    /// The control plane answered an error status.
    Api {
        /// The HTTP status.
        status: u16,
        /// The body's `error` code.
        code: String,
        /// The body's `message`, which never holds a value.
        message: String,
        /// Our advice, if any.
        hint: Option<&'static str>,
    },
}

impl CliError {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            Self::BadInput(_) => EXIT_BAD_INPUT,
            Self::Unreachable(_) => EXIT_UNREACHABLE,
            Self::Api {
                status: 401 | 403, ..
            } => EXIT_REFUSED,
            Self::Api {
                status: 400 | 413, ..
            } => EXIT_BAD_INPUT,
            Self::Api { .. } => EXIT_API,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) | Self::BadInput(m) => f.write_str(m),
            Self::Unreachable(e) => write!(f, "cannot reach the control plane: {e}"),
            Self::Api {
                status,
                code,
                message,
                hint,
            } => {
                write!(f, "the control plane answered {status} {code}: {message}")?;
                if let Some(h) = hint {
                    write!(f, "\nhint: {h}")?;
                }
                Ok(())
            }
        }
    }
}
