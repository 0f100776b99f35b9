//! Every Prometheus metric of the gateway, declared in one place (DESIGN.md practice 12).
//!
//! Names follow the Prometheus conventions: the `gateway_` prefix, `_total` on counters,
//! base units (`_seconds`). Label sets that make sense are created at start so their
//! series exist at 0 before the first event. [`Metrics::new`] is the one function that
//! registers them; `/metrics` serves [`Metrics::encode`].

use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::time::Instant;

/// The legs a call can enter or leave by (`ingress` / `egress` labels).
pub const LEGS: [&str; 4] = ["sip", "h323", "tdm", "local"];

/// How a call ended (`outcome` label of `gateway_calls_total`).
pub const CALL_OUTCOMES: [&str; 6] = [
    "answered",
    "busy",
    "no_answer",
    "rejected",
    "abandoned",
    "failed",
];

/// The `outcome` label of a finished call: answered; else by its cause (Q.850 17 busy,
/// 18/19 no answer, 21 rejected); a caller hanging up first is `abandoned`.
pub fn outcome_of(r: &crate::switch::CallRecord) -> &'static str {
    use mapping::cause::Q850Cause;
    if r.answer.is_some() {
        return "answered";
    }
    match r.cause.value {
        Q850Cause::USER_BUSY => "busy",
        Q850Cause::NO_USER_RESPONDING | Q850Cause::NO_ANSWER => "no_answer",
        Q850Cause::CALL_REJECTED => "rejected",
        _ if r.initiator == mapping::model::Initiator::Caller => "abandoned",
        _ => "failed",
    }
}

/// Signalling protocols counted in `gateway_messages_total` / `gateway_decode_errors_total`.
pub const PROTOCOLS: [&str; 4] = ["sip", "h225", "h245", "ras"];

/// SIP request `type` labels: the methods of RFC 3261 and its extensions, and `other`
/// for any other method.
pub const SIP_METHODS: [&str; 15] = [
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
    "other",
];

/// SIP response `type` labels: the status classes of RFC 3261 §21.
pub const SIP_STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"];

/// H.225.0 message types (`type` label): the H323-UU-PDU body of each message, `other` when it does not decode.
pub const H225_TYPES: [&str; 14] = crate::h323::without_calls::LABELS;

/// Message direction (`direction` label).
pub const DIRECTIONS: [&str; 2] = ["in", "out"];

/// Buckets of `gateway_call_setup_seconds`: from the ingress Setup/INVITE to the answer.
const CALL_SETUP_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// The parties of a call (`side` label of the media quality metrics): `caller` is what
/// arrived from the caller (and its leg), `callee` what arrived from the callee.
pub const SIDES: [&str; 2] = ["caller", "callee"];

/// Buckets of `gateway_call_mos`: the MOS scale (G.107 Annex B) finer where calls are.
const MOS_BUCKETS: [f64; 12] = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 3.8, 4.0, 4.1, 4.2, 4.3, 4.4];

/// Buckets of `gateway_call_rtt_seconds`.
const RTT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0,
];

/// Buckets of `gateway_call_jitter_seconds`.
const JITTER_BUCKETS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5];

/// The gateway's metrics and the one registry that holds them.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    started: Instant,
    /// `gateway_build_info{version,commit}`: always 1.
    pub build_info: IntGaugeVec,
    /// `gateway_uptime_seconds`: seconds since the process started (set at each scrape).
    pub uptime_seconds: Gauge,
    /// `gateway_config_reloads_total{result="ok|failed"}`.
    pub config_reloads: IntCounterVec,
    /// `gateway_calls_total{ingress,egress,outcome}`: finished calls.
    pub calls: IntCounterVec,
    /// `gateway_active_calls`: calls admitted and not yet ended.
    pub active_calls: IntGauge,
    /// `gateway_call_setup_seconds{ingress,egress}`: time from ingress setup to answer.
    pub call_setup_seconds: HistogramVec,
    /// `gateway_messages_total{protocol,type,direction}`: signalling messages.
    pub messages: IntCounterVec,
    /// `gateway_decode_errors_total{protocol}`: input that could not be decoded.
    pub decode_errors: IntCounterVec,
    /// `gateway_draining`: 1 from SIGTERM until exit.
    pub draining: IntGauge,
    /// `gateway_sip_registrations`: users with at least one live registration.
    pub sip_registrations: IntGauge,
    /// `gateway_sip_auth_failures_total`: digest credentials missing, wrong or stale.
    pub sip_auth_failures: IntCounter,
    /// `gateway_sip_retransmissions_total{type}`: SIP messages sent again (RFC 3261 Timers
    /// A, E, G, and answers to retransmitted requests), by method or status class.
    pub sip_retransmissions: IntCounterVec,
    /// `gateway_sip_rate_limited_total`: SIP datagrams and stream messages dropped by the
    /// per-source limit.
    pub sip_rate_limited: IntCounter,
    /// `gateway_sip_responses_total{code,direction}`: SIP responses by status code
    /// (series appear as codes are seen).
    pub sip_responses: IntCounterVec,
    /// `gateway_sip_tls_handshake_failures_total`: SIP/TLS handshakes that failed or
    /// timed out, accepted or opened.
    pub sip_tls_handshake_failures: IntCounter,
    /// `gateway_sip_transaction_timeouts_total{timer}`: RFC 3261 Timer B, F or H fired.
    pub sip_transaction_timeouts: IntCounterVec,
    /// `gateway_trunk_up{trunk}`: 1 while a SIP trunk with OPTIONS pings has a remote that
    /// answers, 0 when none does (series only for pinged trunks).
    pub trunk_up: IntGaugeVec,
    /// `gateway_sip_trunk_registered{trunk}`: 1 while our registration with the trunk's
    /// registrar holds, else 0 (series only for trunks with `register:`).
    pub sip_trunk_registered: IntGaugeVec,
    /// `gateway_h245_timeouts_total{timer}`: H.245 procedures that got no answer (T101
    /// capability exchange, T103 logical channel, T106 master/slave determination), and
    /// separate H.245 connections that never came up (`connect`).
    pub h245_timeouts: IntCounterVec,
    /// `gateway_h323_registered{trunk}`: 1 while the H.323 trunk's gatekeeper registration
    /// (RAS RCF) holds, else 0 (series only for trunks with `gatekeeper:`).
    pub h323_registered: IntGaugeVec,
    /// `gateway_radius_requests_total{server,kind,retransmission}`: RADIUS requests sent
    /// (`kind` auth or acct; `retransmission` yes for the same packet sent again).
    pub radius_requests: IntCounterVec,
    /// `gateway_radius_timeouts_total{server,kind}`: requests a server never answered.
    pub radius_timeouts: IntCounterVec,
    /// `gateway_radius_rejects_total{server}`: Access-Rejects.
    pub radius_rejects: IntCounterVec,
    /// `gateway_radius_spool_depth`: accounting requests not yet acknowledged.
    pub radius_spool_depth: IntGauge,
    /// `gateway_cdrs_written_total`: call records appended to the CDR files.
    pub cdrs_written: IntCounter,
    /// `gateway_cdr_write_failures_total`: call records the CDR files could not take
    /// (they are in the log).
    pub cdr_write_failures: IntCounter,
    /// `gateway_call_mos{side}`: estimated MOS of each party's audio per call (E-model).
    pub call_mos: HistogramVec,
    /// `gateway_call_rtt_seconds{side}`: mean RTCP round trip of each party's leg per call.
    pub call_rtt_seconds: HistogramVec,
    /// `gateway_call_jitter_seconds{side}`: interarrival jitter of what arrived from each
    /// party, at the end of each call.
    pub call_jitter_seconds: HistogramVec,
    /// `gateway_rtp_packets_lost_total{side}`: RTP packets lost on the way in from each
    /// party (counted when calls end).
    pub rtp_packets_lost: IntCounterVec,
    /// `gateway_span_up{span}`: 1 while the span's driver has a working line (test span:
    /// far end connected; pseudowire: packets arriving; DAHDI: no alarm), else 0.
    pub span_up: IntGaugeVec,
    /// `gateway_span_dchannel_frames_total{span,direction}`: D-channel (LAPD) frames
    /// received from and written to the span.
    pub span_dchannel_frames: IntCounterVec,
    /// `gateway_span_hdlc_errors_total{span,kind}`: D-channel frames lost to HDLC
    /// errors: `fcs` (bad frame check sequence), `abort` (aborted or malformed),
    /// `overrun` (the driver's receive buffer overflowed; DAHDI only).
    pub span_hdlc_errors: IntCounterVec,
    /// `gateway_span_bchannels_in_use{span}`: B-channels connected to a call's media.
    pub span_bchannels_in_use: IntGaugeVec,
    /// `gateway_pseudowire_packets_total{span,direction}`: pseudowire packets received
    /// (accepted into the jitter buffer) and sent.
    pub pseudowire_packets: IntCounterVec,
    /// `gateway_pseudowire_packets_lost_total{span}`: packets missing at their playout
    /// time (played as filler).
    pub pseudowire_lost: IntCounterVec,
    /// `gateway_pseudowire_packets_late_total{span}`: packets that came after their
    /// playout time (dropped).
    pub pseudowire_late: IntCounterVec,
    /// `gateway_pseudowire_jitter_buffer_underruns_total{span}`: times the jitter buffer
    /// ran dry and started filling again.
    pub pseudowire_underruns: IntCounterVec,
    /// `gateway_pseudowire_jitter_buffer_overruns_total{span}`: times a packet came too
    /// far ahead for the jitter buffer, which started filling again from it.
    pub pseudowire_overruns: IntCounterVec,
}

impl Metrics {
    /// Creates every metric, registers it, and pre-initialises the label sets.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let m = Metrics {
            started: Instant::now(),
            build_info: IntGaugeVec::new(
                Opts::new("gateway_build_info", "Build of the running gatewayd; always 1."),
                &["version", "commit"],
            )
            .expect(VALID),
            uptime_seconds: Gauge::new(
                "gateway_uptime_seconds",
                "Seconds since gatewayd started.",
            )
            .expect(VALID),
            config_reloads: IntCounterVec::new(
                Opts::new(
                    "gateway_config_reloads_total",
                    "Configuration reloads (SIGHUP) by result.",
                ),
                &["result"],
            )
            .expect(VALID),
            calls: IntCounterVec::new(
                Opts::new(
                    "gateway_calls_total",
                    "Finished calls by ingress leg, egress leg and outcome.",
                ),
                &["ingress", "egress", "outcome"],
            )
            .expect(VALID),
            active_calls: IntGauge::new(
                "gateway_active_calls",
                "Calls admitted and not yet ended.",
            )
            .expect(VALID),
            call_setup_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "gateway_call_setup_seconds",
                    "Time from the ingress setup (INVITE / Setup / IAM / seizure) to the answer.",
                )
                .buckets(CALL_SETUP_BUCKETS.to_vec()),
                &["ingress", "egress"],
            )
            .expect(VALID),
            messages: IntCounterVec::new(
                Opts::new(
                    "gateway_messages_total",
                    "Signalling messages by protocol, type (SIP method or status class) and direction.",
                ),
                &["protocol", "type", "direction"],
            )
            .expect(VALID),
            decode_errors: IntCounterVec::new(
                Opts::new(
                    "gateway_decode_errors_total",
                    "Signalling input that could not be decoded, by protocol.",
                ),
                &["protocol"],
            )
            .expect(VALID),
            draining: IntGauge::new(
                "gateway_draining",
                "1 while draining after SIGTERM (no new calls), else 0.",
            )
            .expect(VALID),
            sip_registrations: IntGauge::new(
                "gateway_sip_registrations",
                "SIP users with at least one live registration at the registrar.",
            )
            .expect(VALID),
            sip_auth_failures: IntCounter::new(
                "gateway_sip_auth_failures_total",
                "SIP requests whose digest credentials were missing, wrong or stale.",
            )
            .expect(VALID),
            sip_retransmissions: IntCounterVec::new(
                Opts::new(
                    "gateway_sip_retransmissions_total",
                    "SIP messages retransmitted (RFC 3261 Timers A, E, G; answers to retransmitted requests), by method or status class.",
                ),
                &["type"],
            )
            .expect(VALID),
            sip_rate_limited: IntCounter::new(
                "gateway_sip_rate_limited_total",
                "SIP messages dropped because their source exceeded sip.per_source_rate.",
            )
            .expect(VALID),
            sip_responses: IntCounterVec::new(
                Opts::new(
                    "gateway_sip_responses_total",
                    "SIP responses sent and received, by status code.",
                ),
                &["code", "direction"],
            )
            .expect(VALID),
            sip_tls_handshake_failures: IntCounter::new(
                "gateway_sip_tls_handshake_failures_total",
                "SIP/TLS handshakes that failed or timed out (either direction).",
            )
            .expect(VALID),
            sip_transaction_timeouts: IntCounterVec::new(
                Opts::new(
                    "gateway_sip_transaction_timeouts_total",
                    "SIP transactions that timed out, by RFC 3261 timer (B, F: no answer; H: no ACK).",
                ),
                &["timer"],
            )
            .expect(VALID),
            trunk_up: IntGaugeVec::new(
                Opts::new(
                    "gateway_trunk_up",
                    "1 while some remote of a SIP trunk with OPTIONS pings answers, 0 when none does.",
                ),
                &["trunk"],
            )
            .expect(VALID),
            sip_trunk_registered: IntGaugeVec::new(
                Opts::new(
                    "gateway_sip_trunk_registered",
                    "1 while the gateway is registered with the SIP trunk's registrar, else 0.",
                ),
                &["trunk"],
            )
            .expect(VALID),
            h245_timeouts: IntCounterVec::new(
                Opts::new(
                    "gateway_h245_timeouts_total",
                    "H.245 procedures without an answer in time, by timer (T101, T103, T106).",
                ),
                &["timer"],
            )
            .expect(VALID),
            h323_registered: IntGaugeVec::new(
                Opts::new(
                    "gateway_h323_registered",
                    "1 while the gateway is registered with the H.323 trunk's gatekeeper, else 0.",
                ),
                &["trunk"],
            )
            .expect(VALID),
            radius_requests: IntCounterVec::new(
                Opts::new(
                    "gateway_radius_requests_total",
                    "RADIUS requests sent, by server, kind (auth, acct) and whether the packet was a retransmission.",
                ),
                &["server", "kind", "retransmission"],
            )
            .expect(VALID),
            radius_timeouts: IntCounterVec::new(
                Opts::new(
                    "gateway_radius_timeouts_total",
                    "RADIUS requests a server did not answer after every retransmission, by server and kind.",
                ),
                &["server", "kind"],
            )
            .expect(VALID),
            radius_rejects: IntCounterVec::new(
                Opts::new(
                    "gateway_radius_rejects_total",
                    "Access-Rejects received, by server.",
                ),
                &["server"],
            )
            .expect(VALID),
            radius_spool_depth: IntGauge::new(
                "gateway_radius_spool_depth",
                "RADIUS accounting requests in the spool, not yet acknowledged by a server.",
            )
            .expect(VALID),
            cdrs_written: IntCounter::new(
                "gateway_cdrs_written_total",
                "Call records appended to the CDR files (one per record, whatever the formats).",
            )
            .expect(VALID),
            cdr_write_failures: IntCounter::new(
                "gateway_cdr_write_failures_total",
                "Call records the CDR files could not take (written to the log instead).",
            )
            .expect(VALID),
            span_up: IntGaugeVec::new(
                Opts::new(
                    "gateway_span_up",
                    "1 while the E1/T1 span's driver has a working line, else 0.",
                ),
                &["span"],
            )
            .expect(VALID),
            span_dchannel_frames: IntCounterVec::new(
                Opts::new(
                    "gateway_span_dchannel_frames_total",
                    "D-channel (LAPD) frames by span and direction.",
                ),
                &["span", "direction"],
            )
            .expect(VALID),
            span_hdlc_errors: IntCounterVec::new(
                Opts::new(
                    "gateway_span_hdlc_errors_total",
                    "D-channel frames lost to HDLC errors by span and kind (fcs, abort, overrun).",
                ),
                &["span", "kind"],
            )
            .expect(VALID),
            span_bchannels_in_use: IntGaugeVec::new(
                Opts::new(
                    "gateway_span_bchannels_in_use",
                    "B-channels of the span connected to a call's media.",
                ),
                &["span"],
            )
            .expect(VALID),
            pseudowire_packets: IntCounterVec::new(
                Opts::new(
                    "gateway_pseudowire_packets_total",
                    "Pseudowire packets by span and direction (in: accepted into the jitter buffer).",
                ),
                &["span", "direction"],
            )
            .expect(VALID),
            pseudowire_lost: IntCounterVec::new(
                Opts::new(
                    "gateway_pseudowire_packets_lost_total",
                    "Pseudowire packets missing at their playout time (played as filler).",
                ),
                &["span"],
            )
            .expect(VALID),
            pseudowire_late: IntCounterVec::new(
                Opts::new(
                    "gateway_pseudowire_packets_late_total",
                    "Pseudowire packets that came after their playout time (dropped).",
                ),
                &["span"],
            )
            .expect(VALID),
            pseudowire_underruns: IntCounterVec::new(
                Opts::new(
                    "gateway_pseudowire_jitter_buffer_underruns_total",
                    "Times the pseudowire's jitter buffer ran dry and started filling again.",
                ),
                &["span"],
            )
            .expect(VALID),
            pseudowire_overruns: IntCounterVec::new(
                Opts::new(
                    "gateway_pseudowire_jitter_buffer_overruns_total",
                    "Times a packet came too far ahead for the pseudowire's jitter buffer.",
                ),
                &["span"],
            )
            .expect(VALID),
            call_mos: HistogramVec::new(
                HistogramOpts::new(
                    "gateway_call_mos",
                    "Estimated MOS (ITU-T G.107 E-model, simplified) of each party's audio, one sample per call.",
                )
                .buckets(MOS_BUCKETS.to_vec()),
                &["side"],
            )
            .expect(VALID),
            call_rtt_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "gateway_call_rtt_seconds",
                    "Mean RTCP round trip between the gateway and each party, one sample per call that measured one.",
                )
                .buckets(RTT_BUCKETS.to_vec()),
                &["side"],
            )
            .expect(VALID),
            call_jitter_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "gateway_call_jitter_seconds",
                    "Interarrival jitter (RFC 3550) of the RTP from each party at the end of each call.",
                )
                .buckets(JITTER_BUCKETS.to_vec()),
                &["side"],
            )
            .expect(VALID),
            rtp_packets_lost: IntCounterVec::new(
                Opts::new(
                    "gateway_rtp_packets_lost_total",
                    "RTP packets lost on the way in from each party (RFC 3550 cumulative loss, counted at call end).",
                ),
                &["side"],
            )
            .expect(VALID),
            registry,
        };
        m.register_all();
        m.preinitialise();
        m
    }

    /// The one place that registers the metrics above.
    fn register_all(&self) {
        let all: [Box<dyn prometheus::core::Collector>; 39] = [
            Box::new(self.build_info.clone()),
            Box::new(self.uptime_seconds.clone()),
            Box::new(self.config_reloads.clone()),
            Box::new(self.calls.clone()),
            Box::new(self.active_calls.clone()),
            Box::new(self.call_setup_seconds.clone()),
            Box::new(self.messages.clone()),
            Box::new(self.decode_errors.clone()),
            Box::new(self.draining.clone()),
            Box::new(self.sip_registrations.clone()),
            Box::new(self.sip_auth_failures.clone()),
            Box::new(self.sip_transaction_timeouts.clone()),
            Box::new(self.sip_rate_limited.clone()),
            Box::new(self.sip_tls_handshake_failures.clone()),
            Box::new(self.sip_responses.clone()),
            Box::new(self.sip_retransmissions.clone()),
            Box::new(self.trunk_up.clone()),
            Box::new(self.sip_trunk_registered.clone()),
            Box::new(self.h245_timeouts.clone()),
            Box::new(self.h323_registered.clone()),
            Box::new(self.radius_requests.clone()),
            Box::new(self.radius_timeouts.clone()),
            Box::new(self.radius_rejects.clone()),
            Box::new(self.radius_spool_depth.clone()),
            Box::new(self.cdrs_written.clone()),
            Box::new(self.cdr_write_failures.clone()),
            Box::new(self.call_mos.clone()),
            Box::new(self.call_rtt_seconds.clone()),
            Box::new(self.call_jitter_seconds.clone()),
            Box::new(self.rtp_packets_lost.clone()),
            Box::new(self.span_up.clone()),
            Box::new(self.span_dchannel_frames.clone()),
            Box::new(self.span_hdlc_errors.clone()),
            Box::new(self.span_bchannels_in_use.clone()),
            Box::new(self.pseudowire_packets.clone()),
            Box::new(self.pseudowire_lost.clone()),
            Box::new(self.pseudowire_late.clone()),
            Box::new(self.pseudowire_underruns.clone()),
            Box::new(self.pseudowire_overruns.clone()),
        ];
        for c in all {
            // Names are distinct constants of this file; a clash is a bug caught by the tests.
            self.registry.register(c).expect("metric names are unique");
        }
    }

    /// Creates the label sets whose series should exist at 0.
    fn preinitialise(&self) {
        let commit = option_env!("GATEWAY_GIT_COMMIT").unwrap_or("unknown");
        self.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), commit])
            .set(1);
        for result in ["ok", "failed"] {
            self.config_reloads.with_label_values(&[result]);
        }
        for ingress in LEGS {
            for egress in LEGS {
                self.call_setup_seconds
                    .with_label_values(&[ingress, egress]);
                for outcome in CALL_OUTCOMES {
                    self.calls.with_label_values(&[ingress, egress, outcome]);
                }
            }
        }
        for direction in DIRECTIONS {
            for t in SIP_METHODS.iter().chain(&SIP_STATUS_CLASSES) {
                self.messages.with_label_values(&["sip", t, direction]);
            }
            for t in H225_TYPES {
                self.messages.with_label_values(&["h225", t, direction]);
            }
            for t in crate::h323::ras::LABELS {
                self.messages.with_label_values(&["ras", t, direction]);
            }
        }
        for p in PROTOCOLS {
            self.decode_errors.with_label_values(&[p]);
        }
        for t in SIP_METHODS.iter().chain(&SIP_STATUS_CLASSES) {
            self.sip_retransmissions.with_label_values(&[t]);
        }
        for timer in ["B", "F", "H"] {
            self.sip_transaction_timeouts.with_label_values(&[timer]);
        }
        for timer in ["T101", "T103", "T106", "connect"] {
            self.h245_timeouts.with_label_values(&[timer]);
        }
        for side in SIDES {
            self.call_mos.with_label_values(&[side]);
            self.call_rtt_seconds.with_label_values(&[side]);
            self.call_jitter_seconds.with_label_values(&[side]);
            self.rtp_packets_lost.with_label_values(&[side]);
        }
    }

    /// Observes a finished call's media figures (quality histograms, lost packets).
    pub fn call_media(&self, media: &crate::switch::record::MediaFigures) {
        for (side, d) in SIDES.iter().zip([media.from_caller, media.from_callee]) {
            if d.packets == 0 {
                continue;
            }
            self.call_jitter_seconds
                .with_label_values(&[side])
                .observe(f64::from(d.jitter_ms) / 1000.0);
            self.rtp_packets_lost
                .with_label_values(&[side])
                .inc_by(u64::try_from(d.lost).unwrap_or(0));
            if let Some(mos) = d.mos {
                self.call_mos.with_label_values(&[side]).observe(mos);
            }
            if let Some(rtt) = d.rtt_ms {
                self.call_rtt_seconds
                    .with_label_values(&[side])
                    .observe(f64::from(rtt) / 1000.0);
            }
        }
    }

    /// Counts one signalling message.
    pub fn message(&self, protocol: &str, kind: &str, direction: &str) {
        self.messages
            .with_label_values(&[protocol, kind, direction])
            .inc();
    }

    /// Counts one undecodable input.
    pub fn decode_error(&self, protocol: &str) {
        self.decode_errors.with_label_values(&[protocol]).inc();
    }

    /// Counts one configuration reload.
    pub fn reload(&self, ok: bool) {
        self.config_reloads
            .with_label_values(&[if ok { "ok" } else { "failed" }])
            .inc();
    }

    /// The series of span `span` (created at 0): its state, D-channel and B-channels.
    pub fn span(&self, span: &str) -> SpanMetrics {
        let frames = |d: &str| self.span_dchannel_frames.with_label_values(&[span, d]);
        let hdlc = |k: &str| self.span_hdlc_errors.with_label_values(&[span, k]);
        let up = self.span_up.with_label_values(&[span]);
        up.set(0);
        SpanMetrics {
            up,
            frames_in: frames("in"),
            frames_out: frames("out"),
            bad_fcs: hdlc("fcs"),
            aborts: hdlc("abort"),
            overruns: hdlc("overrun"),
            bchannels_in_use: self.span_bchannels_in_use.with_label_values(&[span]),
        }
    }

    /// The pseudowire series of span `span` (created at 0).
    pub fn pseudowire(&self, span: &str) -> PseudowireMetrics {
        PseudowireMetrics {
            packets_in: self.pseudowire_packets.with_label_values(&[span, "in"]),
            packets_out: self.pseudowire_packets.with_label_values(&[span, "out"]),
            lost: self.pseudowire_lost.with_label_values(&[span]),
            late: self.pseudowire_late.with_label_values(&[span]),
            underruns: self.pseudowire_underruns.with_label_values(&[span]),
            overruns: self.pseudowire_overruns.with_label_values(&[span]),
            seen: tdm::pseudowire::PwStats::default(),
        }
    }

    /// The Prometheus text exposition of every metric (format 0.0.4).
    pub fn encode(&self) -> String {
        self.uptime_seconds
            .set(self.started.elapsed().as_secs_f64());
        let mut out = String::new();
        // Encoding into a String only fails on invalid metric families, which
        // `register_all` would have refused.
        TextEncoder::new()
            .encode_utf8(&self.registry.gather(), &mut out)
            .expect("registered metrics encode");
        out
    }

    /// The registry, for collectors added by other modules later.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// One span's series, labels resolved, for its driver (cheap to clone).
#[derive(Clone)]
pub struct SpanMetrics {
    /// `gateway_span_up{span}`.
    pub up: IntGauge,
    /// `gateway_span_dchannel_frames_total{span,direction="in"}`.
    pub frames_in: IntCounter,
    /// `gateway_span_dchannel_frames_total{span,direction="out"}`.
    pub frames_out: IntCounter,
    /// `gateway_span_hdlc_errors_total{span,kind="fcs"}`.
    pub bad_fcs: IntCounter,
    /// `gateway_span_hdlc_errors_total{span,kind="abort"}`.
    pub aborts: IntCounter,
    /// `gateway_span_hdlc_errors_total{span,kind="overrun"}`.
    pub overruns: IntCounter,
    /// `gateway_span_bchannels_in_use{span}`.
    pub bchannels_in_use: IntGauge,
}

impl SpanMetrics {
    /// Series registered nowhere, for drivers started outside a daemon (tests).
    pub fn detached() -> SpanMetrics {
        Metrics::new().span("detached")
    }
}

/// One pseudowire's series; the core keeps running totals
/// ([`tdm::pseudowire::PwStats`]), [`PseudowireMetrics::update`] adds what is new.
pub struct PseudowireMetrics {
    packets_in: IntCounter,
    packets_out: IntCounter,
    lost: IntCounter,
    late: IntCounter,
    underruns: IntCounter,
    overruns: IntCounter,
    /// The totals already counted.
    seen: tdm::pseudowire::PwStats,
}

impl PseudowireMetrics {
    /// Counts what `now` has beyond the totals seen last time.
    pub fn update(&mut self, now: &tdm::pseudowire::PwStats) {
        let (old, new) = (&self.seen.rx, &now.rx);
        self.packets_in
            .inc_by(new.packets.saturating_sub(old.packets));
        self.lost.inc_by(new.lost.saturating_sub(old.lost));
        self.late.inc_by(new.late.saturating_sub(old.late));
        self.underruns
            .inc_by(new.underruns.saturating_sub(old.underruns));
        self.overruns
            .inc_by(new.overruns.saturating_sub(old.overruns));
        self.packets_out
            .inc_by(now.sent.saturating_sub(self.seen.sent));
        self.seen = *now;
    }
}

/// `expect` message for constructing a metric: names, help texts and label names are
/// constants of this file, valid by the tests below.
const VALID: &str = "metric definition is valid";

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_series_is_exposed() {
        let text = Metrics::new().encode();
        for needle in [
            "gateway_build_info{commit=",
            "gateway_uptime_seconds ",
            "gateway_config_reloads_total{result=\"ok\"} 0",
            "gateway_config_reloads_total{result=\"failed\"} 0",
            "gateway_calls_total{egress=\"tdm\",ingress=\"sip\",outcome=\"answered\"} 0",
            "gateway_active_calls 0",
            "gateway_call_setup_seconds_bucket{egress=\"sip\",ingress=\"h323\",le=\"1\"} 0",
            "gateway_messages_total{direction=\"in\",protocol=\"sip\",type=\"INVITE\"} 0",
            "gateway_messages_total{direction=\"in\",protocol=\"h225\",type=\"setup\"} 0",
            "gateway_decode_errors_total{protocol=\"sip\"} 0",
            "gateway_draining 0",
            "gateway_call_mos_count{side=\"caller\"} 0",
            "gateway_call_rtt_seconds_bucket{side=\"callee\",le=\"0.1\"} 0",
            "gateway_call_jitter_seconds_count{side=\"callee\"} 0",
            "gateway_rtp_packets_lost_total{side=\"caller\"} 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn counters_count() {
        let m = Metrics::new();
        m.message("sip", "OPTIONS", "in");
        m.decode_error("h225");
        m.reload(false);
        let text = m.encode();
        assert!(text.contains(
            "gateway_messages_total{direction=\"in\",protocol=\"sip\",type=\"OPTIONS\"} 1"
        ));
        assert!(text.contains("gateway_decode_errors_total{protocol=\"h225\"} 1"));
        assert!(text.contains("gateway_config_reloads_total{result=\"failed\"} 1"));
    }

    #[test]
    fn span_series_exist_at_zero_and_pseudowire_counts_deltas() {
        let m = Metrics::new();
        let s = m.span("e1a");
        let mut pw = m.pseudowire("e1a");
        let text = m.encode();
        for needle in [
            "gateway_span_up{span=\"e1a\"} 0",
            "gateway_span_dchannel_frames_total{direction=\"in\",span=\"e1a\"} 0",
            "gateway_span_hdlc_errors_total{kind=\"overrun\",span=\"e1a\"} 0",
            "gateway_span_bchannels_in_use{span=\"e1a\"} 0",
            "gateway_pseudowire_packets_total{direction=\"out\",span=\"e1a\"} 0",
            "gateway_pseudowire_jitter_buffer_underruns_total{span=\"e1a\"} 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        s.up.set(1);
        let mut st = tdm::pseudowire::PwStats {
            sent: 10,
            clock_jumps: 0,
            rx: tdm::pseudowire::RxStats {
                packets: 7,
                lost: 2,
                ..Default::default()
            },
        };
        pw.update(&st);
        st.sent = 15;
        st.rx.lost = 3;
        st.rx.overruns = 1;
        pw.update(&st);
        let text = m.encode();
        for needle in [
            "gateway_span_up{span=\"e1a\"} 1",
            "gateway_pseudowire_packets_total{direction=\"out\",span=\"e1a\"} 15",
            "gateway_pseudowire_packets_total{direction=\"in\",span=\"e1a\"} 7",
            "gateway_pseudowire_packets_lost_total{span=\"e1a\"} 3",
            "gateway_pseudowire_jitter_buffer_overruns_total{span=\"e1a\"} 1",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn call_media_observed() {
        use crate::switch::record::{DirectionStats, MediaFigures};
        let m = Metrics::new();
        m.call_media(&MediaFigures {
            from_caller: DirectionStats {
                packets: 300,
                lost: 15,
                jitter_ms: 9,
                rtt_ms: Some(81),
                mos: Some(3.9),
                ..DirectionStats::default()
            },
            // Nothing arrived: nothing observed.
            from_callee: DirectionStats::default(),
        });
        let text = m.encode();
        for needle in [
            "gateway_call_mos_bucket{side=\"caller\",le=\"4\"} 1",
            "gateway_call_mos_bucket{side=\"caller\",le=\"3.8\"} 0",
            "gateway_call_rtt_seconds_bucket{side=\"caller\",le=\"0.1\"} 1",
            "gateway_call_rtt_seconds_bucket{side=\"caller\",le=\"0.075\"} 0",
            "gateway_call_jitter_seconds_count{side=\"caller\"} 1",
            "gateway_call_jitter_seconds_count{side=\"callee\"} 0",
            "gateway_rtp_packets_lost_total{side=\"caller\"} 15",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn trunk_gauges_per_trunk() {
        let m = Metrics::new();
        m.trunk_up.with_label_values(&["carrier"]).set(0);
        m.sip_trunk_registered
            .with_label_values(&["carrier"])
            .set(1);
        let text = m.encode();
        assert!(text.contains("gateway_trunk_up{trunk=\"carrier\"} 0"));
        assert!(text.contains("gateway_sip_trunk_registered{trunk=\"carrier\"} 1"));
    }
}
