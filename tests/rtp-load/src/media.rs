//! The media side: paced (or flooding) G.711 streams both ways through a relay, and what
//! came out at the far end.
//!
//! Few threads. The sender (one by default, `MediaParams::senders` to split the phase
//! slots between more) holds clones of every socket and sends each stream's 20 ms
//! packets from its own phase slot (the calls' start phases are spread over the 20 ms,
//! in 0.5 ms slots, so the relay sees an even load rather than bursts). The receiver is
//! a current-thread tokio runtime with one task per socket, each draining its socket on
//! every wake-up; with a few shared sockets (callers share one, callees another), a
//! blocking thread per socket instead.
//!
//! Every packet is RTP (V=2, PT 0, 160 octets of payload, per-stream SSRC, sequence
//! number and timestamp) whose payload starts with the stream id (u32), the packet's
//! number in the stream (u32) and the send time (u64 nanoseconds on the tool's monotonic
//! clock), all big-endian, then u-law silence. Added latency = receive time - send time
//! on the same clock. Only packets *sent* inside the measurement window (after the
//! warm-up) count, on both ends, so loss is exact: sent in window - received of those.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::histogram::Histogram;

/// RTP header + 20 ms of G.711.
pub const PACKET_LEN: usize = 12 + 160;
const MAGIC: u8 = 0x5a;
/// Phase slots per packet interval.
const SLOTS: u32 = 40;
/// Up to this many receiving sockets (shared ones) get a blocking thread each instead
/// of a task in the receiver's runtime.
const BLOCKING_READERS: usize = 4;

/// One call's relay addresses and our sockets on its two sides.
#[derive(Debug)]
pub struct Pair {
    /// Where side A's endpoint (the caller) sends.
    pub a_dst: SocketAddr,
    /// Where side B's endpoint (the callee) sends.
    pub b_dst: SocketAddr,
    /// The caller's socket: sends to `a_dst`, receives what B sent.
    pub a_sock: UdpSocket,
    /// The callee's socket: sends to `b_dst`, receives what A sent.
    pub b_sock: UdpSocket,
}

/// How to send.
#[derive(Debug, Clone)]
pub struct MediaParams {
    /// Sending before the window opens (not counted): latching, first-packet paths.
    pub warmup: Duration,
    /// The measurement window.
    pub duration: Duration,
    /// Waiting for stragglers after the last packet.
    pub drain: Duration,
    /// Packet interval (20 ms).
    pub ptime: Duration,
    /// Send as fast as possible instead of at pace.
    pub flood: bool,
    /// Sender threads (the phase slots, or the flood's streams, split between them).
    pub senders: usize,
    /// Where the window's start and end are sampled (relay CPU/RSS): called on the main
    /// thread at those instants.
    pub relay_pid: Option<u32>,
}

impl Default for MediaParams {
    fn default() -> Self {
        MediaParams {
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(10),
            drain: Duration::from_millis(500),
            ptime: Duration::from_millis(20),
            flood: false,
            senders: 1,
            relay_pid: None,
        }
    }
}

/// One direction's figures (A -> B: sent by callers, received by callees).
#[derive(Debug, Clone, Default)]
pub struct Direction {
    /// Packets sent inside the window.
    pub sent: u64,
    /// Of those, received (first copies).
    pub received: u64,
    /// Copies received more than once.
    pub duplicates: u64,
    /// Packets that arrived after a later packet of their stream.
    pub reordered: u64,
    /// Added latency of the received ones, nanoseconds.
    pub latency: Histogram,
}

impl Direction {
    /// Lost packets (sent and never received).
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    /// Loss in percent.
    pub fn loss_pct(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        100.0 * self.lost() as f64 / self.sent as f64
    }
}

/// What a media run gave.
#[derive(Debug, Clone, Default)]
pub struct MediaReport {
    pub streams: usize,
    pub window: Duration,
    pub a_to_b: Direction,
    pub b_to_a: Direction,
    /// Both directions' latency together.
    pub latency: Histogram,
    /// Send calls that failed (full buffer, ICMP unreachable).
    pub send_errors: u64,
    /// How late the paced sender was at worst (it could not keep pace: the tool, not
    /// the relay, is the limit), and slots sent more than 2 ms late.
    pub sender_max_lag: Duration,
    pub sender_late_slots: u64,
    /// Datagrams that were not ours (wrong size or marker).
    pub foreign: u64,
    /// The relay's CPU seconds over the window (user + system).
    pub relay_cpu_s: Option<f64>,
    /// The relay's RSS at the window's start and end, KiB.
    pub relay_rss_kib: Option<(u64, u64)>,
    /// This tool's CPU seconds over the window.
    pub tool_cpu_s: f64,
}

impl MediaReport {
    /// Packets received (both directions) per second of window.
    pub fn pps(&self) -> f64 {
        (self.a_to_b.received + self.b_to_a.received) as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// Relayed packets per CPU second of the relay.
    pub fn pps_per_core(&self) -> Option<f64> {
        let cpu = self.relay_cpu_s?;
        (cpu > 0.0).then(|| (self.a_to_b.received + self.b_to_a.received) as f64 / cpu)
    }

    /// Loss over both directions, percent.
    pub fn loss_pct(&self) -> f64 {
        let sent = self.a_to_b.sent + self.b_to_a.sent;
        let lost = self.a_to_b.lost() + self.b_to_a.lost();
        if sent == 0 {
            0.0
        } else {
            100.0 * lost as f64 / sent as f64
        }
    }
}

/// Per-stream receive bookkeeping.
#[derive(Debug, Clone, Default)]
struct StreamRx {
    highest: Option<u32>,
    /// Bitmap of received packet numbers (for duplicates), grown on demand.
    seen: Vec<u64>,
}

struct RxState {
    window: (u64, u64),
    streams: Vec<StreamRx>,
    dirs: [Direction; 2],
    foreign: u64,
}

impl RxState {
    fn record(&mut self, data: &[u8], now_ns: u64) {
        if data.len() != PACKET_LEN || data[0] != 0x80 || data[12] != MAGIC {
            self.foreign += 1;
            return;
        }
        let p = &data[12..];
        let stream = u32::from_be_bytes([0, p[1], p[2], p[3]]) as usize;
        let number = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        let sent_ns = u64::from_be_bytes([p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]]);
        let Some(s) = self.streams.get_mut(stream) else {
            self.foreign += 1;
            return;
        };
        if sent_ns < self.window.0 || sent_ns >= self.window.1 {
            // Warm-up or after the window: keep order tracking only.
            s.highest = Some(s.highest.map_or(number, |h| h.max(number)));
            return;
        }
        let d = &mut self.dirs[stream % 2];
        let (word, bit) = ((number / 64) as usize, number % 64);
        if s.seen.len() <= word {
            s.seen.resize(word + 1, 0);
        }
        if s.seen[word] & (1 << bit) != 0 {
            d.duplicates += 1;
            return;
        }
        s.seen[word] |= 1 << bit;
        if s.highest.is_some_and(|h| number < h) {
            d.reordered += 1;
        }
        s.highest = Some(s.highest.map_or(number, |h| h.max(number)));
        d.received += 1;
        d.latency.record(now_ns.saturating_sub(sent_ns));
    }
}

/// Runs the streams of `pairs` and reports; samples the relay (`params.relay_pid`) and
/// this process at the window's start and end.
pub fn run(pairs: Vec<Pair>, params: &MediaParams) -> io::Result<MediaReport> {
    let epoch = Instant::now();
    let n = pairs.len();
    let streams = 2 * n;
    // Sending starts a little after the threads are up.
    let send_start = epoch + Duration::from_millis(50);
    let window_start = send_start + params.warmup;
    let window_end = window_start + params.duration;
    let ns = |t: Instant| t.duration_since(epoch).as_nanos() as u64;
    let window = (ns(window_start), ns(window_end));

    // Sender's sockets: (socket, destination, stream id); stream 2i = A -> B of call i.
    let mut tx = Vec::with_capacity(streams);
    let mut rx_socks = Vec::with_capacity(streams);
    for p in &pairs {
        tx.push((p.a_sock.try_clone()?, p.a_dst));
        tx.push((p.b_sock.try_clone()?, p.b_dst));
    }
    // A socket shared by several calls is read once.
    let mut seen = std::collections::HashSet::new();
    for p in pairs {
        for s in [p.a_sock, p.b_sock] {
            if seen.insert(s.local_addr()?) {
                rx_socks.push(s);
            }
        }
    }
    let tx = Arc::new(tx);
    let threads = params.senders.max(1);
    let senders = (0..threads)
        .map(|t| {
            let (tx, params) = (tx.clone(), params.clone());
            std::thread::Builder::new()
                .name(format!("rtp-load-send{t}"))
                .spawn(move || {
                    send(
                        &tx,
                        (t, threads),
                        &params,
                        epoch,
                        send_start,
                        window,
                        window_end,
                    )
                })
        })
        .collect::<io::Result<Vec<_>>>()?;
    let recv_until = window_end + params.drain;
    let receiver = std::thread::Builder::new()
        .name("rtp-load-recv".into())
        .spawn(move || {
            if rx_socks.len() <= BLOCKING_READERS {
                receive_blocking(rx_socks, streams, epoch, window, recv_until)
            } else {
                receive(rx_socks, streams, epoch, window, recv_until)
            }
        })?;

    // Window start: sample the relay and ourselves.
    sleep_until(window_start);
    let relay0 = params.relay_pid.map(crate::procfs::figures);
    let tool0 = crate::procfs::self_cpu();
    sleep_until(window_end);
    let relay1 = params.relay_pid.map(crate::procfs::figures);
    let tool1 = crate::procfs::self_cpu();
    let (mut sent, mut send_errors, mut lag, mut late) = ([0u64; 2], 0, Duration::ZERO, 0);
    for t in senders {
        let (s, e, l, n) = t
            .join()
            .map_err(|_| io::Error::other("sender thread panicked"))?;
        sent[0] += s[0];
        sent[1] += s[1];
        send_errors += e;
        lag = lag.max(l);
        late += n;
    }
    let rx = receiver
        .join()
        .map_err(|_| io::Error::other("receiver thread panicked"))??;
    let [mut ab, mut ba] = rx.dirs;
    ab.sent = sent[0];
    ba.sent = sent[1];
    let mut latency = ab.latency.clone();
    latency.merge(&ba.latency);
    Ok(MediaReport {
        streams,
        window: window_end - window_start,
        a_to_b: ab,
        b_to_a: ba,
        latency,
        send_errors,
        sender_max_lag: lag,
        sender_late_slots: late,
        foreign: rx.foreign,
        relay_cpu_s: relay0.zip(relay1).map(|(a, b)| b.cpu_s - a.cpu_s),
        relay_rss_kib: relay0.zip(relay1).map(|(a, b)| (a.rss_kib, b.rss_kib)),
        tool_cpu_s: tool1 - tool0,
    })
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// Writes packet `number` of `stream` into `buf`.
fn packet(buf: &mut [u8; PACKET_LEN], stream: u32, number: u32, sent_ns: u64) {
    buf[0] = 0x80;
    buf[1] = 0; // PT 0 (PCMU), no marker
    let seq = (number as u16).wrapping_add(stream as u16 * 7919);
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
    let ts = number
        .wrapping_mul(160)
        .wrapping_add(stream.wrapping_mul(104_729));
    buf[4..8].copy_from_slice(&ts.to_be_bytes());
    let ssrc = 0x5100_0000u32 ^ stream.wrapping_mul(2_654_435_761);
    buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
    buf[12] = MAGIC;
    buf[13..16].copy_from_slice(&stream.to_be_bytes()[1..]);
    buf[16..20].copy_from_slice(&number.to_be_bytes());
    buf[20..28].copy_from_slice(&sent_ns.to_be_bytes());
}

/// Sender thread `me` of `threads`: sends the phase slots (or, flooding, the streams)
/// whose index is `me` modulo `threads`. Returns packets sent inside the window per
/// direction, the failed sends, and the worst lag behind the schedule with the slots
/// over 2 ms late.
fn send(
    tx: &[(UdpSocket, SocketAddr)],
    (me, threads): (usize, usize),
    params: &MediaParams,
    epoch: Instant,
    start: Instant,
    window: (u64, u64),
    end: Instant,
) -> ([u64; 2], u64, Duration, u64) {
    let mut buf = [0xffu8; PACKET_LEN];
    let mut numbers = vec![0u32; tx.len()];
    let mut sent = [0u64; 2];
    let mut errors = 0u64;
    let mut send_one = |j: usize, numbers: &mut [u32], buf: &mut [u8; PACKET_LEN]| {
        let now_ns = Instant::now().duration_since(epoch).as_nanos() as u64;
        packet(buf, j as u32, numbers[j], now_ns);
        numbers[j] = numbers[j].wrapping_add(1);
        let (sock, to) = &tx[j];
        match sock.send_to(&buf[..], *to) {
            Ok(_) => {
                if now_ns >= window.0 && now_ns < window.1 {
                    sent[j % 2] += 1;
                }
            }
            Err(_) => errors += 1,
        }
    };
    sleep_until(start);
    if params.flood {
        let streams = numbers.len();
        'flood: loop {
            for j in (me..streams).step_by(threads) {
                send_one(j, &mut numbers, &mut buf);
            }
            if Instant::now() >= end {
                break 'flood;
            }
        }
        return (sent, errors, Duration::ZERO, 0);
    }
    // Phase slots: call i's A -> B stream in slot (i * SLOTS / calls), its B -> A stream
    // half an interval later.
    let calls = numbers.len() / 2;
    let mut slots: Vec<Vec<usize>> = vec![Vec::new(); SLOTS as usize];
    for i in 0..calls {
        let s = (i as u64 * u64::from(SLOTS) / calls.max(1) as u64) as usize;
        slots[s].push(2 * i);
        slots[(s + SLOTS as usize / 2) % SLOTS as usize].push(2 * i + 1);
    }
    let slot_len = params.ptime / SLOTS;
    let mut period = 0u32;
    let (mut max_lag, mut late) = (Duration::ZERO, 0u64);
    'paced: loop {
        let base = start + params.ptime * period;
        for (s, streams) in slots.iter().enumerate() {
            let due = base + slot_len * s as u32;
            if due >= end {
                break 'paced;
            }
            if streams.is_empty() || s % threads != me {
                continue;
            }
            sleep_until(due);
            let lag = Instant::now().saturating_duration_since(due);
            if lag > Duration::from_millis(2) {
                late += 1;
            }
            max_lag = max_lag.max(lag);
            for &j in streams {
                send_one(j, &mut numbers, &mut buf);
            }
        }
        period += 1;
    }
    (sent, errors, max_lag, late)
}

struct RxOut {
    dirs: [Direction; 2],
    foreign: u64,
}

/// The receiver for a few shared sockets: a blocking thread per socket, merged at the end.
fn receive_blocking(
    socks: Vec<UdpSocket>,
    streams: usize,
    epoch: Instant,
    window: (u64, u64),
    until: Instant,
) -> io::Result<RxOut> {
    let threads: Vec<_> = socks
        .into_iter()
        .map(|sock| {
            std::thread::spawn(move || {
                let mut st = RxState {
                    window,
                    streams: vec![StreamRx::default(); streams],
                    dirs: [Direction::default(), Direction::default()],
                    foreign: 0,
                };
                let _ = sock.set_nonblocking(false);
                let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
                let mut buf = [0u8; 2048];
                while Instant::now() < until {
                    if let Ok((len, _)) = sock.recv_from(&mut buf) {
                        let now_ns = Instant::now().duration_since(epoch).as_nanos() as u64;
                        st.record(&buf[..len], now_ns);
                    }
                }
                st
            })
        })
        .collect();
    let mut out = RxOut {
        dirs: [Direction::default(), Direction::default()],
        foreign: 0,
    };
    for t in threads {
        let st = t
            .join()
            .map_err(|_| io::Error::other("receiver thread panicked"))?;
        for (o, d) in out.dirs.iter_mut().zip(st.dirs) {
            o.received += d.received;
            o.duplicates += d.duplicates;
            o.reordered += d.reordered;
            o.latency.merge(&d.latency);
        }
        out.foreign += st.foreign;
    }
    Ok(out)
}

/// The receiver thread.
fn receive(
    socks: Vec<UdpSocket>,
    streams: usize,
    epoch: Instant,
    window: (u64, u64),
    until: Instant,
) -> io::Result<RxOut> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let state = Rc::new(RefCell::new(RxState {
        window,
        streams: vec![StreamRx::default(); streams],
        dirs: [Direction::default(), Direction::default()],
        foreign: 0,
    }));
    local.block_on(&rt, async {
        let mut tasks = Vec::new();
        for s in socks {
            s.set_nonblocking(true)?;
            let sock = tokio::net::UdpSocket::from_std(s)?;
            let state = state.clone();
            tasks.push(tokio::task::spawn_local(async move {
                let deadline = tokio::time::Instant::from_std(until);
                let mut buf = [0u8; 2048];
                let _ = tokio::time::timeout_at(deadline, async {
                    loop {
                        if sock.readable().await.is_err() {
                            return;
                        }
                        loop {
                            match sock.try_recv_from(&mut buf) {
                                Ok((len, _)) => {
                                    let now_ns =
                                        Instant::now().duration_since(epoch).as_nanos() as u64;
                                    state.borrow_mut().record(&buf[..len], now_ns);
                                }
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                                Err(_) => continue,
                            }
                        }
                    }
                })
                .await;
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok::<(), io::Error>(())
    })?;
    let st = Rc::try_unwrap(state)
        .map_err(|_| io::Error::other("receiver state still shared"))?
        .into_inner();
    Ok(RxOut {
        dirs: st.dirs,
        foreign: st.foreign,
    })
}

/// A UDP socket with 4 MiB receive and send buffers (the kernel caps them at
/// net.core.rmem_max / wmem_max): a socket shared by many streams takes bursts.
pub fn bind_big(addr: SocketAddr) -> io::Result<UdpSocket> {
    let s = UdpSocket::bind(addr)?;
    let r = socket2::SockRef::from(&s);
    r.set_recv_buffer_size(4 << 20)?;
    r.set_send_buffer_size(4 << 20)?;
    Ok(s)
}

/// `n` call pairs that skip any relay: each side sends straight to the other's socket.
/// The tool's own floor (loopback and its own scheduling) for the latency figures.
/// With `shared`, every caller uses one socket and every callee another.
pub fn direct_pairs(ip: std::net::IpAddr, n: usize, shared: bool) -> io::Result<Vec<Pair>> {
    let one = if shared {
        Some((
            bind_big(SocketAddr::new(ip, 0))?,
            bind_big(SocketAddr::new(ip, 0))?,
        ))
    } else {
        None
    };
    (0..n)
        .map(|_| {
            let (a, b) = match &one {
                Some((a, b)) => (a.try_clone()?, b.try_clone()?),
                None => (
                    UdpSocket::bind(SocketAddr::new(ip, 0))?,
                    UdpSocket::bind(SocketAddr::new(ip, 0))?,
                ),
            };
            Ok(Pair {
                a_dst: b.local_addr()?,
                b_dst: a.local_addr()?,
                a_sock: a,
                b_sock: b,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_carry_stream_number_and_time() {
        let mut buf = [0xffu8; PACKET_LEN];
        packet(&mut buf, 5, 9, 123_456_789);
        let mut st = RxState {
            window: (0, u64::MAX),
            streams: vec![StreamRx::default(); 6],
            dirs: Default::default(),
            foreign: 0,
        };
        st.record(&buf, 123_456_789 + 1_000);
        st.record(&buf, 123_456_789 + 2_000);
        assert_eq!(st.dirs[1].received, 1);
        assert_eq!(st.dirs[1].duplicates, 1);
        assert_eq!(st.dirs[1].latency.count(), 1);
        packet(&mut buf, 5, 3, 100);
        st.record(&buf, 200);
        assert_eq!(st.dirs[1].reordered, 1);
        st.record(&buf[..100], 0);
        assert_eq!(st.foreign, 1);
        assert_eq!(
            u16::from_be_bytes([buf[2], buf[3]]),
            3u16.wrapping_add(5 * 7919)
        );
    }
}
