//! A minimal control plane for the online tests: real HTTPS on a loopback port the OS picks,
//! a CA and an Ed25519 signing key made at start, the two endpoints of PROTOCOL §13, and a
//! script of faults per endpoint.
//!
//! It writes the CA certificate and the signing key's public half to files, as the reference
//! control plane does, so the sidecar is started exactly as a launcher would start it.

#![allow(dead_code, unreachable_pub)]

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ax_protocol::SecretText;
use ax_protocol::bundle::{Bundle, BundleSecret};
use ax_protocol::contract::{
    AuditBatch, BUNDLE_MEDIA_TYPE, ErrorBody, ErrorName, FetchRequest, SUITE,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// What the bundle endpoint answers, one entry per request; an empty script seals normally.
#[derive(Debug, Clone)]
pub enum BundleReply {
    /// This status, with an error body, and `Retry-After` if given.
    Status(u16, Option<u64>),
    /// A bundle whose signature does not verify.
    Tampered,
    /// A bundle sealed for another execution.
    WrongExecution,
    /// A correct bundle.
    Sealed,
    /// The request is recorded and never answered: no status line, ever.
    Hang,
    /// A 200 with a correct bundle's `Content-Length`, but only its first half, then the
    /// connection is closed.
    Truncated,
}

/// What the audit endpoint answers, one entry per request that carries something; an empty
/// script answers 204. Heartbeats (no events, nothing dropped) take no entry and are not
/// recorded with the others: they answer 204, or 410 once the execution has ended.
pub type AuditReply = u16;

/// An audit "status" that is never answered: the request is recorded and then hangs.
pub const NEVER_ANSWER: AuditReply = 0;

/// A recorded audit POST.
#[derive(Debug, Clone)]
pub struct AuditPost {
    pub status: u16,
    pub authorization: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct State {
    bundle_script: VecDeque<BundleReply>,
    audit_script: VecDeque<AuditReply>,
    fetches: Vec<(Option<String>, serde_json::Value)>,
    audits: Vec<AuditPost>,
    /// Set by [`FakeControlPlane::end_execution`]: every audit POST answers 410.
    ended: bool,
    heartbeats: usize,
}

struct Config {
    signer: Ed25519KeyPair,
    execution_id: String,
    secrets: Vec<(String, String)>,
    state: Mutex<State>,
    connections: AtomicUsize,
}

/// The running control plane; it stops when dropped.
pub struct FakeControlPlane {
    pub url: String,
    pub addr: SocketAddr,
    pub ca_file: PathBuf,
    pub key_file: PathBuf,
    config: Arc<Config>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeControlPlane {
    /// Starts serving `secrets` for `execution_id`, writing its files into `dir`.
    pub fn start(dir: &Path, execution_id: &str, secrets: &[(&str, &str)]) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let signer = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let key_file = dir.join("control-plane.key");
        std::fs::write(
            &key_file,
            format!("{}\n", STANDARD.encode(signer.public_key().as_ref())),
        )
        .unwrap();

        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ax-sidecar test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let server_cert = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(server_cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(tls));

        let config = Arc::new(Config {
            signer,
            execution_id: execution_id.to_owned(),
            secrets: secrets
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            state: Mutex::new(State::default()),
            connections: AtomicUsize::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(accept_loop(listener, acceptor, Arc::clone(&config)));
        Self {
            url: format!("https://127.0.0.1:{}", addr.port()),
            addr,
            ca_file,
            key_file,
            config,
            runtime: Some(runtime),
        }
    }

    /// Queues answers for the next bundle requests.
    pub fn script_bundle(&self, replies: impl IntoIterator<Item = BundleReply>) {
        self.config
            .state
            .lock()
            .unwrap()
            .bundle_script
            .extend(replies);
    }

    /// Queues answers for the next audit requests.
    pub fn script_audit(&self, replies: impl IntoIterator<Item = AuditReply>) {
        self.config
            .state
            .lock()
            .unwrap()
            .audit_script
            .extend(replies);
    }

    /// The bundle requests received: the Authorization header and the JSON body.
    pub fn fetches(&self) -> Vec<(Option<String>, serde_json::Value)> {
        self.config.state.lock().unwrap().fetches.clone()
    }

    /// TCP connections accepted so far (each a TLS handshake tried).
    pub fn connections(&self) -> usize {
        self.config.connections.load(Ordering::SeqCst)
    }

    /// Ends the execution, as `POST .../finish` does: every audit POST from now on is
    /// recorded and answered 410 `execution_ended`.
    pub fn end_execution(&self) {
        self.config.state.lock().unwrap().ended = true;
    }

    /// Empty batches received (the shipper's heartbeats).
    pub fn heartbeats(&self) -> usize {
        self.config.state.lock().unwrap().heartbeats
    }

    /// The audit requests received, answered or not, heartbeats aside.
    pub fn audits(&self) -> Vec<AuditPost> {
        self.config.state.lock().unwrap().audits.clone()
    }
}

impl Drop for FakeControlPlane {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, config: Arc<Config>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        config.connections.fetch_add(1, Ordering::SeqCst);
        // Without it, a response written in two pieces waits for a delayed ACK (~40 ms).
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let config = Arc::clone(&config);
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request| {
                let config = Arc::clone(&config);
                async move { Ok::<_, std::convert::Infallible>(handle(&config, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// A body sent in one frame. `exact` says its length, so hyper writes a matching
/// `Content-Length`; without it hyper trusts the header the response sets, which lets a test
/// announce more than it sends.
pub struct TestBody {
    data: Option<Bytes>,
    exact: bool,
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.data.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, self.exact) {
            (Some(data), true) => SizeHint::with_exact(data.len() as u64),
            (None, true) => SizeHint::with_exact(0),
            (_, false) => SizeHint::default(),
        }
    }
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Response<TestBody> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", content_type)
        .body(TestBody {
            data: Some(Bytes::from(body)),
            exact: true,
        })
        .unwrap()
}

/// A 200 that announces all of `sealed` and sends its first half; hyper then closes the
/// connection, as it must when a body ends before its length.
fn cut_short(sealed: Vec<u8>) -> Response<TestBody> {
    let announced = sealed.len();
    let half = Bytes::from(sealed).slice(..announced / 2);
    Response::builder()
        .status(200)
        .header("content-type", BUNDLE_MEDIA_TYPE)
        .header("content-length", announced.to_string())
        .body(TestBody {
            data: Some(half),
            exact: false,
        })
        .unwrap()
}

fn error(status: u16, code: ErrorName) -> Response<TestBody> {
    let body = ErrorBody {
        error: code,
        message: Cow::Owned(format!("test fault {status}")),
    };
    reply(
        status,
        "application/json",
        serde_json::to_vec(&body).unwrap(),
    )
}

async fn handle(config: &Config, request: Request<Incoming>) -> Response<TestBody> {
    let path = request.uri().path().to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let prefix = format!("/v1/executions/{}/", config.execution_id);
    match path.strip_prefix(&prefix) {
        Some("bundle") => match bundle(config, authorization, &body) {
            Some(response) => response,
            None => std::future::pending().await,
        },
        Some("audit") => {
            // A batch outside the contract is refused as the reference control plane refuses
            // it, so every test that ships audit also checks the sidecar's body against it.
            let batch = serde_json::from_slice::<AuditBatch<'_>>(&body).ok();
            let heartbeat = batch
                .as_ref()
                .is_some_and(|batch| batch.events.is_empty() && batch.dropped == 0);
            let status = {
                let mut state = config.state.lock().unwrap();
                let status = if batch.is_none() {
                    400
                } else if state.ended {
                    410
                } else if heartbeat {
                    204
                } else {
                    state.audit_script.pop_front().unwrap_or(204)
                };
                if heartbeat {
                    state.heartbeats += 1;
                } else {
                    state.audits.push(AuditPost {
                        status,
                        authorization,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                status
            };
            if status == NEVER_ANSWER {
                std::future::pending::<()>().await;
            }
            if status == 204 {
                reply(204, "application/json", Vec::new())
            } else if status == 410 {
                error(status, ErrorName::ExecutionEnded)
            } else if batch.is_none() {
                error(status, ErrorName::BadRequest)
            } else {
                error(status, ErrorName::Fault)
            }
        }
        _ => error(404, ErrorName::NotFound),
    }
}

/// The answer to a bundle fetch, or `None` for one that is never answered.
fn bundle(
    config: &Config,
    authorization: Option<String>,
    body: &[u8],
) -> Option<Response<TestBody>> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let next = {
        let mut state = config.state.lock().unwrap();
        state.fetches.push((authorization, json.clone()));
        state
            .bundle_script
            .pop_front()
            .unwrap_or(BundleReply::Sealed)
    };
    let execution_id = match &next {
        BundleReply::Status(status, retry_after) => {
            let mut response = error(*status, ErrorName::Fault);
            if let Some(after) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", after.to_string().parse().unwrap());
            }
            return Some(response);
        }
        BundleReply::Hang => return None,
        BundleReply::WrongExecution => "exec-someone-else",
        BundleReply::Tampered | BundleReply::Sealed | BundleReply::Truncated => {
            config.execution_id.as_str()
        }
    };
    let Ok(request) = serde_json::from_slice::<FetchRequest<'_>>(body) else {
        return Some(error(400, ErrorName::BadRequest));
    };
    let Some(recipient) = STANDARD
        .decode(request.recipient_key.as_bytes())
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
    else {
        return Some(error(400, ErrorName::BadRequest));
    };
    if request.suite != SUITE {
        return Some(error(400, ErrorName::BadRequest));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let secrets = config
        .secrets
        .iter()
        .map(|(name, value)| BundleSecret {
            name: Cow::Owned(name.clone()),
            value: SecretText::owned(value.clone()),
            version: 1,
            created_at: now - 100,
            updated_at: now - 50,
        })
        .collect();
    let plain = Bundle {
        tenant: Cow::Borrowed("acme"),
        execution_id: Cow::Borrowed(execution_id),
        environment: Cow::Borrowed("test"),
        config: None,
        issued_at: now - 1,
        expires_at: now + 3600,
        secrets,
        overrides: Vec::new(),
    };
    let mut sealed =
        ax_protocol::bundle::seal(&plain, &recipient, &config.signer, &SystemRandom::new())
            .unwrap();
    if matches!(next, BundleReply::Tampered) {
        let last = sealed.len() - 1;
        sealed[last] ^= 0x01;
    }
    if matches!(next, BundleReply::Truncated) {
        return Some(cut_short(sealed));
    }
    Some(reply(200, BUNDLE_MEDIA_TYPE, sealed))
}
