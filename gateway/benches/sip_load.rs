//! Load driver (run on demand, prints figures; no assertions on timing):
//!
//! ```text
//! cargo bench -p gateway --bench sip_load                       # defaults below
//! LOAD_HAIRPIN=1 cargo bench -p gateway --bench sip_load        # through SIP->H.323->echo
//! LOAD_CALLS=2000 LOAD_RATE=200 LOAD_HOLD_MS=0 cargo bench -p gateway --bench sip_load
//! LOAD_CALLS=300 LOAD_RATE=50 LOAD_HOLD_MS=20000 LOAD_RTP=1 cargo bench -p gateway --bench sip_load
//! ```
//!
//! Starts the release-built `gatewayd` on loopback with a route to its built-in echo
//! endpoint and drives SIP calls at it from one UDP socket: INVITE (with SDP) -> 200 ->
//! ACK, hold, BYE -> 200. With `LOAD_RTP=1` every call sends 20 ms G.711 packets for the
//! hold time, and the gateway echoes them (media both ways through its relay task).
//!
//! With `LOAD_HAIRPIN=1` a second gatewayd (B) holds the echo endpoint and the first
//! (A) routes every call to it over H.323 (fast start): each call is SIP -> H.323 ->
//! endpoint, the figures cover both processes.
//!
//! Prints: calls attempted / answered / failed, achieved setup rate, setup latency
//! percentiles (INVITE -> 200), peak concurrent calls, gatewayd CPU seconds and resident
//! memory (and its growth per concurrent call), RTP packets sent and echoed back.

use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

struct Gateway {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_figures(pid: u32) -> (f64, u64) {
    // /proc/<pid>/stat fields 14 and 15: utime, stime in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks as f64 / 100.0, rss_kib)
}

/// What a gatewayd of the run does.
enum Role {
    /// Answers every call with its echo endpoint.
    Echo,
    /// Routes every SIP call over H.323 to the gateway at this H.225.0 port.
    ToH323 { h225: u16, peer_h225: u16 },
    /// Answers H.323 calls from the gateway at `peer_h225` with its echo endpoint.
    FromH323 { h225: u16, peer_h225: u16 },
}

fn start_gateway(sip: u16, metrics: u16, role: Role, media: &str) -> Gateway {
    let dir = tempfile::tempdir().expect("temp dir");
    let (h225, trunks) = match role {
        Role::Echo => (
            String::new(),
            "  - {name: load, kind: sip, remote: \"127.0.0.1:5999\"}\n  \
             - {name: echo, kind: local, answer: echo}\n\
             routes:\n  default:\n    - {name: echo, egress: [echo]}\n"
                .to_owned(),
        ),
        Role::ToH323 { h225, peer_h225 } => (
            format!("  h225:\n    - {{address: \"127.0.0.1:{h225}\"}}\n"),
            format!(
                "  - {{name: load, kind: sip, remote: \"127.0.0.1:5999\"}}\n  \
                 - {{name: b, kind: h323, remote: \"127.0.0.1:{peer_h225}\"}}\n\
                 routes:\n  default:\n    - {{name: out, egress: [b]}}\n"
            ),
        ),
        Role::FromH323 { h225, peer_h225 } => (
            format!("  h225:\n    - {{address: \"127.0.0.1:{h225}\"}}\n"),
            format!(
                "  - {{name: a, kind: h323, remote: \"127.0.0.1:{peer_h225}\"}}\n  \
                 - {{name: echo, kind: local, answer: echo}}\n\
                 routes:\n  default:\n    - {{name: echo, egress: [echo]}}\n"
            ),
        ),
    };
    let config = format!(
        "general: {{node_name: load}}\n\
         listeners:\n  sip:\n    - {{transport: udp, address: \"127.0.0.1:{sip}\"}}\n{h225}\
         metrics: {{listen: \"127.0.0.1:{metrics}\"}}\n\
         media: {{rtp_port_range: \"{media}\"}}\n\
         sip: {{per_source_rate: 1000000, per_source_burst: 1000000}}\n\
         cdr: {{directory: cdr, formats: [csv], fsync: always}}\n\
         trunks:\n{trunks}"
    );
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config).expect("write config");
    // LOAD_WRAPPER="heaptrack -o /tmp/gw" (or valgrind, perf record ...) runs gatewayd
    // under a profiler.
    let wrapper = std::env::var("LOAD_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut child = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(env!("CARGO_BIN_EXE_gatewayd"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_gatewayd")),
    };
    let mut child = child
        .current_dir(dir.path())
        .args(["run", "--config"])
        .arg(&path)
        .args(["--log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("log")).expect("log file"))
        .spawn()
        .expect("spawn gatewayd");
    // Ready when /healthz answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", metrics)) {
            use std::io::Write;
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
            let mut b = String::new();
            let _ = s.read_to_string(&mut b);
            if b.starts_with("HTTP/1.1 200") || b.starts_with("HTTP/1.0 200") {
                return Gateway { child, _dir: dir };
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    panic!("gatewayd did not become ready:\n{log}");
}

#[derive(Default)]
struct Call {
    invited: Option<Instant>,
    answered: Option<Instant>,
    to_tag: String,
    rtp_peer: Option<SocketAddr>,
    bye_at: Option<Instant>,
    done: bool,
    rtp: Option<UdpSocket>,
    seq: u16,
}

fn invite(i: usize, gw: SocketAddr, me: SocketAddr, rtp_port: u16) -> String {
    let sdp = format!(
        "v=0\r\no=- {i} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    format!(
        "INVITE sip:1000@{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKinv{i}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:2000@127.0.0.1>;tag=f{i}\r\nTo: <sip:1000@{gw}>\r\n\
         Call-ID: load-{i}\r\nCSeq: 1 INVITE\r\nContact: <sip:2000@{me}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

fn in_dialog(
    method: &str,
    i: usize,
    cseq: u32,
    gw: SocketAddr,
    me: SocketAddr,
    tag: &str,
) -> String {
    format!(
        "{method} sip:gw@{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{method}{i}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:2000@127.0.0.1>;tag=f{i}\r\nTo: <sip:1000@{gw}>;tag={tag}\r\n\
         Call-ID: load-{i}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    )
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l[name.len()..].starts_with(':')
        })
        .map(|l| l[name.len() + 1..].trim())
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let calls = env("LOAD_CALLS", 1000) as usize;
    let rate = env("LOAD_RATE", 100).max(1);
    let hold = Duration::from_millis(env("LOAD_HOLD_MS", 1000));
    let with_rtp = env("LOAD_RTP", 0) == 1;
    let hairpin = env("LOAD_HAIRPIN", 0) == 1;
    let (sip_port, metrics_port) = (free_port(), free_port());
    let (a_h225, b_h225) = (free_port(), free_port());
    // B first: A's first call must find it listening.
    let far = hairpin.then(|| {
        start_gateway(
            free_port(),
            free_port(),
            Role::FromH323 {
                h225: b_h225,
                peer_h225: a_h225,
            },
            "26000-31999",
        )
    });
    let role = if hairpin {
        Role::ToH323 {
            h225: a_h225,
            peer_h225: b_h225,
        }
    } else {
        Role::Echo
    };
    let gateway = start_gateway(sip_port, metrics_port, role, "20000-25999");
    let pid = gateway.child.id();
    let far_pid = far.as_ref().map(|g| g.child.id());
    let far0 = far_pid.map(proc_figures);
    let gw: SocketAddr = format!("127.0.0.1:{sip_port}").parse().expect("addr");
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(1))).ok();
    let me = sock.local_addr().expect("addr");
    let (cpu0, rss0) = proc_figures(pid);
    println!(
        "sip_load: {calls} calls at {rate}/s, hold {} ms, RTP {}, {}; gatewayd pid {pid}, RSS {rss0} KiB",
        hold.as_millis(),
        if with_rtp { "on" } else { "off" },
        if hairpin {
            "SIP -> gatewayd A -> H.323 -> gatewayd B -> echo"
        } else {
            "SIP -> gatewayd -> echo"
        }
    );

    // LOAD_ROUNDS=N repeats the load against the same gateways: RSS after each round
    // tells a leak (growing every round) from memory the allocator keeps (flat).
    let rounds = env("LOAD_ROUNDS", 1).max(1) as usize;
    for round in 0..rounds {
        let base = round * calls;
        if rounds > 1 {
            println!("--- round {} of {rounds}", round + 1);
        }
        let mut state: HashMap<usize, Call> = HashMap::new();
        let start = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let mut next = 0usize;
        let mut buf = vec![0u8; 65_535];
        let (mut answered, mut failed, mut peak, mut peak_rss) = (0usize, 0usize, 0usize, rss0);
        let (mut rtp_sent, mut rtp_back) = (0u64, 0u64);
        let mut next_rtp = Instant::now();
        let mut latencies = Vec::new();
        let deadline_all = start + interval * calls as u32 + hold + Duration::from_secs(30);
        loop {
            let now = Instant::now();
            while next < calls && now >= start + interval * next as u32 {
                let rtp = UdpSocket::bind("127.0.0.1:0").expect("rtp bind");
                rtp.set_nonblocking(true).ok();
                let port = rtp.local_addr().expect("addr").port();
                let _ = sock.send_to(invite(base + next, gw, me, port).as_bytes(), gw);
                state.insert(
                    base + next,
                    Call {
                        invited: Some(now),
                        rtp: Some(rtp),
                        ..Call::default()
                    },
                );
                next += 1;
            }
            // Responses.
            while let Ok((n, _)) = sock.recv_from(&mut buf) {
                let now = Instant::now();
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let Some(i) = header(&msg, "Call-ID")
                    .and_then(|c| c.strip_prefix("load-"))
                    .and_then(|c| c.parse::<usize>().ok())
                else {
                    continue;
                };
                let status: u16 = msg.get(8..11).and_then(|s| s.parse().ok()).unwrap_or(0);
                let cseq = header(&msg, "CSeq").unwrap_or_default().to_owned();
                let Some(c) = state.get_mut(&i) else { continue };
                if msg.starts_with("BYE ") {
                    continue;
                }
                if cseq.ends_with("INVITE") && status == 200 && c.answered.is_none() {
                    c.answered = Some(now);
                    answered += 1;
                    if let Some(t) = c.invited {
                        latencies.push(now.duration_since(t).as_secs_f64() * 1000.0);
                    }
                    c.to_tag = header(&msg, "To")
                        .and_then(|t| t.split(";tag=").nth(1))
                        .unwrap_or_default()
                        .to_owned();
                    let body = msg.split("\r\n\r\n").nth(1).unwrap_or_default();
                    let port = body
                        .lines()
                        .find_map(|l| l.strip_prefix("m=audio "))
                        .and_then(|l| l.split(' ').next())
                        .and_then(|p| p.parse::<u16>().ok());
                    c.rtp_peer = port.map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
                    let ack = in_dialog("ACK", i, 1, gw, me, &c.to_tag);
                    let _ = sock.send_to(ack.as_bytes(), gw);
                    c.bye_at = Some(now + hold);
                } else if cseq.ends_with("INVITE") && status >= 300 {
                    failed += 1;
                    c.done = true;
                } else if cseq.ends_with("BYE") && status >= 200 {
                    c.done = true;
                }
            }
            // BYEs due.
            for (i, c) in state.iter_mut() {
                if let Some(at) = c.bye_at
                    && now >= at
                {
                    c.bye_at = None;
                    let bye = in_dialog("BYE", *i, 2, gw, me, &c.to_tag);
                    let _ = sock.send_to(bye.as_bytes(), gw);
                }
            }
            // RTP every 20 ms for answered calls; count the echoes.
            if with_rtp && now >= next_rtp {
                next_rtp += Duration::from_millis(20);
                let mut pkt = [0xffu8; 172];
                for c in state.values_mut().filter(|c| c.bye_at.is_some()) {
                    if let (Some(peer), Some(s)) = (c.rtp_peer, c.rtp.as_ref()) {
                        pkt[0] = 0x80;
                        pkt[1] = 0;
                        pkt[2..4].copy_from_slice(&c.seq.to_be_bytes());
                        pkt[4..8].copy_from_slice(&(u32::from(c.seq) * 160).to_be_bytes());
                        pkt[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
                        c.seq = c.seq.wrapping_add(1);
                        if s.send_to(&pkt, peer).is_ok() {
                            rtp_sent += 1;
                        }
                    }
                }
            }
            if with_rtp {
                let mut b = [0u8; 256];
                for c in state.values() {
                    if let Some(s) = c.rtp.as_ref() {
                        while s.recv_from(&mut b).is_ok() {
                            rtp_back += 1;
                        }
                    }
                }
            }
            let live = state
                .values()
                .filter(|c| c.answered.is_some() && !c.done)
                .count();
            if live > peak {
                peak = live;
                peak_rss = peak_rss.max(proc_figures(pid).1);
            }
            state.retain(|_, c| !c.done);
            if (next >= calls && state.is_empty()) || now > deadline_all {
                break;
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        let (cpu1, rss1) = proc_figures(pid);
        let unfinished = state.len();
        println!(
            "calls: attempted {calls}, answered {answered}, failed {failed}, unfinished {unfinished}"
        );
        println!(
            "setup rate: {:.1} calls/s achieved over {elapsed:.1} s (offered {rate}/s)",
            answered as f64 / (interval * calls as u32).as_secs_f64().max(1e-3)
        );
        println!(
            "setup latency ms (INVITE -> 200): p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(&mut latencies, 0.5),
            percentile(&mut latencies, 0.9),
            percentile(&mut latencies, 0.99),
            percentile(&mut latencies, 1.0)
        );
        println!(
            "concurrent calls: peak {peak}; gatewayd CPU {:.2} s ({:.0}% of one core); RSS {rss0} -> peak {peak_rss} -> end {rss1} KiB",
            cpu1 - cpu0,
            100.0 * (cpu1 - cpu0) / elapsed
        );
        if peak > 0 {
            println!(
                "memory per concurrent call: {:.1} KiB (RSS growth at the peak / peak calls)",
                peak_rss.saturating_sub(rss0) as f64 / peak as f64
            );
        }
        if let (Some(fp), Some((fcpu0, frss0))) = (far_pid, far0) {
            let (fcpu1, frss1) = proc_figures(fp);
            println!(
                "gatewayd B (H.323 -> echo): CPU {:.2} s ({:.0}% of one core); RSS {frss0} -> end {frss1} KiB",
                fcpu1 - fcpu0,
                100.0 * (fcpu1 - fcpu0) / elapsed
            );
        }
        if with_rtp {
            println!(
                "RTP: sent {rtp_sent}, echoed back {rtp_back} ({:.2}% back)",
                100.0 * rtp_back as f64 / rtp_sent.max(1) as f64
            );
        }
    }
    // LOAD_SETTLE_S=N: RSS again after N idle seconds (past Timer J's 32 s, when every
    // transaction of the run is gone).
    let settle = env("LOAD_SETTLE_S", 0);
    if settle > 0 {
        std::thread::sleep(Duration::from_secs(settle));
        let (_, rss) = proc_figures(pid);
        println!("after {settle} s idle: RSS {rss} KiB");
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", metrics_port)) {
            use std::io::Write;
            let _ = conn.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
            let mut text = String::new();
            let _ = conn.read_to_string(&mut text);
            for l in text.lines().filter(|l| {
                l.starts_with("gateway_active_calls") || l.starts_with("gateway_sip_registrations")
            }) {
                println!("  {l}");
            }
        }
    }
    drop(gateway);
    drop(far);
}
