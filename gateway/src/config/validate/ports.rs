//! Port clashes: two sockets of the same protocol on overlapping addresses and the same
//! port, and UDP listeners inside the RTP port range.

use crate::config::listeners::SipTransport;
use crate::config::load::Loaded;
use crate::config::path::FieldPath;
use crate::config::report::Report;
use crate::config::spans::SpanDriver;
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Udp,
    Tcp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
        }
    }
}

/// A socket the configuration asks for.
struct Bound {
    proto: Proto,
    address: SocketAddr,
    /// Path of the address field.
    path: FieldPath,
}

/// Whether two sockets on the same port would collide: the same address, or a wildcard
/// of the same family, or the IPv6 wildcard (dual-stack) against anything.
fn overlap(a: SocketAddr, b: SocketAddr) -> bool {
    let (ia, ib) = (a.ip(), b.ip());
    let v6_any = |ip: std::net::IpAddr| ip.is_ipv6() && ip.is_unspecified();
    ia == ib
        || v6_any(ia)
        || v6_any(ib)
        || (ia.is_ipv4() == ib.is_ipv4() && (ia.is_unspecified() || ib.is_unspecified()))
}

fn sockets(l: &Loaded) -> Vec<Bound> {
    let root = FieldPath::root();
    let mut out = Vec::new();
    if let Some(listeners) = &l.listeners {
        let base = root.key("listeners");
        for (i, s) in listeners.sip.iter().enumerate() {
            let proto = match s.transport {
                SipTransport::Udp => Proto::Udp,
                SipTransport::Tcp | SipTransport::Tls => Proto::Tcp,
            };
            let path = base.key("sip").index(i).key("address");
            out.push(Bound {
                proto,
                address: s.address,
                path,
            });
        }
        for (i, h) in listeners.h225.iter().enumerate() {
            let path = base.key("h225").index(i).key("address");
            out.push(Bound {
                proto: Proto::Tcp,
                address: h.address,
                path,
            });
        }
        for (i, r) in listeners.ras.iter().enumerate() {
            let path = base.key("ras").index(i).key("address");
            out.push(Bound {
                proto: Proto::Udp,
                address: r.address,
                path,
            });
        }
    }
    if let Some(m) = &l.metrics {
        let path = root.key("metrics").key("listen");
        out.push(Bound {
            proto: Proto::Tcp,
            address: m.listen,
            path,
        });
    }
    for span in &l.spans {
        if let SpanDriver::Pseudowire(pw) = &span.value.driver {
            let path = root
                .key("spans")
                .index(span.index)
                .key("driver")
                .key("local");
            out.push(Bound {
                proto: Proto::Udp,
                address: pw.local,
                path,
            });
        }
    }
    out
}

pub(super) fn check(l: &Loaded, report: &mut Report) {
    let all = sockets(l);
    for (i, b) in all.iter().enumerate() {
        if b.address.port() == 0 {
            report.value(&b.path, "port 0 is not allowed: give the port to listen on");
            continue;
        }
        let clash = all[..i].iter().find(|a| {
            a.proto == b.proto
                && a.address.port() == b.address.port()
                && overlap(a.address, b.address)
        });
        if let Some(first) = clash {
            let first_path = crate::config::collect::to_original(&first.path, &report.removed);
            report.value(
                &b.path,
                format!(
                    "port clash: {} {} is also used by {} ({})",
                    b.proto.name(),
                    b.address,
                    first_path,
                    first.address
                ),
            );
        }
        if b.proto == Proto::Udp
            && let Some(media) = &l.media
            && media.rtp_port_range.contains(b.address.port())
        {
            report.value(
                &b.path,
                format!(
                    "port clash: udp port {} is inside media.rtp_port_range {}",
                    b.address.port(),
                    media.rtp_port_range
                ),
            );
        }
    }
}
