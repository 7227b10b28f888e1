//! `ax-run`: run a command as one execution, with its own sidecar.
//!
//! 1. Create the execution on the control plane (tenant, config, environment) and get its
//!    one-time token.
//! 2. Make a private socket directory (0700, under `$XDG_RUNTIME_DIR` or `/tmp`) with a random
//!    client token file (0600) in it.
//! 3. Spawn one `ax-sidecar serve` in online mode ([`sidecar`]) and wait for `READY`. The
//!    execution token goes into the sidecar's pipe and is wiped; with the allocator of
//!    [`wipe`], no copy of it, ours or a library's, is left in `ax-run`'s memory.
//! 4. Run the command with `AX_SECRETS_SOCKET` and `AX_SECRETS_TOKEN`; its stdout and stderr
//!    are pipes the sidecar reads and writes out redacted, so `ax-run` never sees a value.
//! 5. When the command ends, stop the sidecar with SIGTERM (it drains the streams and flushes
//!    the audit trail), tell the control plane the execution finished, remove the directory,
//!    and exit with the command's code ([`exit`]).
//!
//! SIGTERM, SIGINT and SIGHUP are forwarded to the command; the directory is removed on every
//! path.
//!
//! With a node user (`--node-uid`, `--node-gid`; ax-run runs as root), the socket directory
//! is made 0700 and only then given the node's gid and 0750, the sidecar is told
//! `--socket-group GID` (so the node's gid may connect and the socket is 0660), and the
//! command runs as that uid and gid with no supplementary groups ([`node`]).

pub mod exit;
pub mod node;
pub mod sidecar;
pub mod wipe;

use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::PoisonError;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use zeroize::Zeroizing;

use crate::admin::{Admin, AdminError, NewExecution};
use crate::util;

/// How long the sidecar has to stop after SIGTERM before it is killed.
pub const SIDECAR_STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// What `ax-run` was asked to do. `Debug` does not show the admin token.
#[derive(Clone)]
pub struct Options {
    /// The control plane's URL.
    pub control_plane: String,
    /// Its CA certificate (PEM).
    pub ca_file: PathBuf,
    /// Its Ed25519 public key file (base64 line), handed to the sidecar.
    pub control_plane_key: PathBuf,
    /// The admin token, to create the execution.
    pub admin_token: String,
    /// The tenant.
    pub tenant: String,
    /// The flow config, if any.
    pub config: Option<String>,
    /// The environment, if not the default.
    pub environment: Option<String>,
    /// The sidecar binary.
    pub sidecar: PathBuf,
    /// More sidecar flags.
    pub sidecar_args: Vec<String>,
    /// The sidecar's `--fetch-deadline`.
    pub fetch_deadline: Option<u64>,
    /// The sidecar's local audit file.
    pub audit_file: PathBuf,
    /// The sidecar's `--log-level`.
    pub sidecar_log_level: String,
    /// Where to make the socket directory; default `$XDG_RUNTIME_DIR`, else `/tmp`.
    pub runtime_dir: Option<PathBuf>,
    /// The uid and gid to run the command as, if not ax-run's own.
    pub node: Option<node::NodeUser>,
    /// The command and its arguments.
    pub command: Vec<std::ffi::OsString>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("control_plane", &self.control_plane)
            .field("ca_file", &self.ca_file)
            .field("control_plane_key", &self.control_plane_key)
            .field("admin_token", &"[redacted]")
            .field("tenant", &self.tenant)
            .field("config", &self.config)
            .field("environment", &self.environment)
            .field("sidecar", &self.sidecar)
            .field("sidecar_args", &self.sidecar_args)
            .field("fetch_deadline", &self.fetch_deadline)
            .field("audit_file", &self.audit_file)
            .field("sidecar_log_level", &self.sidecar_log_level)
            .field("runtime_dir", &self.runtime_dir)
            .field("node", &self.node)
            .field("command", &self.command)
            .finish()
    }
}

enum Event {
    Signal(Signal),
    Ready(bool),
    SidecarExited(ExitStatus),
    CommandExited(ExitStatus),
}

/// The socket directory; removed when dropped.
struct SocketDir(PathBuf);

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The signals forwarded to the command.
const FORWARDED: [i32; 3] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGHUP,
];

/// Starts the thread that receives the forwarded signals. Handlers, not a blocked mask:
/// a child inherits a blocked mask across exec, but its handlers are reset to the default,
/// so the command and the sidecar still get these signals as usual.
fn watch_signals(tx: Sender<Event>) -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(FORWARDED)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for raw in signals.forever() {
                let Ok(signal) = Signal::try_from(raw) else {
                    continue;
                };
                if tx.send(Event::Signal(signal)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

/// The socket directory: new, 0700, ours; with a node user, then given the node's gid and
/// 0750 so the node can reach the socket. Without `base`, `$XDG_RUNTIME_DIR` (else `/tmp`);
/// with a node user `/tmp`, since root's runtime directory is closed to other uids.
fn make_socket_dir(
    base: Option<&Path>,
    node: Option<node::NodeUser>,
) -> std::io::Result<SocketDir> {
    let base = match base {
        Some(b) => b.to_owned(),
        None if node.is_some() => std::env::temp_dir(),
        None => std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir),
    };
    let dir = base.join(format!("ax-run-{}", util::random_hex(8)?));
    // Not recursive: the directory must be new, made by us, with mode 0700 from the start.
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let dir = SocketDir(dir);
    if let Some(node) = node {
        node::share_dir(&dir.0, node)?;
    }
    Ok(dir)
}

/// The code for a sidecar that failed: its own exit code, or 70 if it gave none (a signal)
/// or claimed success.
fn failure_code(status: ExitStatus) -> u8 {
    match status.code() {
        Some(code) if code != 0 => u8::try_from(code & 0xff).unwrap_or(exit::SOFTWARE),
        _ => exit::SOFTWARE,
    }
}

fn signal_code(signal: Signal) -> u8 {
    u8::try_from(128 + signal as i32).unwrap_or(exit::SOFTWARE)
}

/// Runs the command as one execution and returns `ax-run`'s exit code.
pub fn run(options: &Options) -> u8 {
    // Not dumpable: no core file, and no other process of our uid may read our memory through
    // ptrace or /proc/PID/mem, where the execution token is for a moment and the client token
    // for the whole run. The flag is reset at exec, so the sidecar and the command are as usual.
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        exit::report(&format!("cannot make ax-run non-dumpable: {e}"));
        return exit::OS;
    }
    let (tx, rx) = mpsc::channel();
    if let Err(e) = watch_signals(tx.clone()) {
        exit::report(&format!("cannot watch signals: {e}"));
        return exit::OS;
    }
    let ca = match std::fs::read(&options.ca_file) {
        Ok(ca) => ca,
        Err(e) => {
            exit::report(&format!(
                "cannot read the CA file {}: {e}",
                options.ca_file.display()
            ));
            return exit::NO_INPUT;
        }
    };
    if let Err(e) = std::fs::metadata(&options.control_plane_key) {
        exit::report(&format!(
            "cannot read the control-plane key {}: {e}",
            options.control_plane_key.display()
        ));
        return exit::NO_INPUT;
    }
    let admin = match Admin::new(&options.control_plane, &ca, &options.admin_token) {
        Ok(a) => a,
        Err(e) => {
            exit::report(&format!("bad control plane settings: {e}"));
            return exit::USAGE;
        }
    };
    let execution = match admin.create_execution(
        &options.tenant,
        options.config.as_deref(),
        options.environment.as_deref(),
        None,
    ) {
        Ok(e) => e,
        Err(AdminError::Transport(e)) => {
            exit::report(&format!("cannot reach the control plane: {e}"));
            return exit::UNAVAILABLE;
        }
        Err(err @ AdminError::Status { .. }) => {
            exit::report(&format!("cannot create the execution: {err}"));
            return if err.status().is_some_and(|s| s >= 500) {
                exit::UNAVAILABLE
            } else {
                exit::NO_PERM
            };
        }
    };
    // A signal that came while the execution was being created stops us here.
    if let Ok(Event::Signal(signal)) = rx.try_recv() {
        return signal_code(signal);
    }
    let NewExecution {
        execution_id,
        token,
    } = execution;
    // `run_execution` drops (and so wipes) the token as soon as it is in the sidecar's pipe,
    // instead of keeping it for as long as the command runs.
    let code = run_execution(options, &execution_id, token, &tx, &rx);
    // Best effort: the token stops working for audit; the sidecar has already flushed.
    let _ = admin.finish_execution(&execution_id);
    code
}

fn run_execution(
    options: &Options,
    execution_id: &str,
    token: Zeroizing<String>,
    tx: &Sender<Event>,
    rx: &Receiver<Event>,
) -> u8 {
    let dir = match make_socket_dir(options.runtime_dir.as_deref(), options.node) {
        Ok(d) => d,
        Err(e) => {
            exit::report(&format!("cannot create the socket directory: {e}"));
            return exit::OS;
        }
    };
    let client_token = match util::random_token("axc_") {
        Ok(t) => t,
        Err(e) => {
            exit::report(&format!("cannot make a client token: {e}"));
            return exit::OS;
        }
    };
    let client_token_file = dir.0.join("client-token");
    if let Err(e) = util::write_private_file(&client_token_file, client_token.as_bytes()) {
        exit::report(&format!("cannot write the client token file: {e}"));
        return exit::OS;
    }
    let socket = dir.0.join("sidecar.sock");
    let launch = sidecar::SidecarLaunch {
        binary: options.sidecar.clone(),
        socket: socket.clone(),
        control_plane: options.control_plane.clone(),
        execution_id: execution_id.to_owned(),
        ca_file: options.ca_file.clone(),
        control_plane_key: options.control_plane_key.clone(),
        client_token_file,
        audit_file: options.audit_file.clone(),
        log_level: options.sidecar_log_level.clone(),
        fetch_deadline: options.fetch_deadline,
        socket_group: options.node.map(|n| n.gid),
        extra_args: options.sidecar_args.clone(),
    };
    let spawned = sidecar::spawn(&launch, &token);
    // The token is in the pipe now (or never will be): ax-run needs it no more.
    drop(token);
    let started = match spawned {
        Ok(s) => s,
        Err(e) => {
            exit::report(&format!(
                "cannot start the sidecar {}: {e}",
                options.sidecar.display()
            ));
            return exit::OS;
        }
    };
    let code = supervise(options, started, &socket, &client_token, tx, rx);
    drop(dir);
    code
}

/// Sidecar state as the supervisor sees it.
struct Sidecar {
    pid: Pid,
    exited: Option<ExitStatus>,
    last_line: std::sync::Arc<std::sync::Mutex<String>>,
    stderr_thread: Option<std::thread::JoinHandle<()>>,
}

impl Sidecar {
    /// The reason it gave: its last stderr line, once its stderr is closed.
    fn reason(&mut self) -> String {
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
        let line = self
            .last_line
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if line.is_empty() {
            "(it printed nothing)".to_owned()
        } else {
            line
        }
    }

    fn signal(&self, signal: Signal) {
        if self.exited.is_none() {
            let _ = kill(self.pid, signal);
        }
    }
}

fn spawn_waiter(mut child: std::process::Child, tx: Sender<Event>, command: bool) {
    let _ = std::thread::Builder::new()
        .name("waiter".into())
        .spawn(move || {
            if let Ok(status) = child.wait() {
                let event = if command {
                    Event::CommandExited(status)
                } else {
                    Event::SidecarExited(status)
                };
                let _ = tx.send(event);
            }
        });
}

fn supervise(
    options: &Options,
    started: sidecar::Started,
    socket: &Path,
    client_token: &str,
    tx: &Sender<Event>,
    rx: &Receiver<Event>,
) -> u8 {
    let sidecar::Started {
        child,
        mut ready,
        cmd_stdout,
        cmd_stderr,
        last_line,
        stderr_thread,
    } = started;
    let mut sidecar = Sidecar {
        pid: Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX)),
        exited: None,
        last_line,
        stderr_thread: Some(stderr_thread),
    };
    spawn_waiter(child, tx.clone(), false);
    let ready_tx = tx.clone();
    let _ = std::thread::Builder::new()
        .name("ready".into())
        .spawn(move || {
            let mut line = Vec::new();
            let ok = ready.read_to_end(&mut line).is_ok() && line == b"READY\n";
            let _ = ready_tx.send(Event::Ready(ok));
        });

    // Start-up: READY, or the sidecar's failure, or a signal.
    loop {
        match rx.recv() {
            Ok(Event::Ready(true)) => break,
            Ok(Event::Ready(false)) => {} // its exit status follows
            Ok(Event::SidecarExited(status)) => {
                sidecar.exited = Some(status);
                let code = failure_code(status);
                exit::report(&format!(
                    "the sidecar {} before it was ready: {}",
                    exit::describe(status),
                    sidecar.reason()
                ));
                return code;
            }
            Ok(Event::Signal(signal)) => {
                stop_sidecar(&mut sidecar, rx);
                return signal_code(signal);
            }
            Ok(Event::CommandExited(_)) | Err(_) => return exit::SOFTWARE,
        }
    }

    let mut command = Command::new(&options.command[0]);
    command
        .args(&options.command[1..])
        .env("AX_SECRETS_SOCKET", socket)
        .env("AX_SECRETS_TOKEN", client_token)
        .stdout(Stdio::from(cmd_stdout))
        .stderr(Stdio::from(cmd_stderr));
    if let Some(node) = options.node {
        node::run_as(&mut command, node);
    }
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            drop(command); // closes the pipes' write ends, so the sidecar's streams end
            exit::report(&format!(
                "cannot run {}: {e}",
                options.command[0].to_string_lossy()
            ));
            stop_sidecar(&mut sidecar, rx);
            return if e.kind() == std::io::ErrorKind::NotFound {
                exit::NOT_FOUND
            } else {
                exit::CANNOT_EXECUTE
            };
        }
    };
    // Our copies of the write ends must go, or the sidecar's streams never end.
    drop(command);
    let command_pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    spawn_waiter(child, tx.clone(), true);

    let status = loop {
        match rx.recv() {
            Ok(Event::CommandExited(status)) => break status,
            Ok(Event::Signal(signal)) => {
                let _ = kill(command_pid, signal);
            }
            Ok(Event::SidecarExited(status)) => {
                sidecar.exited = Some(status);
                exit::report(&format!(
                    "the sidecar {} while the command was running: {}; stopping the command",
                    exit::describe(status),
                    sidecar.reason()
                ));
                let _ = kill(command_pid, Signal::SIGTERM);
                // Wait for the command, still forwarding signals.
                loop {
                    match rx.recv() {
                        Ok(Event::CommandExited(_)) | Err(_) => break,
                        Ok(Event::Signal(signal)) => {
                            let _ = kill(command_pid, signal);
                        }
                        Ok(_) => {}
                    }
                }
                return failure_code(status);
            }
            Ok(Event::Ready(_)) => {}
            Err(_) => return exit::SOFTWARE,
        }
    };
    let code = exit::code_of(status);
    if let Some(sidecar_status) = stop_sidecar(&mut sidecar, rx) {
        if sidecar_status.code() == Some(i32::from(exit::AUDIT_LOST)) {
            // The command's own failure says more than the audit's; its success must not
            // hide that the run is not fully audited.
            let ours = if code == 0 { exit::AUDIT_LOST } else { code };
            exit::report(&format!(
                "the command {} but audit events of this run were lost (the sidecar exited \
                 with 75), exiting with {ours}: {}",
                exit::describe(status),
                sidecar.reason()
            ));
            return ours;
        }
        if sidecar_status.code() == Some(i32::from(exit::NO_PERM)) {
            // After READY the sidecar's 77 means the control plane ended the execution: the
            // command was cut off from its secrets, whatever code it then chose.
            exit::report(&format!(
                "the control plane ended the execution while the command ran (the sidecar \
                 exited with 77 and stopped serving; the command {}): {}",
                exit::describe(status),
                sidecar.reason()
            ));
            return exit::NO_PERM;
        }
        if !sidecar_status.success() {
            exit::report(&format!(
                "the sidecar {} at shutdown: {}",
                exit::describe(sidecar_status),
                sidecar.reason()
            ));
        }
    }
    code
}

/// SIGTERM, then wait (SIGKILL after [`SIDECAR_STOP_TIMEOUT`]); the sidecar's exit status.
fn stop_sidecar(sidecar: &mut Sidecar, rx: &Receiver<Event>) -> Option<ExitStatus> {
    if sidecar.exited.is_some() {
        return sidecar.exited;
    }
    sidecar.signal(Signal::SIGTERM);
    let mut killed = false;
    loop {
        match rx.recv_timeout(SIDECAR_STOP_TIMEOUT) {
            Ok(Event::SidecarExited(status)) => {
                sidecar.exited = Some(status);
                // Its stderr is complete now: the forwarding thread can finish.
                if let Some(thread) = sidecar.stderr_thread.take() {
                    let _ = thread.join();
                }
                return Some(status);
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) if !killed => {
                exit::report("the sidecar did not stop within 15 s of SIGTERM; killing it");
                sidecar.signal(Signal::SIGKILL);
                killed = true;
            }
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_debug_does_not_show_the_admin_token() {
        let options = Options {
            control_plane: "https://cp.example".into(),
            ca_file: "ca.pem".into(),
            control_plane_key: "cp.pub".into(),
            admin_token: "axadm_do-not-print-me".into(),
            tenant: "acme".into(),
            config: None,
            environment: None,
            sidecar: "ax-sidecar".into(),
            sidecar_args: Vec::new(),
            fetch_deadline: None,
            audit_file: "/dev/null".into(),
            sidecar_log_level: "warn".into(),
            runtime_dir: None,
            node: None,
            command: vec!["true".into()],
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("do-not-print-me"), "{shown}");
        assert!(
            shown.contains("[redacted]") && shown.contains("acme"),
            "{shown}"
        );
    }
}
