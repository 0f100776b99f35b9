//! Property tests: generated requests and responses (methods, URIs, typed and raw headers,
//! compact forms, bodies) survive `to_bytes` -> `parse`; arbitrary bytes never panic.

mod sip_message_support;

use std::net::{Ipv4Addr, Ipv6Addr};

use gateway::sip::message::{
    CSeq, Host, Method, NameAddr, Params, Request, Response, SipMessage, SipUri, TelUri, Uri, Via,
};
use proptest::prelude::*;
use sip_message_support::{assert_round_trip, canonical};

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Options),
        Just(Method::Register),
        Just(Method::Prack),
        Just(Method::Update),
        Just(Method::Info),
        Just(Method::Refer),
        "[A-Z][A-Z0-9_-]{0,10}".prop_map(|t| Method::parse(&t)),
    ]
}

fn params() -> impl Strategy<Value = Params> {
    prop::collection::vec(
        (
            "[a-z][a-z0-9-]{0,6}",
            prop::option::of("[a-zA-Z0-9.-]{1,8}"),
        ),
        0..3,
    )
    .prop_map(|ps| {
        let mut p = Params::default();
        for (n, v) in ps {
            p.set(&n, v.as_deref());
        }
        p
    })
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}".prop_map(Host::Name),
        any::<u32>().prop_map(|a| Host::Ipv4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| Host::Ipv6(Ipv6Addr::from(a).to_string())),
    ]
}

fn uri() -> impl Strategy<Value = Uri> {
    let sip = (
        any::<bool>(),
        prop::option::of("[a-zA-Z0-9._+-]{1,10}|%2[Bb][0-9]{1,8}"),
        prop::option::of("[a-z0-9]{1,6}"),
        host(),
        prop::option::of(any::<u16>()),
        params(),
        prop::option::of("[A-Za-z]{1,6}=[a-z0-9%]{1,8}"),
    )
        .prop_map(|(secure, user, password, host, port, params, headers)| {
            let password = user.as_ref().and(password);
            Uri::Sip(SipUri {
                secure,
                user,
                password,
                host,
                port,
                params,
                headers,
            })
        });
    let tel = ("\\+?[0-9]{1,15}", params())
        .prop_map(|(number, params)| Uri::Tel(TelUri { number, params }));
    let other = "(urn|http|isbn):[a-z0-9/.]{1,12}".prop_map(Uri::Other);
    prop_oneof![6 => sip, 2 => tel, 1 => other]
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (prop::option::of("[ -~é✓]{0,12}"), uri(), params()).prop_map(|(d, uri, params)| {
        let mut n = NameAddr::new(uri);
        if let Some(d) = d {
            n = n.with_display(&d);
        }
        n.params = params;
        n
    })
}

/// Raw extra headers: a name (long, compact or unknown) and a value of printable text.
fn raw_header() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("Subject".to_string()),
        Just("s".to_string()),
        Just("k".to_string()),
        Just("Supported".to_string()),
        Just("Allow".to_string()),
        Just("User-Agent".to_string()),
        Just("X-Custom".to_string()),
        "X-[A-Za-z0-9-]{1,10}",
    ];
    (name, "[ -~é✓ü]{0,40}")
}

#[derive(Debug, Clone)]
struct Common {
    vias: Vec<(Host, Option<u16>, String, bool)>,
    from: NameAddr,
    to: NameAddr,
    call_id: String,
    cseq: u32,
    compact: bool,
    extra: Vec<(String, String)>,
    body: Vec<u8>,
}

fn common() -> impl Strategy<Value = Common> {
    (
        prop::collection::vec(
            (
                host(),
                prop::option::of(1u16..),
                "[A-Za-z0-9.-]{1,12}",
                any::<bool>(),
            ),
            1..4,
        ),
        name_addr(),
        name_addr(),
        "[A-Za-z0-9.@_-]{1,24}",
        0u32..=0x7fff_ffff,
        any::<bool>(),
        prop::collection::vec(raw_header(), 0..6),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(
            |(vias, from, to, call_id, cseq, compact, extra, body)| Common {
                vias,
                from,
                to,
                call_id,
                cseq,
                compact,
                extra,
                body,
            },
        )
}

fn fill(h: &mut gateway::sip::message::Headers, c: &Common, method: &Method) -> Vec<Via> {
    let name = |long: &'static str, short: &'static str| if c.compact { short } else { long };
    let mut vias = Vec::new();
    for (host, port, branch, rport) in &c.vias {
        let mut v = Via::new("UDP", host.clone(), *port, &format!("z9hG4bK{branch}"));
        if *rport {
            v.params.set("rport", None);
        }
        h.push(name("Via", "v"), &v.to_string());
        vias.push(v);
    }
    h.push(name("From", "f"), &c.from.to_string());
    h.push(name("To", "t"), &c.to.to_string());
    h.push(name("Call-ID", "i"), &c.call_id);
    let cseq = CSeq {
        seq: c.cseq,
        method: method.clone(),
    };
    h.push("CSeq", &cseq.to_string());
    for (n, v) in &c.extra {
        h.push(n, v);
    }
    vias
}

fn check_typed(m: &SipMessage, c: &Common, vias: &[Via]) {
    let h = m.headers();
    assert_eq!(h.vias().unwrap(), vias);
    assert_eq!(h.from().unwrap().as_ref(), Some(&c.from));
    assert_eq!(h.to().unwrap().as_ref(), Some(&c.to));
    assert_eq!(h.call_id(), Some(c.call_id.as_str()));
    assert_eq!(h.cseq().unwrap().unwrap().seq, c.cseq);
    assert_eq!(m.body(), &c.body[..]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn uris_round_trip(u in uri()) {
        prop_assert_eq!(Uri::parse(&u.to_string()), Ok(u));
    }

    #[test]
    fn name_addrs_round_trip(n in name_addr()) {
        prop_assert_eq!(NameAddr::parse(&n.to_string()), Ok(n));
    }

    #[test]
    fn requests_round_trip(m in method(), mut u in uri(), c in common(), mf in 0u8..=255) {
        // RFC 3261 §19.1.1: no headers in a Request-URI (validate() rejects them).
        if let Uri::Sip(s) = &mut u {
            s.headers = None;
        }
        let mut req = Request::new(m.clone(), u);
        let vias = fill(&mut req.headers, &c, &m);
        req.headers.push("Max-Forwards", &mf.to_string());
        req.body = c.body.clone();
        let msg = SipMessage::Request(req);
        let bytes = assert_round_trip(&msg, "generated request");
        let back = SipMessage::parse(&bytes).unwrap();
        back.validate().unwrap();
        check_typed(&back, &c, &vias);
        prop_assert_eq!(canonical(&back), canonical(&msg));
    }

    #[test]
    fn responses_round_trip(status in 100u16..=699, reason in "[ -~éü]{0,30}", m in method(), c in common()) {
        let mut resp = Response::new(status, reason.trim());
        let vias = fill(&mut resp.headers, &c, &m);
        resp.body = c.body.clone();
        let msg = SipMessage::Response(resp);
        let bytes = assert_round_trip(&msg, "generated response");
        let back = SipMessage::parse(&bytes).unwrap();
        back.validate().unwrap();
        check_typed(&back, &c, &vias);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1500)) {
        if let Ok(m) = SipMessage::parse(&bytes) {
            let _ = m.validate();
            let again = SipMessage::parse(&m.to_bytes());
            prop_assert!(again.is_ok());
        }
    }

    #[test]
    fn sip_like_text_never_panics(text in "(INVITE|SIP/2.0|sip:|<|>|\"|;|,|:|=|\\[|\\]|@|\r\n|\n| |\t|[a-z0-9]|Via|From|To|CSeq|l: ){0,120}") {
        let bytes = format!("OPTIONS sip:a@b SIP/2.0\r\n{text}").into_bytes();
        if let Ok(m) = SipMessage::parse(&bytes) {
            let _ = m.validate();
            let h = m.headers();
            let _ = (h.vias(), h.from(), h.to(), h.contacts(), h.routes(), h.cseq(), h.www_authenticate());
            prop_assert!(SipMessage::parse(&m.to_bytes()).is_ok());
        }
    }
}
