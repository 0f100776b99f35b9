//! TLS for SIP (RFC 3261 §26.2.1; RFC 5630 §3.1.3 for what `transport=tls` means):
//! the server side of a `tls` listener (its certificate and key) and the client side
//! toward `tls` trunks (whom to trust, which name to check). Only configuration lives
//! here; the listener tasks run the handshakes.

use crate::config::{Config, SipTransport, TlsFiles, TrunkParams};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// A certificate, key or trust file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read or holds no PEM object of the expected kind.
    #[error("{path}: {what}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        what: String,
    },
    /// rustls refused the certificate/key pair.
    #[error("certificate and key do not make a TLS server: {0}")]
    Server(String),
}

fn file_error(path: &Path, what: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        what: what.to_string(),
    }
}

/// The certificate chain of a PEM file, leaf first.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e))?;
    if certs.is_empty() {
        return Err(file_error(path, "no CERTIFICATE in the file"));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| file_error(path, e))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server configuration of a `tls` listener. Clients are not asked for a
/// certificate: SIP peers are recognised by address, as on UDP and TCP.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = load_certificates(&files.certificate)?;
    let key = load_private_key(&files.private_key)?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Server(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Server(e.to_string()))?;
    Ok(Arc::new(config))
}

/// The roots of a trust file (PEM certificates), or the system's trust store.
fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in load_certificates(path)? {
                store
                    .add(cert)
                    .map_err(|e| file_error(path, format!("not a CA certificate: {e}")))?;
            }
        }
        None => {
            // Unreadable system certificates are skipped: a trunk with its own CA
            // file does not need them, and one without fails its handshake clearly.
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
    }
    Ok(store)
}

/// A client configuration trusting `ca_file` (or the system store).
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Server(e.to_string()))?
        .with_root_certificates(roots(ca_file)?)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// How to open a TLS connection toward one peer.
#[derive(Clone)]
pub struct TlsTarget {
    /// Trust and protocol settings.
    pub config: Arc<ClientConfig>,
    /// The name the peer's certificate must carry (RFC 5922 §7.2: the host of the
    /// configured URI; an IP address matches an IP SAN).
    pub name: ServerName<'static>,
}

/// The TLS client side toward every `tls` trunk, by the trunk's resolved addresses.
#[derive(Clone, Default)]
pub struct TlsClients {
    by_addr: HashMap<SocketAddr, TlsTarget>,
    /// For peers that are no configured trunk (a registered user's contact): the system
    /// store and the address itself as the name.
    fallback: Option<Arc<ClientConfig>>,
}

impl TlsClients {
    /// The client side of `cfg`'s `tls` trunks, by their addresses (`cfg.hosts`). A
    /// trunk whose trust file cannot be loaded is left out with a warning
    /// (`check-config` reports it before a start).
    pub fn from_config(cfg: &Config) -> TlsClients {
        let mut out = TlsClients::default();
        for t in &cfg.trunks {
            let TrunkParams::Sip(s) = &t.params else {
                continue;
            };
            if s.transport != SipTransport::Tls {
                continue;
            }
            let config = match client_config(s.tls_ca_file.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(trunk = %t.name, error = %e, "TLS trunk left out");
                    continue;
                }
            };
            for remote in &s.remote {
                let host = s.tls_server_name.as_deref().unwrap_or(&remote.host);
                let Ok(name) = ServerName::try_from(host.to_owned()) else {
                    tracing::warn!(trunk = %t.name, "TLS server name is not a DNS name or IP");
                    continue;
                };
                for addr in cfg.hosts.addrs(remote) {
                    out.by_addr.insert(
                        addr,
                        TlsTarget {
                            config: config.clone(),
                            name: name.clone(),
                        },
                    );
                }
            }
        }
        out
    }

    /// How to reach `addr` over TLS.
    pub fn target(&mut self, addr: SocketAddr) -> Option<TlsTarget> {
        if let Some(t) = self.by_addr.get(&addr) {
            return Some(t.clone());
        }
        if self.fallback.is_none() {
            self.fallback = client_config(None).ok();
        }
        Some(TlsTarget {
            config: self.fallback.clone()?,
            name: ServerName::IpAddress(addr.ip().into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_files_name_the_path() {
        let e = load_certificates(Path::new("/nonexistent/cert.pem")).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/cert.pem: "), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem\n").unwrap();
        let e = load_certificates(&empty).unwrap_err();
        assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
        assert!(load_private_key(&empty).is_err());
    }

    #[test]
    fn a_generated_pair_makes_a_server_and_its_ca_a_client() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let files = TlsFiles {
            certificate: c.clone(),
            private_key: k,
        };
        assert!(server_config(&files).is_ok());
        // A self-signed leaf is not a CA for webpki, but it loads as a trust anchor.
        assert!(client_config(Some(&c)).is_ok());
        // Swapped files: a clear error, no panic.
        let swapped = TlsFiles {
            certificate: files.private_key.clone(),
            private_key: files.certificate.clone(),
        };
        assert!(server_config(&swapped).is_err());
    }
}
