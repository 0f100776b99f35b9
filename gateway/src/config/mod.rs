//! The YAML configuration: schema, loading and validation.

use serde::Deserialize;
use std::net::SocketAddr;

/// The embedded default configuration: binds only to 127.0.0.1.
pub const EMBEDDED_DEFAULT: &str = include_str!("default.yaml");

/// A configuration error, displayed as `FILE:LINE:COL: field.path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<embedded>`).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Dotted path of the field (`trunks[2].name`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.path, self.message
        )
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Process-wide settings.
    #[serde(default)]
    pub general: General,
    /// Signalling listeners.
    pub listeners: Listeners,
    /// Prometheus endpoint.
    pub metrics: Metrics,
}

/// Process-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct General {
    /// Name of this box in CDRs, RADIUS (h323-gw-id) and metrics.
    #[serde(default = "default_node_name")]
    pub node_name: String,
    /// On SIGTERM, how long live calls may go on before they are cleared.
    #[serde(default = "default_drain")]
    pub drain_timeout_seconds: u64,
    /// Redact calling/called numbers in logs.
    #[serde(default = "yes")]
    pub redact_numbers: bool,
}

impl Default for General {
    fn default() -> Self {
        General {
            node_name: default_node_name(),
            drain_timeout_seconds: default_drain(),
            redact_numbers: true,
        }
    }
}

fn default_node_name() -> String {
    "gateway".to_owned()
}
fn default_drain() -> u64 {
    30
}
fn yes() -> bool {
    true
}

/// Signalling listeners.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listeners {
    /// SIP listeners.
    #[serde(default)]
    pub sip: Vec<SipListener>,
    /// H.225.0 call-signalling (TCP) listeners.
    #[serde(default)]
    pub h225: Vec<H225Listener>,
}

/// SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SipTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

/// One SIP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipListener {
    /// Transport.
    pub transport: SipTransport,
    /// Address and port.
    pub address: SocketAddr,
}

/// One H.225.0 listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct H225Listener {
    /// Address and port (normally 1720).
    pub address: SocketAddr,
}

/// Prometheus endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Address of the HTTP listener serving `/metrics` and `/healthz`.
    pub listen: SocketAddr,
}

impl Config {
    /// Parses and validates a configuration; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
        serde_yaml::from_str::<Config>(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            vec![ConfigError {
                file: file.to_owned(),
                line,
                column,
                path: String::new(),
                message: e.to_string(),
            }]
        })
    }

    /// Reads, parses and validates a configuration file.
    pub fn load(path: &std::path::Path) -> Result<Config, Vec<ConfigError>> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                file: name.clone(),
                line: 0,
                column: 0,
                path: String::new(),
                message: e.to_string(),
            }]
        })?;
        Config::parse(&name, &text)
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Config {
        // The embedded default is checked by a unit test; failing here is a build bug.
        Config::parse("<embedded>", EMBEDDED_DEFAULT).expect("embedded default config is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid() {
        let c = Config::embedded_default();
        assert!(c.listeners.sip.iter().all(|l| l.address.ip().is_loopback()));
    }
}
