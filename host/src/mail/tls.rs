//! How a mail connection is secured, shared by SMTP and IMAP.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tokio_rustls::rustls;

/// Root certificates: the system's, plus an extra CA file for a private CA.
pub fn root_store(ca_file: Option<&Path>) -> anyhow::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        for cert in read_pem_certs(path)? {
            roots
                .add(cert)
                .with_context(|| format!("invalid certificate in {}", path.display()))?;
        }
    }
    Ok(roots)
}

/// The certificates of a PEM file.
pub fn read_pem_certs(path: &Path) -> anyhow::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read CA file {}", path.display()))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("invalid PEM in {}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("no certificate in CA file {}", path.display());
    }
    Ok(certs)
}

/// A TLS client for one server: the host name it checks and the roots it
/// trusts, built once (reading the system's certificates and the CA file)
/// when the mailbox is set up, not at every connection.
#[derive(Clone)]
pub struct TlsClient {
    connector: tokio_rustls::TlsConnector,
    name: rustls::pki_types::ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient").field("name", &self.name).finish()
    }
}

impl TlsClient {
    /// A client for `host`, trusting the system's roots and `ca_file`.
    pub fn new(host: &str, ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .with_context(|| format!("{host:?} is not a valid TLS server name"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS setup")?
            .with_root_certificates(root_store(ca_file)?)
            .with_no_client_auth();
        Ok(Self {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            name,
        })
    }

    /// The TLS handshake over `tcp`.
    pub async fn connect(
        &self,
        tcp: tokio::net::TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        self.connector.connect(self.name.clone(), tcp).await
    }
}
