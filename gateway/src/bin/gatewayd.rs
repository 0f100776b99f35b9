//! `gatewayd`: the trunk gateway daemon.

fn main() {
    let _ = gateway::config::Config::embedded_default();
}
