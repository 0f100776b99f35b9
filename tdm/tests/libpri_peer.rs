//! Our Q.921 against an independent LAPD: Debian's libpri in `tests/pri-peer/peer.c`, on
//! the far end of a test span (an AF_UNIX SOCK_SEQPACKET socket, `tdm::test_span`).
//!
//! The peer is built by the test with `gcc ... -lpri` (needs `build-essential` and
//! `libpri-dev`, tests/debian-packages.txt). Each test, for both roles (libpri network
//! and we user, then the reverse):
//! - both sides send SABME at once; both must report the link up (libpri `DCHAN_UP`, our
//!   DL-ESTABLISH);
//! - an I frame carrying a Q.931 STATUS ENQUIRY (encoded by `mapping`) is acknowledged,
//!   and libpri's STATUS comes back;
//! - we drop every frame for a while: libpri's T200/N200 run out (`DCHAN_DOWN`), the
//!   link is established again on both sides, and STATUS ENQUIRY works again;
//! - tshark decodes libpri's LINUX_LAPD capture with no malformed frame or expert
//!   error, and labels the directions right.
//!
//! Every wait is bounded; the clock is real (the peer runs on it).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use mapping::cause::Cause;
use mapping::number::{Digits, PartyNumber};
use mapping::q931::ies::{BearerCapability, ChannelId, Layer1Protocol, TransferCapability};
use mapping::q931::{CallReference, Dialect, Message, MessageType};
use socket2::{Domain, SockAddr, Socket, Type};
use tdm::q921::{Config, DataLink, Event, Output, Request, Side};
use tdm::test_span;

/// Builds the peer once per test binary.
fn peer_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/pri-peer/peer.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pri-peer");
        std::fs::create_dir_all(&dir).expect("create the peer's build directory");
        // Built under a name of this process, then renamed into place: test binaries
        // running at once never see a half-written peer, and peer.c changes are picked up.
        let tmp = dir.join(format!("peer.{}.tmp", std::process::id()));
        let bin = dir.join("peer");
        let out = Command::new("gcc")
            .args(["-O2", "-Wall", "-Werror", "-o"])
            .arg(&tmp)
            .arg(&src)
            .arg("-lpri")
            .output()
            .expect("run gcc (apt-get install build-essential libpri-dev)");
        assert!(
            out.status.success(),
            "building the libpri peer failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&tmp, &bin).expect("move the peer into place");
        bin
    })
}

/// The running C peer and its stdout lines.
struct Peer {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Peer {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Peer {
        let mut cmd = Command::new(peer_binary());
        cmd.args(args)
            .env("PEER_SECONDS", "40")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the libpri peer");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Takes what the peer printed so far.
    fn collect(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            eprintln!("peer: {l}");
            self.seen.push(l);
        }
    }

    fn count(&self, line: &str) -> usize {
        self.seen.iter().filter(|l| l.starts_with(line)).count()
    }

    /// Waits (bounded) for a line starting with `prefix`, not counting earlier ones.
    fn wait_line(&mut self, prefix: &str, limit: Duration) -> String {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    eprintln!("peer: {l}");
                    self.seen.push(l.clone());
                    if l.starts_with(prefix) {
                        return l;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("peer printed no {prefix:?} in {limit:?}: {:?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("peer exited without {prefix:?}: {:?}", self.seen)
                }
            }
        }
    }

    /// After we closed the span: the peer's RESULT line and exit, bounded.
    fn finish(mut self) -> Vec<String> {
        let result = self.wait_line("RESULT", Duration::from_secs(10));
        assert_eq!(result, "RESULT OK");
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait().expect("wait for the peer") {
                Some(status) => {
                    assert!(status.success(), "peer exit status {status}");
                    break;
                }
                None if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
                None => {
                    let _ = self.child.kill();
                    panic!("peer did not exit");
                }
            }
        }
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Only our own child, by its handle; a no-op once it has exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our end of the test span: the socket and the data link entity, run on the real
/// clock by a small loop (the shell a span driver will be).
struct Span {
    sock: Socket,
    link: DataLink,
    events: Vec<Event>,
    /// Received frames are dropped until then (a broken line, one way).
    deaf_until: Option<Instant>,
    buf: Vec<u8>,
}

impl Span {
    fn new(sock: Socket, side: Side) -> Span {
        Span {
            sock,
            link: DataLink::new(Config::pri(side)),
            events: Vec::new(),
            deaf_until: None,
            buf: Vec::with_capacity(test_span::MAX_MESSAGE),
        }
    }

    fn flush(&mut self) {
        while let Some(o) = self.link.poll_output() {
            match o {
                Output::Transmit(frame) => {
                    self.buf.clear();
                    test_span::encode_dchannel(&frame, &mut self.buf);
                    (&self.sock)
                        .write_all(&self.buf)
                        .expect("write to the test span");
                }
                Output::Event(e) => {
                    eprintln!("rust: {e:?}");
                    self.events.push(e);
                }
            }
        }
    }

    /// Runs the link until `done` holds (checked after every step), at most `limit`.
    fn run_until(&mut self, peer: &mut Peer, limit: Duration, done: impl Fn(&Span, &Peer) -> bool) {
        let end = Instant::now() + limit;
        let mut rx = [0u8; 1024];
        loop {
            self.flush();
            peer.collect();
            if done(self, peer) {
                return;
            }
            let now = Instant::now();
            assert!(
                now < end,
                "not done within {limit:?}; ours: {:?}; peer: {:?}",
                self.events,
                peer.seen
            );
            let wake = self.link.poll_timeout().map_or(end, |t| t.min(end));
            let wait = wake
                .saturating_duration_since(now)
                .clamp(Duration::from_millis(1), Duration::from_millis(50));
            self.sock.set_read_timeout(Some(wait)).expect("set timeout");
            match (&self.sock).read(&mut rx) {
                Ok(0) => panic!("the peer closed the span; peer: {:?}", peer.seen),
                Ok(n) => {
                    let now = Instant::now();
                    if self.deaf_until.is_some_and(|t| now < t) {
                        continue;
                    }
                    match test_span::decode_dchannel(&rx[..n]) {
                        Ok(frame) => {
                            if let Err(e) = self.link.handle_frame(now, frame) {
                                eprintln!("rust: frame refused: {e}");
                            }
                        }
                        Err(e) => eprintln!("rust: {e}"),
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read from the test span: {e}"),
            }
            self.link.handle_timeout(Instant::now());
        }
    }

    fn ups(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::EstablishIndication | Event::EstablishConfirm))
            .count()
    }

    /// Messages of type `t` received so far for call reference `cr` (flag set: the
    /// answer to a reference we allocated).
    fn received(&self, cr: u16, t: MessageType) -> usize {
        self.events
            .iter()
            .filter(|e| match e {
                Event::Data(d) => Message::decode(d, Dialect::Q931)
                    .is_ok_and(|m| m.msg_type == t && m.call_ref == CallReference::pri(cr, true)),
                _ => false,
            })
            .count()
    }

    fn send(&mut self, m: &Message) {
        self.link
            .handle_request(Instant::now(), Request::Data(&m.encode()))
            .expect("the message fits N201");
    }

    fn status_enquiry(&mut self, cr: u16) {
        self.send(&Message::new(
            Dialect::Q931,
            CallReference::pri(cr, false),
            MessageType::STATUS_ENQUIRY,
        ));
    }

    /// SETUP for speech on B-channel 1 (exclusive), 2000 calling 1000.
    fn setup(&mut self, cr: u16) {
        let number = |d: &str| PartyNumber::unknown(Digits::new(d).expect("test digits"));
        let mut m = Message::setup(
            Dialect::Q931,
            CallReference::pri(cr, false),
            &BearerCapability::circuit_64k(
                TransferCapability::SPEECH,
                Some(Layer1Protocol::G711_ALAW),
            ),
            &number("1000"),
            Some(&number("2000")),
        )
        .expect("short numbers fit");
        m.set(&ChannelId::pri_b_channel(1, true))
            .expect("a channel identification fits");
        m.set_sending_complete();
        self.send(&m);
    }
}

fn seqpacket() -> Socket {
    Socket::new(Domain::UNIX, Type::SEQPACKET, None).expect("AF_UNIX SOCK_SEQPACKET socket")
}

const T: Duration = Duration::from_secs(1);

/// The scenario, with our entity on `side` and libpri on the other.
fn scenario(side: Side, we_listen: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("span");
    let pcap = dir.path().join("peer.pcap");
    let path_s = path.to_str().expect("utf-8 temp path");
    let pcap_s = pcap.to_str().expect("utf-8 temp path");
    let role = match side {
        Side::User => "net",
        Side::Network => "cpe",
    };
    let (sock, mut peer) = if we_listen {
        let listener = seqpacket();
        listener
            .bind(&SockAddr::unix(&path).expect("unix address"))
            .expect("bind");
        listener.listen(1).expect("listen");
        let peer = Peer::spawn(&["connect", path_s, role, "answer", pcap_s], &[]);
        // SO_RCVTIMEO bounds accept() on Linux.
        listener
            .set_read_timeout(Some(10 * T))
            .expect("set timeout");
        let (sock, _) = listener.accept().expect("the peer connects");
        (sock, peer)
    } else {
        let mut peer = Peer::spawn(&["listen", path_s, role, "answer", pcap_s], &[]);
        peer.wait_line("LISTENING", 10 * T);
        let sock = seqpacket();
        sock.connect(&SockAddr::unix(&path).expect("unix address"))
            .expect("connect");
        (sock, peer)
    };
    let mut span = Span::new(sock, side);

    // Both sides send SABME (libpri does at start; we ask for it): up on both.
    span.link
        .handle_request(Instant::now(), Request::Establish)
        .expect("establish");
    span.run_until(&mut peer, 10 * T, |s, p| {
        s.link.is_established() && s.ups() == 1 && p.count("EVENT DCHAN_UP") == 1
    });

    // A call from us (Q.931 by mapping's codec): libpri rings and answers.
    span.setup(1);
    span.run_until(&mut peer, 5 * T, |_, p| p.count("EVENT RING") == 1);
    let ring = peer
        .seen
        .iter()
        .find(|l| l.starts_with("EVENT RING"))
        .expect("counted above");
    assert!(
        ring.contains("called=1000 calling=2000 channel=1"),
        "{ring}"
    );
    span.run_until(&mut peer, 5 * T, |s, _| {
        s.received(1, MessageType::CALL_PROCEEDING) == 1 && s.received(1, MessageType::CONNECT) == 1
    });
    // STATUS ENQUIRY in an I frame: acknowledged, answered with STATUS.
    span.status_enquiry(1);
    span.run_until(&mut peer, 5 * T, |s, _| {
        let (vs, va, _) = s.link.variables();
        s.received(1, MessageType::STATUS) == 1 && vs == va
    });
    // Cleared from our side.
    span.send(&Message::clearing(
        Dialect::Q931,
        CallReference::pri(1, false),
        MessageType::RELEASE,
        Some(Cause::NORMAL),
    ));
    span.run_until(&mut peer, 5 * T, |s, p| {
        s.received(1, MessageType::RELEASE_COMPLETE) == 1 && p.count("EVENT HANGUP") >= 1
    });

    // The line breaks one way: we hear nothing. A STATUS ENQUIRY for an unknown call gets
    // libpri to send an I frame (RELEASE COMPLETE, cause 81) we never acknowledge, so its
    // T200 runs N200 times and it gives up.
    span.deaf_until = Some(Instant::now() + 8 * T);
    span.status_enquiry(2);
    span.run_until(&mut peer, 15 * T, |_, p| p.count("EVENT DCHAN_DOWN") >= 1);
    // The line heals: both come up again, and messages flow.
    span.run_until(&mut peer, 20 * T, |s, p| {
        s.deaf_until.is_some_and(|t| Instant::now() >= t)
            && s.link.is_established()
            && s.ups() >= 2
            && p.count("EVENT DCHAN_UP") >= 2
    });
    span.status_enquiry(3);
    span.run_until(&mut peer, 5 * T, |s, _| {
        s.received(3, MessageType::RELEASE_COMPLETE) == 1
    });

    drop(span);
    let seen = peer.finish();
    assert!(seen.iter().all(|l| !l.contains("CONFIG_ERR")), "{seen:?}");
    check_capture(&pcap, role);
}

/// tshark reads libpri's capture: nothing malformed, no expert error, and the frame
/// directions and P/F labels as the sides sent them.
fn check_capture(pcap: &Path, peer_role: &str) {
    let bad = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-Y", "_ws.malformed || _ws.expert.severity >= \"error\""])
        .output()
        .expect("run tshark");
    assert!(
        bad.status.success(),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(
        bad.stdout.is_empty(),
        "tshark flags frames:\n{}",
        String::from_utf8_lossy(&bad.stdout)
    );

    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "lapd.direction",
            "-e",
            "_ws.col.Source",
            "-e",
            "_ws.col.Info",
        ])
        .output()
        .expect("run tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let (local, remote) = if peer_role == "net" {
        ("Local Network", "Remote User")
    } else {
        ("Local User", "Remote Network")
    };
    let mut from_us = 0;
    let mut from_libpri = 0;
    let mut statuses = 0;
    let mut setups = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.splitn(3, '|').collect();
        assert_eq!(f.len(), 3, "{line}");
        let (dir, src, info) = (f[0], f[1], f[2]);
        // lapd.direction: 1 = sent by the network side.
        let net_sent = dir == "1";
        let libpri_sent = src == local;
        assert!(src == local || src == remote, "{line}");
        assert_eq!(net_sent, (peer_role == "net") == libpri_sent, "{line}");
        if libpri_sent {
            from_libpri += 1;
        } else {
            from_us += 1;
        }
        // With the right direction, commands carry P and responses F.
        if info.contains("func=SABME") || info.contains("func=DISC") {
            assert!(info.contains("U P,"), "{line}");
        }
        if info.contains("func=UA") || info.contains("func=DM") {
            assert!(info.contains("U F,"), "{line}");
        }
        if info.contains("STATUS") && !info.contains("ENQUIRY") {
            statuses += 1;
        }
        if info.contains("SETUP") {
            setups += 1;
        }
    }
    assert!(from_us > 5 && from_libpri > 5, "{text}");
    assert!(statuses == 1 && setups == 1, "{text}");
}

#[test]
fn libpri_network_and_our_user_side() {
    scenario(Side::User, true);
}

#[test]
fn libpri_user_and_our_network_side() {
    scenario(Side::Network, false);
}
