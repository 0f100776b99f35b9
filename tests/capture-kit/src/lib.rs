//! Test support for the decoder and replay tests: minimal packet parsing of captures.
//!
//! pcap/pcapng via pcap-file, link layers (Ethernet, raw IP, Linux SLL/SLL2, Linux LAPD,
//! Wireshark upper PDU), IPv4/IPv6, UDP, TCP with per-direction reassembly, and the
//! framings Q.931 travels in (TPKT for H.225.0, the Cisco PRI backhaul header, LAPD UI/I
//! frames). Test code: a malformed capture file panics with its name.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

/// A folder of `../shared/` beside the checkout (e.g. `captures`, `corpora`), if present.
/// `GATEWAY_SHARED_DIR` overrides where `shared/` is.
pub fn shared_dir(sub: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("GATEWAY_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let dir = base.join(sub);
    dir.is_dir().then_some(dir)
}

/// `shared_dir(sub)`, or prints a clear skip line for `test` and returns `None`.
pub fn shared_dir_or_skip(sub: &str, test: &str) -> Option<PathBuf> {
    let dir = shared_dir(sub);
    if dir.is_none() {
        println!("SKIPPED {test}: ../shared/{sub} not found (set GATEWAY_SHARED_DIR)");
    }
    dir
}

/// One captured frame: link type, capture timestamp and bytes.
pub struct Frame {
    pub linktype: u32,
    /// Time since the Unix epoch, as captured.
    pub ts: std::time::Duration,
    pub data: Vec<u8>,
}

/// Reads every frame of a pcap or pcapng file.
pub fn read_frames(path: &Path) -> Vec<Frame> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut frames = Vec::new();
    if bytes.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]) {
        let mut reader = PcapNgReader::new(&bytes[..]).expect("pcapng header");
        loop {
            let (iface, ts, data) = match reader.next_block() {
                None => break,
                Some(Err(e)) => panic!("{}: {e}", path.display()),
                Some(Ok(Block::EnhancedPacket(epb))) => {
                    (epb.interface_id, epb.timestamp, epb.data.to_vec())
                }
                Some(Ok(Block::SimplePacket(spb))) => {
                    (0, std::time::Duration::ZERO, spb.data.to_vec())
                }
                Some(Ok(_)) => continue,
            };
            let linktype = reader
                .interfaces()
                .get(iface as usize)
                .map(|i| u32::from(i.linktype))
                .expect("packet names a known interface");
            frames.push(Frame { linktype, ts, data });
        }
    } else {
        let mut reader = PcapReader::new(&bytes[..]).expect("pcap header");
        let linktype = u32::from(reader.header().datalink);
        while let Some(p) = reader.next_packet() {
            let p = p.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            frames.push(Frame {
                linktype,
                ts: p.timestamp,
                data: p.data.to_vec(),
            });
        }
    }
    frames
}

/// An IP packet's transport payload.
pub struct Transport<'a> {
    pub src: Vec<u8>,
    pub dst: Vec<u8>,
    pub proto: u8,
    pub payload: &'a [u8],
}

/// The IP packet inside a link-layer frame, if any.
pub fn ip_of(linktype: u32, data: &[u8]) -> Option<&[u8]> {
    match linktype {
        // Ethernet, with any 802.1Q tags.
        1 => {
            let mut off = 12;
            let mut ethertype = u16::from_be_bytes(data.get(off..off + 2)?.try_into().ok()?);
            while ethertype == 0x8100 || ethertype == 0x88A8 {
                off += 4;
                ethertype = u16::from_be_bytes(data.get(off..off + 2)?.try_into().ok()?);
            }
            matches!(ethertype, 0x0800 | 0x86DD).then(|| data.get(off + 2..))?
        }
        // Raw IP (LINKTYPE_RAW 101, DLT_RAW 12/14, IPv4 228, IPv6 229).
        101 | 12 | 14 | 228 | 229 => Some(data),
        // Linux cooked capture v1: 16-octet header, protocol last.
        113 => {
            let proto = u16::from_be_bytes(data.get(14..16)?.try_into().ok()?);
            matches!(proto, 0x0800 | 0x86DD).then(|| data.get(16..))?
        }
        // Linux cooked capture v2: protocol first, 20-octet header.
        276 => {
            let proto = u16::from_be_bytes(data.get(0..2)?.try_into().ok()?);
            matches!(proto, 0x0800 | 0x86DD).then(|| data.get(20..))?
        }
        _ => None,
    }
}

/// Parses IPv4/IPv6 (no fragments, no IPv6 extension headers).
pub fn transport_of(ip: &[u8]) -> Option<Transport<'_>> {
    match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0F) * 4;
            let total = usize::from(u16::from_be_bytes(ip.get(2..4)?.try_into().ok()?));
            let frag = u16::from_be_bytes(ip.get(6..8)?.try_into().ok()?);
            if frag & 0x3FFF != 0 {
                return None;
            }
            let end = total.min(ip.len());
            Some(Transport {
                src: ip.get(12..16)?.to_vec(),
                dst: ip.get(16..20)?.to_vec(),
                proto: *ip.get(9)?,
                payload: ip.get(ihl..end)?,
            })
        }
        6 => {
            let plen = usize::from(u16::from_be_bytes(ip.get(4..6)?.try_into().ok()?));
            let end = (40 + plen).min(ip.len());
            Some(Transport {
                src: ip.get(8..24)?.to_vec(),
                dst: ip.get(24..40)?.to_vec(),
                proto: *ip.get(6)?,
                payload: ip.get(40..end)?,
            })
        }
        _ => None,
    }
}

/// A UDP datagram.
pub struct Datagram<'a> {
    pub sport: u16,
    pub dport: u16,
    pub payload: &'a [u8],
}

/// Parses a UDP header (the length field bounds the payload).
pub fn udp_of(t: &[u8]) -> Option<Datagram<'_>> {
    let len = usize::from(u16::from_be_bytes(t.get(4..6)?.try_into().ok()?));
    Some(Datagram {
        sport: u16::from_be_bytes(t.get(0..2)?.try_into().ok()?),
        dport: u16::from_be_bytes(t.get(2..4)?.try_into().ok()?),
        payload: t.get(8..len.clamp(8, t.len()))?,
    })
}

/// Every UDP datagram of a capture with its frame's timestamp, addresses and ports.
pub fn udp_datagrams(frames: &[Frame]) -> Vec<(std::time::Duration, FlowKey, Vec<u8>)> {
    let mut out = Vec::new();
    for f in frames {
        let Some(t) = ip_of(f.linktype, &f.data).and_then(transport_of) else {
            continue;
        };
        if t.proto != 17 {
            continue;
        }
        if let Some(d) = udp_of(t.payload) {
            let key = (t.src.clone(), d.sport, t.dst.clone(), d.dport);
            out.push((f.ts, key, d.payload.to_vec()));
        }
    }
    out
}

/// A TCP segment.
pub struct Segment<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub syn: bool,
    pub payload: &'a [u8],
}

/// Parses a TCP header.
pub fn tcp_of(t: &[u8]) -> Option<Segment<'_>> {
    let off = usize::from(t.get(12)? >> 4) * 4;
    Some(Segment {
        sport: u16::from_be_bytes(t.get(0..2)?.try_into().ok()?),
        dport: u16::from_be_bytes(t.get(2..4)?.try_into().ok()?),
        seq: u32::from_be_bytes(t.get(4..8)?.try_into().ok()?),
        syn: t.get(13)? & 0x02 != 0,
        payload: t.get(off..)?,
    })
}

/// One direction of a TCP connection, reassembled in sequence order (retransmitted bytes
/// dropped; a gap resets the stream, losing what was buffered).
#[derive(Default)]
pub struct Stream {
    next: Option<u32>,
    pub buf: Vec<u8>,
    pub gaps: usize,
}

impl Stream {
    pub fn push(&mut self, seg: &Segment<'_>) {
        if seg.syn {
            self.next = Some(seg.seq.wrapping_add(1));
            return;
        }
        if seg.payload.is_empty() {
            return;
        }
        let next = *self.next.get_or_insert(seg.seq);
        let ahead = seg.seq.wrapping_sub(next) as i32;
        if ahead > 0 {
            self.gaps += 1;
            self.buf.clear();
            self.buf.extend_from_slice(seg.payload);
        } else {
            let skip = (-ahead) as usize;
            if skip >= seg.payload.len() {
                return;
            }
            self.buf.extend_from_slice(&seg.payload[skip..]);
        }
        self.next = Some(seg.seq.wrapping_add(seg.payload.len() as u32));
    }
}

/// Flow key: addresses and ports of one direction.
pub type FlowKey = (Vec<u8>, u16, Vec<u8>, u16);

/// Every TCP direction of a capture, reassembled, with the ports.
pub fn tcp_streams(frames: &[Frame]) -> Vec<(FlowKey, Stream)> {
    let mut order = Vec::new();
    let mut streams: HashMap<FlowKey, Stream> = HashMap::new();
    for f in frames {
        let Some(t) = ip_of(f.linktype, &f.data).and_then(transport_of) else {
            continue;
        };
        if t.proto != 6 {
            continue;
        }
        let Some(seg) = tcp_of(t.payload) else {
            continue;
        };
        let key = (t.src.clone(), seg.sport, t.dst.clone(), seg.dport);
        let s = streams.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Stream::default()
        });
        s.push(&seg);
    }
    order
        .into_iter()
        .map(|k| {
            let s = streams.remove(&k).expect("every key in order has a stream");
            (k, s)
        })
        .collect()
}

/// Splits a byte stream into TPKT (RFC 1006) payloads; a trailing partial PDU is left out.
pub fn tpkt_payloads(buf: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= 4 && rest[0] == 3 && rest[1] == 0 {
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        if len < 4 || rest.len() < len {
            break;
        }
        out.push(&rest[4..len]);
        rest = &rest[len..];
    }
    out
}

/// True when a TCP direction carries H.225.0 call signalling: port 1720, or TPKT whose
/// first payload looks like Q.931 with a two-octet call reference.
pub fn is_h225(key: &FlowKey, stream: &Stream) -> bool {
    if key.1 == 1720 || key.3 == 1720 {
        return true;
    }
    let b = &stream.buf;
    b.len() > 6 && b[0] == 3 && b[1] == 0 && b[4] == 0x08 && b[5] == 0x02
}

/// Splits the Cisco PRI backhaul stream (TCP 2428): 10-octet header, 2-octet length,
/// then the Q.931 message (non-Q.931 session-manager PDUs are skipped).
pub fn backhaul_payloads(buf: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= 12 {
        let len = usize::from(u16::from_be_bytes([rest[10], rest[11]]));
        if rest.len() < 12 + len {
            break;
        }
        let pdu = &rest[12..12 + len];
        if pdu.first() == Some(&0x08) {
            out.push(pdu);
        }
        rest = &rest[12 + len..];
    }
    out
}

/// The Q.931 message of a LAPD frame (after the Linux LAPD pseudo-header when
/// `linux_header`): UI and I frames carry layer 3, other frames `None`.
pub fn lapd_q931(data: &[u8], linux_header: bool) -> Option<&[u8]> {
    let frame = if linux_header { data.get(16..)? } else { data };
    let control = *frame.get(2)?;
    let info_at = if control & 0x01 == 0 {
        4 // I frame: two control octets
    } else if control & 0xEF == 0x03 {
        3 // UI frame
    } else {
        return None;
    };
    frame.get(info_at..)
}

/// The payload of a Wireshark "exported PDU" frame (LINKTYPE_WIRESHARK_UPPER_PDU 252).
pub fn exported_pdu_payload(data: &[u8]) -> Option<&[u8]> {
    let mut rest = data;
    loop {
        let tag = u16::from_be_bytes(rest.get(0..2)?.try_into().ok()?);
        let len = usize::from(u16::from_be_bytes(rest.get(2..4)?.try_into().ok()?));
        rest = rest.get(4 + len..)?;
        if tag == 0 {
            return Some(rest);
        }
    }
}
