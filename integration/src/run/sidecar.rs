//! Spawning the sidecar in online mode with its descriptors: the execution token through a
//! pipe (`--token-fd`, never argv or the environment), the ready pipe, and the read ends of the
//! command's stdout and stderr pipes for `--redact-stream`, written out to `ax-run`'s own
//! stdout and stderr. The sidecar's stderr comes back to us line by line.
//!
//! Descriptors are passed by number: each end the sidecar needs is made inheritable just for
//! the spawn and closed in `ax-run` right after, so the command inherits none of them.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::unistd::{dup, pipe2};

/// Everything the sidecar needs to start.
#[derive(Debug, Clone)]
pub struct SidecarLaunch {
    /// The binary.
    pub binary: PathBuf,
    /// The socket path.
    pub socket: PathBuf,
    /// The control plane URL.
    pub control_plane: String,
    /// The execution id.
    pub execution_id: String,
    /// The control plane's CA certificate.
    pub ca_file: PathBuf,
    /// The control plane's public key file.
    pub control_plane_key: PathBuf,
    /// The client token file.
    pub client_token_file: PathBuf,
    /// `--audit-file` for the sidecar's local audit trail.
    pub audit_file: PathBuf,
    /// `--log-level`.
    pub log_level: String,
    /// `--fetch-deadline`, seconds.
    pub fetch_deadline: Option<u64>,
    /// `--socket-group`: the node's gid, when the node runs as another user.
    pub socket_group: Option<u32>,
    /// More flags, passed as they are.
    pub extra_args: Vec<String>,
}

/// A started sidecar.
pub struct Started {
    /// The process.
    pub child: Child,
    /// Reads `READY\n`, or end of file if the sidecar exits first.
    pub ready: File,
    /// Write ends of the command's stdout and stderr pipes, for the command.
    pub cmd_stdout: OwnedFd,
    /// See `cmd_stdout`.
    pub cmd_stderr: OwnedFd,
    /// The sidecar's last stderr line (its reason when it fails).
    pub last_line: Arc<Mutex<String>>,
    /// Forwards the sidecar's stderr; ends when the sidecar exits.
    pub stderr_thread: JoinHandle<()>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Started(pid {})", self.child.id())
    }
}

/// Makes `fd` inheritable (clears `FD_CLOEXEC`).
fn inheritable(fd: &OwnedFd) -> io::Result<()> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()))?;
    Ok(())
}

/// A pipe whose both ends are close-on-exec.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(pipe2(OFlag::O_CLOEXEC)?)
}

/// An inheritable duplicate of our stdout or stderr (`dup` leaves `FD_CLOEXEC` clear).
fn dup_inheritable(fd: impl AsFd) -> io::Result<OwnedFd> {
    Ok(dup(fd)?)
}

/// Spawns the sidecar. `token` is written into the token pipe before the spawn (it fits in
/// the pipe buffer), so the sidecar reads it to end of file at once.
pub fn spawn(launch: &SidecarLaunch, token: &str) -> io::Result<Started> {
    let (token_r, token_w) = pipe()?;
    inheritable(&token_r)?;
    {
        let mut writer = File::from(token_w);
        writer.write_all(token.as_bytes())?;
    }
    let (ready_r, ready_w) = pipe()?;
    inheritable(&ready_w)?;
    let (out_r, out_w) = pipe()?;
    inheritable(&out_r)?;
    let (err_r, err_w) = pipe()?;
    inheritable(&err_r)?;
    let our_stdout = dup_inheritable(io::stdout())?;
    let our_stderr = dup_inheritable(io::stderr())?;

    let fd = |f: &OwnedFd| f.as_raw_fd().to_string();
    let mut command = Command::new(&launch.binary);
    command
        .arg("serve")
        .arg("--socket")
        .arg(&launch.socket)
        .arg("--control-plane")
        .arg(&launch.control_plane)
        .arg("--execution-id")
        .arg(&launch.execution_id)
        .arg("--token-fd")
        .arg(fd(&token_r))
        .arg("--control-plane-key")
        .arg(&launch.control_plane_key)
        .arg("--ca-file")
        .arg(&launch.ca_file)
        .arg("--client-token-file")
        .arg(&launch.client_token_file)
        .arg("--ready-fd")
        .arg(fd(&ready_w))
        .arg("--redact-stream")
        .arg(format!("{}:{}", fd(&out_r), fd(&our_stdout)))
        .arg("--redact-stream")
        .arg(format!("{}:{}", fd(&err_r), fd(&our_stderr)))
        .arg("--audit-file")
        .arg(&launch.audit_file)
        .arg("--log-level")
        .arg(&launch.log_level);
    if let Some(secs) = launch.fetch_deadline {
        command.arg("--fetch-deadline").arg(secs.to_string());
    }
    if let Some(gid) = launch.socket_group {
        command.arg("--socket-group").arg(gid.to_string());
    }
    command
        .args(&launch.extra_args)
        .env_remove("AX_SECRETS_SOCKET")
        .env_remove("AX_SECRETS_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    // Our copies of the sidecar's ends go now: the command must inherit none of them, and the
    // ready pipe must reach end of file when the sidecar exits.
    drop((token_r, ready_w, out_r, err_r, our_stdout, our_stderr));

    let last_line = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take();
    let last = Arc::clone(&last_line);
    let stderr_thread = std::thread::Builder::new()
        .name("sidecar-stderr".into())
        .spawn(move || forward_stderr(stderr, &last))?;
    Ok(Started {
        child,
        ready: File::from(ready_r),
        cmd_stdout: out_w,
        cmd_stderr: err_w,
        last_line,
        stderr_thread,
    })
}

/// Copies the sidecar's stderr to ours, line by line, keeping the last non-empty line.
fn forward_stderr(stderr: Option<std::process::ChildStderr>, last: &Mutex<String>) {
    let Some(stderr) = stderr else { return };
    let mut reader = BufReader::new(stderr);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let mut err = io::stderr().lock();
                let _ = err.write_all(line.as_bytes());
                let _ = err.flush();
                let trimmed = line.trim();
                if !trimmed.is_empty() {
                    *last.lock().unwrap_or_else(PoisonError::into_inner) = trimmed.to_owned();
                }
            }
        }
    }
}

/// The sidecar next to `ax-run`'s own executable.
pub fn default_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.join("ax-sidecar");
    candidate.exists().then_some(candidate)
}

/// Resolves the sidecar binary: the flag, then `$AX_SIDECAR_BIN`, then next to `ax-run`.
pub fn resolve_binary(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = flag {
        return Some(path.to_owned());
    }
    if let Some(path) = std::env::var_os("AX_SIDECAR_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    default_binary()
}
