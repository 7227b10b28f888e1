//! A small blocking HTTPS/1.1 client on rustls (ring provider), one connection per request.
//!
//! Enough for a launcher and for tests: `Connection: close`, a body read by `Content-Length`
//! (or to the end of the stream), a CA pinned from PEM. Sessions are resumed across requests of
//! one [`HttpsClient`], so the second request skips the full handshake.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use zeroize::{Zeroize, Zeroizing};

use crate::control_plane::tls::provider;

/// Largest response body read (a sealed bundle may be large).
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// A response.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A management response never holds a value, but a body is not logged by default.
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A body can hold a credential (an execution's creation answer holds its token): it is wiped
/// with the response, so no copy outlives the caller's use of it.
impl Drop for HttpResponse {
    fn drop(&mut self) {
        self.body.zeroize();
    }
}

impl HttpResponse {
    /// The body as JSON (`Value::Null` if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `message` of an error body, or the status alone.
    pub fn error_message(&self) -> String {
        match self.json().get("message").and_then(|m| m.as_str()) {
            Some(m) => format!("{} ({m})", self.status),
            None => self.status.to_string(),
        }
    }

    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A client for one base URL (`https://host:port[/prefix]`).
#[derive(Clone)]
pub struct HttpsClient {
    config: Arc<ClientConfig>,
    host: String,
    port: u16,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HttpsClient(https://{}:{}{})",
            self.host, self.port, self.prefix
        )
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.into())
}

/// Parses `https://host[:port][/prefix]` into (host, port, prefix without trailing slash).
pub fn parse_url(url: &str) -> io::Result<(String, u16, String)> {
    // No message quotes the URL: it is the caller's input, and the caller has it.
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| invalid("the control plane URL must start with https://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| invalid("the control plane URL has a bad IPv6 host"))?;
        let port = after.strip_prefix(':').unwrap_or("443");
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p),
            None => (authority.to_owned(), "443"),
        }
    };
    let port = port
        .parse()
        .map_err(|_| invalid("the control plane URL has a bad port"))?;
    if host.is_empty() {
        return Err(invalid("the control plane URL has no host"));
    }
    Ok((host, port, path.to_owned()))
}

impl HttpsClient {
    /// A client of `base_url` that trusts only the CA certificates in `ca_pem`.
    pub fn new(base_url: &str, ca_pem: &[u8]) -> io::Result<Self> {
        let (host, port, prefix) = parse_url(base_url)?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| invalid(format!("bad CA PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| invalid(format!("bad CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(invalid("the CA file holds no certificate"));
        }
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::other(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            host,
            port,
            prefix,
            timeout: Duration::from_secs(30),
        })
    }

    /// Sets the connect/read/write timeout (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends one request. `body` is `(content type, bytes)`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> io::Result<HttpResponse> {
        let server_name = ServerName::try_from(self.host.clone())
            .map_err(|_| invalid("the control plane URL's host is not a valid server name"))?;
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| invalid("the control plane's host name resolves to no address"))?;
        let tcp = TcpStream::connect_timeout(&addr, self.timeout)?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(self.timeout))?;
        tcp.set_write_timeout(Some(self.timeout))?;
        let conn = ClientConnection::new(Arc::clone(&self.config), server_name)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let mut tls = StreamOwned::new(conn, tcp);

        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n\
             Accept: application/json\r\nUser-Agent: ax-integration/{}\r\n",
            self.prefix,
            self.host,
            self.port,
            env!("CARGO_PKG_VERSION")
        );
        if let Some(token) = bearer {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let payload: &[u8] = match body {
            Some((content_type, bytes)) => {
                head.push_str(&format!(
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                    bytes.len()
                ));
                bytes
            }
            None => {
                head.push_str("Content-Length: 0\r\n");
                &[]
            }
        };
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(payload);
        tls.write_all(&request)?;
        tls.flush()?;
        read_response(&mut tls)
    }

    /// `request` with a JSON body.
    pub fn json(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> io::Result<HttpResponse> {
        let bytes = serde_json::to_vec(body).map_err(|e| io::Error::other(e.to_string()))?;
        self.request(method, path, bearer, Some(("application/json", &bytes)))
    }
}

/// Reads one response. Both buffers are wiped when it returns, on every path: the stack chunk
/// and the head buffer each see the start of the body, which may be a credential.
fn read_response(stream: &mut impl Read) -> io::Result<HttpResponse> {
    let mut buf = Zeroizing::new(Vec::with_capacity(4096));
    let mut chunk = Zeroizing::new([0u8; 16 * 1024]);
    let header_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = read_some(stream, &mut chunk[..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before answering",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 64 * 1024 {
            return Err(io::Error::other("response headers over 64 KiB"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("malformed status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = Zeroizing::new(buf.split_off(header_end + 4));
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    match length {
        Some(len) if len > MAX_RESPONSE_BYTES => {
            return Err(io::Error::other("response body too large"));
        }
        Some(len) => {
            while body.len() < len {
                let n = read_some(stream, &mut chunk[..])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the response body was cut short",
                    ));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        }
        None => loop {
            let n = read_some(stream, &mut chunk[..])?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
            if body.len() > MAX_RESPONSE_BYTES {
                return Err(io::Error::other("response body too large"));
            }
        },
    }
    Ok(HttpResponse {
        status,
        headers,
        body: std::mem::take(&mut *body),
    })
}

/// A read where a TLS close without close_notify counts as the end of the stream.
fn read_some(stream: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    match stream.read(buf) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        other => other,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_url("https://127.0.0.1:8443").ok(),
            Some(("127.0.0.1".into(), 8443, String::new()))
        );
        assert_eq!(
            parse_url("https://localhost/cp/").ok(),
            Some(("localhost".into(), 443, "/cp".into()))
        );
        assert_eq!(
            parse_url("https://[::1]:9/").ok(),
            Some(("::1".into(), 9, String::new()))
        );
        assert!(parse_url("http://x").is_err());
    }

    #[test]
    fn url_errors_do_not_quote_the_url() {
        for url in [
            "http://Zq7marker",
            "https://[Zq7marker",
            "https://h:Zq7marker",
            "https://:1/Zq7marker",
        ] {
            let err = parse_url(url)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with("the control plane URL"), "{url}: {err}");
            assert!(!err.contains("Zq7marker"), "{url}: {err}");
        }
    }
}
