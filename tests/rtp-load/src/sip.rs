//! The few SIP messages the load tool sends and reads (RFC 3261), and the SDP in them
//! (RFC 4566). Enough for one UAC and one UAS over UDP: INVITE with an offer, 100/180/200
//! with an answer, ACK, BYE, and plain responses to anything else. Headers are matched
//! case-insensitively and in their compact forms.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// A parsed SIP message: start line, headers in order, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `Some(method)` for a request.
    pub method: Option<String>,
    /// The Request-URI of a request.
    pub uri: String,
    /// The status code of a response (0 for a request).
    pub status: u16,
    /// Headers as (name, value), names as written.
    pub headers: Vec<(String, String)>,
    /// The body (Content-Length bytes, or what follows the blank line).
    pub body: String,
}

/// The compact form of a header name (RFC 3261 §7.3.3), for the ones the tool reads.
fn compact(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "via" => "v",
        "from" => "f",
        "to" => "t",
        "call-id" => "i",
        "content-length" => "l",
        "content-type" => "c",
        "contact" => "m",
        _ => return None,
    })
}

impl Message {
    /// Parses one datagram; `None` when it is not a SIP message.
    pub fn parse(data: &[u8]) -> Option<Message> {
        let text = std::str::from_utf8(data).ok()?;
        let (head, rest) = match text.find("\r\n\r\n") {
            Some(i) => (&text[..i], &text[i + 4..]),
            None => (text.trim_end(), ""),
        };
        let mut lines = head.split("\r\n");
        let start = lines.next()?;
        let (method, uri, status) = if let Some(r) = start.strip_prefix("SIP/2.0 ") {
            let code: u16 = r.get(..3)?.parse().ok()?;
            (None, String::new(), code)
        } else {
            let mut w = start.split(' ');
            let m = w.next()?;
            let u = w.next()?;
            if w.next()? != "SIP/2.0" || m.is_empty() {
                return None;
            }
            (Some(m.to_owned()), u.to_owned(), 0)
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                // Folded continuation line.
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
                continue;
            }
            let (n, v) = line.split_once(':')?;
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        let mut msg = Message {
            method,
            uri,
            status,
            headers,
            body: String::new(),
        };
        let len = msg
            .header("Content-Length")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(rest.len());
        msg.body = rest.get(..len.min(rest.len()))?.to_owned();
        Some(msg)
    }

    /// The first header called `name` (or its compact form).
    pub fn header(&self, name: &str) -> Option<&str> {
        let short = compact(name);
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name) || short.is_some_and(|s| n == s))
            .map(|(_, v)| v.as_str())
    }

    /// Every header called `name`, in order (comma-separated values are not split).
    pub fn headers(&self, name: &str) -> impl Iterator<Item = &str> {
        let short = compact(name);
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name) || short.is_some_and(|s| n == s))
            .map(|(_, v)| v.as_str())
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let v = self.header("CSeq")?;
        let (n, m) = v.split_once(' ')?;
        Some((n.trim().parse().ok()?, m.trim()))
    }

    /// The top Via's branch parameter.
    pub fn branch(&self) -> Option<&str> {
        let via = self.header("Via")?;
        let top = via.split(',').next()?;
        param(top, "branch")
    }

    /// The tag parameter of the To header.
    pub fn to_tag(&self) -> Option<&str> {
        param(self.header("To")?, "tag")
    }

    /// The tag parameter of the From header.
    pub fn from_tag(&self) -> Option<&str> {
        param(self.header("From")?, "tag")
    }

    /// The URI in the Contact header (without angle brackets and parameters outside them).
    pub fn contact_uri(&self) -> Option<&str> {
        uri_of(self.header("Contact")?)
    }

    /// The user part of the Request-URI (`sip:USER@host`).
    pub fn uri_user(&self) -> Option<&str> {
        let u = self.uri.split_once(':')?.1;
        u.split_once('@')?.0.split(';').next()
    }

    /// Whether this is a request with `method`.
    pub fn is_request(&self, method: &str) -> bool {
        self.method.as_deref() == Some(method)
    }
}

/// The value of `;name=value` in a header value.
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The URI of a name-addr (`"x" <sip:a@b>;tag=1`) or addr-spec.
pub fn uri_of(value: &str) -> Option<&str> {
    if let Some(start) = value.find('<') {
        let end = value[start..].find('>')? + start;
        return Some(&value[start + 1..end]);
    }
    value.split(';').next().map(str::trim)
}

/// The host:port of a `sip:` URI as a socket address (IP literals only).
pub fn uri_addr(uri: &str) -> Option<SocketAddr> {
    let rest = uri.strip_prefix("sip:")?;
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let hostport = hostport.split([';', '?']).next()?;
    if let Ok(a) = hostport.parse::<SocketAddr>() {
        return Some(a);
    }
    let ip: IpAddr = hostport.trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, 5060))
}

/// An SDP offer or answer for one G.711 u-law audio stream with telephone-event.
pub fn sdp(session_id: u64, rtp: SocketAddr) -> String {
    let (ip_kind, ip) = match rtp.ip() {
        IpAddr::V4(v) => ("IP4", v.to_string()),
        IpAddr::V6(v) => ("IP6", v.to_string()),
    };
    format!(
        "v=0\r\no=rtp-load {session_id} 1 IN {ip_kind} {ip}\r\ns=-\r\nc=IN {ip_kind} {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
        rtp.port()
    )
}

/// The audio RTP address of an SDP body: the first `m=audio` port with the media-level
/// `c=` if there is one, else the session-level one.
pub fn sdp_audio_addr(body: &str) -> Option<SocketAddr> {
    let mut session_ip: Option<IpAddr> = None;
    let mut media: Option<(u16, Option<IpAddr>)> = None;
    for line in body.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix("c=") {
            let ip = c.split_whitespace().nth(2).and_then(|a| {
                // Multicast TTL suffixes (a/ttl) never appear here, but cut them.
                a.split('/').next()?.parse::<IpAddr>().ok()
            });
            match media.as_mut() {
                Some((_, m_ip)) => *m_ip = ip,
                None => session_ip = ip,
            }
        } else if let Some(m) = line.strip_prefix("m=") {
            if media.is_some() {
                break;
            }
            let mut w = m.split_whitespace();
            if w.next() == Some("audio") {
                let port = w.next()?.split('/').next()?.parse().ok()?;
                media = Some((port, None));
            }
        }
    }
    let (port, ip) = media?;
    Some(SocketAddr::new(ip.or(session_ip)?, port))
}

/// Fields that make a request of one dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub call_id: String,
    /// Our URI (From of what we send).
    pub local_uri: String,
    pub local_tag: String,
    /// The peer's URI (To of what we send).
    pub remote_uri: String,
    pub remote_tag: Option<String>,
    /// Where requests go: the peer's Contact (Request-URI).
    pub remote_target: String,
}

/// A request inside (or starting) `d`, sent from `me` with a fresh `branch`.
pub fn request(
    method: &str,
    d: &Dialog,
    cseq: u32,
    branch: &str,
    me: SocketAddr,
    body: Option<&str>,
) -> String {
    let mut s = String::with_capacity(600);
    let _ = write!(
        s,
        "{method} {} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={branch};rport\r\nMax-Forwards: 70\r\n\
         From: <{}>;tag={}\r\nTo: <{}>",
        d.remote_target, d.local_uri, d.local_tag, d.remote_uri
    );
    if let Some(t) = &d.remote_tag {
        let _ = write!(s, ";tag={t}");
    }
    let cseq_method = if method == "ACK" { "ACK" } else { method };
    let _ = write!(
        s,
        "\r\nCall-ID: {}\r\nCSeq: {cseq} {cseq_method}\r\n",
        d.call_id
    );
    if method == "INVITE" {
        let _ = write!(s, "Contact: <sip:load@{me}>\r\n");
    }
    s.push_str("User-Agent: rtp-load\r\n");
    match body {
        Some(b) => {
            let _ = write!(
                s,
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            );
        }
        None => s.push_str("Content-Length: 0\r\n\r\n"),
    }
    s
}

/// A response to `req`: its Via, From, Call-ID and CSeq copied (RFC 3261 §8.2.6.2), its To
/// with `to_tag` added when it has none, and a Contact at `me` on 2xx to INVITE.
pub fn response(
    req: &Message,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
    me: SocketAddr,
    body: Option<&str>,
) -> String {
    let mut s = String::with_capacity(600);
    let _ = write!(s, "SIP/2.0 {status} {reason}\r\n");
    for via in req.headers("Via") {
        let _ = write!(s, "Via: {via}\r\n");
    }
    if let Some(f) = req.header("From") {
        let _ = write!(s, "From: {f}\r\n");
    }
    if let Some(t) = req.header("To") {
        match (req.to_tag(), to_tag) {
            (None, Some(tag)) if status > 100 => {
                let _ = write!(s, "To: {t};tag={tag}\r\n");
            }
            _ => {
                let _ = write!(s, "To: {t}\r\n");
            }
        }
    }
    if let Some(c) = req.call_id() {
        let _ = write!(s, "Call-ID: {c}\r\n");
    }
    if let Some(c) = req.header("CSeq") {
        let _ = write!(s, "CSeq: {c}\r\n");
    }
    if req.is_request("INVITE") && (200..300).contains(&status) {
        let _ = write!(s, "Contact: <sip:load@{me}>\r\n");
    }
    s.push_str("User-Agent: rtp-load\r\n");
    match body {
        Some(b) => {
            let _ = write!(
                s,
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            );
        }
        None => s.push_str("Content-Length: 0\r\n\r\n"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn dialog() -> Dialog {
        Dialog {
            call_id: "c1@load".into(),
            local_uri: "sip:2000@127.0.0.1".into(),
            local_tag: "ft1".into(),
            remote_uri: "sip:7000001@127.0.0.1:5060".into(),
            remote_tag: None,
            remote_target: "sip:7000001@127.0.0.1:5060".into(),
        }
    }

    #[test]
    fn invite_round_trips() {
        let me = addr("127.0.0.1:5090");
        let body = sdp(7, addr("127.0.0.1:40000"));
        let text = request("INVITE", &dialog(), 1, "z9hG4bK-1", me, Some(&body));
        let m = Message::parse(text.as_bytes()).unwrap();
        assert!(m.is_request("INVITE"));
        assert_eq!(m.uri, "sip:7000001@127.0.0.1:5060");
        assert_eq!(m.uri_user(), Some("7000001"));
        assert_eq!(m.branch(), Some("z9hG4bK-1"));
        assert_eq!(m.from_tag(), Some("ft1"));
        assert_eq!(m.to_tag(), None);
        assert_eq!(m.cseq(), Some((1, "INVITE")));
        assert_eq!(m.call_id(), Some("c1@load"));
        assert_eq!(m.contact_uri(), Some("sip:load@127.0.0.1:5090"));
        assert_eq!(m.body, body);
        assert_eq!(sdp_audio_addr(&m.body), Some(addr("127.0.0.1:40000")));
    }

    #[test]
    fn response_copies_the_transaction_and_adds_a_tag() {
        let me = addr("127.0.0.1:5092");
        let inv = "INVITE sip:7000001@127.0.0.1:5092 SIP/2.0\r\n\
                   Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKgw1\r\n\
                   v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfirst\r\n\
                   f: <sip:2000@gw>;tag=gwtag\r\nt: <sip:7000001@127.0.0.1>\r\n\
                   i: abc\r\nCSeq: 10 INVITE\r\nl: 0\r\n\r\n";
        let req = Message::parse(inv.as_bytes()).unwrap();
        assert_eq!(req.call_id(), Some("abc"));
        assert_eq!(req.branch(), Some("z9hG4bKgw1"));
        let trying = response(&req, 100, "Trying", Some("ut1"), me, None);
        let t = Message::parse(trying.as_bytes()).unwrap();
        assert_eq!(t.to_tag(), None, "no tag on 100");
        let ok = response(&req, 200, "OK", Some("ut1"), me, Some("v=0\r\n"));
        let r = Message::parse(ok.as_bytes()).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.method, None);
        assert_eq!(r.headers("Via").count(), 2, "every Via, in order");
        assert_eq!(r.branch(), Some("z9hG4bKgw1"));
        assert_eq!(r.to_tag(), Some("ut1"));
        assert_eq!(r.from_tag(), Some("gwtag"));
        assert_eq!(r.cseq(), Some((10, "INVITE")));
        assert_eq!(r.contact_uri(), Some("sip:load@127.0.0.1:5092"));
        assert_eq!(r.body, "v=0\r\n");
    }

    #[test]
    fn in_dialog_request_names_both_tags() {
        let mut d = dialog();
        d.remote_tag = Some("tt9".into());
        d.remote_target = "sip:gw@127.0.0.1:5060;transport=udp".into();
        let me = addr("127.0.0.1:5090");
        let bye = request("BYE", &d, 2, "z9hG4bK-b", me, None);
        let m = Message::parse(bye.as_bytes()).unwrap();
        assert_eq!(m.uri, "sip:gw@127.0.0.1:5060;transport=udp");
        assert_eq!(uri_addr(&m.uri), Some(addr("127.0.0.1:5060")));
        assert_eq!(m.to_tag(), Some("tt9"));
        assert_eq!(m.cseq(), Some((2, "BYE")));
        assert_eq!(m.header("Content-Length"), Some("0"));
    }

    #[test]
    fn sdp_media_level_connection_wins() {
        let body = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n\
                    m=audio 3000 RTP/AVP 0\r\nc=IN IP4 127.0.0.2\r\nm=video 4000 RTP/AVP 96\r\n";
        assert_eq!(sdp_audio_addr(body), Some(addr("127.0.0.2:3000")));
        assert_eq!(sdp_audio_addr("v=0\r\n"), None);
    }

    #[test]
    fn garbage_is_not_a_message() {
        assert!(Message::parse(b"\x80\x00\x01\x02").is_none());
        assert!(Message::parse(b"HELLO").is_none());
        assert!(Message::parse(b"SIP/2.0 abc OK\r\n\r\n").is_none());
    }

    #[test]
    fn uri_helpers() {
        assert_eq!(uri_of("\"A\" <sip:a@b:1>;tag=x"), Some("sip:a@b:1"));
        assert_eq!(uri_of("sip:a@b;lr"), Some("sip:a@b"));
        assert_eq!(uri_addr("sip:127.0.0.1"), Some(addr("127.0.0.1:5060")));
        assert_eq!(uri_addr("sip:u@[::1]:5070"), Some(addr("[::1]:5070")));
        assert_eq!(param("<sip:x>;tag=a;foo", "TAG"), Some("a"));
    }
}
