//! The reference control plane: a real HTTPS server with the product's semantics, its state
//! kept in memory (a restart forgets everything) or in a SQLite file sealed at rest ([`store`]).
//!
//! At its first start it makes a private CA and a server certificate ([`tls`]) and an Ed25519
//! signing key; a durable store keeps them (sealed with the master key), so later starts on the
//! same database present the same CA and sign with the same key. The admin token is fresh at
//! every start. [`ControlPlane::write_state_dir`] writes what launchers need (CA certificate,
//! public key, admin token, URL) to a private directory.
//!
//! - [`model`]: tenants, secrets, configs, environments, executions, audit events.
//! - [`routes`]: the HTTP router and the management API.
//! - [`secrets`]: saving a secret or override (versions, annotations, history).
//! - [`access`]: API tokens and their roles (owner, manager, viewer).
//! - [`annotations`]: a secret's description, metadata and rotation reminder, and their limits.
//! - [`journal`]: the audit of management actions, and the audit query.
//! - [`execution`]: the two endpoints a sidecar calls (PROTOCOL §13): bundle and audit.
//! - [`store`]: where the state is kept: in memory, or SQLite with envelope encryption.
//! - [`keys`]: the signing keys and their rotation; [`key_routes`]: their routes.
//! - [`faults`]: fault injection for tests.
//! - [`tls`]: certificates and the rustls configuration.

pub mod access;
pub mod annotations;
pub mod execution;
pub mod faults;
pub mod journal;
pub mod key_routes;
pub mod keys;
pub mod model;
pub mod routes;
pub mod secrets;
pub mod store;
pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use ring::rand::SystemRandom;
use ring::signature::Ed25519KeyPair;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::util;

/// Settings of a control plane.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; the default `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// Keep a copy of every response body, for tests' leak scans ([`ControlPlane::responses`]).
    pub record_responses: bool,
    /// How long after its creation an execution's bundle may be fetched, in seconds.
    pub fetch_window_secs: u64,
    /// How long a sealed bundle is valid, in seconds.
    pub bundle_ttl_secs: u64,
    /// How long an execution token stays valid for audit if the execution is never finished.
    pub execution_ttl_secs: u64,
    /// Where the state is kept.
    pub storage: store::Storage,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            record_responses: false,
            fetch_window_secs: 300,
            bundle_ttl_secs: 3600,
            execution_ttl_secs: 86_400,
            storage: store::Storage::Memory,
        }
    }
}

/// Everything the handlers share.
pub struct App {
    /// The data.
    state: Mutex<model::State>,
    /// Where every change is written before it is applied to `state`.
    store: Box<dyn store::Store>,
    /// The published signing keys; the current one signs every envelope.
    keys: RwLock<keys::Keyring>,
    /// SHA-256 of the admin token.
    admin_token_hash: [u8; 32],
    /// Settings.
    config: Config,
    /// Response bodies, when recording.
    responses: Mutex<Vec<Vec<u8>>>,
    /// Randomness for sealing and tokens.
    rng: SystemRandom,
}

impl App {
    /// The state, even if a handler panicked while holding it.
    fn state(&self) -> MutexGuard<'_, model::State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The signing keys, even if a handler panicked while changing them.
    fn keys(&self) -> RwLockReadGuard<'_, keys::Keyring> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, body: &[u8]) {
        if self.config.record_responses {
            self.responses
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(body.to_vec());
        }
    }
}

/// SHA-256 of a token.
fn token_hash(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Files a running control plane wrote for its clients.
#[derive(Debug, Clone)]
pub struct StateFiles {
    /// The CA certificate, PEM.
    pub ca_file: PathBuf,
    /// The published Ed25519 public keys at start, one per line (`--control-plane-key`).
    pub public_key_file: PathBuf,
    /// The admin token, one line.
    pub admin_token_file: PathBuf,
    /// The URL, one line; written last, so its presence means the others are complete.
    pub url_file: PathBuf,
}

impl StateFiles {
    /// The file names inside a state directory.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca_file: dir.join("ca.pem"),
            public_key_file: dir.join("control-plane.pub"),
            admin_token_file: dir.join("admin-token"),
            url_file: dir.join("url"),
        }
    }
}

/// A running control plane on its own thread; stopped when dropped.
pub struct ControlPlane {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The CA certificate (PEM) to trust.
    pub ca_pem: String,
    /// The current Ed25519 public key at start, standard base64 (after a promotion, see
    /// [`ControlPlane::published_keys`]).
    pub public_key_b64: String,
    /// The admin token for the management API.
    pub admin_token: String,
    /// Which store it keeps its state in, in words (for the start-up line).
    pub storage: String,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("url", &self.url)
            .field("admin_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Why a control plane did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// TLS identity.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Binding, threads, randomness.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The signing key.
    #[error("cannot generate the Ed25519 signing key")]
    SigningKey,
    /// The store did not open.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl ControlPlane {
    /// Generates the identity, binds, and serves on a background thread (a two-worker tokio
    /// runtime). Returns once the listener is bound: requests can be sent at once.
    pub fn start(config: Config) -> Result<Self, StartError> {
        let rng = SystemRandom::new();
        let store = store::open(&config.storage)?;
        let kept = match store.load_identity()? {
            Some(kept) => kept,
            None => {
                let pkcs8 =
                    Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| StartError::SigningKey)?;
                let fresh = store::Identity {
                    signing_pkcs8: zeroize::Zeroizing::new(pkcs8.as_ref().to_vec()),
                    tls: tls::generate_parts()?,
                };
                store.save_identity(&fresh)?;
                fresh
            }
        };
        let identity = tls::from_parts(&kept.tls)?;
        let unreadable = |_| store::StoreError::Identity {
            what: "signing keys",
        };
        let stored = store.load_signing_keys()?;
        let keyring = if stored.is_empty() {
            // A first start, or a database from before rotation: its one key, kept with a
            // role and a time from now on.
            let single = keys::Keyring::single(kept.signing_pkcs8.clone(), util::now_secs())
                .map_err(unreadable)?;
            store.save_signing_keys(&single.stored())?;
            single
        } else {
            keys::Keyring::from_stored(stored).map_err(unreadable)?
        };
        drop(kept);
        let state = store.load()?;
        let storage = store.describe();
        let public_key_b64 = keyring.current_b64();
        let admin_token = util::random_token("axadm_")?;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ax-control-plane")
            .enable_all()
            .build()?;
        let std_listener = std::net::TcpListener::bind(config.bind)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let app = Arc::new(App {
            state: Mutex::new(state),
            store,
            keys: RwLock::new(keyring),
            admin_token_hash: token_hash(&admin_token),
            config,
            responses: Mutex::new(Vec::new()),
            rng,
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let acceptor = TlsAcceptor::from(identity.server_config);
        let served = Arc::clone(&app);
        let thread = std::thread::Builder::new()
            .name("ax-control-plane".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(std_listener) {
                        Ok(listener) => serve(listener, acceptor, served, shutdown_rx).await,
                        Err(err) => {
                            tracing_fallback(&format!("cannot serve: {err}"));
                        }
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(Self {
            url: format!("https://{addr}"),
            addr,
            ca_pem: identity.ca_pem,
            public_key_b64,
            admin_token,
            storage,
            app,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// Writes the CA certificate, the public key, the admin token and (last) the URL into
    /// `dir` (created 0700), each file 0600.
    pub fn write_state_dir(&self, dir: &Path) -> io::Result<StateFiles> {
        util::create_private_dir(dir)?;
        let files = StateFiles::in_dir(dir);
        util::write_private_file_atomic(&files.ca_file, self.ca_pem.as_bytes())?;
        util::write_private_file_atomic(
            &files.public_key_file,
            self.app.keys().key_lines().as_bytes(),
        )?;
        util::write_private_file_atomic(
            &files.admin_token_file,
            format!("{}\n", self.admin_token).as_bytes(),
        )?;
        util::write_private_file_atomic(&files.url_file, format!("{}\n", self.url).as_bytes())?;
        Ok(files)
    }

    /// The published signing keys in the format of `ax-sidecar --control-plane-key` (the
    /// current key first, then the next and previous ones, each after a `#` comment).
    pub fn published_keys(&self) -> String {
        self.app.keys().published_file()
    }

    /// Every response body sent so far (when [`Config::record_responses`] is set).
    pub fn responses(&self) -> Vec<Vec<u8>> {
        self.app
            .responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// The last-resort report of a serving failure (there is no logger in this crate).
#[allow(clippy::print_stderr)]
pub(crate) fn tracing_fallback(message: &str) {
    eprintln!("ax-control-plane: {message}");
}

/// Accepts TLS connections and serves HTTP/1.1 on each until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Arc<App>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _peer)) = accepted else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = service_fn(move |req| routes::handle(Arc::clone(&app), req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
