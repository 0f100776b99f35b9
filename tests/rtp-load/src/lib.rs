//! rtp-load: a load tool for RTP relays (issue 6's relay benchmarks).
//!
//! Relay address pairs come from a gatewayd (the tool sets the calls up over SIP as both
//! caller and callee, [`agent`]), from a file (`A_ADDR B_ADDR [A_LOCAL B_LOCAL]` per
//! line, for any other relay), or from nothing at all (`direct`: the tool's own floor).
//! Then every call carries 20 ms G.711 packets both ways at real pace, or floods
//! ([`media`]), and the tool reports loss, added latency percentiles, packets per second,
//! the relay's CPU seconds and memory, and its own CPU ([`Report`]).

pub mod agent;
pub mod histogram;
pub mod media;
pub mod procfs;
pub mod sip;

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use agent::{SipAgent, SipFigures};
pub use media::{MediaParams, MediaReport, Pair};

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Calls whose media ran.
    pub calls: usize,
    /// SIP figures (gatewayd mode).
    pub sip: Option<SipFigures>,
    /// The relay's RSS before the calls were set up and once they were, KiB.
    pub rss_setup_kib: Option<(u64, u64)>,
    /// Media figures.
    pub media: MediaReport,
    /// Wall time of setting up the calls.
    pub setup_time: Duration,
}

impl Report {
    /// Relay memory per call: RSS growth over the setup / calls, KiB.
    pub fn kib_per_call(&self) -> Option<f64> {
        let (before, after) = self.rss_setup_kib?;
        (self.calls > 0).then(|| after.saturating_sub(before) as f64 / self.calls as f64)
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.media;
        if let Some(s) = &self.sip {
            writeln!(
                f,
                "calls: {} established of {} (failed {}) in {:.1} s; setup ms (INVITE -> 200) p50 {:.2} p99 {:.2} max {:.2}; ended by BYE {} (BYE failed {})",
                s.established,
                s.attempted,
                s.failed,
                self.setup_time.as_secs_f64(),
                percentile(&s.setup_ms, 0.5),
                percentile(&s.setup_ms, 0.99),
                percentile(&s.setup_ms, 1.0),
                s.ended,
                s.bye_failed
            )?;
        }
        writeln!(
            f,
            "media: {} calls, {} streams, window {:.1} s{}",
            self.calls,
            m.streams,
            m.window.as_secs_f64(),
            if m.a_to_b.latency.count() == 0 && m.a_to_b.sent == 0 {
                " (nothing sent)"
            } else {
                ""
            }
        )?;
        for (name, d) in [("A->B", &m.a_to_b), ("B->A", &m.b_to_a)] {
            writeln!(
                f,
                "  {name}: sent {} received {} lost {} ({:.4} %) dup {} reordered {}; added latency ms p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}",
                d.sent,
                d.received,
                d.lost(),
                d.loss_pct(),
                d.duplicates,
                d.reordered,
                ms(d.latency.quantile(0.5)),
                ms(d.latency.quantile(0.99)),
                ms(d.latency.quantile(0.999)),
                ms(d.latency.max())
            )?;
        }
        writeln!(
            f,
            "  both: loss {:.4} %; added latency ms p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}; send errors {}, foreign datagrams {}; sender lag max {:.1} ms ({} slots > 2 ms late)",
            m.loss_pct(),
            ms(m.latency.quantile(0.5)),
            ms(m.latency.quantile(0.99)),
            ms(m.latency.quantile(0.999)),
            ms(m.latency.max()),
            m.send_errors,
            m.foreign,
            m.sender_max_lag.as_secs_f64() * 1e3,
            m.sender_late_slots
        )?;
        write!(f, "throughput: {:.0} packets/s relayed", m.pps())?;
        if let Some(cpu) = m.relay_cpu_s {
            write!(
                f,
                "; relay CPU {cpu:.2} s over the window ({:.1} % of one core)",
                100.0 * cpu / m.window.as_secs_f64()
            )?;
            if let Some(p) = m.pps_per_core() {
                write!(f, " = {p:.0} packets/s per core")?;
            }
        }
        writeln!(f)?;
        if let Some((a, b)) = m.relay_rss_kib {
            write!(f, "relay RSS over the window: {a} -> {b} KiB")?;
            if let (Some((s0, s1)), Some(per)) = (self.rss_setup_kib, self.kib_per_call()) {
                write!(
                    f,
                    "; before setup {s0}, after setup {s1} KiB = {per:.1} KiB per call"
                )?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "tool CPU: {:.2} s over the window ({:.1} % of one core)",
            m.tool_cpu_s,
            100.0 * m.tool_cpu_s / m.window.as_secs_f64().max(1e-9)
        )?;
        write!(
            f,
            "RESULT calls={} loss_pct={:.5} p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} pps={:.0} relay_cpu_s={:.2} pps_per_core={:.0} kib_per_call={:.1} tool_cpu_s={:.2} sender_lag_ms={:.1}",
            self.calls,
            m.loss_pct(),
            ms(m.latency.quantile(0.5)),
            ms(m.latency.quantile(0.99)),
            ms(m.latency.quantile(0.999)),
            ms(m.latency.max()),
            m.pps(),
            m.relay_cpu_s.unwrap_or(0.0),
            m.pps_per_core().unwrap_or(0.0),
            self.kib_per_call().unwrap_or(0.0),
            m.tool_cpu_s,
            m.sender_max_lag.as_secs_f64() * 1e3
        )
    }
}

/// A gatewayd configuration that relays the tool's calls: SIP/UDP on `sip`, trunk
/// `load-uac` (the tool's caller) and `load-uas` (its callee), every number starting with
/// `prefix` routed to `load-uas`, media anchored on ports from `rtp_range`.
pub fn gatewayd_config(
    sip: SocketAddr,
    metrics: SocketAddr,
    uac: SocketAddr,
    uas: SocketAddr,
    prefix: &str,
    rtp_range: &str,
) -> String {
    format!(
        "# gatewayd relaying rtp-load's calls: caller {uac} -> gatewayd -> callee {uas}\n\
         general: {{node_name: rtp-load}}\n\
         listeners:\n  sip:\n    - {{transport: udp, address: \"{sip}\"}}\n\
         metrics: {{listen: \"{metrics}\"}}\n\
         media: {{rtp_port_range: \"{rtp_range}\", codecs: [PCMU, telephone-event]}}\n\
         sip: {{per_source_rate: 1000000, per_source_burst: 1000000}}\n\
         cdr: {{directory: cdr, formats: [csv], fsync: never}}\n\
         trunks:\n  - {{name: load-uac, kind: sip, remote: \"{uac}\"}}\n  \
         - {{name: load-uas, kind: sip, remote: \"{uas}\"}}\n\
         routes:\n  default:\n    \
         - {{name: relay, match: {{called: {{prefix: \"{prefix}\"}}}}, egress: [load-uas]}}\n"
    )
}

/// How to set calls up through a gatewayd.
#[derive(Debug, Clone)]
pub struct SetupParams {
    pub calls: usize,
    /// Call attempts per second.
    pub cps: f64,
    /// Unanswered INVITEs at most at once.
    pub in_flight: usize,
    pub timeout: Duration,
}

impl Default for SetupParams {
    fn default() -> Self {
        SetupParams {
            calls: 100,
            cps: 200.0,
            in_flight: 100,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Sets up calls through the gateway `agent` talks to, runs the media, ends the calls.
/// `relay_pid` (in `media`) is sampled for CPU and RSS.
pub fn run_gatewayd(
    agent: &mut SipAgent,
    setup: &SetupParams,
    media: &MediaParams,
) -> io::Result<Report> {
    let rss0 = media.relay_pid.map(|p| procfs::figures(p).rss_kib);
    let t0 = Instant::now();
    let calls = agent.setup(setup.calls, setup.cps, setup.in_flight, setup.timeout)?;
    let setup_time = t0.elapsed();
    // Let the gateway's media tasks start before the RSS is read.
    agent.poll(Duration::from_millis(300))?;
    let rss1 = media.relay_pid.map(|p| procfs::figures(p).rss_kib);
    let n = calls.len();
    let pairs: Vec<Pair> = calls
        .into_iter()
        .map(|c| Pair {
            a_dst: c.a_dst,
            b_dst: c.b_dst,
            a_sock: c.a_sock,
            b_sock: c.b_sock,
        })
        .collect();
    // The agent keeps answering (retransmissions, in-dialog requests) while media runs.
    let stop = AtomicBool::new(false);
    let media_report = std::thread::scope(|s| {
        let server = s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                agent.poll(Duration::from_millis(20))?;
            }
            Ok::<(), io::Error>(())
        });
        let r = media::run(pairs, media);
        stop.store(true, Ordering::Relaxed);
        let served = server
            .join()
            .map_err(|_| io::Error::other("SIP thread panicked"))?;
        served.and(r)
    })?;
    agent.teardown(setup.cps.max(100.0), Duration::from_secs(40))?;
    Ok(Report {
        calls: n,
        sip: Some(agent.figures.clone()),
        rss_setup_kib: rss0.zip(rss1),
        media: media_report,
        setup_time,
    })
}

/// Reads a pairs file: per line `A_ADDR B_ADDR` (where side A's and side B's endpoints
/// send), optionally followed by `A_LOCAL B_LOCAL` (the addresses to send from, when the
/// relay was told them; lines naming the same one share its socket); `#` starts a
/// comment.
pub fn read_pairs(text: &str, bind_ip: IpAddr) -> io::Result<Vec<Pair>> {
    let bad = |line: usize, what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("pairs line {line}: {what}"),
        )
    };
    let mut out = Vec::new();
    // Lines naming the same local address share one socket.
    let mut bound: std::collections::HashMap<SocketAddr, UdpSocket> = Default::default();
    let mut socket = |addr: SocketAddr| -> io::Result<UdpSocket> {
        if addr.port() == 0 {
            return UdpSocket::bind(addr);
        }
        if let Some(s) = bound.get(&addr) {
            return s.try_clone();
        }
        let s = media::bind_big(addr)?;
        bound.insert(addr, s.try_clone()?);
        Ok(s)
    };
    for (k, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 2 && f.len() != 4 {
            return Err(bad(k + 1, "want A_ADDR B_ADDR [A_LOCAL B_LOCAL]"));
        }
        let addr = |s: &str| {
            s.parse::<SocketAddr>()
                .map_err(|e| bad(k + 1, &format!("{s}: {e}")))
        };
        let (a_dst, b_dst) = (addr(f[0])?, addr(f[1])?);
        let (a_local, b_local) = if f.len() == 4 {
            (addr(f[2])?, addr(f[3])?)
        } else {
            (SocketAddr::new(bind_ip, 0), SocketAddr::new(bind_ip, 0))
        };
        out.push(Pair {
            a_dst,
            b_dst,
            a_sock: socket(a_local)?,
            b_sock: socket(b_local)?,
        });
    }
    Ok(out)
}

/// Runs the media of ready-made pairs (pairs file, direct).
pub fn run_pairs(pairs: Vec<Pair>, media: &MediaParams) -> io::Result<Report> {
    let n = pairs.len();
    let media_report = media::run(pairs, media)?;
    Ok(Report {
        calls: n,
        media: media_report,
        ..Report::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_file_lines() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let text = "# comment\n127.0.0.1:4000 127.0.0.1:4002\n\n127.0.0.1:4004 127.0.0.1:4006 127.0.0.1:0 127.0.0.1:0 # x\n";
        let p = read_pairs(text, ip).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].b_dst, "127.0.0.1:4006".parse().unwrap());
        assert!(read_pairs("127.0.0.1:1\n", ip).is_err());
        assert!(read_pairs("x y\n", ip).is_err());
    }

    #[test]
    fn config_names_both_trunks() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        let c = gatewayd_config(
            a("127.0.0.1:5060"),
            a("127.0.0.1:9464"),
            a("127.0.0.1:5090"),
            a("127.0.0.1:5092"),
            "7",
            "20000-29999",
        );
        assert!(c.contains("remote: \"127.0.0.1:5090\""));
        assert!(c.contains("egress: [load-uas]"));
    }
}
