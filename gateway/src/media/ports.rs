//! RTP/RTCP port pairs from the configured range (`media.rtp_port_range`).
//!
//! RTP takes an even port and RTCP the next one (RFC 3550 §11; RFC 3605 covers SDP that
//! says otherwise). The pool walks the range round-robin from where the last reservation
//! ended, so a port just released is not handed out again at once and stray packets of
//! the previous call do not land in the next one. Ports another process holds are
//! skipped. A pair is released by dropping its sockets.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

use crate::config::PortRange;

/// Why the media engine could not set up a call's media.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Every even/odd pair of the range is in use.
    #[error("no free RTP/RTCP port pair in {range} on {ip}")]
    NoFreePorts {
        /// The address binding was tried on.
        ip: IpAddr,
        /// The configured range.
        range: PortRange,
    },
    /// Binding or setting up a socket failed for a reason other than the port being taken.
    #[error("cannot open a UDP socket on {addr}: {source}")]
    Socket {
        /// The address being bound.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
}

/// An RTP socket on an even port and its RTCP socket on the next port, both non-blocking.
#[derive(Debug)]
pub struct BoundPair {
    /// The RTP socket (even port).
    pub rtp: UdpSocket,
    /// The RTCP socket (RTP port + 1).
    pub rtcp: UdpSocket,
    /// The RTP socket's address, the one to put in SDP / H.245.
    pub local: SocketAddr,
}

/// Hands out RTP/RTCP port pairs from a range on one local address.
#[derive(Debug, Clone)]
pub struct PortPool {
    ip: IpAddr,
    range: PortRange,
    /// The first RTP (even) port of the range.
    first: u16,
    /// Number of whole pairs in the range.
    pairs: u16,
    /// Index of the pair the next search starts at.
    next: u16,
}

impl PortPool {
    /// A pool over the even ports of `range` whose next port is still in `range`.
    pub fn new(ip: IpAddr, range: PortRange) -> Self {
        let first = range.min.saturating_add(range.min % 2);
        let pairs = if range.max > first {
            (range.max - first).div_ceil(2)
        } else {
            0
        };
        PortPool {
            ip,
            range,
            first,
            pairs,
            next: 0,
        }
    }

    /// The address the pool binds on.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Number of port pairs the range holds.
    pub fn capacity(&self) -> u16 {
        self.pairs
    }

    /// Binds the next free pair, starting after the last one handed out.
    pub fn reserve(&mut self) -> Result<BoundPair, MediaError> {
        for i in 0..self.pairs {
            let index = (self.next + i) % self.pairs;
            // In range: index < pairs, so first + 2 * index + 1 <= max.
            let port = self.first + 2 * index;
            if let Some(pair) = self.try_pair(port)? {
                self.next = (index + 1) % self.pairs;
                return Ok(pair);
            }
        }
        Err(MediaError::NoFreePorts {
            ip: self.ip,
            range: self.range,
        })
    }

    /// Binds `port` and `port + 1`; `None` if either is taken.
    fn try_pair(&self, port: u16) -> Result<Option<BoundPair>, MediaError> {
        let Some(rtp) = bind(SocketAddr::new(self.ip, port))? else {
            return Ok(None);
        };
        let Some(rtcp) = bind(SocketAddr::new(self.ip, port + 1))? else {
            return Ok(None);
        };
        let local = SocketAddr::new(self.ip, port);
        Ok(Some(BoundPair { rtp, rtcp, local }))
    }
}

/// A non-blocking socket on `addr`; `None` when the port is taken.
fn bind(addr: SocketAddr) -> Result<Option<UdpSocket>, MediaError> {
    let socket = match UdpSocket::bind(addr) {
        Ok(s) => s,
        // Held by another socket; access denied is what Windows says for reserved ports.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
            ) =>
        {
            return Ok(None);
        }
        Err(source) => return Err(MediaError::Socket { addr, source }),
    };
    socket
        .set_nonblocking(true)
        .map_err(|source| MediaError::Socket { addr, source })?;
    Ok(Some(socket))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// Six free ports starting at an even port below the usual ephemeral range, so that
    /// other tests binding port 0 do not land in it.
    fn free_range() -> PortRange {
        let start = 20_000 + (std::process::id() % 1000) as u16 * 8;
        for base in (start..31_000).step_by(8).chain((20_000..start).step_by(8)) {
            let held: Vec<_> = (base..base + 6)
                .map_while(|p| UdpSocket::bind((LOCALHOST, p)).ok())
                .collect();
            if held.len() == 6 {
                return PortRange {
                    min: base,
                    max: base + 5,
                };
            }
        }
        panic!("no six free ports between 20000 and 31000");
    }

    #[test]
    fn pairs_are_even_odd_round_robin_and_skip_busy_ports() {
        let range = free_range();
        let base = range.min;
        let mut pool = PortPool::new(LOCALHOST, range);
        assert_eq!(pool.capacity(), 3);
        // Another socket holds the middle pair's RTCP port.
        let squatter = UdpSocket::bind((LOCALHOST, base + 3)).expect("free port");

        let first = pool.reserve().expect("first pair");
        assert_eq!(first.local, SocketAddr::new(LOCALHOST, base));
        assert_eq!(first.rtp.local_addr().expect("bound").port(), base);
        assert_eq!(first.rtcp.local_addr().expect("bound").port(), base + 1);

        let second = pool.reserve().expect("pair after the busy one");
        assert_eq!(second.local.port(), base + 4);
        // The RTP port of the skipped pair was released again.
        drop(UdpSocket::bind((LOCALHOST, base + 2)).expect("released"));

        assert!(matches!(
            pool.reserve(),
            Err(MediaError::NoFreePorts { .. })
        ));

        drop(squatter);
        // Round robin: the search resumes after the last pair handed out.
        let third = pool.reserve().expect("middle pair, now free");
        assert_eq!(third.local.port(), base + 2);
        drop(first);
        let again = pool.reserve().expect("first pair, dropped");
        assert_eq!(again.local.port(), base);
        drop((second, third, again));
    }

    #[test]
    fn odd_minimum_and_tiny_ranges() {
        let pool = PortPool::new(
            LOCALHOST,
            PortRange {
                min: 30001,
                max: 30006,
            },
        );
        assert_eq!((pool.first, pool.capacity()), (30002, 2));
        let pool = PortPool::new(
            LOCALHOST,
            PortRange {
                min: 30000,
                max: 30000,
            },
        );
        assert_eq!(pool.capacity(), 0);
        let pool = PortPool::new(
            LOCALHOST,
            PortRange {
                min: 30000,
                max: 30001,
            },
        );
        assert_eq!(pool.capacity(), 1);
        let mut empty = PortPool::new(
            LOCALHOST,
            PortRange {
                min: 65534,
                max: 65534,
            },
        );
        assert!(matches!(
            empty.reserve(),
            Err(MediaError::NoFreePorts { .. })
        ));
    }
}
