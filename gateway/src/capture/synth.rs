//! Packets for a capture file, made from what the sockets carried: IPv4 (RFC 791) or
//! IPv6 (RFC 8200) headers around UDP (RFC 768) or TCP (RFC 9293) with valid checksums,
//! so tshark dissects them as if they had been sniffed. TCP connections get a
//! three-way handshake when they open, consecutive sequence numbers for what each side
//! sends, and FINs when they close. Pure functions and per-connection counters.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// TCP flags (RFC 9293 §3.1).
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Largest TCP payload per synthesized segment (keeps every IP packet under 65535).
const MAX_SEGMENT: usize = 65_000;

/// The one's-complement sum of RFC 1071 over `parts`, folded.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// The pseudo-header of the UDP/TCP checksum (RFC 768, RFC 8200 §8.1).
fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&[0, proto]);
            p.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            p.extend_from_slice(&v6(src).octets());
            p.extend_from_slice(&v6(dst).octets());
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, proto]);
        }
    }
    p
}

fn v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// An IP packet carrying `l4` (protocol `proto`) from `src` to `dst`.
fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, l4: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + l4.len()) as u16;
            let mut h = vec![0x45, 0];
            h.extend_from_slice(&total.to_be_bytes());
            // Identification 0, Don't Fragment, TTL 64.
            h.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let sum = checksum(&[&h]);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            h.extend_from_slice(l4);
            h
        }
        _ => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            h.extend_from_slice(&[proto, 64]);
            h.extend_from_slice(&v6(src).octets());
            h.extend_from_slice(&v6(dst).octets());
            h.extend_from_slice(l4);
            h
        }
    }
}

/// A UDP datagram in an IP packet (payloads beyond 65507 octets are cut there).
pub fn udp_packet(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let payload = &payload[..payload.len().min(65_507)];
    let len = 8 + payload.len();
    let mut u = Vec::with_capacity(len);
    u.extend_from_slice(&src.port().to_be_bytes());
    u.extend_from_slice(&dst.port().to_be_bytes());
    u.extend_from_slice(&(len as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let mut sum = checksum(&[&pseudo_header(src.ip(), dst.ip(), 17, len), &u]);
    if sum == 0 {
        sum = 0xFFFF;
    }
    u[6..8].copy_from_slice(&sum.to_be_bytes());
    ip_packet(src.ip(), dst.ip(), 17, &u)
}

/// A TCP segment in an IP packet.
fn tcp_packet(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&src.port().to_be_bytes());
    t.extend_from_slice(&dst.port().to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&(if flags & ACK != 0 { ack } else { 0 }).to_be_bytes());
    // Data offset 5 words, the flags, a 64 KiB window, checksum, urgent pointer.
    t.extend_from_slice(&[0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let sum = checksum(&[&pseudo_header(src.ip(), dst.ip(), 6, t.len()), &t]);
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    ip_packet(src.ip(), dst.ip(), 6, &t)
}

/// Which way a packet went, seen from the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Received.
    In,
    /// Sent.
    Out,
}

/// One TCP connection as the wire shows it: its two ends and the next sequence number
/// each sends with.
struct Flow {
    /// The end that sent the SYN, and its next sequence number.
    a: SocketAddr,
    seq_a: u32,
    /// The other end.
    b: SocketAddr,
    seq_b: u32,
    /// Both ends are the gateway's (a call to its own H.225.0 port): each side's
    /// receptions are the other side's sends, so only sends are written.
    looped: bool,
}

/// The TCP connections of a capture, by the gateway's connection id.
#[derive(Default)]
pub struct TcpFlows {
    /// Connection id -> (flow key, our end).
    conns: HashMap<u64, ((SocketAddr, SocketAddr), SocketAddr)>,
    flows: HashMap<(SocketAddr, SocketAddr), Flow>,
}

/// The initial sequence numbers of the synthesized sides: fixed, so captures compare.
const ISN_A: u32 = 1_000;
const ISN_B: u32 = 500_000;

fn key(x: SocketAddr, y: SocketAddr) -> (SocketAddr, SocketAddr) {
    if x <= y { (x, y) } else { (y, x) }
}

impl TcpFlows {
    /// A connection opened (by us when `outgoing`): its handshake, in order. The
    /// second end of a connection between two of our own sockets adds nothing.
    pub fn open(
        &mut self,
        conn: u64,
        local: SocketAddr,
        remote: SocketAddr,
        outgoing: bool,
    ) -> Vec<(Dir, Vec<u8>)> {
        let k = key(local, remote);
        self.conns.insert(conn, (k, local));
        if let Some(f) = self.flows.get_mut(&k) {
            f.looped = true;
            return Vec::new();
        }
        let (a, b) = if outgoing {
            (local, remote)
        } else {
            (remote, local)
        };
        self.flows.insert(
            k,
            Flow {
                a,
                seq_a: ISN_A + 1,
                b,
                seq_b: ISN_B + 1,
                looped: false,
            },
        );
        let (d1, d2) = if outgoing {
            (Dir::Out, Dir::In)
        } else {
            (Dir::In, Dir::Out)
        };
        vec![
            (d1, tcp_packet(a, b, ISN_A, 0, SYN, &[])),
            (d2, tcp_packet(b, a, ISN_B, ISN_A + 1, SYN | ACK, &[])),
            (d1, tcp_packet(a, b, ISN_A + 1, ISN_B + 1, ACK, &[])),
        ]
    }

    /// Data on a connection, one segment per 65000 octets; nothing for an unknown one,
    /// nor for what one of our looped ends received (the other end wrote it as sent).
    pub fn data(&mut self, conn: u64, dir: Dir, payload: &[u8]) -> Vec<Vec<u8>> {
        let Some(&(k, local)) = self.conns.get(&conn) else {
            return Vec::new();
        };
        let Some(f) = self.flows.get_mut(&k) else {
            return Vec::new();
        };
        if f.looped && dir == Dir::In {
            return Vec::new();
        }
        let from_a = (f.a == local) == (dir == Dir::Out);
        let mut out = Vec::new();
        for chunk in payload.chunks(MAX_SEGMENT) {
            let n = chunk.len() as u32;
            if from_a {
                out.push(tcp_packet(f.a, f.b, f.seq_a, f.seq_b, PSH | ACK, chunk));
                f.seq_a = f.seq_a.wrapping_add(n);
            } else {
                out.push(tcp_packet(f.b, f.a, f.seq_b, f.seq_a, PSH | ACK, chunk));
                f.seq_b = f.seq_b.wrapping_add(n);
            }
        }
        out
    }

    /// A connection closed: a FIN each way and the last ACK, once per connection.
    pub fn close(&mut self, conn: u64) -> Vec<(Dir, Vec<u8>)> {
        let Some((k, local)) = self.conns.remove(&conn) else {
            return Vec::new();
        };
        let Some(f) = self.flows.remove(&k) else {
            return Vec::new();
        };
        let (us, them, s_us, s_them) = if f.a == local {
            (f.a, f.b, f.seq_a, f.seq_b)
        } else {
            (f.b, f.a, f.seq_b, f.seq_a)
        };
        vec![
            (Dir::Out, tcp_packet(us, them, s_us, s_them, FIN | ACK, &[])),
            (
                Dir::In,
                tcp_packet(them, us, s_them, s_us + 1, FIN | ACK, &[]),
            ),
            (
                Dir::Out,
                tcp_packet(us, them, s_us + 1, s_them + 1, ACK, &[]),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (one's complement 220d).
        assert_eq!(
            checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            0x220d
        );
        // A packet with its checksum in place sums to zero.
        let p = udp_packet(
            "127.0.0.1:5060".parse().unwrap(),
            "127.0.0.2:5062".parse().unwrap(),
            b"OPTIONS",
        );
        assert_eq!(checksum(&[&p[..20]]), 0, "IPv4 header checksum");
        let pseudo = pseudo_header(
            "127.0.0.1".parse().unwrap(),
            "127.0.0.2".parse().unwrap(),
            17,
            p.len() - 20,
        );
        assert_eq!(checksum(&[&pseudo, &p[20..]]), 0, "UDP checksum");
    }

    #[test]
    fn tcp_sequence_numbers_follow_the_data() {
        let mut flows = TcpFlows::default();
        let local: SocketAddr = "[::1]:1720".parse().unwrap();
        let remote: SocketAddr = "[::1]:40000".parse().unwrap();
        let hs = flows.open(7, local, remote, false);
        assert_eq!(hs.len(), 3);
        assert_eq!(hs[0].0, Dir::In);
        let a = flows.data(7, Dir::In, b"abc");
        let b = flows.data(7, Dir::In, b"de");
        let seq = |p: &Vec<u8>| u32::from_be_bytes(p[44..48].try_into().unwrap());
        assert_eq!(seq(&b[0]), seq(&a[0]) + 3);
        assert_eq!(a[0][0] >> 4, 6, "IPv6");
        assert_eq!(flows.close(7).len(), 3);
        assert!(flows.data(7, Dir::Out, b"x").is_empty());
    }

    #[test]
    fn a_connection_between_two_of_our_sockets_is_written_once() {
        let mut flows = TcpFlows::default();
        let client: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let server: SocketAddr = "127.0.0.1:1720".parse().unwrap();
        assert_eq!(flows.open(1, client, server, true).len(), 3);
        assert!(flows.open(2, server, client, false).is_empty());
        let sent = flows.data(1, Dir::Out, b"setup");
        assert!(flows.data(2, Dir::In, b"setup").is_empty());
        let answer = flows.data(2, Dir::Out, b"connect");
        assert!(flows.data(1, Dir::In, b"connect").is_empty());
        let seq = |p: &Vec<u8>| u32::from_be_bytes(p[24..28].try_into().unwrap());
        let ack = |p: &Vec<u8>| u32::from_be_bytes(p[28..32].try_into().unwrap());
        assert_eq!(seq(&sent[0]), ISN_A + 1);
        assert_eq!(seq(&answer[0]), ISN_B + 1);
        assert_eq!(ack(&answer[0]), ISN_A + 1 + 5, "the answer acks the setup");
        assert_eq!(flows.close(2).len(), 3);
        assert!(flows.close(1).is_empty());
    }
}
