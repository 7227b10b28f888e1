//! What the launcher hands an online sidecar: the execution token and the pinned signing keys.
//!
//! The token comes from a file or an inherited descriptor, never from the command line or the
//! environment, and lives in memory that is wiped on drop; it is kept for the whole run because
//! audit shipping presents it too. Nothing prints it: its `Debug` is `[redacted]`, its header
//! value is marked sensitive, and no error repeats it.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use reqwest::header::HeaderValue;
use zeroize::Zeroizing;

use ax_protocol::bundle::envelope::SIGNING_KEY_LEN;
use ax_protocol::limits::MAX_TOKEN_LEN;

use crate::exit::StartupError;
use crate::limits::{MAX_CONTROL_PLANE_KEY_FILE, MAX_CONTROL_PLANE_KEYS};

/// Where the execution token is read from; the descriptor is claimed at start, read later.
#[derive(Debug)]
pub enum TokenSource {
    /// A file, read whole.
    File(PathBuf),
    /// An inherited descriptor, read to end of file and then closed.
    Fd {
        /// Its number, for messages.
        fd: i32,
        /// The descriptor.
        file: File,
    },
}

impl TokenSource {
    /// Claims descriptor `fd` (it must be open), close-on-exec.
    pub fn claim_fd(fd: i32) -> Result<Self, StartupError> {
        let error = |reason| StartupError::Fd {
            flag: "--token-fd",
            fd,
            reason,
        };
        if fd < 0 {
            return Err(error("is not an open file descriptor"));
        }
        // SAFETY: `F_GETFD` only reads the flags of `fd`; it fails with EBADF if fd is closed.
        #[allow(unsafe_code)]
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        fcntl(borrowed, FcntlArg::F_GETFD).map_err(|_| error("is not an open file descriptor"))?;
        if fd <= 2 {
            return Err(error(
                "is standard input, output or error; pass another descriptor",
            ));
        }
        let _ = fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
        // SAFETY: `fd` is open (checked above), was inherited for the token, and the daemon
        // claims each inherited number once.
        #[allow(unsafe_code)]
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self::Fd {
            fd,
            file: File::from(owned),
        })
    }

    /// Reads the token (closing a descriptor afterwards).
    pub fn read(self) -> Result<ExecutionToken, StartupError> {
        let mut contents = Zeroizing::new(Vec::with_capacity(MAX_TOKEN_LEN + 3));
        let limit = MAX_TOKEN_LEN as u64 + 3;
        let origin = match self {
            Self::File(path) => {
                File::open(&path)
                    .and_then(|f| f.take(limit).read_to_end(&mut contents))
                    .map_err(|source| StartupError::Input {
                        what: "execution token file",
                        path: path.clone(),
                        source,
                    })?;
                format!("the file {}", path.display())
            }
            // The descriptor is closed when `file` drops at the end of this arm.
            Self::Fd { fd, file } => {
                let origin = format!("descriptor {fd}");
                file.take(limit).read_to_end(&mut contents).map_err(|_| {
                    StartupError::ExecutionToken {
                        origin: origin.clone(),
                        reason: "cannot be read",
                    }
                })?;
                origin
            }
        };
        ExecutionToken::from_contents(contents)
            .map_err(|reason| StartupError::ExecutionToken { origin, reason })
    }
}

/// The execution token, wiped on drop.
pub struct ExecutionToken(Zeroizing<String>);

impl std::fmt::Debug for ExecutionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExecutionToken([redacted])")
    }
}

impl ExecutionToken {
    /// Takes the token's bytes; one trailing `\n` or `\r\n` is ignored. The reason it is
    /// refused never includes any of it.
    pub fn from_contents(contents: Zeroizing<Vec<u8>>) -> Result<Self, &'static str> {
        let mut token: &[u8] = &contents;
        token = token.strip_suffix(b"\n").unwrap_or(token);
        token = token.strip_suffix(b"\r").unwrap_or(token);
        if token.is_empty() {
            return Err("is empty");
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err("is longer than 4096 bytes");
        }
        // A bearer token is a header value: visible ASCII only (RFC 6750 §2.1).
        if !token.iter().all(|b| b.is_ascii_graphic()) {
            return Err("holds characters other than visible ASCII");
        }
        let mut text = Zeroizing::new(String::with_capacity(token.len()));
        text.extend(token.iter().map(|&b| char::from(b)));
        Ok(Self(text))
    }

    /// `Authorization: Bearer <token>`, marked sensitive so no HTTP layer logs it.
    pub fn authorization(&self) -> Option<HeaderValue> {
        let mut line = Zeroizing::new(String::with_capacity(self.0.len() + 7));
        line.push_str("Bearer ");
        line.push_str(&self.0);
        let mut value = HeaderValue::from_str(&line).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// Reads the control plane's Ed25519 public keys (PROTOCOL §13): one to
/// [`MAX_CONTROL_PLANE_KEYS`] lines of standard base64 (44 characters, padded), blank lines and
/// `#` comments allowed. Several keys exist during a signing-key rotation: the next key is
/// published before it signs, the previous one stays until it is retired.
pub fn read_signing_keys(path: &Path) -> Result<Vec<[u8; SIGNING_KEY_LEN]>, StartupError> {
    let mut text = Vec::with_capacity(256);
    File::open(path)
        .and_then(|f| {
            f.take(MAX_CONTROL_PLANE_KEY_FILE + 1)
                .read_to_end(&mut text)
        })
        .map_err(|source| StartupError::Input {
            what: "control-plane key file",
            path: path.to_path_buf(),
            source,
        })?;
    parse_signing_keys(&text).map_err(|reason| StartupError::ControlPlaneKey {
        path: path.to_path_buf(),
        reason,
    })
}

/// The keys in a key file's contents, in file order; the reason a file is refused names a
/// line number, never its contents (they are public keys, but a file given by mistake may be
/// anything).
pub fn parse_signing_keys(text: &[u8]) -> Result<Vec<[u8; SIGNING_KEY_LEN]>, String> {
    if text.len() as u64 > MAX_CONTROL_PLANE_KEY_FILE {
        return Err(format!(
            "it is longer than {MAX_CONTROL_PLANE_KEY_FILE} bytes"
        ));
    }
    let mut keys = Vec::new();
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let content = line.trim_ascii();
        if content.is_empty() || content.starts_with(b"#") {
            continue;
        }
        let number = index + 1;
        let key = parse_signing_key(line).map_err(|why| format!("line {number}: {why}"))?;
        if keys.len() == MAX_CONTROL_PLANE_KEYS {
            return Err(format!("it holds more than {MAX_CONTROL_PLANE_KEYS} keys"));
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err("it holds no key".to_owned());
    }
    Ok(keys)
}

/// One key line (without its line end): exactly 44 characters of standard base64 that decode
/// to 32 bytes.
pub fn parse_signing_key(line: &[u8]) -> Result<[u8; SIGNING_KEY_LEN], &'static str> {
    if line.len() != 44 {
        return Err("a key line holds exactly 44 characters");
    }
    let bytes = STANDARD
        .decode(line)
        .map_err(|_| "it is not standard base64")?;
    bytes
        .try_into()
        .map_err(|_| "it does not decode to 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_key_line_with_or_without_newline() {
        let key = [7u8; 32];
        let line = STANDARD.encode(key);
        assert_eq!(parse_signing_keys(line.as_bytes()), Ok(vec![key]));
        assert_eq!(
            parse_signing_keys(format!("{line}\n").as_bytes()),
            Ok(vec![key])
        );
        assert_eq!(
            parse_signing_keys(format!("{line}\r\n").as_bytes()),
            Ok(vec![key])
        );
        assert!(parse_signing_keys(&line.as_bytes()[..43]).is_err());
        assert!(parse_signing_keys(STANDARD.encode([1u8; 33]).as_bytes()).is_err());
        let url_safe = base64::engine::general_purpose::URL_SAFE.encode([0xfbu8; 32]);
        assert!(parse_signing_keys(url_safe.as_bytes()).is_err());
    }

    #[test]
    fn reads_several_keys_in_order_skipping_blank_lines_and_comments() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let text = format!(
            "# current\n{}\n\n  \n# next, published before it signs\r\n{}\n\n",
            STANDARD.encode(a),
            STANDARD.encode(b)
        );
        assert_eq!(parse_signing_keys(text.as_bytes()), Ok(vec![a, b]));
    }

    #[test]
    fn refuses_a_file_with_a_malformed_line_naming_its_number() {
        let good = STANDARD.encode([1u8; 32]);
        let text = format!("{good}\n# comment\n{good} \n");
        let reason = parse_signing_keys(text.as_bytes()).unwrap_err();
        assert!(reason.starts_with("line 3:"), "{reason}");
        let text = format!("{good}\nnot-a-key\n");
        assert!(
            parse_signing_keys(text.as_bytes())
                .unwrap_err()
                .starts_with("line 2:")
        );
    }

    #[test]
    fn refuses_a_file_with_no_key_or_too_many() {
        assert_eq!(parse_signing_keys(b""), Err("it holds no key".to_owned()));
        assert_eq!(
            parse_signing_keys(b"# only a comment\n\n"),
            Err("it holds no key".to_owned())
        );
        let line = format!("{}\n", STANDARD.encode([3u8; 32]));
        let most = line.repeat(MAX_CONTROL_PLANE_KEYS);
        assert_eq!(parse_signing_keys(most.as_bytes()).unwrap().len(), 16);
        let over = line.repeat(MAX_CONTROL_PLANE_KEYS + 1);
        assert!(
            parse_signing_keys(over.as_bytes())
                .unwrap_err()
                .contains("more than 16")
        );
    }

    #[test]
    fn refuses_unusable_tokens_without_repeating_them() {
        let token = |t: &str| ExecutionToken::from_contents(Zeroizing::new(t.as_bytes().to_vec()));
        assert!(token("tok-123\n").is_ok());
        assert_eq!(token("\n").err(), Some("is empty"));
        assert!(token("tok en").is_err());
        assert!(token(&"t".repeat(4097)).is_err());
        let ok = token("tok-123").unwrap();
        assert_eq!(format!("{ok:?}"), "ExecutionToken([redacted])");
        let header = ok.authorization().unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), "Bearer tok-123");
    }
}
