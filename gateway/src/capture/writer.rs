//! The capture file: a pcapng (raw IP link type, nanosecond timestamps, inbound and
//! outbound flags on every packet) written by a thread of its own. Socket tasks hand it
//! what they carried through a bounded queue and never wait: when the disk falls
//! behind, packets are dropped from the capture and counted, calls go on.
//!
//! The section header's comment records the run's identifier seed and nonce secret
//! (`gatewayd seed=… secret=…`), so `gatewayd replay` gives the sans-IO cores the
//! same randomness and they produce the same tags, branches and call references as the
//! run that was captured. A capture is as sensitive as the signalling it holds.

use super::synth::{Dir, TcpFlows, udp_packet};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Packets waiting for the writer before new ones are dropped.
const QUEUE: usize = 16_384;

/// What the sockets tell the capture.
enum Record {
    Udp {
        at: SystemTime,
        dir: Dir,
        src: SocketAddr,
        dst: SocketAddr,
        bytes: Vec<u8>,
    },
    Open {
        at: SystemTime,
        conn: u64,
        local: SocketAddr,
        remote: SocketAddr,
        outgoing: bool,
    },
    Data {
        at: SystemTime,
        conn: u64,
        dir: Dir,
        bytes: Vec<u8>,
    },
    Close {
        at: SystemTime,
        conn: u64,
    },
    /// A D-channel frame of a PRI trunk's span.
    Lapd {
        at: SystemTime,
        trunk: String,
        dir: Dir,
        side: tdm::q921::Side,
        frame: Vec<u8>,
    },
    /// Write what came before, then close the file.
    Stop,
}

/// A handle on the capture (cheap to clone; every socket task holds one).
#[derive(Clone)]
pub struct Capture {
    tx: SyncSender<Record>,
    dropped: Arc<AtomicU64>,
}

/// The writer thread; [`CaptureThread::finish`] flushes and closes the file.
pub struct CaptureThread {
    handle: std::thread::JoinHandle<std::io::Result<u64>>,
    tx: SyncSender<Record>,
}

impl CaptureThread {
    /// Writes everything queued so far, closes the file and gives the number of
    /// packets in it; what sockets hand the capture afterwards is dropped.
    pub fn finish(self) -> std::io::Result<u64> {
        // Blocking: the stop must not be the record that is dropped.
        let _ = self.tx.send(Record::Stop);
        self.handle
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("capture writer panicked")))
    }
}

/// The section header comment that carries a run's randomness.
pub fn seed_comment(seed: u64, secret: &[u8; 32]) -> String {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    format!("gatewayd seed={seed:016x} secret={hex}")
}

/// The seed and secret of a [`seed_comment`], if `comment` is one.
pub fn parse_seed_comment(comment: &str) -> Option<(u64, [u8; 32])> {
    let rest = comment.strip_prefix("gatewayd ")?;
    let mut seed = None;
    let mut secret = None;
    for field in rest.split_whitespace() {
        if let Some(v) = field.strip_prefix("seed=") {
            seed = u64::from_str_radix(v, 16).ok();
        } else if let Some(v) = field.strip_prefix("secret=") {
            if v.len() != 64 {
                return None;
            }
            let mut out = [0u8; 32];
            for (i, b) in out.iter_mut().enumerate() {
                *b = u8::from_str_radix(v.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            secret = Some(out);
        }
    }
    Some((seed?, secret?))
}

impl Capture {
    /// Creates `path` and starts the writer; `comment` goes into the section header.
    pub fn start(path: &Path, comment: String) -> std::io::Result<(Capture, CaptureThread)> {
        let file = std::fs::File::create(path)?;
        let section = SectionHeaderBlock {
            options: vec![
                SectionHeaderOption::Comment(Cow::Owned(comment)),
                SectionHeaderOption::UserApplication(Cow::Owned(format!(
                    "gatewayd {}",
                    env!("CARGO_PKG_VERSION")
                ))),
            ],
            ..SectionHeaderBlock::default()
        };
        let mut writer = PcapNgWriter::with_section_header(BufWriter::new(file), section)
            .map_err(std::io::Error::other)?;
        writer
            .write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::RAW,
                snaplen: 0,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Borrowed("gatewayd")),
                    // Nanoseconds: what EnhancedPacketBlock writes.
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            })
            .map_err(std::io::Error::other)?;
        let (tx, rx) = sync_channel(QUEUE);
        let handle = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || run(writer, rx))?;
        Ok((
            Capture {
                tx: tx.clone(),
                dropped: Arc::new(AtomicU64::new(0)),
            },
            CaptureThread { handle, tx },
        ))
    }

    /// Queues a record; a full queue (or a stopped writer) drops it and counts it.
    fn put(&self, r: Record) {
        if self.tx.try_send(r).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Packets left out of the capture because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A UDP datagram sent or received.
    pub fn udp(&self, dir: Dir, src: SocketAddr, dst: SocketAddr, bytes: &[u8]) {
        self.put(Record::Udp {
            at: SystemTime::now(),
            dir,
            src,
            dst,
            bytes: bytes.to_vec(),
        });
    }

    /// A TCP connection is up (`outgoing`: we opened it).
    pub fn open(&self, conn: u64, local: SocketAddr, remote: SocketAddr, outgoing: bool) {
        self.put(Record::Open {
            at: SystemTime::now(),
            conn,
            local,
            remote,
            outgoing,
        });
    }

    /// Stream data sent or received on a connection (after TLS: the plain text).
    pub fn data(&self, conn: u64, dir: Dir, bytes: &[u8]) {
        self.put(Record::Data {
            at: SystemTime::now(),
            conn,
            dir,
            bytes: bytes.to_vec(),
        });
    }

    /// A D-channel frame (from the address octet, no FCS) sent or received on PRI trunk
    /// `trunk`, whose side of the interface is `side`. Each trunk gets an interface of
    /// its own in the file (LINKTYPE_LINUX_LAPD, named after the trunk), so tshark shows
    /// which side sent each frame.
    pub fn lapd(&self, trunk: &str, dir: Dir, side: tdm::q921::Side, frame: &[u8]) {
        self.put(Record::Lapd {
            at: SystemTime::now(),
            trunk: trunk.to_owned(),
            dir,
            side,
            frame: frame.to_vec(),
        });
    }

    /// A connection ended.
    pub fn close(&self, conn: u64) {
        self.put(Record::Close {
            at: SystemTime::now(),
            conn,
        });
    }
}

fn since_epoch(at: SystemTime) -> Duration {
    at.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// pcapng epb_flags (pcapng §4.3.1): bits 0-1, 01 inbound, 10 outbound.
fn flags(dir: Dir) -> u32 {
    match dir {
        Dir::In => 1,
        Dir::Out => 2,
    }
}

fn run<W: Write>(mut w: PcapNgWriter<W>, rx: Receiver<Record>) -> std::io::Result<u64> {
    let mut flows = TcpFlows::default();
    let mut written = 0u64;
    // Interface 0 is the IP one; D-channels get theirs when their first frame comes.
    let mut lapd_ifaces: Vec<String> = Vec::new();
    let mut put = |w: &mut PcapNgWriter<W>, iface: u32, at: SystemTime, dir: Dir, data: Vec<u8>| {
        let len = data.len() as u32;
        written += 1;
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: iface,
            timestamp: since_epoch(at),
            original_len: len,
            data: Cow::Owned(data),
            options: vec![EnhancedPacketOption::Flags(flags(dir))],
        })
        .map(|_| ())
        .map_err(std::io::Error::other)
    };

    // Block for one record, then take what else is queued, then flush: the file is
    // complete up to the last packet whenever the queue runs empty.
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(r) = next.take() {
            match r {
                Record::Udp {
                    at,
                    dir,
                    src,
                    dst,
                    bytes,
                } => put(&mut w, 0, at, dir, udp_packet(src, dst, &bytes))?,
                Record::Open {
                    at,
                    conn,
                    local,
                    remote,
                    outgoing,
                } => {
                    for (dir, p) in flows.open(conn, local, remote, outgoing) {
                        put(&mut w, 0, at, dir, p)?;
                    }
                }
                Record::Data {
                    at,
                    conn,
                    dir,
                    bytes,
                } => {
                    for p in flows.data(conn, dir, &bytes) {
                        put(&mut w, 0, at, dir, p)?;
                    }
                }
                Record::Close { at, conn } => {
                    for (dir, p) in flows.close(conn) {
                        put(&mut w, 0, at, dir, p)?;
                    }
                }
                Record::Lapd {
                    at,
                    trunk,
                    dir,
                    side,
                    frame,
                } => {
                    let iface = match lapd_ifaces.iter().position(|t| *t == trunk) {
                        Some(i) => i,
                        None => {
                            w.write_pcapng_block(InterfaceDescriptionBlock {
                                linktype: DataLink::LINUX_LAPD,
                                snaplen: 0,
                                options: vec![
                                    InterfaceDescriptionOption::IfName(Cow::Owned(trunk.clone())),
                                    InterfaceDescriptionOption::IfTsResol(9),
                                ],
                            })
                            .map_err(std::io::Error::other)?;
                            lapd_ifaces.push(trunk);
                            lapd_ifaces.len() - 1
                        }
                    };
                    let mut data =
                        Vec::with_capacity(tdm::capture::LINUX_LAPD_HEADER + frame.len());
                    tdm::capture::linux_lapd_record(dir == Dir::Out, side, &frame, &mut data);
                    put(&mut w, 1 + iface as u32, at, dir, data)?;
                }
                Record::Stop => {
                    w.get_mut().flush()?;
                    return Ok(written);
                }
            }
            next = rx.try_recv().ok();
        }
        w.get_mut().flush()?;
    }
    w.get_mut().flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_comment_round_trips() {
        let secret = [0xA5; 32];
        let c = seed_comment(0x0123_4567_89ab_cdef, &secret);
        assert_eq!(
            parse_seed_comment(&c),
            Some((0x0123_4567_89ab_cdef, secret))
        );
        assert_eq!(parse_seed_comment("something else"), None);
        assert_eq!(parse_seed_comment("gatewayd seed=12 secret=00"), None);
    }

    #[test]
    fn a_capture_holds_what_was_given_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pcapng");
        let (cap, thread) = Capture::start(&path, seed_comment(7, &[1; 32])).unwrap();
        let a: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:5062".parse().unwrap();
        cap.udp(Dir::In, b, a, b"OPTIONS sip:x SIP/2.0\r\n\r\n");
        cap.open(9, a, b, true);
        cap.data(9, Dir::Out, b"\x03\x00\x00\x05\x08");
        cap.close(9);
        assert_eq!(thread.finish().unwrap(), 1 + 3 + 1 + 3);
        // After the stop nothing is written, and nothing blocks.
        cap.udp(Dir::In, b, a, b"late");
        let read = super::super::reader::read(&path).unwrap();
        assert_eq!(read.seed, Some((7, [1; 32])));
        assert_eq!(read.packets.len(), 8);
        assert_eq!(read.packets[0].dir, Some(Dir::In));
        assert_eq!(read.packets[0].payload, b"OPTIONS sip:x SIP/2.0\r\n\r\n");
        assert_eq!(read.packets[4].payload, b"\x03\x00\x00\x05\x08");
        assert_eq!(read.packets[4].dir, Some(Dir::Out));
    }
}
