//! `ax-sidecar seal`: a JSON file of secrets into a local sealed bundle (PROTOCOL §12).
//!
//! The input is checked in full before anything is written: names against the name rule, no
//! name twice in one object, values within the limits. Errors give a line and column or a
//! position, never the text there: a string where a name belongs may be a value pasted in the
//! wrong place. The output replaces its target atomically and is created with mode 0600.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ax_protocol::SecretText;
use ax_protocol::bundle::local::{LocalKey, seal_local};
use ax_protocol::bundle::{Bundle, BundleError, BundleSecret};
use ax_protocol::name::validate_name;
use ring::rand::SystemRandom;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::audit::time::rfc3339_millis;
use crate::cli::SealArgs;
use crate::exit;
use crate::exit::StartupError;

/// What stopped `seal`.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The input file could not be read.
    #[error("cannot read the input {path}: {source}")]
    Input {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The input is not valid JSON of the expected shape.
    #[error("the input {path} is not a valid secrets file: {what} at line {line}, column {column}")]
    Json {
        /// Its path.
        path: PathBuf,
        /// The kind of problem, without the text that caused it.
        what: &'static str,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
    },
    /// A name breaks the name rule. The name itself is not repeated: a string that is not a
    /// valid name may be a value pasted in the wrong place.
    #[error(
        "\"{list}\": name number {position} (counting from 1, in file order) is invalid: {reason}"
    )]
    Name {
        /// Which object.
        list: &'static str,
        /// Its position in the object.
        position: usize,
        /// Why.
        reason: ax_protocol::name::NameError,
    },
    /// The key file could not be used.
    #[error("{0}")]
    Key(StartupError),
    /// `--new-key` was given but the key file exists.
    #[error(
        "the key file {0} exists already; refusing to overwrite a key (drop --new-key to use it)"
    )]
    KeyExists(PathBuf),
    /// The bundle was refused by the format's own checks.
    #[error("cannot seal: {0}")]
    Bundle(BundleError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl SealError {
    /// The sysexits code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Input { .. } => exit::NO_INPUT,
            Self::Json { .. } | Self::Name { .. } | Self::Bundle(_) => exit::DATA,
            Self::Key(err) => err.exit_code(),
            Self::KeyExists(_) | Self::Output { .. } => exit::CANT_CREATE,
        }
    }
}

/// The input file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    secrets: Secrets,
    #[serde(default)]
    overrides: Secrets,
    #[serde(default)]
    execution_id: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    config: Option<String>,
}

/// A JSON object of secrets, in file order, refusing a name given twice.
#[derive(Default)]
struct Secrets(Vec<(String, Entry)>);

#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Plain(String),
    Full(FullEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullEntry {
    value: String,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    created_at: Option<u64>,
    #[serde(default)]
    updated_at: Option<u64>,
}

impl<'de> Deserialize<'de> for Secrets {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretsVisitor;
        impl<'de> Visitor<'de> for SecretsVisitor {
            type Value = Secrets;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of NAME: value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secrets, A::Error> {
                let mut out: Vec<(String, Entry)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(0));
                // A set beside the list keeps the duplicate check O(1) per name: scanning the
                // list made a file of the §9 maximum (1,000,000 names) take hours.
                let mut seen: HashSet<String> = HashSet::with_capacity(out.capacity());
                while let Some(name) = map.next_key::<String>()? {
                    if !seen.insert(name.clone()) {
                        return Err(de::Error::custom(format!(
                            "the name \"{name}\" is given twice"
                        )));
                    }
                    let entry = map.next_value::<Entry>()?;
                    out.push((name, entry));
                }
                Ok(Secrets(out))
            }
        }
        deserializer.deserialize_map(SecretsVisitor)
    }
}

/// Runs `seal`, printing a one-line summary on success.
pub fn run(args: &SealArgs) -> Result<(), SealError> {
    let text = std::fs::read(&args.input).map_err(|source| SealError::Input {
        path: args.input.clone(),
        source,
    })?;
    let input: Input =
        serde_json::from_slice(&text).map_err(|err| json_error(&args.input, &err))?;
    drop(text);
    let now = SystemTime::now();
    let issued_at = unix(now);
    let expires_at = issued_at.saturating_add(args.valid_for.as_secs().max(1));
    let bundle = Bundle {
        tenant: Cow::Owned(input.tenant.unwrap_or_else(|| "local".into())),
        execution_id: Cow::Owned(input.execution_id.unwrap_or_else(|| "local".into())),
        environment: Cow::Owned(input.environment.unwrap_or_else(|| "local".into())),
        config: input.config.map(Cow::Owned),
        issued_at,
        expires_at,
        secrets: to_bundle("secrets", input.secrets, issued_at)?,
        overrides: to_bundle("overrides", input.overrides, issued_at)?,
    };
    bundle.check_contents().map_err(SealError::Bundle)?;

    let key = if args.new_key {
        create_key(&args.key_file)?
    } else {
        crate::source::read_key(&args.key_file).map_err(SealError::Key)?
    };
    let sealed = seal_local(&bundle, &key, &SystemRandom::new()).map_err(SealError::Bundle)?;
    write_atomically(&args.output, &sealed)?;
    let _ = writeln!(
        std::io::stderr(),
        "ax-sidecar: sealed {} and {} for execution {} into {} (valid until {})",
        count(bundle.secrets.len(), "secret"),
        count(bundle.overrides.len(), "override"),
        bundle.execution_id,
        args.output.display(),
        rfc3339_millis(UNIX_EPOCH + Duration::from_secs(expires_at)),
    );
    Ok(())
}

fn to_bundle(
    list: &'static str,
    secrets: Secrets,
    now: u64,
) -> Result<Vec<BundleSecret<'static>>, SealError> {
    secrets
        .0
        .into_iter()
        .enumerate()
        .map(|(index, (name, entry))| {
            validate_name(&name).map_err(|reason| SealError::Name {
                list,
                position: index + 1,
                reason,
            })?;
            let full = match entry {
                Entry::Plain(value) => FullEntry {
                    value,
                    version: None,
                    created_at: None,
                    updated_at: None,
                },
                Entry::Full(full) => full,
            };
            let updated_at = full.updated_at.unwrap_or(now);
            Ok(BundleSecret {
                name: Cow::Owned(name),
                value: SecretText::owned(full.value),
                version: full.version.unwrap_or(1),
                created_at: full.created_at.unwrap_or(updated_at),
                updated_at,
            })
        })
        .collect()
}

/// A JSON error as kind and position only: serde_json's own message may quote the input.
fn json_error(path: &Path, err: &serde_json::Error) -> SealError {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Io => "unreadable input",
        Category::Syntax => "malformed JSON",
        Category::Eof => "unexpected end of the file",
        Category::Data => {
            "unexpected content (the file must be {\"secrets\": {NAME: value or \
             {\"value\", \"version\", \"created_at\", \"updated_at\"}}, \"overrides\": {...}}, \
             with no unknown fields and no name given twice)"
        }
    };
    SealError::Json {
        path: path.to_path_buf(),
        what,
        line: err.line(),
        column: err.column(),
    }
}

fn create_key(path: &Path) -> Result<LocalKey, SealError> {
    let bytes = LocalKey::generate(&SystemRandom::new()).map_err(SealError::Bundle)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => SealError::KeyExists(path.to_path_buf()),
            _ => SealError::Output {
                path: path.to_path_buf(),
                source,
            },
        })?;
    file.write_all(bytes.as_ref())
        .and_then(|()| file.sync_all())
        .map_err(|source| SealError::Output {
            path: path.to_path_buf(),
            source,
        })?;
    LocalKey::from_bytes(bytes.as_ref()).map_err(SealError::Bundle)
}

/// Writes `bytes` to a fresh 0600 file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SealError> {
    let failed = |source| SealError::Output {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| failed(std::io::Error::other("the output path has no file name")))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut f: File| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(failed(err));
    }
    Ok(())
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
