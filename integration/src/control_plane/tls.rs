//! The control plane's TLS identity: a private CA and a server certificate it signs for
//! `localhost` and `127.0.0.1`, served by rustls on ring. Made once ([`generate_parts`]); with
//! a durable store the parts are kept (sealed with the master key) so a restart presents the
//! same CA, and [`from_parts`] rebuilds the server configuration from them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A fresh CA and the server configuration that presents a certificate it issued.
pub struct TlsIdentity {
    /// The CA certificate in PEM, what clients pin with `--ca-file`.
    pub ca_pem: String,
    /// The rustls server configuration.
    pub server_config: Arc<ServerConfig>,
}

/// Why the identity could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("cannot generate the TLS certificates: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The ring crypto provider, the only one in the tree.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What a TLS identity is made of, as kept by a durable store. `Debug` hides the key.
#[derive(Clone)]
pub struct TlsParts {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The CA certificate, DER (sent in the chain).
    pub ca_der: Vec<u8>,
    /// The server certificate, DER.
    pub server_der: Vec<u8>,
    /// The server's private key, PKCS#8 DER. The CA's own key is not kept: nothing is ever
    /// issued again, so it is dropped once the server certificate is signed.
    pub server_key_der: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TlsParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsParts")
            .field("ca_pem", &self.ca_pem)
            .field("server_key_der", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Generates a CA and a server certificate for `localhost`, `127.0.0.1` and `::1`, and the
/// server configuration that presents them.
pub fn generate() -> Result<TlsIdentity, TlsError> {
    from_parts(&generate_parts()?)
}

/// Generates a CA and a server certificate for `localhost`, `127.0.0.1` and `::1`.
pub fn generate_parts() -> Result<TlsParts, TlsError> {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ax-secrets reference control plane CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let server_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "ax-secrets reference control plane");
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let server_cert = params.signed_by(&server_key, &ca_cert, &ca_key)?;
    Ok(TlsParts {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().to_vec(),
        server_der: server_cert.der().to_vec(),
        server_key_der: zeroize::Zeroizing::new(server_key.serialize_der()),
    })
}

/// The server configuration that presents `parts`.
pub fn from_parts(parts: &TlsParts) -> Result<TlsIdentity, TlsError> {
    let chain = vec![
        CertificateDer::from(parts.server_der.clone()),
        CertificateDer::from(parts.ca_der.clone()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(parts.server_key_der.to_vec()));
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsIdentity {
        ca_pem: parts.ca_pem.clone(),
        server_config: Arc::new(config),
    })
}
