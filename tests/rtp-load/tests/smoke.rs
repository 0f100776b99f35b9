//! The tool against a trivial relay in this process: two calls through a latching UDP
//! forwarder for one second, packets must come out on both sides. No timing assertions.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtp_load::{MediaParams, Pair};

/// One call of the forwarder: what arrives on one side goes to whoever last sent on the
/// other side (symmetric RTP latching, as a real relay does).
fn forwarder(until: Instant) -> (SocketAddr, SocketAddr) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let peers: Arc<Mutex<[Option<SocketAddr>; 2]>> = Arc::default();
    for (side, rx, tx) in [
        (0usize, a.try_clone().unwrap(), b.try_clone().unwrap()),
        (1, b, a),
    ] {
        let peers = peers.clone();
        std::thread::spawn(move || {
            rx.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let mut buf = [0u8; 2048];
            while Instant::now() < until {
                let Ok((n, from)) = rx.recv_from(&mut buf) else {
                    continue;
                };
                let to = {
                    let mut p = peers.lock().unwrap();
                    p[side] = Some(from);
                    p[1 - side]
                };
                if let Some(to) = to {
                    let _ = tx.send_to(&buf[..n], to);
                }
            }
        });
    }
    (a_addr, b_addr)
}

#[test]
fn two_calls_through_a_forwarder() {
    let until = Instant::now() + Duration::from_secs(5);
    let pairs: Vec<Pair> = (0..2)
        .map(|_| {
            let (a_dst, b_dst) = forwarder(until);
            Pair {
                a_dst,
                b_dst,
                a_sock: UdpSocket::bind("127.0.0.1:0").unwrap(),
                b_sock: UdpSocket::bind("127.0.0.1:0").unwrap(),
            }
        })
        .collect();
    let params = MediaParams {
        warmup: Duration::from_millis(300),
        duration: Duration::from_secs(1),
        drain: Duration::from_millis(200),
        relay_pid: Some(std::process::id()),
        ..MediaParams::default()
    };
    let report = rtp_load::run_pairs(pairs, &params).unwrap();
    println!("{report}");
    let m = &report.media;
    assert_eq!(m.streams, 4);
    assert!(m.a_to_b.sent > 0 && m.b_to_a.sent > 0);
    assert!(m.a_to_b.received > 0, "A -> B arrived");
    assert!(m.b_to_a.received > 0, "B -> A arrived");
    assert_eq!(m.foreign, 0);
    assert!(m.latency.count() > 0);
    assert!(report.to_string().contains("RESULT calls=2"));
}

#[test]
fn direct_pairs_with_two_senders_need_no_relay() {
    let pairs = rtp_load::media::direct_pairs("127.0.0.1".parse().unwrap(), 3, true).unwrap();
    let params = MediaParams {
        warmup: Duration::from_millis(100),
        duration: Duration::from_millis(500),
        drain: Duration::from_millis(100),
        senders: 2,
        ..MediaParams::default()
    };
    let report = rtp_load::run_pairs(pairs, &params).unwrap();
    assert!(report.media.a_to_b.received > 0 && report.media.b_to_a.received > 0);
    assert_eq!(report.media.foreign, 0);
}
