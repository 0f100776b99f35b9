//! Call quality from RTCP, end to end, over an impaired link: baresip A in a network
//! namespace of the test's own, joined to the root namespace by one point-to-point link
//! with 40 ± 10 ms of delay and 5 % loss each way; gatewayd and baresip B in the root
//! namespace. A calls B through the gateway; the CDR and the metrics must show the loss
//! and jitter of A's direction, the round trip of A's leg (the gateway measures it from
//! A's reports on the SRs it relays, RFC 3550 §6.4.1, without sending RTCP itself), and a
//! clean direction from B.
//!
//! The impairment is `tc qdisc … netem` on a veth pair when the kernel has netem; kernels
//! built without it (CONFIG_NET_SCH_NETEM unset and no modules, as on the CI machines) get
//! the same impairment from `tests/netem/impair.py`, which joins two TUN devices and delays
//! or drops each packet in user space. The link's addresses (10.213.x.1/30 and .2) exist
//! only on that link, and the impairer passes nothing but packets between them: no traffic
//! leaves the machine. The namespace and the link are removed when the test ends, panics
//! included.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::baresip::{AnswerMode, Baresip, BaresipOptions, peers_available};
use support::{Daemon, Ports, WAIT, free_port, metric};

/// One-way delay, jitter (uniform, ±) and loss of the impaired link, in each direction.
const DELAY_MS: u32 = 40;
const JITTER_MS: u32 = 10;
const LOSS_PCT: u32 = 5;

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
/// baresip reports every 5 s, so a leg's round trip needs an SR relayed to it and its
/// next report coming back, each crossing the lossy link (a 10 % chance that a given pair
/// fails); 21 s gives A three such pairs, so the round trip is missing about once in a
/// thousand runs.
const TALK: Duration = Duration::from_secs(21);

/// Call set-up crosses the lossy link (SIP retransmits after 500 ms): a longer bound.
const SETUP_WAIT: Duration = Duration::from_secs(20);

/// Runs `program args`, bounded by [`WAIT`]; its stderr on failure.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let status = support::wait_exit(&mut child);
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    Err(format!(
        "{program} {}: {status}: {}",
        args.join(" "),
        err.trim()
    ))
}

/// A network namespace with one impaired point-to-point link to the root namespace.
/// Dropping it stops the impairer and deletes the link and the namespace.
struct ImpairedLink {
    netns: String,
    root_if: String,
    /// The user-space impairer and its stdin (closing it stops the impairer).
    impairer: Option<(Child, ChildStdin)>,
    /// Our end of the link (root namespace).
    local: Ipv4Addr,
    /// The namespace's end.
    peer: Ipv4Addr,
    /// "netem" or "user space".
    how: &'static str,
}

impl ImpairedLink {
    fn create() -> ImpairedLink {
        let pid = std::process::id();
        let n = u8::try_from(pid % 250).expect("below 250");
        let netns = format!("gwq-{pid}");
        run("ip", &["netns", "add", &netns])
            .unwrap_or_else(|e| panic!("cannot create a network namespace (root needed): {e}"));
        let mut link = ImpairedLink {
            netns,
            root_if: format!("gwq{pid}r"),
            impairer: None,
            local: Ipv4Addr::new(10, 213, n, 1),
            peer: Ipv4Addr::new(10, 213, n, 2),
            how: "",
        };
        let ns_if = format!("gwq{pid}n");
        link.ns(&["ip", "link", "set", "lo", "up"]);
        link.how = if link.try_netem(&ns_if) {
            "netem"
        } else {
            link.start_impairer(&ns_if);
            "user space"
        };
        let local = format!("{}/30", link.local);
        let peer = format!("{}/30", link.peer);
        run("ip", &["addr", "add", &local, "dev", &link.root_if]).expect("address our end");
        run("ip", &["link", "set", &link.root_if, "up"]).expect("link up");
        link.ns(&["ip", "addr", "add", &peer, "dev", &ns_if]);
        link.ns(&["ip", "link", "set", &ns_if, "up"]);
        link
    }

    /// Runs a command inside the namespace; it must succeed.
    fn ns(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", self.netns.as_str()];
        all.extend_from_slice(args);
        run("ip", &all).unwrap_or_else(|e| panic!("in {}: {e}", self.netns));
    }

    /// A veth pair with netem on both ends; false (and no pair) when the kernel has no
    /// netem.
    fn try_netem(&self, ns_if: &str) -> bool {
        let pair = [
            "link",
            "add",
            &self.root_if,
            "type",
            "veth",
            "peer",
            "name",
            ns_if,
            "netns",
            &self.netns,
        ];
        if let Err(e) = run("ip", &pair) {
            eprintln!("no veth pair ({e}); impairing in user space");
            return false;
        }
        let delay = format!("{DELAY_MS}ms");
        let jitter = format!("{JITTER_MS}ms");
        let loss = format!("{LOSS_PCT}%");
        let netem = ["root", "netem", "delay", &delay, &jitter, "loss", &loss];
        let ours: Vec<&str> = ["qdisc", "add", "dev", &self.root_if]
            .into_iter()
            .chain(netem)
            .collect();
        let theirs: Vec<&str> = [
            "netns",
            "exec",
            &self.netns,
            "tc",
            "qdisc",
            "add",
            "dev",
            ns_if,
        ]
        .into_iter()
        .chain(netem)
        .collect();
        match run("tc", &ours).and_then(|()| run("ip", &theirs)) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("no netem ({e}); impairing in user space");
                let _ = run("ip", &["link", "del", &self.root_if]);
                false
            }
        }
    }

    /// Starts tests/netem/impair.py and waits (bounded) until its devices exist.
    fn start_impairer(&mut self, ns_if: &str) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/netem/impair.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([&self.root_if, ns_if, &self.netns])
            .arg(self.local.to_string())
            .arg(self.peer.to_string())
            .args([DELAY_MS, JITTER_MS, LOSS_PCT, std::process::id()].map(|x| x.to_string()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run python3 tests/netem/impair.py");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        self.impairer = Some((child, stdin));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(WAIT).unwrap_or_default();
        assert_eq!(line.trim(), "ready", "impair.py did not start");
    }
}

impl Drop for ImpairedLink {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.impairer.take() {
            drop(stdin);
            let _ = child.kill();
            let _ = child.wait();
        }
        // TUN devices go with the impairer; a veth pair goes with either end.
        let _ = run("ip", &["link", "del", &self.root_if]);
        let _ = run("ip", &["netns", "del", &self.netns]);
    }
}

fn config(ports: Ports, gw_ip: Ipv4Addr, caller: Ipv4Addr, callee: std::net::SocketAddr) -> String {
    format!(
        "general:\n  node_name: e2e\n  drain_timeout_seconds: 5\n\
         listeners:\n  sip:\n    - {{ transport: udp, address: \"{gw_ip}:{s}\" }}\n  \
         h225:\n    - address: \"127.0.0.1:{h}\"\n\
         metrics:\n  listen: \"127.0.0.1:{m}\"\n\
         cdr:\n  directory: \"cdr\"\n  formats: [csv, jsonl]\n\
         media:\n  rtp_port_range: \"14000-15999\"\n  codecs: [PCMU]\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}:5060\" }}\n\
         \x20 - {{ name: far, kind: sip, remote: \"{callee}\" }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: far, match: {{called: {{prefix: \"9\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [far] }}\n",
        s = ports.sip,
        h = ports.h225,
        m = ports.metrics,
    )
}

fn number(r: &serde_json::Value, key: &str) -> f64 {
    r[key]
        .as_f64()
        .unwrap_or_else(|| panic!("CDR has no number `{key}`: {r}"))
}

#[test]
fn impaired_leg_shows_in_rtcp_figures_cdr_and_metrics() {
    if !peers_available(
        "impaired_leg_shows_in_rtcp_figures_cdr_and_metrics",
        &["baresip", "sox", "ip", "python3"],
    ) {
        return;
    }
    // Declared first, dropped last: the user agents stop before their link goes.
    let link = ImpairedLink::create();
    eprintln!(
        "impaired link {} <-> {} ({}) in {}",
        link.local, link.peer, link.how, link.netns
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMU")
            .tone(1000.0),
    );
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU")
            .tone(440.0)
            .netns(&link.netns, link.peer),
    );
    let ports = Ports {
        sip: 5060,
        h225: free_port(),
        metrics: free_port(),
    };
    let gw = Daemon::start_with(ports, &config(ports, link.local, link.peer, b.sip_addr()));
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- B log:\n{}\n--- gatewayd log:\n{}",
            a.log(),
            b.log(),
            gw.log_text()
        )
    };

    a.dial(&format!("sip:95000@{}:{}", link.local, ports.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], SETUP_WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    b.wait_event("CALL_ESTABLISHED", SETUP_WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    b.wait_event("CALL_CLOSED", SETUP_WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));

    let cdrs = gw.wait_cdrs(1);
    let r = &cdrs[0];
    eprintln!("CDR: {r}");
    assert!(r["answer"].is_string(), "{r}");
    // A's direction came through the impairment: loss and jitter. 5 % of ~600 packets
    // is ~30; 5 is far out in the tail.
    let caller_lost = number(r, "caller_lost");
    assert!(caller_lost >= 5.0, "caller_lost {caller_lost}: {r}");
    assert!(number(r, "caller_jitter_ms") >= 1.0, "{r}");
    // B's direction reached the gateway over loopback: nothing lost.
    assert!(number(r, "callee_packets") >= 400.0, "{r}");
    assert!(number(r, "callee_lost") <= 1.0, "{r}");
    // A's leg: the round trip is 80 ± 20 ms (two passes of 40 ± 10 ms), never below 60;
    // measured from A's RRs on B's SRs the gateway relayed.
    let rtt = number(r, "caller_rtt_ms");
    assert!((60.0..=250.0).contains(&rtt), "caller_rtt_ms {rtt}: {r}");
    assert!(number(r, "caller_rtt_max_ms") >= rtt, "{r}");
    // A reports the loss of what we send it (B's audio crossed the lossy link to A).
    assert!(number(r, "caller_remote_lost") >= 1.0, "{r}");
    // B's leg is loopback.
    if let Some(rtt) = r["callee_rtt_ms"].as_f64() {
        assert!(rtt < 30.0, "callee_rtt_ms {rtt}: {r}");
    }
    // E-model: both directions cross the lossy link (A's on its way in, B's on its way
    // out to A), so both rate well below a clean call's 4.41.
    for key in ["caller_mos", "callee_mos"] {
        let mos = number(r, key);
        assert!((2.5..4.25).contains(&mos), "{key} {mos}: {r}");
    }
    // The same record in the CSV file.
    assert_eq!(gw.cdr_lines("csv").len(), 1);

    let text = gw.wait_metrics("the call's quality samples", |m| {
        metric(m, "gateway_call_mos_count", &[("side", "caller")]).is_some_and(|n| n >= 1.0)
    });
    let sample = |name: &str, side: &str| metric(&text, name, &[("side", side)]).unwrap_or(-1.0);
    assert_eq!(sample("gateway_call_mos_count", "callee"), 1.0, "{text}");
    assert_eq!(
        sample("gateway_call_rtt_seconds_count", "caller"),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample("gateway_call_jitter_seconds_count", "caller"),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample("gateway_rtp_packets_lost_total", "caller"),
        caller_lost,
        "{text}"
    );
    assert!(
        sample("gateway_rtp_packets_lost_total", "callee") <= 1.0,
        "{text}"
    );
    let fast = metric(
        &text,
        "gateway_call_rtt_seconds_bucket",
        &[("side", "caller"), ("le", "0.05")],
    );
    assert_eq!(fast, Some(0.0), "A's round trip is above 50 ms: {text}");
}
