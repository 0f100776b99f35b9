//! SIP over TLS (RFC 3261 §26.2.1) with baresip on both ends, audio checked by tone
//! frequency. The test makes a CA and two certificates for 127.0.0.x; gatewayd has a
//! `tls` listener with one and checks baresip B's against the CA (`tls_ca_file`);
//! baresip trusts the CA for the gateway's.
//! - baresip A -> gatewayd over TLS -> the built-in tone endpoint (TLS server side);
//! - baresip A -> gatewayd -> baresip B, both legs over TLS (the gateway also opens a
//!   TLS connection and verifies B's certificate by IP address);
//! - a trunk whose CA does not sign B's certificate: the handshake fails, the call is
//!   refused with 503 and the failure is counted.

#[path = "gatewayd_support/mod.rs"]
mod support;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::audio::{check_tone, make_tone};
use support::baresip::{AnswerMode, Baresip, BaresipOptions, event_param, peers_available};
use support::{Daemon, Ports, WAIT, free_port, metric};

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
const TALK: Duration = Duration::from_millis(2500);

/// A CA and the files made with it.
struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new(dir: &Path, name: &str) -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).expect("CA certificate");
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).expect("pki dir");
        std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write CA");
        Pki { dir, ca, ca_key }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A leaf for `ip`, signed by the CA: (certificate file, key file, both in one).
    fn leaf(&self, name: &str, ip: &str) -> (PathBuf, PathBuf, PathBuf) {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(vec![ip.to_owned()]).expect("leaf params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ip.to_owned());
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .expect("leaf certificate");
        let (c, k, both) = (
            self.dir.join(format!("{name}.crt")),
            self.dir.join(format!("{name}.key")),
            self.dir.join(format!("{name}.pem")),
        );
        std::fs::write(&c, cert.pem()).expect("write cert");
        std::fs::write(&k, key.serialize_pem()).expect("write key");
        std::fs::write(&both, format!("{}{}", cert.pem(), key.serialize_pem())).expect("write pem");
        (c, k, both)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A config with a TLS listener on `tls_port`, trunk `phones` for A (baresip opens its
/// TLS connection from 127.0.0.1, whatever its listen address: the trunk names both), the tone endpoint on `1…`, and `9…` to B
/// over TLS trusting `trunk_ca`.
fn config(
    ports: Ports,
    tls_port: u16,
    gw_cert: &(PathBuf, PathBuf, PathBuf),
    caller: SocketAddr,
    callee: SocketAddr,
    trunk_ca: &Path,
) -> String {
    let tcp = format!(
        "    - {{ transport: tcp, address: \"127.0.0.1:{}\" }}\n",
        ports.sip
    );
    let tls = format!(
        "    - {{ transport: tls, address: \"127.0.0.1:{tls_port}\", \
         tls: {{ certificate: \"{}\", private_key: \"{}\" }} }}\n",
        path(&gw_cert.0),
        path(&gw_cert.1)
    );
    let mut c = ports.config().replace(&tcp, &format!("{tcp}{tls}"));
    c.push_str("media:\n  rtp_port_range: \"16000-16999\"\n");
    c.push_str(&format!(
        "trunks:\n  - {{ name: phones, kind: sip, remote: [\"{caller}\", \"127.0.0.1:5061\"] }}\n\
         \x20 - {{ name: tone, kind: local, answer: tone, tone_hz: 1200, ring_ms: 200 }}\n\
         \x20 - {{ name: far, kind: sip, remote: \"{callee}\", transport: tls, \
         tls_ca_file: \"{}\" }}\n",
        path(trunk_ca)
    ));
    c.push_str(
        "routes:\n  default:\n\
         \x20   - { name: tone, match: {called: {prefix: \"1\"}}, egress: [tone] }\n\
         \x20   - { name: far, match: {called: {prefix: \"9\"}}, rewrite: {called: {strip: 1}}, egress: [far] }\n",
    );
    c
}

fn baresip(dir: &Path, user: &str, pem: &Path, ca: &Path, mode: AnswerMode, hz: f64) -> Baresip {
    let wav = dir.join(format!("tone{hz}.wav"));
    make_tone(&wav, hz, 30.0);
    Baresip::start(
        &dir.join(user),
        BaresipOptions::new(user)
            .answer(mode)
            .codecs("PCMU,PCMA")
            .wav(&wav)
            .config_line(&format!("sip_certificate\t{}", path(pem)))
            .config_line(&format!("sip_cafile\t{}", path(ca))),
    )
}

struct Setup {
    _dir: tempfile::TempDir,
    a: Baresip,
    b: Baresip,
    gw: Daemon,
    tls_port: u16,
}

impl Setup {
    fn new(trunk_trusts_b: bool) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = Pki::new(dir.path(), "good");
        let other = Pki::new(dir.path(), "other");
        let gw_cert = pki.leaf("gateway", "127.0.0.1");
        let b = {
            let ip = support::baresip::next_loopback_ip();
            let (_, _, pem) = pki.leaf("b", &ip.to_string());
            let wav = dir.path().join("b1000.wav");
            make_tone(&wav, 1000.0, 30.0);
            Baresip::start(
                &dir.path().join("b"),
                BaresipOptions::new("5000")
                    .ip(ip)
                    .answer(AnswerMode::Auto)
                    .codecs("PCMU,PCMA")
                    .wav(&wav)
                    .config_line(&format!("sip_certificate\t{}", path(&pem)))
                    .config_line(&format!("sip_cafile\t{}", path(&pki.ca_file()))),
            )
        };
        let (_, _, a_pem) = pki.leaf("a", "127.0.0.1");
        let a = baresip(
            dir.path(),
            "2000",
            &a_pem,
            &pki.ca_file(),
            AnswerMode::Manual,
            440.0,
        );
        let ports = Ports::free();
        let tls_port = loop {
            let p = free_port();
            if p != ports.sip && p != ports.h225 && p != ports.metrics {
                break p;
            }
        };
        let trunk_ca = if trunk_trusts_b {
            pki.ca_file()
        } else {
            other.ca_file()
        };
        let gw = Daemon::start_with(
            ports,
            &config(
                ports,
                tls_port,
                &gw_cert,
                a.sip_addr(),
                b.sip_tls_addr(),
                &trunk_ca,
            ),
        );
        Setup {
            _dir: dir,
            a,
            b,
            gw,
            tls_port,
        }
    }

    fn logs(&self) -> String {
        format!(
            "\n--- A log:\n{}\n--- B log:\n{}\n--- gatewayd log:\n{}",
            self.a.log(),
            self.b.log(),
            self.gw.log_text()
        )
    }

    fn dial(&self, number: &str) -> serde_json::Value {
        self.a
            .dial(&format!(
                "sip:{number}@127.0.0.1:{};transport=tls",
                self.tls_port
            ))
            .unwrap_or_else(|e| panic!("dial: {e}{}", self.logs()));
        self.a
            .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", self.logs()))
    }
}

#[test]
fn calls_over_tls_both_ways_with_audio() {
    if !peers_available("calls_over_tls_both_ways_with_audio", &["baresip", "sox"]) {
        return;
    }
    let s = Setup::new(true);

    // 1: A over TLS to the tone endpoint.
    let ev = s.dial("1000");
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", s.logs());
    std::thread::sleep(TALK);
    s.a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", s.logs()));
    s.a.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", s.logs()));
    let (a_dec, _) =
        s.a.wait_recordings(WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", s.logs()));
    let heard = check_tone(&a_dec, 1200.0, 10.0).unwrap_or_else(|e| panic!("{e}{}", s.logs()));
    assert!(heard.active.1 - heard.active.0 >= 2.0, "{heard}");
    let cdrs = s.gw.wait_cdrs(1);
    assert_eq!(cdrs[0]["ingress_trunk"], "phones", "{}", cdrs[0]);
    std::fs::remove_dir_all(s.a.dir().join("rec")).expect("clear recordings");
    std::fs::create_dir_all(s.a.dir().join("rec")).expect("recordings dir");

    // 2: A -> gateway -> B, both legs TLS; B hangs up.
    let ev = s.dial("95000");
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", s.logs());
    s.b.wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", s.logs()));
    std::thread::sleep(TALK);
    s.b.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", s.logs()));
    s.a.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", s.logs()));
    let (a_dec, _) =
        s.a.wait_recordings(WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", s.logs()));
    let (b_dec, _) =
        s.b.wait_recordings(WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", s.logs()));
    let a_heard = check_tone(&a_dec, 1000.0, 10.0).unwrap_or_else(|e| panic!("A: {e}{}", s.logs()));
    let b_heard = check_tone(&b_dec, 440.0, 10.0).unwrap_or_else(|e| panic!("B: {e}{}", s.logs()));
    for r in [&a_heard, &b_heard] {
        assert!(r.active.1 - r.active.0 >= 2.0, "{r}");
    }
    let cdrs = s.gw.wait_cdrs(2);
    let r = &cdrs[1];
    assert_eq!(r["egress_trunk"], "far", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    assert_eq!(r["initiator"], "callee", "{r}");
    let m = s.gw.metrics();
    assert_eq!(
        metric(&m, "gateway_sip_tls_handshake_failures_total", &[]),
        Some(0.0),
        "{m}"
    );
}

#[test]
fn untrusted_callee_certificate_fails_the_call() {
    if !peers_available(
        "untrusted_callee_certificate_fails_the_call",
        &["baresip", "sox"],
    ) {
        return;
    }
    let s = Setup::new(false);
    let ev = s.dial("95000");
    assert_eq!(ev["type"], "CALL_CLOSED", "{ev}{}", s.logs());
    assert!(event_param(&ev).starts_with("503"), "{ev}{}", s.logs());
    assert!(
        s.b.events().iter().all(|e| e["type"] != "CALL_INCOMING"),
        "B was never reached{}",
        s.logs()
    );
    s.gw.wait_metrics("a failed TLS handshake", |m| {
        metric(m, "gateway_sip_tls_handshake_failures_total", &[]).is_some_and(|v| v >= 1.0)
    });
    let cdrs = s.gw.wait_cdrs(1);
    assert!(cdrs[0].get("answer").is_none(), "{}", cdrs[0]);
}
