//! `general:` and `metrics:`: process-wide settings.

use serde::Deserialize;
use std::net::SocketAddr;

/// `general:` process-wide settings. The whole section is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct General {
    /// Name of this box in CDRs, RADIUS (h323-gw-id) and metrics. Default `gateway`.
    #[serde(default = "default_node_name")]
    pub node_name: String,
    /// On SIGTERM, how long live calls may go on before they are cleared, in seconds.
    /// Default 30.
    #[serde(default = "default_drain")]
    pub drain_timeout_seconds: u64,
    /// Redact calling/called numbers in logs. Default true.
    #[serde(default = "yes")]
    pub redact_numbers: bool,
    /// A call not answered this many seconds after it went out is released with cause
    /// 19 (no answer from user, user alerted). Default 120.
    #[serde(default = "default_no_answer")]
    pub no_answer_seconds: u32,
    /// An answered call is released with cause 102 (recovery on timer expiry) after this
    /// many seconds; absent: no limit.
    #[serde(default)]
    pub max_call_seconds: Option<u32>,
    /// Write every SIP, H.225.0 and H.245 packet sent and received to this pcapng from
    /// the start (`gatewayd run --capture FILE` overrides it); `gatewayd replay` reads
    /// it. Read at start (a reload neither starts nor stops a capture). Absent: no
    /// capture.
    #[serde(default)]
    pub capture_file: Option<std::path::PathBuf>,
}

fn default_no_answer() -> u32 {
    120
}

impl Default for General {
    fn default() -> Self {
        General {
            node_name: default_node_name(),
            drain_timeout_seconds: default_drain(),
            redact_numbers: true,
            no_answer_seconds: default_no_answer(),
            max_call_seconds: None,
            capture_file: None,
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

/// `metrics:` the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Address of the HTTP listener serving `/metrics` and `/healthz`, e.g.
    /// `"127.0.0.1:9464"`.
    pub listen: SocketAddr,
}
