use super::*;
use proptest::prelude::*;

fn cfg(protocol: Protocol, timeslots: &[u8], frames: u16, depth_ms: u64) -> Config {
    Config {
        protocol,
        timeslots: timeslots.to_vec(),
        frames_per_packet: frames,
        jitter_buffer: Duration::from_millis(depth_ms),
        rtp: None,
        first_seq: 0xFFF0,
    }
}

#[test]
fn control_word_bits() {
    let cw = ControlWord {
        l: true,
        r: false,
        m: 0,
        frg: 0,
        len: 35,
        seq: 0x1234,
    };
    assert_eq!(cw.encode(), [0x08, 35, 0x12, 0x34]);
    assert_eq!(ControlWord::decode(&cw.encode()), Ok(cw));
    let r = ControlWord {
        r: true,
        m: ControlWord::M_RDI,
        ..ControlWord::default()
    };
    assert_eq!(r.encode(), [0x06, 0, 0, 0]);
    assert_eq!(
        ControlWord::decode(&[0x45, 0, 0, 0]),
        Err(PwError::NotControlWord)
    );
    assert_eq!(ControlWord::decode(&[0, 0, 0]), Err(PwError::TooShort));
}

#[test]
fn cesopsn_packet_layout_and_length_field() {
    let c = cfg(Protocol::Cesopsn, &[1, 2, 16], 2, 1);
    let mut p = Packetizer::new(&c);
    let mut frames = [[0u8; TIMESLOTS]; 2];
    for (k, f) in frames.iter_mut().enumerate() {
        for (t, o) in f.iter_mut().enumerate() {
            *o = (k * 100 + t) as u8;
        }
    }
    let mut out = Vec::with_capacity(p.max_packet());
    p.packetize(&mut frames, false, true, &mut out);
    // CW (R set, LEN = 4 + 6 = 10), then frame 0's TS1, TS2, TS16, then frame 1's.
    assert_eq!(out, [0x04, 10, 0xFF, 0xF0, 1, 2, 16, 101, 102, 116]);
    p.packetize(&mut frames, true, false, &mut out);
    assert_eq!(out, [0x08, 4, 0xFF, 0xF1], "L set: payload left out");
    // 8 frames x 30 timeslots: 244 octets, LEN 0.
    let ts: Vec<u8> = (1..=31).filter(|&t| t != 16).collect();
    let c = cfg(Protocol::Cesopsn, &ts, 8, 1);
    let mut p = Packetizer::new(&c);
    let mut frames = [[0u8; TIMESLOTS]; 8];
    p.packetize(&mut frames, false, false, &mut out);
    assert_eq!(out.len(), 244);
    assert_eq!(out[1], 0);
}

#[test]
fn rtp_header_follows_the_control_word() {
    let mut c = cfg(Protocol::Cesopsn, &[1], 8, 1);
    c.rtp = Some(RtpConfig {
        payload_type: 96,
        ssrc: 7,
    });
    let mut p = Packetizer::new(&c);
    let mut frames = [[0x55u8; TIMESLOTS]; 8];
    let mut out = Vec::new();
    p.packetize(&mut frames, false, false, &mut out);
    assert_eq!(out.len(), 4 + 12 + 8);
    assert_eq!(&out[4..6], &[0x80, 96]);
    p.packetize(&mut frames, false, false, &mut out);
    assert_eq!(&out[8..12], &8u32.to_be_bytes(), "timestamp in frames");
    let mut d = Depacketizer::new(&c);
    assert!(d.receive(&out).unwrap().stored);
    let mut rx = [[0u8; TIMESLOTS]; 8];
    d.play(&mut rx);
    assert!(rx.iter().all(|f| f[1] == 0x55));
}

#[test]
fn malformed_packets_are_counted() {
    let c = cfg(Protocol::Cesopsn, &[1, 2], 8, 1);
    let mut d = Depacketizer::new(&c);
    assert_eq!(
        d.receive(&[0, 0, 0, 1, 9]),
        Err(PwError::PayloadSize(1, 16))
    );
    assert_eq!(d.receive(&[0, 0x40, 0, 1]), Err(PwError::Fragmented));
    assert_eq!(d.receive(&[0, 9, 0, 1, 1]), Err(PwError::BadLength));
    // LEN shorter than the packet: padding after it is ignored.
    let mut p = vec![0, 20, 0, 1];
    p.extend_from_slice(&[3; 16]);
    p.extend_from_slice(&[0; 40]);
    assert!(d.receive(&p).is_ok());
    assert_eq!(d.stats().malformed, 3);
}

#[test]
fn far_end_flags_and_l_bit_filler() {
    // A depth of one packet: each plays at the next tick.
    let c = cfg(Protocol::Cesopsn, &[1, 2], 1, 0);
    let mut d = Depacketizer::new(&c);
    let mut rx = [[0u8; TIMESLOTS]; 1];
    // M = 10: RDI on the far attachment circuit, data still valid.
    assert!(d.receive(&[0x02, 6, 0, 1, 0x11, 0x22]).unwrap().stored);
    assert!(d.far_rdi() && !d.far_fault() && !d.far_loss());
    d.play(&mut rx);
    assert_eq!((rx[0][1], rx[0][2]), (0x11, 0x22));
    // L with R, payload omitted: the far TDM side is down; filler is played.
    assert!(d.receive(&[0x0C, 4, 0, 2]).unwrap().stored);
    assert!(d.far_fault() && d.far_loss() && !d.far_rdi());
    d.play(&mut rx);
    assert_eq!((rx[0][1], rx[0][2]), (FILLER, FILLER));
    assert_eq!(d.stats().lost, 0, "an L packet is not a lost one");
    // A duplicate and a late packet are dropped.
    assert!(d.receive(&[0, 6, 0, 3, 1, 1]).unwrap().stored);
    assert!(!d.receive(&[0, 6, 0, 3, 1, 1]).unwrap().stored);
    assert!(!d.receive(&[0, 6, 0, 1, 1, 1]).unwrap().stored);
    assert_eq!((d.stats().duplicates, d.stats().late), (1, 1));
}

#[test]
fn underruns_and_overruns_are_told_apart() {
    // A depth of one packet: each plays at the next tick.
    let c = cfg(Protocol::Cesopsn, &[1, 2], 1, 0);
    let mut d = Depacketizer::new(&c);
    let mut rx = [[0u8; TIMESLOTS]; 1];
    assert!(d.receive(&[0, 6, 0, 10, 1, 1]).unwrap().stored);
    // A packet far beyond the buffer: it starts filling again from there.
    assert!(d.receive(&[0, 6, 0, 200, 1, 1]).unwrap().stored);
    assert_eq!((d.stats().overruns, d.stats().underruns), (1, 0));
    d.play(&mut rx);
    // Nothing more arrives: the buffer runs dry and starts filling again.
    for _ in 0..8 {
        d.play(&mut rx);
    }
    let st = d.stats();
    assert_eq!((st.overruns, st.underruns), (1, 1), "{st:?}");
    assert_eq!(st.resyncs, st.overruns + st.underruns);
}

#[test]
fn loss_state_sets_r_until_packets_play() {
    let c = cfg(Protocol::Cesopsn, &[1], 8, 2);
    let t0 = Instant::now();
    let mut a = Pseudowire::new(c.clone(), t0).unwrap();
    let mut b = Pseudowire::new(c, t0).unwrap();
    let mut port = Loop::default();
    // Nothing received yet: R.
    a.handle_timeout(t0, &mut port);
    let p = a.poll_transmit().unwrap().to_vec();
    assert!(ControlWord::decode(&p).unwrap().r);
    let mut now = t0;
    for _ in 0..10 {
        now += a.config().packet_period();
        a.handle_timeout(now, &mut port);
        b.handle_timeout(now, &mut port);
        while let Some(p) = a.poll_transmit() {
            let p = p.to_vec();
            b.handle_input(now, &p).unwrap();
        }
        while let Some(p) = b.poll_transmit() {
            let p = p.to_vec();
            a.handle_input(now, &p).unwrap();
        }
    }
    assert!(!a.receiver().loss_state() && !b.receiver().loss_state());
    assert!(!a.receiver().far_loss(), "b's packets carry R = 0");
    // b goes silent: once the buffered packets are played and three more are missing,
    // a says R again.
    for _ in 0..6 {
        now += a.config().packet_period();
        a.handle_timeout(now, &mut port);
        while a.poll_transmit().is_some() {}
    }
    assert!(a.receiver().loss_state());
    assert!(a.stats().rx.lost >= 3);
}

#[test]
fn clock_ticks_once_per_packet_period_and_jumps_when_far_behind() {
    let c = cfg(Protocol::Cesopsn, &[1], 8, 1);
    let t0 = Instant::now();
    let mut pw = Pseudowire::new(c, t0).unwrap();
    let mut port = Loop::default();
    assert_eq!(pw.poll_timeout(), Some(t0));
    pw.handle_timeout(t0 + Duration::from_micros(2500), &mut port);
    assert_eq!(pw.stats().sent, 3);
    assert_eq!(pw.poll_timeout(), Some(t0 + Duration::from_millis(3)));
    let mut n = 0;
    while pw.poll_transmit().is_some() {
        n += 1;
    }
    assert_eq!(n, 3);
    pw.handle_timeout(t0 + Duration::from_secs(5), &mut port);
    assert_eq!(pw.stats().clock_jumps, 1);
    assert!(pw.poll_timeout().unwrap() > t0 + Duration::from_secs(5));
}

/// A TDM side that sends a counter in every timeslot and a D-channel in TS16.
#[derive(Default)]
struct Loop {
    n: u8,
    d: DChannel,
    got: Vec<Vec<u8>>,
    rx: Vec<Frame>,
}

impl TdmPort for Loop {
    fn transmit(&mut self, frame: &mut Frame) {
        self.n = self.n.wrapping_add(1);
        frame.fill(self.n);
        frame[16] = self.d.next_octet();
    }
    fn receive(&mut self, frame: &Frame) {
        let got = &mut self.got;
        self.d.receive_octet(frame[16], |f| got.push(f.to_vec()));
        self.rx.push(*frame);
    }
}

fn run_pair(c: Config, frames: &[Vec<u8>]) -> (Loop, Loop) {
    let t0 = Instant::now();
    let mut a = Pseudowire::new(c.clone(), t0).unwrap();
    let mut b = Pseudowire::new(c, t0).unwrap();
    let mut pa = Loop::default();
    let mut pb = Loop::default();
    let mut now = t0;
    for i in 0..400 {
        // Queued once the far end receives (SAToP needs three frames to align).
        if i == 50 {
            for f in frames {
                pa.d.push_frame(f);
            }
        }
        a.handle_timeout(now, &mut pa);
        b.handle_timeout(now, &mut pb);
        while let Some(p) = a.poll_transmit() {
            let p = p.to_vec();
            b.handle_input(now, &p).unwrap();
        }
        while let Some(p) = b.poll_transmit() {
            let p = p.to_vec();
            a.handle_input(now, &p).unwrap();
        }
        now += a.config().packet_period();
    }
    (pa, pb)
}

#[test]
fn d_channel_frames_cross_cesopsn() {
    let frames = vec![
        vec![0x02, 0x01, 0x7F],
        vec![0x00, 0x01, 0x00, 0x00, 0xFF, 0x7E, 0x7E],
    ];
    let ts: Vec<u8> = (1..=31).collect();
    let (_a, b) = run_pair(cfg(Protocol::Cesopsn, &ts, 8, 3), &frames);
    assert_eq!(b.got, frames);
    // Bearer timeslots carry a running counter: consecutive after playout starts.
    let played: Vec<u8> = b.rx.iter().map(|f| f[5]).filter(|&o| o != FILLER).collect();
    assert!(played.len() > 1000);
    for w in played.windows(2).take(200) {
        assert!(w[1] == w[0].wrapping_add(1) || w[1] == w[0].wrapping_add(2));
    }
}

#[test]
fn satop_writes_ts0_and_finds_alignment() {
    let frames = vec![vec![0x02, 0x01, 0x7F]];
    let c = cfg(Protocol::Satop, &[], 8, 2);
    let mut p = Packetizer::new(&c);
    let mut f = [[0u8; TIMESLOTS]; 8];
    let mut out = Vec::new();
    p.packetize(&mut f, false, false, &mut out);
    assert_eq!(out.len(), 4 + 256);
    assert_eq!(out[4], FAS);
    assert_eq!(out[4 + 32], NFAS);
    assert_eq!(out[4 + 64], FAS);
    let (_a, b) = run_pair(c, &frames);
    assert_eq!(b.got, frames);
    assert!(b.rx.last().unwrap()[0] == FAS || b.rx.last().unwrap()[0] == NFAS);
    // A frame without FAS: three in a row lose alignment (AIS).
    let mut d = Depacketizer::new(&cfg(Protocol::Satop, &[], 8, 1));
    let mut good = Packetizer::new(&cfg(Protocol::Satop, &[], 8, 1));
    let mut rx = [[0u8; TIMESLOTS]; 8];
    for _ in 0..2 {
        let mut f = [[7u8; TIMESLOTS]; 8];
        good.packetize(&mut f, false, false, &mut out);
        d.receive(&out).unwrap();
        d.play(&mut rx);
    }
    assert!(d.frame_aligned());
    assert_eq!(rx[7][3], 7);
    let mut bad = out.clone();
    for k in 0..8 {
        bad[4 + 32 * k] = 0;
    }
    bad[2..4].copy_from_slice(&out[2..4]);
    let seq = u16::from_be_bytes([out[2], out[3]]).wrapping_add(1);
    bad[2..4].copy_from_slice(&seq.to_be_bytes());
    d.receive(&bad).unwrap();
    d.play(&mut rx);
    assert!(!d.frame_aligned());
    assert_eq!(rx[7][3], FILLER);
}

#[test]
fn bad_fcs_on_ts16_is_dropped() {
    let mut tx = DChannel::default();
    tx.push_frame(&[0x02, 0x01, 0x7F]);
    let mut line: Vec<u8> = (0..12).map(|_| tx.next_octet()).collect();
    line[3] ^= 0x10;
    let mut rx = DChannel::default();
    let mut got = 0;
    for o in line {
        rx.receive_octet(o, |_| got += 1);
    }
    assert_eq!(got, 0);
    assert_eq!(rx.stats().bad_fcs + rx.stats().invalid, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary timeslot data crosses packetizer and depacketizer unchanged, with
    /// packets reordered within the jitter window and some lost (played as filler).
    #[test]
    fn round_trip_with_reordering(
        ts in proptest::collection::btree_set(1u8..32, 1..31),
        frames in 1u16..9,
        depth in 1u32..8,
        chunks in 2usize..12,
        seed in any::<u64>(),
        drops in proptest::collection::btree_set(0usize..96, 0..8),
    ) {
        let ts: Vec<u8> = ts.into_iter().collect();
        let period_us = 125 * u64::from(frames);
        let c = Config {
            jitter_buffer: Duration::from_micros(period_us * u64::from(depth)),
            ..cfg(Protocol::Cesopsn, &ts, frames, 0)
        };
        prop_assert_eq!(c.depth_packets(), depth);
        let d_n = depth as usize;
        let total = d_n * chunks;
        let mut rng = seed;
        let mut next = || { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; rng };
        let mut p = Packetizer::new(&c);
        let mut d = Depacketizer::new(&c);
        let mut sent: Vec<Vec<Frame>> = Vec::new();
        let mut packets = Vec::new();
        for _ in 0..total {
            let mut fs = vec![[0u8; TIMESLOTS]; usize::from(frames)];
            for f in fs.iter_mut() {
                for o in f.iter_mut() { *o = next() as u8; }
            }
            let mut out = Vec::new();
            p.packetize(&mut fs, false, false, &mut out);
            sent.push(fs);
            packets.push(out);
        }
        // One loss per chunk at most, never in the first chunk.
        let lost: Vec<bool> = (0..total)
            .map(|i| i >= d_n && drops.contains(&i) && !drops.iter().any(|&j| j < i && j / d_n == i / d_n))
            .collect();
        let mut played = Vec::new();
        for k in 0..chunks {
            let mut order: Vec<usize> = (k * d_n..(k + 1) * d_n).collect();
            for i in (1..order.len()).rev() {
                let j = (next() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for i in order {
                if !lost[i] {
                    prop_assert!(d.receive(&packets[i]).is_ok());
                }
            }
            for _ in 0..d_n {
                let mut rx = vec![[0u8; TIMESLOTS]; usize::from(frames)];
                d.play(&mut rx);
                played.push(rx);
            }
        }
        for (i, rx) in played.iter().enumerate() {
            for (f, g) in sent[i].iter().zip(rx) {
                for &t in &ts {
                    let want = if lost[i] { FILLER } else { f[usize::from(t)] };
                    prop_assert_eq!(g[usize::from(t)], want, "packet {} timeslot {}", i, t);
                }
            }
        }
    }

    /// No input makes the depacketizer panic, whatever the settings.
    #[test]
    fn depacketizer_never_panics(
        packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..20),
        rtp in any::<bool>(),
        satop in any::<bool>(),
    ) {
        let mut c = cfg(if satop { Protocol::Satop } else { Protocol::Cesopsn }, &[1, 16], 1, 1);
        if rtp { c.rtp = Some(RtpConfig { payload_type: 96, ssrc: 1 }); }
        let mut d = Depacketizer::new(&c);
        let mut rx = [[0u8; TIMESLOTS]; 1];
        for p in &packets {
            let _ = d.receive(p);
            d.play(&mut rx);
        }
    }
}
