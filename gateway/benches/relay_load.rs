//! Relay load (issue 6), run on demand; prints figures, asserts nothing on timing:
//!
//! ```text
//! cargo bench -p gateway --bench relay_load                         # ladder 100,250,500,750,1000,...
//! RELAY_LADDER=500,1000,1500 RELAY_SECONDS=30 cargo bench -p gateway --bench relay_load
//! RELAY_LADDER=0 RELAY_FLOOD_CALLS=50 cargo bench -p gateway --bench relay_load   # flood only
//! ```
//!
//! For every step of the ladder a fresh release `gatewayd` starts on loopback with a
//! configuration (`rtp_load::gatewayd_config`) that routes the load tool's calls from its
//! caller (UAC) back to its callee (UAS) over a second SIP trunk, so both relay sides of
//! every call are gatewayd's; then the `rtp-load` library (tests/rtp-load, the same code
//! as the `rtp-load` binary) sets the calls up over SIP, sends 20 ms G.711 both ways at
//! real pace for RELAY_SECONDS after a warm-up, and ends them with BYE. The ladder stops
//! at the first step whose loss is above RELAY_LOSS_PCT (0.01 %).
//!
//! Then a flood: RELAY_FLOOD_CALLS calls (20) sending as fast as the tool can for
//! RELAY_FLOOD_SECONDS (5), to read relayed packets per second per core (packets out of
//! the relay / gatewayd's CPU seconds).
//!
//! Also: RELAY_CPS (setup rate, 200), RELAY_WARMUP (seconds, 2), RELAY_SHARED=0 (a
//! caller and a callee socket per call in the tool too; default: one of each shared by
//! every call, the tool's cheap mode), RELAY_SENDERS (the tool's sender threads, 1: on
//! two cores more only take CPU from the relay), RELAY_DIRECT=1 (also
//! run the tool with no relay at the first step, its own latency floor),
//! RELAY_WRAPPER="perf stat -e ..." (runs gatewayd under a wrapper; CPU figures are then
//! the wrapper's), RELAY_SHOW_PID=1 (print each gatewayd's pid, to attach `perf stat -p`
//! during the window as in BENCHMARKS.md).
//!
//! Without `--bench` (`cargo test --all-targets`): one step of 2 calls for 1 s through a
//! debug gatewayd, checking that the calls are set up and ended and that media comes
//! through both ways; figures meaningless.

use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rtp_load::{MediaParams, Report, SetupParams, SipAgent};

fn env_str(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_f64(name: &str, default: f64) -> f64 {
    env_str(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

struct Gateway {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gatewayd relaying the agent's calls.
fn start_gateway(agent_uac: SocketAddr, agent_uas: SocketAddr, sip: SocketAddr) -> Gateway {
    let dir = tempfile::tempdir().expect("temp dir");
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let range = env_str("RELAY_RTP_RANGE").unwrap_or_else(|| "20000-32767".into());
    let config = rtp_load::gatewayd_config(sip, metrics, agent_uac, agent_uas, "7", &range);
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config).expect("write config");
    let wrapper = env_str("RELAY_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(env!("CARGO_BIN_EXE_gatewayd"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_gatewayd")),
    };
    let mut child = cmd
        .current_dir(dir.path())
        .args(["run", "--config"])
        .arg(&path)
        .args(["--log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("log")).expect("log file"))
        .spawn()
        .expect("spawn gatewayd");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(metrics) {
            use std::io::Write;
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
            let mut b = String::new();
            let _ = s.read_to_string(&mut b);
            if b.starts_with("HTTP/1.1 200") || b.starts_with("HTTP/1.0 200") {
                return Gateway { child, dir };
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    panic!("gatewayd did not become ready:\n{log}");
}

/// The process whose CPU and memory are read: gatewayd itself, also under a wrapper.
fn gatewayd_pid(g: &Gateway) -> u32 {
    let wrapped = env_str("RELAY_WRAPPER").is_some();
    if !wrapped {
        return g.child.id();
    }
    // The wrapper's child named gatewayd.
    let children = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        g.child.id(),
        g.child.id()
    ))
    .unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .find(|p: &u32| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "gatewayd")
        })
        .unwrap_or(g.child.id())
}

/// Whether the tool's callers share one socket and its callees another (RELAY_SHARED,
/// default on; the relay has its own sockets per call either way): per-call sockets
/// cost the tool a wake-up per packet, which on two cores caps the load before the relay.
fn shared_sockets() -> bool {
    env_str("RELAY_SHARED").is_none_or(|v| v != "0")
}

/// One run through a fresh gatewayd.
fn step(calls: usize, media: &MediaParams, cps: f64) -> Option<Report> {
    let sip: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let mut agent = SipAgent::bind(
        "127.0.0.1:0".parse().expect("addr"),
        "127.0.0.1:0".parse().expect("addr"),
        sip,
        "7",
    )
    .expect("bind the SIP agent");
    if shared_sockets() {
        agent
            .share_media_sockets()
            .expect("bind the shared media sockets");
    }
    let gw = start_gateway(agent.uac_addr(), agent.uas_addr(), sip);
    let pid = gatewayd_pid(&gw);
    if env_str("RELAY_SHOW_PID").is_some() {
        println!("gatewayd pid {pid}");
    }
    let media = MediaParams {
        relay_pid: Some(pid),
        ..media.clone()
    };
    let setup = SetupParams {
        calls,
        cps,
        ..SetupParams::default()
    };
    let r = rtp_load::run_gatewayd(&mut agent, &setup, &media);
    let log = std::fs::read_to_string(gw.dir.path().join("log")).unwrap_or_default();
    let warnings = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .count();
    if warnings > 0 {
        println!(
            "  gatewayd logged {warnings} warnings/errors; first: {}",
            log.lines().next().unwrap_or_default()
        );
    }
    drop(gw);
    match r {
        Ok(r) => Some(r),
        Err(e) => {
            println!("  run failed: {e}");
            None
        }
    }
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    if !measuring {
        println!("smoke run (figures meaningless): use `cargo bench` to measure");
    }
    let ladder: Vec<usize> = match env_str("RELAY_LADDER") {
        Some(l) => l
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .filter(|&n| n > 0)
            .collect(),
        None if measuring => vec![100, 250, 500, 750, 1000, 1500, 2000, 3000],
        None => vec![2],
    };
    let seconds = env_f64("RELAY_SECONDS", if measuring { 20.0 } else { 1.0 });
    let warmup = env_f64("RELAY_WARMUP", if measuring { 2.0 } else { 0.5 });
    let cps = env_f64("RELAY_CPS", 200.0);
    let limit = env_f64("RELAY_LOSS_PCT", 0.01);
    let media = MediaParams {
        warmup: Duration::from_secs_f64(warmup),
        duration: Duration::from_secs_f64(seconds),
        senders: env_f64("RELAY_SENDERS", 1.0) as usize,
        ..MediaParams::default()
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "relay_load: ladder {ladder:?}, {seconds} s per step after {warmup} s warm-up, setup {cps} calls/s; loadavg {}",
        load.trim()
    );
    let mut rows = Vec::new();
    for (k, &calls) in ladder.iter().enumerate() {
        if k == 0 && env_str("RELAY_DIRECT").is_some() {
            let shared = shared_sockets();
            println!("--- {calls} calls, no relay (the tool's own floor)");
            match rtp_load::media::direct_pairs("127.0.0.1".parse().expect("ip"), calls, shared)
                .and_then(|p| rtp_load::run_pairs(p, &media))
            {
                Ok(r) => println!("{r}"),
                Err(e) => println!("  direct run failed: {e}"),
            }
        }
        println!("--- {calls} calls through gatewayd");
        let Some(r) = step(calls, &media, cps) else {
            assert!(measuring, "the smoke run's calls could not be run");
            break;
        };
        println!("{r}");
        let loss = r.media.loss_pct();
        let failed = r.sip.as_ref().map_or(0, |s| s.failed);
        if !measuring {
            // The smoke run checks the path, not the figures: every call set up and
            // ended, and media came out of the relay both ways.
            let sip = r.sip.as_ref().expect("gatewayd runs report SIP figures");
            assert_eq!(sip.established, calls, "every call set up");
            assert_eq!(sip.ended, calls, "every call ended with BYE");
            assert!(r.media.a_to_b.received > 0 && r.media.b_to_a.received > 0);
        }
        rows.push((calls, r));
        if loss > limit || failed > 0 {
            println!("  stop: loss {loss:.4} % (limit {limit} %), {failed} calls failed to set up");
            break;
        }
    }
    if !rows.is_empty() {
        println!();
        println!(
            "concurrent G.711 calls through gatewayd ({seconds} s each, both directions, 20 ms)"
        );
        println!(
            "{:>6} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9} {:>11} {:>9} {:>9}",
            "calls",
            "loss %",
            "pkts/s",
            "p50 ms",
            "p99 ms",
            "p99.9",
            "max ms",
            "gw CPU %",
            "pkts/s/core",
            "KiB/call",
            "tool CPU%"
        );
        for (calls, r) in &rows {
            let m = &r.media;
            let w = m.window.as_secs_f64();
            println!(
                "{:>6} {:>9.4} {:>10.0} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>9.1} {:>11.0} {:>9.1} {:>9.1}",
                calls,
                m.loss_pct(),
                m.pps(),
                m.latency.quantile(0.5) as f64 / 1e6,
                m.latency.quantile(0.99) as f64 / 1e6,
                m.latency.quantile(0.999) as f64 / 1e6,
                m.latency.max() as f64 / 1e6,
                100.0 * m.relay_cpu_s.unwrap_or(0.0) / w,
                m.pps_per_core().unwrap_or(0.0),
                r.kib_per_call().unwrap_or(0.0),
                100.0 * m.tool_cpu_s / w
            );
        }
    }
    let flood_calls = env_f64("RELAY_FLOOD_CALLS", if measuring { 20.0 } else { 0.0 }) as usize;
    if flood_calls > 0 {
        let flood = MediaParams {
            flood: true,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs_f64(env_f64("RELAY_FLOOD_SECONDS", 5.0)),
            ..MediaParams::default()
        };
        println!();
        println!("--- flood: {flood_calls} calls, as fast as the tool sends");
        if let Some(r) = step(flood_calls, &flood, cps) {
            println!("{r}");
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("loadavg at the end: {}", load.trim());
}
