//! Reads a pcap or pcapng file into the UDP datagrams and TCP segments it holds, in
//! file order, with their timestamps and (pcapng epb_flags) directions. Link layers:
//! Ethernet (with VLAN tags), raw IP, Linux cooked v1/v2, BSD loopback. IPv4 without
//! fragments and IPv6 without extension headers; anything else is skipped and counted.
//! Errors name what is wrong; nothing here panics on a file's content.

use super::synth::Dir;
use super::writer::parse_seed_comment;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::blocks::section_header::SectionHeaderOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// A capture file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {what}")]
pub struct ReadError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub what: String,
}

/// The transport of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// UDP.
    Udp,
    /// TCP, with its sequence number and flags.
    Tcp {
        /// Sequence number.
        seq: u32,
        /// SYN set.
        syn: bool,
        /// FIN or RST set.
        fin: bool,
    },
}

/// One UDP datagram or TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Capture time since the Unix epoch.
    pub ts: Duration,
    /// Received or sent, when the file says (gatewayd's captures do).
    pub dir: Option<Dir>,
    /// UDP or TCP.
    pub proto: Proto,
    /// Source.
    pub src: SocketAddr,
    /// Destination.
    pub dst: SocketAddr,
    /// The transport payload.
    pub payload: Vec<u8>,
}

/// One D-channel frame of a LINKTYPE_LINUX_LAPD interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DFrame {
    /// Capture time since the Unix epoch.
    pub ts: Duration,
    /// The interface's name (gatewayd names it after the PRI trunk), if given.
    pub interface: Option<String>,
    /// Sent by the capturing side (pseudo-header packet type 4), else received.
    pub sent: bool,
    /// The LAPD frame from its address octet.
    pub frame: Vec<u8>,
}

/// A capture file's packets.
#[derive(Debug, Default)]
pub struct Capture {
    /// The randomness of the gatewayd run that wrote it (its section header comment).
    pub seed: Option<(u64, [u8; 32])>,
    /// UDP and TCP packets, in file order.
    pub packets: Vec<Packet>,
    /// D-channel frames (LINKTYPE_LINUX_LAPD), in file order.
    pub dframes: Vec<DFrame>,
    /// Frames that were not IP/UDP/TCP or could not be parsed.
    pub skipped: usize,
}

/// Reads `path`.
pub fn read(path: &Path) -> Result<Capture, ReadError> {
    let err = |what: String| ReadError {
        path: path.display().to_string(),
        what,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let mut out = Capture::default();
    let frame =
        |out: &mut Capture, linktype: u32, ts: Duration, dir, data: &[u8]| match link_payload(
            linktype, data,
        )
        .and_then(ip_payload)
        {
            Some((src, dst, proto, l4)) => match transport(src, dst, proto, l4) {
                Some((proto, src, dst, payload)) => out.packets.push(Packet {
                    ts,
                    dir,
                    proto,
                    src,
                    dst,
                    payload: payload.to_vec(),
                }),
                None => out.skipped += 1,
            },
            None => out.skipped += 1,
        };
    if bytes.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]) {
        let mut reader = PcapNgReader::new(&bytes[..]).map_err(|e| err(e.to_string()))?;
        for o in &reader.section().options {
            if let SectionHeaderOption::Comment(c) = o
                && let Some(s) = parse_seed_comment(c)
            {
                out.seed = Some(s);
            }
        }
        while let Some(block) = reader.next_block() {
            let block = block.map_err(|e| err(e.to_string()))?;
            let Block::EnhancedPacket(epb) = block else {
                continue;
            };
            let dir = epb.options.iter().find_map(|o| match o {
                EnhancedPacketOption::Flags(f) => match f & 3 {
                    1 => Some(Dir::In),
                    2 => Some(Dir::Out),
                    _ => None,
                },
                _ => None,
            });
            let (iface, ts, data) = (epb.interface_id, epb.timestamp, epb.data.to_vec());
            let idb = reader
                .interfaces()
                .get(iface as usize)
                .ok_or_else(|| err(format!("packet of unknown interface {iface}")))?;
            let linktype = u32::from(idb.linktype);
            if linktype == tdm::capture::LINKTYPE_LINUX_LAPD {
                let name = idb.options.iter().find_map(|o| match o {
                    InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                    _ => None,
                });
                lapd(&mut out, ts, name, &data);
                continue;
            }
            frame(&mut out, linktype, ts, dir, &data);
        }
    } else {
        let mut reader = PcapReader::new(&bytes[..]).map_err(|e| err(e.to_string()))?;
        let linktype = u32::from(reader.header().datalink);
        while let Some(p) = reader.next_packet() {
            let p = p.map_err(|e| err(e.to_string()))?;
            if linktype == tdm::capture::LINKTYPE_LINUX_LAPD {
                lapd(&mut out, p.timestamp, None, &p.data);
            } else {
                frame(&mut out, linktype, p.timestamp, None, &p.data);
            }
        }
    }
    Ok(out)
}

/// A LINUX_LAPD record: the 16-octet pseudo-header (packet type first: 4 sent by the
/// capturing side, 0 received), then the frame.
fn lapd(out: &mut Capture, ts: Duration, interface: Option<String>, data: &[u8]) {
    match (be16(data, 0), data.get(tdm::capture::LINUX_LAPD_HEADER..)) {
        (Some(kind), Some(frame)) if frame.len() >= 3 => out.dframes.push(DFrame {
            ts,
            interface,
            sent: kind == 4,
            frame: frame.to_vec(),
        }),
        _ => out.skipped += 1,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// The IP packet of a link-layer frame.
fn link_payload(linktype: u32, data: &[u8]) -> Option<&[u8]> {
    match linktype {
        // LINKTYPE_ETHERNET, 802.1Q/802.1ad tags skipped.
        1 => {
            let mut off = 12;
            let mut ethertype = be16(data, off)?;
            while ethertype == 0x8100 || ethertype == 0x88A8 {
                off += 4;
                ethertype = be16(data, off)?;
            }
            matches!(ethertype, 0x0800 | 0x86DD).then(|| data.get(off + 2..))?
        }
        // LINKTYPE_NULL / LOOP: a 4-octet address family.
        0 | 108 => data.get(4..),
        // LINKTYPE_RAW, DLT_RAW variants, LINKTYPE_IPV4/IPV6.
        101 | 12 | 14 | 228 | 229 => Some(data),
        // LINKTYPE_LINUX_SLL: 16-octet header, protocol last.
        113 => matches!(be16(data, 14)?, 0x0800 | 0x86DD).then(|| data.get(16..))?,
        // LINKTYPE_LINUX_SLL2: protocol first, 20-octet header.
        276 => matches!(be16(data, 0)?, 0x0800 | 0x86DD).then(|| data.get(20..))?,
        _ => None,
    }
}

/// Source, destination, protocol and transport bytes of an IP packet.
fn ip_payload(ip: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0F) * 4;
            let total = usize::from(be16(ip, 2)?);
            // Fragments (offset or More Fragments) are not reassembled.
            if be16(ip, 6)? & 0x3FFF != 0 || ihl < 20 {
                return None;
            }
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let end = total.min(ip.len());
            Some((
                IpAddr::V4(Ipv4Addr::from(src)),
                IpAddr::V4(Ipv4Addr::from(dst)),
                *ip.get(9)?,
                ip.get(ihl..end)?,
            ))
        }
        6 => {
            let plen = usize::from(be16(ip, 4)?);
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + plen).min(ip.len());
            Some((
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(Ipv6Addr::from(dst)),
                *ip.get(6)?,
                ip.get(40..end)?,
            ))
        }
        _ => None,
    }
}

/// The UDP or TCP header of `l4`.
fn transport(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    l4: &[u8],
) -> Option<(Proto, SocketAddr, SocketAddr, &[u8])> {
    let sport = be16(l4, 0)?;
    let dport = be16(l4, 2)?;
    let (src, dst) = (SocketAddr::new(src, sport), SocketAddr::new(dst, dport));
    match proto {
        17 => {
            let len = usize::from(be16(l4, 4)?);
            Some((Proto::Udp, src, dst, l4.get(8..len.clamp(8, l4.len()))?))
        }
        6 => {
            let off = usize::from(l4.get(12)? >> 4) * 4;
            let flags = *l4.get(13)?;
            let seq = u32::from_be_bytes(l4.get(4..8)?.try_into().ok()?);
            Some((
                Proto::Tcp {
                    seq,
                    syn: flags & 0x02 != 0,
                    fin: flags & 0x05 != 0,
                },
                src,
                dst,
                l4.get(off.max(20)..)?,
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pcap");
        std::fs::write(&p, b"not a capture at all").unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
        assert!(read(&dir.path().join("missing.pcap")).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any file content, including a valid header followed by noise: an error or
        /// packets, never a panic.
        #[test]
        fn any_bytes_read_without_panic(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            pcapng in proptest::prelude::any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("f");
            let mut bytes = if pcapng {
                // A section header block, little-endian, no options.
                let mut b = vec![0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0];
                b.extend_from_slice(&[0xFF; 8]);
                b.extend_from_slice(&[28, 0, 0, 0]);
                b
            } else {
                // A pcap header, raw IP.
                let mut b = vec![0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0];
                b.extend_from_slice(&[0; 8]);
                b.extend_from_slice(&[0xFF, 0xFF, 0, 0, 101, 0, 0, 0]);
                b
            };
            bytes.extend_from_slice(&noise);
            std::fs::write(&p, &bytes).unwrap();
            let _ = read(&p);
            let _ = link_payload(1, &noise).and_then(ip_payload);
            let _ = ip_payload(&noise).and_then(|(s, d, pr, l4)| transport(s, d, pr, l4));
        }
    }

    #[test]
    fn short_and_odd_frames_are_skipped() {
        for data in [&[][..], &[0x45][..], &[0x60, 0, 0][..], &[0x45; 30][..]] {
            let _ = link_payload(101, data)
                .and_then(ip_payload)
                .and_then(|(s, d, p, l4)| transport(s, d, p, l4));
        }
    }
}
