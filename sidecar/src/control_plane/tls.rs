//! TLS to the control plane: rustls with ring as its only crypto provider.
//!
//! The roots are Mozilla's list as compiled into the binary (webpki-roots), plus every
//! certificate of `--ca-file`. Built-in roots cost nothing at start (no file is read or parsed),
//! which keeps an online start within its few milliseconds; the price is that the list follows
//! the sidecar's release, not the host's trust store, which is why a private control plane is
//! expected to come with `--ca-file`.

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
