//! TLS to the control plane: rustls with ring as its only crypto provider.
//!
//! The roots are Mozilla's list as compiled into the binary (webpki-roots), plus every
//! certificate of `--ca-file`. Built-in roots cost nothing at start (no file is read or parsed),
//! which keeps an online start within its few milliseconds; the price is that the list follows
//! the sidecar's release, not the host's trust store, which is why a private control plane is
//! expected to come with `--ca-file`.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::exit::StartupError;

/// The client configuration every request to the control plane uses.
pub fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, StartupError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        add_ca_file(&mut roots, path)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartupError::Client(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Adds every certificate of a PEM file; a file without one is refused.
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), StartupError> {
    let pem = std::fs::read(path).map_err(|source| StartupError::Input {
        what: "CA file",
        path: path.to_path_buf(),
        source,
    })?;
    let refused = |reason: String| StartupError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| refused(format!("is not valid PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| refused(format!("holds a certificate that cannot be a root: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(refused("holds no PEM certificate".into()));
    }
    Ok(())
}

/// The certificate failure behind a transport error, if that is what it is: the control
/// plane's certificate chain does not lead to a trusted root, names another host, has expired,
/// or is otherwise refused by the verifier. Retrying cannot change any of these, so the fetch
/// stops at once instead of spending its deadline on them.
///
/// rustls reports it inside an `io::Error`, itself wrapped in another by the connector, and
/// `io::Error::source()` skips the error it wraps: each link is unwrapped with `get_ref` too.
pub fn verification_failure<'e>(err: &'e (dyn Error + 'static)) -> Option<&'e rustls::Error> {
    let mut next: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(cause) = next {
        let mut inner: &(dyn Error + 'static) = cause;
        while let Some(wrapped) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            inner = wrapped;
        }
        let found = inner.downcast_ref::<rustls::Error>();
        if let Some(tls) = found.filter(|e| matches!(e, rustls::Error::InvalidCertificate(_))) {
            return Some(tls);
        }
        next = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError;

    #[test]
    fn finds_a_certificate_failure_inside_an_io_error() {
        let tls = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let io = std::io::Error::other(io);
        let found = verification_failure(&io).map(ToString::to_string);
        assert_eq!(
            found.as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
    }

    #[test]
    fn other_tls_and_io_errors_are_not_certificate_failures() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        );
        assert!(verification_failure(&io).is_none());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(verification_failure(&refused).is_none());
    }
}
