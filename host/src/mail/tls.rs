//! How a mail connection is secured, shared by SMTP and IMAP.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Deserialize;
use tokio_rustls::rustls;

/// Transport security of a mail server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (SMTP 465, IMAP 993).
    Tls,
    /// Plain connect, then STARTTLS before credentials (SMTP 587, IMAP 143).
    Starttls,
    /// No encryption: only for a server on loopback (tests, a local relay).
    Plain,
}

impl Security {
    /// Refuses plain text to anything but a loopback address, so a typo in
    /// a config cannot send passwords across a network in the clear.
    pub fn check_host(self, host: &str) -> anyhow::Result<()> {
        if self == Security::Plain && !is_loopback(host) {
            anyhow::bail!(
                "security = \"plain\" is only allowed for loopback servers, not {host:?}; \
                 use \"tls\" or \"starttls\""
            );
        }
        Ok(())
    }
}

/// Whether `host` names this machine.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_refused_for_remote_servers() {
        assert!(Security::Plain.check_host("127.0.0.1").is_ok());
        assert!(Security::Plain.check_host("localhost").is_ok());
        assert!(Security::Plain.check_host("::1").is_ok());
        let err = Security::Plain.check_host("smtp.example.com").expect_err("remote");
        assert!(err.to_string().contains("smtp.example.com"));
        assert!(Security::Tls.check_host("smtp.example.com").is_ok());
    }
}
