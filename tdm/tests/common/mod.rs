//! The libpri test peer (tests/pri-peer/peer.c) and the shell that runs our sans-IO
//! cores on the real clock at our end of the test span. Shared by the libpri tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use socket2::{Domain, SockAddr, Socket, Type};
use tdm::q921::Side;
use tdm::{capture, test_span};

pub const T: Duration = Duration::from_secs(1);

/// Builds the peer once per test binary.
pub fn peer_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/pri-peer/peer.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pri-peer");
        std::fs::create_dir_all(&dir).expect("create the peer's build directory");
        // Built under a name of this process, then renamed into place: test binaries
        // running at once never see a half-written peer, and peer.c changes are picked up.
        let tmp = dir.join(format!("peer.{}.tmp", std::process::id()));
        let bin = dir.join(format!("peer-{}", env!("CARGO_CRATE_NAME")));
        let out = Command::new("gcc")
            .args(["-O2", "-Wall", "-Werror", "-o"])
            .arg(&tmp)
            .arg(&src)
            .args(["-lpri", "-lspandsp", "-lm"])
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
pub struct Peer {
    child: Child,
    lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Peer {
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Peer {
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
    pub fn collect(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            eprintln!("peer: {l}");
            self.seen.push(l);
        }
    }

    /// Lines printed so far that start with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.seen.iter().filter(|l| l.starts_with(prefix)).count()
    }

    /// The first line printed so far that starts with `prefix`.
    pub fn line(&self, prefix: &str) -> Option<&str> {
        self.seen
            .iter()
            .find(|l| l.starts_with(prefix))
            .map(String::as_str)
    }

    /// Waits (bounded) for a line starting with `prefix`, not counting earlier ones.
    /// Only for when nothing else must run meanwhile.
    pub fn wait_line(&mut self, prefix: &str, limit: Duration) -> String {
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
    pub fn finish(mut self) -> Vec<String> {
        let result = self.wait_line("RESULT", 10 * T);
        assert_eq!(result, "RESULT OK");
        let end = Instant::now() + 10 * T;
        loop {
            match self.child.try_wait().expect("wait for the peer") {
                Some(status) => {
                    assert!(status.success(), "peer exit status {status}");
                    break;
                }
                None if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
                None => panic!("peer did not exit"),
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

pub fn seqpacket() -> Socket {
    Socket::new(Domain::UNIX, Type::SEQPACKET, None).expect("AF_UNIX SOCK_SEQPACKET socket")
}

/// A test span's files: its own temp dir (socket path, the peer's capture).
pub struct Span {
    pub dir: tempfile::TempDir,
    pub pcap: PathBuf,
}

/// Starts the peer as `role` (`net`/`cpe`) doing `action`; `we_listen` says which end
/// listens on the socket path. Returns the files, our end of the span and the peer.
pub fn open_span(
    role: &str,
    action: &str,
    we_listen: bool,
    env: &[(&str, &str)],
) -> (Span, Socket, Peer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("span");
    let pcap = dir.path().join("peer.pcap");
    let path_s = path.to_str().expect("utf-8 temp path").to_owned();
    let pcap_s = pcap.to_str().expect("utf-8 temp path").to_owned();
    let (sock, peer) = if we_listen {
        let listener = seqpacket();
        listener
            .bind(&SockAddr::unix(&path).expect("unix address"))
            .expect("bind");
        listener.listen(1).expect("listen");
        let peer = Peer::spawn(&["connect", &path_s, role, action, &pcap_s], env);
        // SO_RCVTIMEO bounds accept() on Linux.
        listener
            .set_read_timeout(Some(10 * T))
            .expect("set timeout");
        let (sock, _) = listener.accept().expect("the peer connects");
        (sock, peer)
    } else {
        let mut peer = Peer::spawn(&["listen", &path_s, role, action, &pcap_s], env);
        peer.wait_line("LISTENING", 10 * T);
        let sock = seqpacket();
        sock.connect(&SockAddr::unix(&path).expect("unix address"))
            .expect("connect");
        (sock, peer)
    };
    (Span { dir, pcap }, sock, peer)
}

/// A sans-IO core as the shell sees it.
pub trait Core {
    /// A received LAPD frame.
    fn frame(&mut self, now: Instant, frame: &[u8]);
    /// Timers due.
    fn timeout(&mut self, now: Instant);
    /// The next deadline.
    fn deadline(&self) -> Option<Instant>;
    /// Frames to send now; events are kept by the core.
    fn transmit(&mut self) -> Vec<Vec<u8>>;
    /// A sent frame's buffer, back for reuse.
    fn recycle(&mut self, _frame: Vec<u8>) {}
}

/// Our end of the span: moves frames between the socket and `core` on the real clock.
pub struct Shell<C: Core> {
    pub sock: Socket,
    pub core: C,
    /// Received frames are dropped until then (a line broken one way).
    pub deaf_until: Option<Instant>,
    buf: Vec<u8>,
    /// Our side of the interface, for the capture.
    side: Side,
    /// Every frame sent and heard (dropped ones too): when, sent?, frame.
    tap: Vec<(Duration, bool, Vec<u8>)>,
}

impl<C: Core> Shell<C> {
    pub fn new(sock: Socket, core: C, side: Side) -> Self {
        Shell {
            sock,
            core,
            deaf_until: None,
            buf: Vec::with_capacity(test_span::MAX_MESSAGE),
            side,
            tap: Vec::new(),
        }
    }

    fn record(&mut self, sent: bool, frame: &[u8]) {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut rec = Vec::with_capacity(capture::LINUX_LAPD_HEADER + frame.len());
        capture::linux_lapd_record(sent, self.side, frame, &mut rec);
        self.tap.push((t, sent, rec));
    }

    /// Writes what this end sent and received as a LINUX_LAPD pcap.
    pub fn write_pcap(&self, path: &Path) {
        let file = std::fs::File::create(path).expect("create our capture");
        let header = PcapHeader {
            datalink: DataLink::LINUX_LAPD,
            ..Default::default()
        };
        let mut w = PcapWriter::with_header(file, header).expect("write the pcap header");
        for (t, _, rec) in &self.tap {
            let len = u32::try_from(rec.len()).expect("a frame is short");
            w.write_packet(&PcapPacket::new(*t, len, rec))
                .expect("write a record");
        }
    }

    fn flush(&mut self) {
        for frame in self.core.transmit() {
            self.record(true, &frame);
            self.buf.clear();
            test_span::encode_dchannel(&frame, &mut self.buf);
            (&self.sock)
                .write_all(&self.buf)
                .expect("write to the test span");
            self.core.recycle(frame);
        }
    }

    /// Runs until `done` holds (checked after every step), at most `limit`.
    pub fn run_until(
        &mut self,
        peer: &mut Peer,
        limit: Duration,
        done: impl Fn(&C, &Peer) -> bool,
    ) {
        let end = Instant::now() + limit;
        let mut rx = [0u8; 1024];
        loop {
            self.flush();
            peer.collect();
            if done(&self.core, peer) {
                return;
            }
            let now = Instant::now();
            assert!(
                now < end,
                "not done within {limit:?}; peer: {:?}",
                peer.seen
            );
            let wake = self.core.deadline().map_or(end, |t| t.min(end));
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
                            self.record(false, frame);
                            self.core.frame(now, frame);
                        }
                        Err(e) => eprintln!("rust: {e}"),
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read from the test span: {e}"),
            }
            self.core.timeout(Instant::now());
        }
    }
}

/// tshark reads a capture (libpri's or ours): nothing malformed, no expert error, and
/// the frame directions and P/F labels as the sides sent them. `peer_role` is the
/// capturing side's role, `net` or `cpe`. Returns the Info column lines.
pub fn check_capture(pcap: &Path, peer_role: &str) -> Vec<String> {
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
    let mut infos = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.splitn(3, '|').collect();
        assert_eq!(f.len(), 3, "{line}");
        let (dir, src, info) = (f[0], f[1], f[2]);
        // lapd.direction: 1 = sent by the network side.
        let libpri_sent = src == local;
        assert!(src == local || src == remote, "{line}");
        assert_eq!(dir == "1", (peer_role == "net") == libpri_sent, "{line}");
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
        infos.push(info.to_owned());
    }
    assert!(from_us > 2 && from_libpri > 2, "{text}");
    infos
}
