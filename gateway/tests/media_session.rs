//! The media task on real loopback sockets: relay with SSRC/sequence/PT rewriting and
//! RTCP from the RTCP port, a tone whose spectrum peaks where it should, echo, switching
//! modes, repointing, and the report `close` returns.
//!
//! Every wait is bounded by a timeout; nothing asserts timing or packet rates.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use gateway::config::PortRange;
use gateway::media::{
    BoundPair, Law, MediaSession, Mode, PortPool, PtMap, RelayConfig, RtpHeader, RtpPacket,
    SessionHandle, Side, SideConfig, SideUpdate,
};
use tokio::net::UdpSocket;
use tokio::time::timeout;
use zerocopy::IntoBytes;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// SSRC the session emits toward side A, and toward side B.
const A_SSRC: u32 = 0xaaaa_0001;
const B_SSRC: u32 = 0xbbbb_0002;
/// Upper bound for any single wait; only reached when something is broken.
const WAIT: Duration = Duration::from_secs(5);

/// A pool over 64 ports below the usual ephemeral range, placed by the process id so
/// concurrent test runs rarely meet; busy ports are skipped by the pool.
fn pool() -> PortPool {
    let base = 20_000 + (std::process::id() % 180) as u16 * 64;
    PortPool::new(
        LOCALHOST,
        PortRange {
            min: base,
            max: base + 63,
        },
    )
}

fn reserve() -> BoundPair {
    pool().reserve().expect("a free port pair")
}

async fn peer() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind((LOCALHOST, 0)).await.expect("bind peer");
    let addr = s.local_addr().expect("bound");
    (s, addr)
}

fn config(a_expected: Option<SocketAddr>, b: SideConfig, pt_map: PtMap) -> RelayConfig {
    RelayConfig {
        a: SideConfig {
            expected: a_expected,
            ..SideConfig::latching(A_SSRC)
        },
        b,
        pt_map,
    }
}

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = RtpHeader::new(pt, false, seq, ts, ssrc).as_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

async fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (len, from) = timeout(WAIT, socket.recv_from(&mut buf))
        .await
        .expect("a datagram before the timeout")
        .expect("receive");
    (buf[..len].to_vec(), from)
}

fn header(packet: &[u8]) -> RtpHeader {
    *RtpPacket::parse(packet).expect("valid RTP").header
}

fn rtcp_port(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip(), addr.port() + 1)
}

fn local(handle: &SessionHandle, side: Side) -> SocketAddr {
    handle.local(side).expect("side present")
}

/// Power of `samples` at `freq` for 8 kHz audio (Goertzel's recursion).
fn goertzel(samples: &[i16], freq: f64) -> f64 {
    let coeff = 2.0 * (std::f64::consts::TAU * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Receives `n` tone packets; checks their numbering and returns the decoded audio.
async fn receive_tone(
    socket: &UdpSocket,
    from: SocketAddr,
    n: usize,
    pt: u8,
    law: Law,
) -> Vec<i16> {
    let mut pcm = Vec::new();
    let mut prev: Option<RtpHeader> = None;
    for i in 0..n {
        let (p, src) = recv(socket).await;
        assert_eq!(src, from, "tone comes from our RTP port");
        let parsed = RtpPacket::parse(&p).expect("valid RTP");
        let h = *parsed.header;
        assert_eq!(h.payload_type(), pt);
        assert_eq!(h.ssrc.get(), A_SSRC);
        assert_eq!(parsed.payload.len(), 160, "20 ms of G.711");
        match prev {
            None => assert!(h.marker(), "the first packet starts a talkspurt"),
            Some(prev) => {
                assert!(!h.marker(), "packet {i}");
                assert_eq!(h.sequence.get(), prev.sequence.get().wrapping_add(1));
                assert_eq!(h.timestamp.get(), prev.timestamp.get().wrapping_add(160));
            }
        }
        prev = Some(h);
        pcm.extend(parsed.payload.iter().map(|&c| law.decode(c)));
    }
    pcm
}

#[tokio::test]
async fn relays_both_ways_with_our_ssrc_sequence_and_payload_types() {
    let (peer_a, _) = peer().await;
    let (peer_a_rtcp, _) = peer().await;
    let (peer_b, peer_b_addr) = peer().await;
    let (peer_b_rtcp, peer_b_rtcp_addr) = peer().await;
    let mut map = PtMap::new();
    map.insert(101, 96).expect("room");
    let b = SideConfig {
        expected: Some(peer_b_addr),
        expected_rtcp: Some(peer_b_rtcp_addr),
        ..SideConfig::latching(B_SSRC)
    };
    let handle = MediaSession::spawn(
        reserve(),
        Some(reserve()),
        config(None, b, map),
        Mode::Relay,
    );
    let (local_a, local_b) = (local(&handle, Side::A), local(&handle, Side::B));

    // A -> B: PT mapped, our SSRC toward B.
    for seq in 1000..1005u16 {
        let p = rtp(101, seq, u32::from(seq) * 160, 0x1111, &[0xd5; 160]);
        peer_a.send_to(&p, local_a).await.expect("send");
    }
    for seq in 1000..1005u16 {
        let (p, from) = recv(&peer_b).await;
        assert_eq!(from, local_b);
        let h = header(&p);
        assert_eq!(h.ssrc.get(), B_SSRC);
        assert_eq!(h.payload_type(), 96);
        assert_eq!(h.sequence.get(), seq);
        assert_eq!(&p[12..], &[0xd5; 160]);
    }
    // A new source on A: numbers continue where the old one stopped.
    let p = rtp(0, 7, 99_999, 0x2222, &[0xff; 160]);
    peer_a.send_to(&p, local_a).await.expect("send");
    let (p, _) = recv(&peer_b).await;
    let h = header(&p);
    assert_eq!(h.ssrc.get(), B_SSRC);
    assert_eq!(h.sequence.get(), 1005);
    assert!(h.marker(), "re-based timeline is marked");

    // B -> A: back to the latched A peer, PT mapped back, our SSRC toward A.
    for seq in 0..3u16 {
        let p = rtp(96, 500 + seq, 0, 0x3333, &[0x55; 80]);
        peer_b.send_to(&p, local_b).await.expect("send");
    }
    for seq in 0..3u16 {
        let (p, from) = recv(&peer_a).await;
        assert_eq!(from, local_a);
        let h = header(&p);
        assert_eq!(h.ssrc.get(), A_SSRC);
        assert_eq!(h.payload_type(), 101);
        assert_eq!(h.sequence.get(), 500 + seq);
    }

    // RTCP from A's RTCP peer leaves from our RTCP port on B, sender SSRC rewritten.
    let rr = [0x80, 201, 0, 1, 0, 0, 0x11, 0x11];
    peer_a_rtcp
        .send_to(&rr, rtcp_port(local_a))
        .await
        .expect("send");
    let (p, from) = recv(&peer_b_rtcp).await;
    assert_eq!(from, rtcp_port(local_b));
    assert_eq!(&p[4..8], &B_SSRC.to_be_bytes());

    // A new PT map applies to packets after it (the command may trail a packet or two).
    let mut map = PtMap::new();
    map.insert(101, 97).expect("room");
    handle.set_pt_map(map);
    let mut extra = 0;
    let mapped = loop {
        extra += 1;
        assert!(extra < 100, "new PT map never applied");
        let p = rtp(101, 2000 + extra, 0, 0x2222, &[0xd5; 160]);
        peer_a.send_to(&p, local_a).await.expect("send");
        let (p, _) = recv(&peer_b).await;
        if header(&p).payload_type() == 97 {
            break true;
        }
    };
    assert!(mapped);

    let report = handle.close().await;
    assert_eq!(report.a.packets, 6 + u64::from(extra));
    assert_eq!(report.a.rtcp_packets, 1);
    assert_eq!(report.a.ssrc_changes, 1);
    assert_eq!(report.b.packets, 3);
    assert_eq!(report.sent_b, 6 + 1 + u64::from(extra));
    assert_eq!(report.sent_a, 3);
    assert_eq!(report.send_errors, 0);
}

#[tokio::test]
async fn tone_peaks_at_its_frequency() {
    let (peer_a, peer_a_addr) = peer().await;
    let handle = MediaSession::spawn(
        reserve(),
        None,
        config(
            Some(peer_a_addr),
            SideConfig::latching(B_SSRC),
            PtMap::new(),
        ),
        Mode::Tone {
            hz: 1000.0,
            payload_type: 0,
            law: Law::Pcmu,
            ptime_ms: 20,
        },
    );
    assert_eq!(handle.local(Side::B), None);
    let pcm = receive_tone(&peer_a, local(&handle, Side::A), 25, 0, Law::Pcmu).await;
    let at = goertzel(&pcm, 1000.0);
    for other in [700.0, 1300.0, 2000.0] {
        let off = goertzel(&pcm, other);
        assert!(at > 100.0 * off, "{at} at 1000 Hz vs {off} at {other} Hz");
    }

    // Packets from A are counted, not sent anywhere.
    let p = rtp(0, 1, 0, 0x4444, &[0xff; 160]);
    peer_a
        .send_to(&p, local(&handle, Side::A))
        .await
        .expect("send");
    let counted = wait_for(&handle, |r| r.a.packets == 1).await;
    assert!(counted.sent_a >= 25);
    let report = handle.close().await;
    assert_eq!(report.a.packets, 1);
    assert_eq!(report.sent_b, 0);
}

#[tokio::test]
async fn echo_sends_back_to_the_sender() {
    let (peer_a, _) = peer().await;
    let handle = MediaSession::spawn(
        reserve(),
        None,
        config(None, SideConfig::latching(B_SSRC), PtMap::new()),
        Mode::Echo,
    );
    let local_a = local(&handle, Side::A);
    let payload: Vec<u8> = (0..160).map(|i| i as u8).collect();
    for seq in 40..43u16 {
        let p = rtp(8, seq, u32::from(seq) * 160, 0x5555, &payload);
        peer_a.send_to(&p, local_a).await.expect("send");
        let (back, from) = recv(&peer_a).await;
        assert_eq!(from, local_a);
        let h = header(&back);
        assert_eq!(h.ssrc.get(), A_SSRC, "echoed with our SSRC");
        assert_eq!(h.sequence.get(), seq);
        assert_eq!(h.payload_type(), 8);
        assert_eq!(&back[12..], &payload[..]);
    }
    let report = handle.close().await;
    assert_eq!(report.a.packets, 3);
    assert_eq!(report.sent_a, 3);
}

#[tokio::test]
async fn silent_then_tone() {
    let (peer_a, peer_a_addr) = peer().await;
    let handle = MediaSession::spawn(
        reserve(),
        None,
        config(
            Some(peer_a_addr),
            SideConfig::latching(B_SSRC),
            PtMap::new(),
        ),
        Mode::Silent,
    );
    let mut buf = [0u8; 2048];
    assert!(
        timeout(Duration::from_millis(200), peer_a.recv_from(&mut buf))
            .await
            .is_err(),
        "silence sends nothing"
    );
    handle.set_mode(Mode::Tone {
        hz: 425.0,
        payload_type: 8,
        law: Law::Pcma,
        ptime_ms: 20,
    });
    let pcm = receive_tone(&peer_a, local(&handle, Side::A), 10, 8, Law::Pcma).await;
    assert!(goertzel(&pcm, 425.0) > 100.0 * goertzel(&pcm, 1000.0));

    handle.set_mode(Mode::Silent);
    let report = handle.close().await;
    assert!(report.sent_a >= 10);
    assert_eq!(report.a.packets, 0);
}

#[tokio::test]
async fn repoint_moves_the_tone_and_send_errors_do_not_stop_it() {
    // Start toward a port nobody listens on: ICMP port unreachable comes back.
    let (gone, gone_addr) = peer().await;
    drop(gone);
    let handle = MediaSession::spawn(
        reserve(),
        None,
        config(Some(gone_addr), SideConfig::latching(B_SSRC), PtMap::new()),
        Mode::Tone {
            hz: 1000.0,
            payload_type: 0,
            law: Law::Pcmu,
            ptime_ms: 20,
        },
    );
    wait_for(&handle, |r| r.sent_a + r.send_errors >= 3).await;

    let (peer_a, peer_a_addr) = peer().await;
    handle.repoint(
        Side::A,
        SideUpdate {
            expected: Some(peer_a_addr),
            expected_rtcp: None,
        },
    );
    let (p, from) = recv(&peer_a).await;
    assert_eq!(from, local(&handle, Side::A));
    assert_eq!(header(&p).payload_type(), 0);

    let watcher = handle.clone();
    assert!(watcher.is_running());
    let report = handle.close().await;
    assert!(report.sent_a >= 1);
    assert!(!watcher.is_running(), "close ends the task");
    // Commands to a closed session are ignored; closing again reports zeros.
    watcher.set_mode(Mode::Silent);
    assert_eq!(watcher.close().await.sent_a, 0);
}

/// Polls the session's counters until `done` holds, within [`WAIT`].
async fn wait_for(
    handle: &SessionHandle,
    done: impl Fn(&gateway::media::SessionReport) -> bool,
) -> gateway::media::SessionReport {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let report = handle.report().await;
        if done(&report) {
            return report;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached: {report:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
