//! The YAML configuration: schema, loading and validation.
//!
//! One file (see `deploy/gateway.example.yaml` for every section, annotated). Reading it
//! reports every error, each as `FILE:LINE:COL: field.path: message`:
//!
//! 1. [`yaml`] reads the text with `saphyr-parser` into a `serde_yaml::Value` plus a
//!    [`source_map::SourceMap`] (path -> line:column), reporting syntax errors and
//!    duplicate keys;
//! 2. [`load`] deserializes each section and each list element on its own with
//!    `serde_path_to_error`, going on past each error ([`collect`]);
//! 3. [`validate`] checks what serde cannot: references between sections, duplicate
//!    names, port clashes, timeslot use.
//!
//! Conventions: keys are `snake_case`, enumerated values `kebab-case`; durations are
//! integer seconds in fields ending `_seconds` (`_ms` for milliseconds); numbers and
//! prefixes are quoted strings ([`DigitString`]).
//!
//! [`pattern`] and [`manipulation`] hold the dial-plan matching and digit manipulation as
//! pure functions for the call core.

#![warn(missing_docs)]

mod cdr;
mod channels;
mod collect;
mod digits;
mod egress;
mod error;
mod general;
mod host_port;
mod listeners;
mod load;
pub mod manipulation;
mod media;
mod names;
mod number_regex;
mod one_or_many;
mod path;
pub mod pattern;
mod radius;
mod report;
mod routes;
mod secret;
mod sip;
mod source_map;
mod spans;
mod tagged;
mod trunk;
mod validate;
mod yaml;

pub use cdr::{Cdr, CdrFormat, FsyncPolicy, Rotation};
pub use channels::ChannelSet;
pub use digits::DigitString;
pub use egress::{EgressEntry, EgressStrategy, FailoverCause, attempt_order};
pub use error::ConfigError;
pub use general::{General, Metrics};
pub use host_port::{HostPort, Hosts};
pub use listeners::{H225Listener, Listeners, RasListener, SipListener, SipTransport, TlsFiles};
pub use manipulation::{NumberRewrite, Replace};
pub use media::{Codec, Media, PortRange};
pub use number_regex::NumberRegex;
pub use pattern::DialPattern;
pub use radius::{Radius, RadiusHost, RadiusServer};
pub use routes::{
    CallerId, CallerPresentation, NumberMatch, Rewrite, RouteMatch, RouteRule, RouteTables,
};
pub use secret::Secret;
pub use sip::{RegistrarLimits, Sip, SipTimers};
pub use spans::{
    ClockSource, DahdiDriver, Framing, LineCode, PseudowireDriver, PseudowireProtocol, Span,
    SpanDriver, SpanType, TestDriver,
};
pub use trunk::{
    DEFAULT_ROUTE_TABLE, Gatekeeper, H323Dtmf, H323Trunk, Law, LocalAnswer, LocalTrunk,
    NetworkIndicator, PriSide, PriSwitch, PriTrunk, R2Category, R2Trunk, R2Variant, SipAuth,
    SipDtmf, SipRegister, SipTrunk, SipUser, Ss7Circuits, Ss7Link, Ss7Trunk, Ss7Variant, Trunk,
    TrunkParams,
};

/// The embedded default configuration: binds only to 127.0.0.1.
pub const EMBEDDED_DEFAULT: &str = include_str!("default.yaml");

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `general:` process-wide settings.
    pub general: General,
    /// `listeners:` signalling listeners.
    pub listeners: Listeners,
    /// `metrics:` the Prometheus endpoint.
    pub metrics: Metrics,
    /// `media:` RTP ports and codecs.
    pub media: Media,
    /// `sip:` SIP stack settings.
    pub sip: Sip,
    /// `spans:` E1/T1 lines.
    pub spans: Vec<Span>,
    /// `trunks:` peers and lines.
    pub trunks: Vec<Trunk>,
    /// `routes:` route tables by name.
    pub routes: RouteTables,
    /// `cdr:` call detail records.
    pub cdr: Cdr,
    /// `radius:` RADIUS servers; `None` without RADIUS.
    pub radius: Option<Radius>,
    /// What the host names of the configuration resolved to (not from the YAML: the
    /// shell fills it, see `crate::resolver`).
    pub hosts: Hosts,
}

impl Config {
    /// Parses and validates a configuration; `file` names it in errors. On failure,
    /// every error found, in file order. Files it names (TLS certificates) are not read:
    /// [`Config::load`] checks them.
    pub fn parse(file: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
        Config::parse_checked(file, text, false)
    }

    fn parse_checked(
        file: &str,
        text: &str,
        check_files: bool,
    ) -> Result<Config, Vec<ConfigError>> {
        let doc = match yaml::read(text) {
            Ok(doc) => doc,
            Err(syntax) => return Err(vec![syntax.locate(file, &Default::default())]),
        };
        let mut report = report::Report {
            problems: doc.problems,
            removed: Vec::new(),
            check_files,
        };
        let loaded = load::load(doc.value, &mut report);
        validate::validate(&loaded, &mut report);
        let problems = report.problems;
        let config = if problems.is_empty() {
            assemble(loaded)
        } else {
            None
        };
        match config {
            Some(config) => Ok(config),
            None => {
                let mut errors: Vec<ConfigError> = problems
                    .into_iter()
                    .map(|p| p.locate(file, &doc.source))
                    .collect();
                errors.sort_by_key(|e| (e.line, e.column));
                errors.dedup();
                if errors.is_empty() {
                    // Unreachable in practice: every missing piece reports a problem.
                    errors.push(ConfigError {
                        file: file.to_owned(),
                        line: 0,
                        column: 0,
                        path: String::from("(root)"),
                        message: String::from("the configuration is incomplete"),
                    });
                }
                Err(errors)
            }
        }
    }

    /// Reads, parses and validates a configuration file, and the files it names (TLS
    /// certificates, keys and CA files must load).
    pub fn load(path: &std::path::Path) -> Result<Config, Vec<ConfigError>> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                file: name.clone(),
                line: 0,
                column: 0,
                path: String::from("(root)"),
                message: e.to_string(),
            }]
        })?;
        Config::parse_checked(&name, &text, true)
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Config {
        // The embedded default is checked by a unit test; failing here is a build bug.
        Config::parse("<embedded>", EMBEDDED_DEFAULT).expect("embedded default config is valid")
    }

    /// The trunk named `name`.
    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name == name)
    }

    /// The span named `name`.
    pub fn span(&self, name: &str) -> Option<&Span> {
        self.spans.iter().find(|s| s.name == name)
    }

    /// The route table for calls coming in on trunk `ingress` (`None` when the trunk or
    /// its table does not exist).
    pub fn route_table_for(&self, ingress: &str) -> Option<&[RouteRule]> {
        let table = self.trunk(ingress)?.route_table();
        self.routes.get(table).map(Vec::as_slice)
    }
}

/// Builds the configuration from sections that all read cleanly.
fn assemble(l: load::Loaded) -> Option<Config> {
    Some(Config {
        general: l.general?,
        listeners: l.listeners?,
        metrics: l.metrics?,
        media: l.media?,
        sip: l.sip?,
        spans: l.spans.into_iter().map(|i| i.value).collect(),
        trunks: l.trunks.into_iter().map(|i| i.value).collect(),
        routes: l.routes.into_tables(),
        cdr: l.cdr?,
        radius: l.radius,
        hosts: Hosts::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dahdi_span_is_refused_on_load_by_a_build_without_the_feature() {
        let text = "\
listeners:
  sip:
    - { transport: udp, address: \"127.0.0.1:5060\" }
metrics:
  listen: \"127.0.0.1:9464\"
spans:
  - { name: a, type: e1, driver: { kind: dahdi, span: 1, dchannel: 16 } }
";
        assert!(
            Config::parse("t.yaml", text).is_ok(),
            "parsing checks the text only"
        );
        let loaded = Config::parse_checked("t.yaml", text, true);
        if cfg!(feature = "dahdi") {
            assert!(loaded.is_ok(), "{loaded:?}");
        } else {
            let errors: Vec<String> = loaded
                .expect_err("no DAHDI driver in this build")
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(
                errors,
                [
                    "t.yaml:7:42: spans[0].driver.kind: this gatewayd was built without the DAHDI span driver (cargo feature `dahdi`)"
                ]
            );
        }
    }

    #[test]
    fn embedded_default_is_valid() {
        let c = Config::embedded_default();
        assert!(c.listeners.sip.iter().all(|l| l.address.ip().is_loopback()));
        assert!(
            c.listeners
                .h225
                .iter()
                .all(|l| l.address.ip().is_loopback())
        );
        assert!(c.metrics.listen.ip().is_loopback());
        // Only loopback peers and the built-in endpoints.
        assert!(c.trunks.iter().all(|t| {
            match &t.params {
                TrunkParams::Sip(s) => s
                    .remote
                    .iter()
                    .all(|r| r.ip().is_some_and(|ip| ip.is_loopback())),
                TrunkParams::H323(h) => h
                    .remote
                    .as_ref()
                    .is_some_and(|r| r.ip().is_some_and(|ip| ip.is_loopback())),
                TrunkParams::Local(_) => true,
                _ => false,
            }
        }));
    }
}
