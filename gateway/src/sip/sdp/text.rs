//! SDP text <-> [`SessionDescription`]. The only file that knows the `sdp-types` crate,
//! so the syntax layer can be swapped without touching the offer/answer code.

use super::description::{
    Attribute, Bandwidth, Connection, MediaDescription, MediaKind, Origin, SessionDescription,
    Transport,
};
use super::error::SdpError;
use std::net::IpAddr;

/// Parses SDP text (RFC 8866 §9; CRLF or bare LF line ends).
pub fn parse(data: &[u8]) -> Result<SessionDescription, SdpError> {
    let s = sdp_types::Session::parse(data).map_err(|e| SdpError::Syntax(e.to_string()))?;
    let origin = Origin {
        username: s.origin.username.unwrap_or_else(|| "-".to_owned()),
        session_id: s.origin.sess_id,
        version: s.origin.sess_version,
        address: s.origin.unicast_address,
    };
    let connection = s.connection.as_ref().map(connection_from).transpose()?;
    let media = s
        .medias
        .into_iter()
        .map(media_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SessionDescription {
        origin,
        session_name: s.session_name,
        connection,
        bandwidths: s.bandwidths.into_iter().map(bandwidth_from).collect(),
        attributes: s.attributes.into_iter().map(attribute_from).collect(),
        media,
    })
}

/// Writes canonical SDP text: CRLF line ends, `v= o= s= c= b= t=0 0 a=` then the m-lines.
pub fn write(sdp: &SessionDescription) -> String {
    let origin = sdp_types::Origin {
        username: Some(sdp.origin.username.clone()),
        sess_id: sdp.origin.session_id.clone(),
        sess_version: sdp.origin.version,
        nettype: sdp_types::NetType::In,
        addrtype: addrtype_of_host(&sdp.origin.address),
        unicast_address: sdp.origin.address.clone(),
    };
    let mut s = sdp_types::Session::new(origin, &sdp.session_name);
    s.connection = sdp.connection.as_ref().map(connection_to);
    s.bandwidths = sdp.bandwidths.iter().map(bandwidth_to).collect();
    s.times = vec![sdp_types::Time::new(0, 0)];
    s.attributes = sdp.attributes.iter().map(attribute_to).collect();
    s.medias = sdp.media.iter().map(media_to).collect();
    let mut out = Vec::new();
    // Writing into a Vec<u8> cannot fail: the only errors come from the io::Write sink.
    s.write(&mut out)
        .expect("writing SDP into a Vec cannot fail");
    // sdp-types writes only text taken from `String`s, so the output is UTF-8.
    String::from_utf8(out).expect("SDP written from Strings is UTF-8")
}

fn addrtype_of_host(address: &str) -> sdp_types::AddrType {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => sdp_types::AddrType::Ip6,
        _ => sdp_types::AddrType::Ip4,
    }
}

fn connection_from(c: &sdp_types::Connection) -> Result<Connection, SdpError> {
    if let Ok(a) = c.try_address() {
        return Ok(Connection::Ip(a.ip));
    }
    // RFC 8866 §5.7 allows an FQDN (the RFC 3264 §10 examples use them); anything with
    // characters a host name cannot have is refused.
    let name = c.connection_address.as_str();
    let host_char = |ch: char| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_');
    if !name.is_empty()
        && name.chars().all(host_char)
        && name.contains(|ch: char| ch.is_ascii_alphabetic())
    {
        let ip6 = c.addrtype == sdp_types::AddrType::Ip6;
        return Ok(Connection::Host {
            ip6,
            name: name.to_owned(),
        });
    }
    Err(SdpError::Connection(name.to_owned()))
}

fn connection_to(c: &Connection) -> sdp_types::Connection {
    match c {
        Connection::Ip(a) => sdp_types::Connection::from_ip_addr(*a),
        Connection::Host { ip6, name } => sdp_types::Connection {
            nettype: sdp_types::NetType::In,
            addrtype: if *ip6 {
                sdp_types::AddrType::Ip6
            } else {
                sdp_types::AddrType::Ip4
            },
            connection_address: name.clone(),
        },
    }
}

fn bandwidth_from(b: sdp_types::Bandwidth) -> Bandwidth {
    Bandwidth {
        kind: b.bwtype,
        value: b.bandwidth,
    }
}

fn bandwidth_to(b: &Bandwidth) -> sdp_types::Bandwidth {
    sdp_types::Bandwidth {
        bwtype: b.kind.clone(),
        bandwidth: b.value,
    }
}

fn attribute_from(a: sdp_types::Attribute) -> Attribute {
    Attribute {
        name: a.attribute,
        value: a.value,
    }
}

fn attribute_to(a: &Attribute) -> sdp_types::Attribute {
    sdp_types::Attribute {
        attribute: a.name.clone(),
        value: a.value.clone(),
    }
}

fn media_from(m: sdp_types::Media) -> Result<MediaDescription, SdpError> {
    let connection = m.connections.first().map(connection_from).transpose()?;
    Ok(MediaDescription {
        kind: MediaKind::parse(&m.media),
        port: m.port,
        num_ports: m.num_ports,
        transport: Transport::parse(&m.proto),
        formats: m.fmt.split_ascii_whitespace().map(str::to_owned).collect(),
        connection,
        bandwidths: m.bandwidths.into_iter().map(bandwidth_from).collect(),
        attributes: m.attributes.into_iter().map(attribute_from).collect(),
    })
}

fn media_to(m: &MediaDescription) -> sdp_types::Media {
    sdp_types::Media {
        media: m.kind.as_str().to_owned(),
        port: m.port,
        num_ports: m.num_ports,
        proto: m.transport.as_str().to_owned(),
        fmt: m.formats.join(" "),
        media_title: None,
        connections: m
            .connection
            .as_ref()
            .map(connection_to)
            .into_iter()
            .collect(),
        bandwidths: m.bandwidths.iter().map(bandwidth_to).collect(),
        key: None,
        attributes: m.attributes.iter().map(attribute_to).collect(),
    }
}

impl SessionDescription {
    /// Parses SDP text; see [`parse`].
    pub fn parse(data: &[u8]) -> Result<Self, SdpError> {
        parse(data)
    }
}

impl std::fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&write(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\n\
        o=CiscoSystemsSIP-GW-UserAgent 5271 1407 IN IP4 10.0.0.5\r\n\
        s=SIP Call\r\n\
        c=IN IP4 10.0.0.5\r\n\
        t=0 0\r\n\
        m=audio 17654 RTP/AVP 18 0 101\r\n\
        c=IN IP4 10.0.0.6\r\n\
        a=rtpmap:18 G729/8000\r\n\
        a=fmtp:18 annexb=no\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-16\r\n\
        a=ptime:20\r\n\
        m=image 0 udptl t38\r\n\
        m=application 9 TCP/BFCP *\r\n\
        a=floorctrl:c-s\r\n";

    #[test]
    fn reads_lines_into_the_view() {
        let sdp = parse(OFFER.as_bytes()).unwrap();
        assert_eq!(sdp.origin.username, "CiscoSystemsSIP-GW-UserAgent");
        assert_eq!(sdp.origin.session_id, "5271");
        assert_eq!(sdp.origin.version, 1407);
        assert_eq!(sdp.media.len(), 3);
        assert!(sdp.media[0].is_rtp_audio());
        assert_eq!(sdp.media[0].formats, ["18", "0", "101"]);
        assert_eq!(
            sdp.connection_for(0),
            Some(&Connection::Ip("10.0.0.6".parse().unwrap()))
        );
        assert_eq!(
            sdp.connection_for(2),
            Some(&Connection::Ip("10.0.0.5".parse().unwrap()))
        );
        assert!(sdp.media[1].kind == MediaKind::Image && sdp.media[1].port == 0);
        assert_eq!(sdp.media[2].kind, MediaKind::Other("application".into()));
        assert_eq!(sdp.media[2].transport, Transport::Other("TCP/BFCP".into()));
        assert_eq!(sdp.first_audio(), Some(0));
        assert_eq!(sdp.first_t38(), None);
    }

    #[test]
    fn writes_canonical_crlf_text() {
        let sdp = parse(OFFER.as_bytes()).unwrap();
        let text = write(&sdp);
        assert!(text.starts_with(
            "v=0\r\no=CiscoSystemsSIP-GW-UserAgent 5271 1407 IN IP4 10.0.0.5\r\ns=SIP Call\r\n\
             c=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 17654 RTP/AVP 18 0 101\r\nc=IN IP4 10.0.0.6\r\n"
        ));
        assert!(text.ends_with("m=application 9 TCP/BFCP *\r\na=floorctrl:c-s\r\n"));
        assert_eq!(parse(text.as_bytes()).unwrap(), sdp);
    }

    #[test]
    fn host_names_ipv6_and_bare_lf() {
        let sdp = parse(
            b"v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP4 host.example.com\nt=0 0\n\
              m=audio 5004 RTP/AVP 0\nc=IN IP6 2001:db8::5\n",
        )
        .unwrap();
        assert_eq!(
            sdp.connection,
            Some(Connection::Host {
                ip6: false,
                name: "host.example.com".into()
            })
        );
        let text = write(&sdp);
        assert!(text.contains("o=- 1 1 IN IP6 2001:db8::1\r\n"));
        assert!(text.contains("c=IN IP6 2001:db8::5\r\n"));
        assert!(text.contains("c=IN IP4 host.example.com\r\n"));
    }

    #[test]
    fn refuses_what_is_not_sdp() {
        assert!(parse(b"").is_err());
        assert!(parse(b"INVITE sip:a@b SIP/2.0\r\n").is_err());
        assert!(parse(b"v=1\r\n").is_err());
        assert!(matches!(
            parse(b"v=0\r\nc=IN IP4 1.2.3.4/x\r\n"),
            Err(SdpError::Connection(_))
        ));
    }
}
