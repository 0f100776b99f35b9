//! The media task on real loopback sockets: relay with SSRC/sequence/PT rewriting and
//! RTCP from the RTCP port, a tone whose spectrum peaks where it should, echo, switching
//! modes, repointing, the report `close` returns, and DTMF: RFC 4733 events taken out of
//! a side and reported once per digit, digits played as events toward a side; the own RTCP
//! reports of a side marked `own_rtcp` and the round trip its answer gives.
//!
//! Every wait is bounded by a timeout; nothing asserts timing or packet rates.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use gateway::config::PortRange;
use gateway::media::{
    BoundPair, DtmfPolicy, EventSink, Law, MediaEvent, MediaSession, Mode, PortPool, PtMap,
    RelayConfig, RtpHeader, RtpPacket, SessionHandle, Side, SideConfig, SideUpdate,
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

// ----- DTMF (RFC 4733) ------------------------------------------------------------------

/// One RFC 4733 event block.
fn event(event: u8, end: bool, duration: u16) -> [u8; 4] {
    let d = duration.to_be_bytes();
    [event, (u8::from(end) << 7) | 10, d[0], d[1]]
}

fn te_packet(seq: u16, ts: u32, marker: bool, block: [u8; 4]) -> Vec<u8> {
    let mut v = RtpHeader::new(101, marker, seq, ts, 0x7777)
        .as_bytes()
        .to_vec();
    v.extend_from_slice(&block);
    v
}

#[tokio::test]
async fn telephone_events_are_taken_out_and_reported_once() {
    let (peer_a, _) = peer().await;
    let (peer_b, peer_b_addr) = peer().await;
    let b = SideConfig {
        expected: Some(peer_b_addr),
        ..SideConfig::latching(B_SSRC)
    };
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let handle = MediaSession::spawn_with_events(
        reserve(),
        Some(reserve()),
        config(None, b, PtMap::new()),
        Mode::Relay,
        EventSink { call: 42, tx },
    );
    handle.set_dtmf(
        Side::A,
        DtmfPolicy {
            telephone_event_pt: Some(101),
            extract: true,
            inband: false,
        },
    );
    let local_a = local(&handle, Side::A);
    // Audio, then '5' as a sender writes it (start three times, an update, the end three
    // times, audio between), then '#' whose end never comes, then audio.
    let send = |p: Vec<u8>| {
        let s = &peer_a;
        async move { s.send_to(&p, local_a).await.expect("send") }
    };
    let audio = |seq: u16| rtp(0, seq, u32::from(seq) * 160, 0x7777, &[0xd5; 160]);
    send(audio(1)).await;
    // The policy applies from the first packet it sees: wait for the audio to cross.
    let (p, _) = recv(&peer_b).await;
    assert_eq!(header(&p).payload_type(), 0);
    for i in 0..3 {
        send(te_packet(10 + i, 8000, true, event(5, false, 0))).await;
    }
    send(audio(2)).await;
    send(te_packet(13, 8000, false, event(5, false, 400))).await;
    for i in 0..3 {
        send(te_packet(14 + i, 8000, false, event(5, true, 800))).await;
    }
    send(te_packet(20, 16000, true, event(11, false, 160))).await;
    send(audio(3)).await;

    let got = timeout(WAIT, events.recv())
        .await
        .expect("a digit before the timeout")
        .expect("channel open");
    assert_eq!(
        got,
        MediaEvent::Dtmf {
            call: 42,
            side: Side::A,
            digit: '5',
            duration_ms: 100
        }
    );
    // '#' ends by the timeout (300 ms without an update).
    let got = timeout(WAIT, events.recv())
        .await
        .expect("a digit before the timeout")
        .expect("channel open");
    assert!(
        matches!(
            got,
            MediaEvent::Dtmf {
                digit: '#',
                duration_ms: 20,
                ..
            }
        ),
        "{got:?}"
    );
    // Only the audio crossed.
    for _ in 0..2 {
        let (p, _) = recv(&peer_b).await;
        assert_eq!(header(&p).payload_type(), 0, "events are not relayed");
    }
    let report = handle.close().await;
    assert_eq!(report.dtmf_in_a, 2);
    assert_eq!(report.a.packets, 3 + 8, "events are counted as received");
    assert_eq!(report.sent_b, 3);
    assert!(events.try_recv().is_err(), "each digit once");
}

#[tokio::test]
async fn digits_are_played_as_events_in_the_stream_toward_a_side() {
    let (peer_a, _) = peer().await;
    let (peer_b, peer_b_addr) = peer().await;
    let b = SideConfig {
        expected: Some(peer_b_addr),
        ..SideConfig::latching(B_SSRC)
    };
    let handle = MediaSession::spawn(
        reserve(),
        Some(reserve()),
        config(None, b, PtMap::new()),
        Mode::Relay,
    );
    handle.set_dtmf(
        Side::B,
        DtmfPolicy {
            telephone_event_pt: Some(96),
            extract: false,
            inband: false,
        },
    );
    let local_a = local(&handle, Side::A);
    // Audio A -> B first: the stream toward B has numbers the events must continue.
    for seq in 1000..1003u16 {
        let p = rtp(0, seq, u32::from(seq) * 160, 0x1111, &[0xd5; 160]);
        peer_a.send_to(&p, local_a).await.expect("send");
        recv(&peer_b).await;
    }
    handle.send_dtmf(Side::B, '#', 100);
    handle.send_dtmf(Side::B, '1', 60);
    // '#' 100 ms: 4 updates and 3 end copies; '1' 60 ms: 2 updates and 3 end copies.
    let mut got = Vec::new();
    for _ in 0..12 {
        let (p, from) = recv(&peer_b).await;
        assert_eq!(from, local(&handle, Side::B));
        let parsed = RtpPacket::parse(&p).expect("valid RTP");
        let h = *parsed.header;
        assert_eq!(h.payload_type(), 96);
        assert_eq!(h.ssrc.get(), B_SSRC, "the SSRC of the stream toward B");
        let b = parsed.payload;
        assert_eq!(b.len(), 4);
        got.push((
            h.sequence.get(),
            h.timestamp.get(),
            h.marker(),
            b[0],
            b[1] & 0x80 != 0,
            u16::from_be_bytes([b[2], b[3]]),
        ));
    }
    let seqs: Vec<u16> = got.iter().map(|g| g.0).collect();
    assert_eq!(
        seqs,
        (1003..1015).collect::<Vec<u16>>(),
        "numbers follow the audio"
    );
    let shape: Vec<(bool, u8, bool, u16)> = got.iter().map(|g| (g.2, g.3, g.4, g.5)).collect();
    assert_eq!(
        shape,
        [
            (true, 11, false, 160),
            (false, 11, false, 320),
            (false, 11, false, 480),
            (false, 11, false, 640),
            (false, 11, true, 800),
            (false, 11, true, 800),
            (false, 11, true, 800),
            (true, 1, false, 160),
            (false, 1, false, 320),
            (false, 1, true, 480),
            (false, 1, true, 480),
            (false, 1, true, 480),
        ]
    );
    // One timestamp per event, after the audio's, the second after the first one's end.
    let (ts1, ts2) = (got[0].1, got[7].1);
    assert!(got[..7].iter().all(|g| g.1 == ts1));
    assert!(got[7..].iter().all(|g| g.1 == ts2));
    assert!(
        ts1.wrapping_sub(1002 * 160) as i32 > 0,
        "after the last audio"
    );
    assert!(ts2.wrapping_sub(ts1) as i32 >= 800, "after the end of '#'");
    // Audio after the events continues the numbering, without a duplicate.
    let p = rtp(0, 1003, 1003 * 160, 0x1111, &[0xd5; 160]);
    peer_a.send_to(&p, local_a).await.expect("send");
    let (p, _) = recv(&peer_b).await;
    assert_eq!(header(&p).sequence.get(), 1015);
    assert_eq!(header(&p).timestamp.get(), 1003 * 160);
    let report = handle.close().await;
    assert_eq!(report.dtmf_out_b, 2);
    assert_eq!(report.sent_b, 3 + 12 + 1);

    // Without a telephone-event payload type nothing is played.
    let handle = MediaSession::spawn(
        reserve(),
        Some(reserve()),
        config(None, SideConfig::latching(B_SSRC), PtMap::new()),
        Mode::Relay,
    );
    handle.send_dtmf(Side::A, '1', 100);
    let report = handle.close().await;
    assert_eq!((report.dtmf_out_a, report.sent_a), (0, 0));
}

/// A side marked `own_rtcp` gets the session's own SR + SDES from our RTCP port (the
/// first within 2.5 s × 1.5 / (e − 1.5) ≈ 3.1 s), RTCP from it stays in the gateway, and
/// its report naming our SR gives the leg's round trip in the session's report.
#[tokio::test]
async fn own_rtcp_reports_go_out_and_the_answer_gives_the_round_trip() {
    use gateway::media::rtcp::{
        Compound, Report, ReportBlock, RtcpPacket, first_cname, write_compound,
    };
    let (peer_a, peer_a_addr) = peer().await;
    let (peer_a_rtcp, peer_a_rtcp_addr) = peer().await;
    let (peer_b, peer_b_addr) = peer().await;
    let a = SideConfig {
        expected: Some(peer_a_addr),
        expected_rtcp: Some(peer_a_rtcp_addr),
        own_rtcp: true,
        ..SideConfig::latching(A_SSRC)
    };
    let b = SideConfig {
        expected: Some(peer_b_addr),
        ..SideConfig::latching(B_SSRC)
    };
    let handle = MediaSession::spawn(
        reserve(),
        Some(reserve()),
        RelayConfig {
            a,
            b,
            pt_map: PtMap::new(),
        },
        Mode::Relay,
    );
    let (local_a, local_b) = (local(&handle, Side::A), local(&handle, Side::B));
    // RTP still crosses both ways.
    for seq in 0..5u16 {
        let p = rtp(0, 100 + seq, u32::from(seq) * 160, 0x3333, &[0xd5; 160]);
        peer_b.send_to(&p, local_b).await.expect("send");
        recv(&peer_a).await;
        let p = rtp(0, seq, u32::from(seq) * 160, 0x1111, &[0xd5; 160]);
        peer_a.send_to(&p, local_a).await.expect("send");
        recv(&peer_b).await;
    }
    let (report, from) = recv(&peer_a_rtcp).await;
    assert_eq!(from, rtcp_port(local_a));
    let items: Vec<_> = Compound::new(&report)
        .map(|p| p.expect("valid RTCP"))
        .collect();
    let RtcpPacket::Sr {
        ssrc,
        info,
        mut blocks,
    } = items[0]
    else {
        panic!("an SR first: {items:?}")
    };
    assert_eq!((ssrc, info.packets, info.octets), (A_SSRC, 5, 800));
    let block = blocks.next().expect("a block about A's source");
    assert_eq!(
        (block.ssrc, block.highest_seq, block.cumulative_lost),
        (0x1111, 4, 0)
    );
    let RtcpPacket::Sdes { chunks, .. } = items[1] else {
        panic!("SDES second: {items:?}")
    };
    let (cname_ssrc, cname) = first_cname(chunks).expect("a CNAME");
    assert_eq!((cname_ssrc, cname.len()), (A_SSRC, 16));

    // A's RR about our stream, naming our SR: not relayed to B, it measures A's leg.
    let answer = ReportBlock {
        ssrc: A_SSRC,
        lsr: info.ntp.middle(),
        ..ReportBlock::default()
    };
    let rr = Report {
        ssrc: 0x1111,
        sender: None,
        blocks: &[answer],
        cname: b"a",
    };
    let mut buf = [0u8; 128];
    let len = write_compound(&mut buf, &rr).expect("room");
    peer_a_rtcp
        .send_to(&buf[..len], rtcp_port(local_a))
        .await
        .expect("send");
    let measured = timeout(WAIT, async {
        loop {
            let r = handle.report().await;
            if let Some(rtt) = r.leg_a.rtt {
                break rtt;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the round trip within the wait");
    assert!(measured.last < WAIT, "{measured:?}");
    let report = handle.close().await;
    assert_eq!(report.a.rtcp_packets, 1);
    assert_eq!(report.sent_b, 5, "RTP only: A's RTCP stayed in the gateway");
    assert!(report.leg_b.rtt.is_none());
}
