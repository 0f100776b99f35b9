//! End-to-end tests of `gatewayd run`: the real binary on free loopback ports, driven by
//! SIP, TPKT and HTTP clients and by signals sent to its pid only.

mod gatewayd_support;

use gatewayd_support::{
    Daemon, Ports, connect, header, http_get, metric, options, sip_tcp, sip_udp, udp_send,
    write_file,
};
use mapping::q931::{Dialect, Message, MessageType};
use nix::sys::signal::Signal;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};

/// Every metric the issue requires.
const REQUIRED: [&str; 11] = [
    "gateway_build_info",
    "gateway_uptime_seconds",
    "gateway_config_reloads_total",
    "gateway_calls_total",
    "gateway_active_calls",
    "gateway_call_setup_seconds",
    "gateway_messages_total",
    "gateway_decode_errors_total",
    "gateway_draining",
    "gateway_sip_retransmissions_total",
    "gateway_sip_rate_limited_total",
];

fn sip_in(text: &str, kind: &str) -> f64 {
    let labels = [("protocol", "sip"), ("type", kind), ("direction", "in")];
    metric(text, "gateway_messages_total", &labels).expect("series exists")
}

fn sip_out(text: &str, kind: &str) -> f64 {
    let labels = [("protocol", "sip"), ("type", kind), ("direction", "out")];
    metric(text, "gateway_messages_total", &labels).expect("series exists")
}

fn decode_errors(text: &str, protocol: &str) -> f64 {
    metric(
        text,
        "gateway_decode_errors_total",
        &[("protocol", protocol)],
    )
    .expect("series exists")
}

fn reloads(text: &str, result: &str) -> f64 {
    metric(text, "gateway_config_reloads_total", &[("result", result)]).expect("series exists")
}

/// Asserts `answer` is the 200 to the OPTIONS `call_id`/`cseq` (RFC 3261 §11.2,
/// §8.2.6): transaction headers copied, a To tag, what we allow.
fn assert_options_ok(answer: &str, call_id: &str, cseq: u32) {
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    assert_eq!(header(answer, "Call-ID"), Some(call_id), "{answer}");
    assert_eq!(
        header(answer, "CSeq"),
        Some(&*format!("{cseq} OPTIONS")),
        "{answer}"
    );
    assert!(
        header(answer, "To").is_some_and(|t| t.contains(";tag=")),
        "{answer}"
    );
    assert!(
        header(answer, "Allow").is_some_and(|a| a.contains("INVITE")),
        "{answer}"
    );
    assert_eq!(header(answer, "Content-Length"), Some("0"), "{answer}");
}

/// tshark, an independent decoder, reads what the gateway sent as an H.225.0
/// releaseComplete (h323_message_body 5) with no malformed frame or error. The TPKT is
/// wrapped into a TCP segment from port 1720 by text2pcap (wireshark-common).
fn assert_tshark_reads_release_complete(tpkt: &[u8]) {
    use std::process::Command;
    let dir = tempfile::tempdir().expect("temp dir");
    let (txt, pcap) = (dir.path().join("rc.txt"), dir.path().join("rc.pcap"));
    let mut dump = String::new();
    for (i, chunk) in tpkt.chunks(16).enumerate() {
        dump.push_str(&format!("{:06x}", i * 16));
        for b in chunk {
            dump.push_str(&format!(" {b:02x}"));
        }
        dump.push('\n');
    }
    std::fs::write(&txt, dump).expect("write hex dump");
    let ok = Command::new("text2pcap")
        .args(["-q", "-T", "1720,40000"])
        .arg(&txt)
        .arg(&pcap)
        .status()
        .expect("text2pcap is installed with tshark (./tests/run.sh)")
        .success();
    assert!(ok, "text2pcap failed");
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&pcap)
        .args([
            "-T",
            "fields",
            "-e",
            "h225.h323_message_body",
            "-e",
            "_ws.malformed",
        ])
        .args(["-e", "_ws.expert.severity"])
        .output()
        .expect("tshark is installed (./tests/run.sh)");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.trim_end().split('\t').collect();
    assert_eq!(fields.first(), Some(&"5"), "releaseComplete: {text}");
    assert!(
        fields.iter().skip(1).all(|f| f.is_empty()),
        "tshark flags the gateway's RELEASE COMPLETE: {text}"
    );
}

/// A TPKT-framed H.225.0 Setup to 1000 (Q.931 SETUP with an H.323-UserInformation).
fn h225_setup() -> Vec<u8> {
    use gateway::h323::{uuie, without_calls::tpkt};
    use h323_asn1::h225::{
        H323UUPDUH323MessageBody, call_identifier, conference_identifier, setup_uuie,
        terminal_endpoint, user_information,
    };
    use mapping::number::{Digits, PartyNumber};
    use mapping::q931::CallReference;
    use mapping::q931::ies::{BearerCapability, Layer1Protocol, TransferCapability};
    let called = PartyNumber::unknown(Digits::new("1000").expect("digits"));
    let bearer =
        BearerCapability::circuit_64k(TransferCapability::SPEECH, Some(Layer1Protocol::G711_ULAW));
    let mut m = Message::setup(
        Dialect::H225,
        CallReference::pri(77, false),
        &bearer,
        &called,
        None,
    )
    .expect("fits");
    let body = setup_uuie(
        terminal_endpoint(),
        conference_identifier([1; 16]),
        call_identifier([2; 16]),
    );
    let info = user_information(H323UUPDUH323MessageBody::setup(body), false);
    uuie::attach(&mut m, &info).expect("encodes");
    tpkt(&m.encode())
}

#[test]
fn serves_metrics_answers_sip_counts_and_stops_on_sigterm() {
    let (mut d, ports, _config) = Daemon::start(&["--log-format", "json"]);

    let text = d.metrics();
    for name in REQUIRED {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
    }
    assert_eq!(metric(&text, "gateway_draining", &[]), Some(0.0));
    assert_eq!(metric(&text, "gateway_active_calls", &[]), Some(0.0));
    assert_eq!(http_get(ports.metrics, "/nope").expect("GET").0, 404);

    // SIP OPTIONS over UDP and TCP: 200 with the transaction headers copied.
    let answer = sip_udp(ports.sip, options("UDP", "udp-call-1", 11).as_bytes());
    assert_options_ok(&answer, "udp-call-1", 11);
    let answer = sip_tcp(ports.sip, options("TCP", "tcp-call-2", 22).as_bytes()).expect("tcp");
    assert_options_ok(&answer, "tcp-call-2", 22);
    // Counted before the answer was sent.
    let text = d.metrics();
    assert_eq!(sip_in(&text, "OPTIONS"), 2.0, "{text}");
    assert_eq!(sip_out(&text, "2xx"), 2.0, "{text}");
    assert_eq!(
        metric(
            &text,
            "gateway_sip_responses_total",
            &[("code", "200"), ("direction", "out")]
        ),
        Some(2.0),
        "{text}"
    );

    // Garbage over UDP: a decode error, no answer.
    udp_send(ports.sip, b"\x00\x01 this is not SIP \xff\r\n\r\n");
    d.wait_metrics("a SIP decode error", |t| decode_errors(t, "sip") == 1.0);

    // H.225.0: a Setup from a peer no H.323 trunk names is decoded, counted and refused
    // with RELEASE COMPLETE (cause 21, call rejected); a non-TPKT stream is a decode error
    // and closed.
    let mut h225 = connect(ports.h225).expect("connect H.225.0");
    h225.write_all(&h225_setup()).expect("write Setup");
    let mut head = [0u8; 4];
    h225.read_exact(&mut head).expect("an answer");
    assert_eq!(&head[..2], &[3, 0], "TPKT");
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([head[2], head[3]])) - 4];
    h225.read_exact(&mut body).expect("the whole answer");
    let rc = Message::decode(&body, Dialect::H225).expect("Q.931 decodes");
    assert_eq!(rc.msg_type, MessageType::RELEASE_COMPLETE);
    assert_eq!(rc.cause().map(|c| c.value.0), Some(21));
    let mut tpkt = head.to_vec();
    tpkt.extend_from_slice(&body);
    assert_tshark_reads_release_complete(&tpkt);
    d.wait_metrics("an H.225.0 Setup", |t| {
        metric(
            t,
            "gateway_messages_total",
            &[("protocol", "h225"), ("type", "setup"), ("direction", "in")],
        ) == Some(1.0)
    });
    let mut bad = connect(ports.h225).expect("connect H.225.0");
    bad.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .expect("write garbage");
    let mut rest = Vec::new();
    match bad.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "nothing answered"),
        Err(e) => assert_eq!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset,
            "closed, not timed out"
        ),
    }
    d.wait_metrics("an H.225.0 decode error", |t| {
        decode_errors(t, "h225") == 1.0
    });

    // Logs are JSON lines.
    let log = d.log_text();
    let ready = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON log line"))
        .find(|v| v["message"] == "gatewayd ready");
    assert!(ready.is_some(), "{log}");

    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit().success(), "exit 0 after SIGTERM");
    assert!(d.log_text().contains("gatewayd stopped"));
}

#[test]
fn sighup_reloads_refuses_bad_files_and_rebinds_changed_listeners() {
    let (mut d, ports, config) = Daemon::start(&[]);

    // A bad file is refused; the daemon keeps serving the old configuration.
    std::fs::write(&config, "listeners: [this is not a mapping\n").expect("write");
    d.signal(Signal::SIGHUP);
    d.wait_metrics("a failed reload", |t| reloads(t, "failed") == 1.0);
    assert_eq!(http_get(ports.metrics, "/healthz").expect("GET").0, 200);
    let answer =
        sip_tcp(ports.sip, options("TCP", "after-bad-reload", 1).as_bytes()).expect("old port");
    assert_options_ok(&answer, "after-bad-reload", 1);
    assert_eq!(reloads(&d.metrics(), "ok"), 0.0);
    assert!(d.log_text().contains("reload refused"), "{}", d.log_text());

    // A good file with a new SIP port: the SIP listeners move, the others stay.
    let moved = Ports {
        sip: gatewayd_support::free_port(),
        ..ports
    };
    std::fs::write(&config, moved.config()).expect("write");
    d.signal(Signal::SIGHUP);
    d.wait_metrics("a successful reload", |t| reloads(t, "ok") == 1.0);
    let answer =
        sip_tcp(moved.sip, options("TCP", "after-good-reload", 2).as_bytes()).expect("new port");
    assert_options_ok(&answer, "after-good-reload", 2);
    let answer = sip_udp(
        moved.sip,
        options("UDP", "after-good-reload-udp", 3).as_bytes(),
    );
    assert_options_ok(&answer, "after-good-reload-udp", 3);
    assert!(
        connect(ports.sip).is_err(),
        "the old SIP/TCP listener is closed once the reload is counted"
    );
    assert_eq!(reloads(&d.metrics(), "failed"), 1.0);

    d.signal(Signal::SIGINT);
    assert!(d.wait_exit().success(), "exit 0 after SIGINT");
}

#[test]
fn garbage_over_tcp_is_a_decode_error_and_closes() {
    let (mut d, ports, _config) = Daemon::start(&[]);
    // No Content-Length on a stream (RFC 3261 §18.3): 400, then the connection closes.
    let request = options("TCP", "no-length", 5).replace("Content-Length: 0\r\n", "");
    let answer = sip_tcp(ports.sip, request.as_bytes()).expect("tcp");
    assert!(
        answer.starts_with("SIP/2.0 400 Missing Content-Length\r\n"),
        "{answer}"
    );
    assert_eq!(header(&answer, "Call-ID"), Some("no-length"));
    let text = d.metrics();
    assert_eq!(decode_errors(&text, "sip"), 1.0, "{text}");
    assert_eq!(sip_out(&text, "4xx"), 1.0, "{text}");
    assert_eq!(
        metric(
            &text,
            "gateway_sip_responses_total",
            &[("code", "400"), ("direction", "out")]
        ),
        Some(1.0),
        "{text}"
    );

    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit().success());
}

/// Mirrors the README's run command: the embedded default on 127.0.0.1:5060/1720/9464,
/// only when those ports are free (a developer may be running the daemon).
#[test]
fn embedded_default_when_its_ports_are_free() {
    let free = TcpListener::bind((Ipv4Addr::LOCALHOST, 5060)).is_ok()
        && UdpSocket::bind((Ipv4Addr::LOCALHOST, 5060)).is_ok()
        && TcpListener::bind((Ipv4Addr::LOCALHOST, 1720)).is_ok()
        && TcpListener::bind((Ipv4Addr::LOCALHOST, 9464)).is_ok();
    if !free {
        eprintln!("SKIPPED: 127.0.0.1:5060/1720/9464 in use");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut d = Daemon::spawn(dir.path(), 9464, &[]);
    d.wait_ready();
    let answer = sip_udp(5060, options("UDP", "default-config", 9).as_bytes());
    assert_options_ok(&answer, "default-config", 9);
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit().success());
}

#[test]
fn no_redact_and_short_options() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = Ports::free();
    let config = write_file(dir.path(), "gateway.yaml", &ports.config());
    let mut d = Daemon::spawn(
        dir.path(),
        ports.metrics,
        &[
            "-c",
            config.to_str().expect("utf-8"),
            "--no-redact",
            "--log-level",
            "debug",
        ],
    );
    d.wait_ready();
    assert!(
        d.log_text().contains("redact_numbers=false"),
        "{}",
        d.log_text()
    );
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit().success());
}

/// `general.capture_file` starts a capture without the command-line flag: an OPTIONS
/// exchange lands in it and `gatewayd replay` reads it back.
#[test]
fn capture_file_from_the_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = Ports::free();
    let cap = dir.path().join("from-config.pcapng");
    let config = ports.config().replacen(
        "general:\n",
        &format!("general:\n  capture_file: \"{}\"\n", cap.display()),
        1,
    );
    let config = write_file(dir.path(), "gateway.yaml", &config);
    let mut d = Daemon::spawn(
        dir.path(),
        ports.metrics,
        &["-c", config.to_str().expect("utf-8")],
    );
    d.wait_ready();
    let answer = sip_udp(ports.sip, options("UDP", "cap-1", 1).as_bytes());
    assert_options_ok(&answer, "cap-1", 1);
    d.signal(Signal::SIGTERM);
    assert!(d.wait_exit().success(), "{}", d.log_text());
    let text = gatewayd_support::replay(&config, &cap);
    assert!(text.contains("<- SIP/UDP OPTIONS"), "{text}");
    assert!(text.contains("-> SIP SIP/2.0 200"), "{text}");
}
