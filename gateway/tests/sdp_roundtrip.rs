//! Property tests: neutral `Media` -> SDP text -> parse -> `Media` is the identity, and
//! no text makes the parser or the converters panic.

use gateway::sip::sdp::{LocalCapabilities, OfferAnswer, Origin, SessionDescription};
use mapping::model::{Codec, CodecName, Media, MediaDirection};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (1u8..=223, any::<u8>(), any::<u8>(), 1u8..=254)
            .prop_map(|(a, b, c, d)| IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
        (1u16..0xfeff, any::<u16>(), any::<u16>())
            .prop_map(|(a, b, c)| IpAddr::V6(Ipv6Addr::new(a, b, 0, 0, 0, 0, c, 1))),
    ]
}

fn name() -> impl Strategy<Value = (CodecName, u32, u8)> {
    prop_oneof![
        Just((CodecName::Pcmu, 8000, 1)),
        Just((CodecName::Pcma, 8000, 1)),
        Just((CodecName::G729, 8000, 1)),
        Just((CodecName::G722, 8000, 1)),
        Just((CodecName::G7231, 8000, 1)),
        Just((CodecName::Opus, 48000, 2)),
        Just((CodecName::L16, 8000, 1)),
        Just((CodecName::L16, 16000, 1)),
        Just((CodecName::TelephoneEvent, 8000, 1)),
        Just((CodecName::ComfortNoise, 8000, 1)),
        "[a-zA-Z][a-zA-Z0-9-]{0,10}".prop_map(|n| (CodecName::Other(format!("X{n}")), 8000, 1)),
    ]
}

fn fmtp() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("0-16".to_owned())),
        Just(Some("annexb=no".to_owned())),
        "[a-z]{1,8}=[0-9]{1,4}(;[a-z]{1,8}=[0-9]{1,4}){0,2}".prop_map(Some),
    ]
}

fn direction() -> impl Strategy<Value = MediaDirection> {
    prop_oneof![
        Just(MediaDirection::SendRecv),
        Just(MediaDirection::SendOnly),
        Just(MediaDirection::RecvOnly),
        Just(MediaDirection::Inactive),
    ]
}

fn media() -> impl Strategy<Value = Media> {
    (
        ip(),
        1u16..,
        proptest::option::of(1u16..),
        proptest::collection::vec((name(), fmtp()), 1..6),
        proptest::sample::subsequence((0u8..128).collect::<Vec<_>>(), 6),
        proptest::option::of(10u16..=120),
        direction(),
    )
        .prop_map(|(ip, port, rtcp, codecs, pts, ptime, direction)| Media {
            rtp: Some(SocketAddr::new(ip, port)),
            rtcp: rtcp.map(|p| SocketAddr::new(ip, p)),
            codecs: codecs
                .into_iter()
                .zip(pts)
                .map(
                    |(((name, clock_rate, channels), fmtp), payload_type)| Codec {
                        name,
                        clock_rate,
                        channels,
                        payload_type,
                        fmtp,
                    },
                )
                .collect(),
            ptime,
            direction,
        })
}

fn origin() -> Origin {
    Origin {
        username: "-".to_owned(),
        session_id: "1".to_owned(),
        version: 1,
        address: "192.0.2.1".to_owned(),
    }
}

/// Attribute lines the answerer reads, with arbitrary values.
const ATTRIBUTE: &str =
    "a=(rtpmap|fmtp|ptime|maxptime|rtcp|sendonly|inactive|T38FaxVersion)(:[ -~]{0,20})?";

fn caps() -> LocalCapabilities {
    LocalCapabilities {
        codecs: vec![Codec {
            name: CodecName::Pcma,
            clock_rate: 8000,
            channels: 1,
            payload_type: 8,
            fmtp: None,
        }],
        telephone_event: None,
        rtp: "192.0.2.10:20000".parse().unwrap(),
        t38: Some("192.0.2.10:20002".parse().unwrap()),
        ptime: None,
        direction: MediaDirection::SendRecv,
        single_codec: true,
        prefer_offerer_order: false,
    }
}

proptest! {
    #[test]
    fn media_sdp_media_round_trip(m in media()) {
        let sdp = SessionDescription::from_media(origin(), &m);
        let text = sdp.to_string();
        let parsed = SessionDescription::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &sdp);
        prop_assert_eq!(parsed.to_media().unwrap(), m);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "(v=0\r\n)?([a-z]=[ -~]{0,30}\r?\n){0,12}") {
        if let Ok(sdp) = SessionDescription::parse(s.as_bytes()) {
            let _ = sdp.to_media();
            for i in 0..sdp.media.len() {
                let _ = sdp.media_at(i);
                let _ = sdp.direction_for(i);
            }
            let again = SessionDescription::parse(sdp.to_string().as_bytes()).unwrap();
            prop_assert_eq!(again, sdp);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = SessionDescription::parse(&b);
    }

    #[test]
    fn sdp_shaped_text_answers_without_panic(
        m in "m=(audio|image|video) [0-9]{1,5} (RTP/AVP|RTP/SAVP|udptl) [0-9a-z ]{0,12}",
        attrs in proptest::collection::vec(ATTRIBUTE, 0..6),
        c in "c=IN IP(4|6) [0-9a-f.:]{1,20}",
    ) {
        let text = format!(
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n{c}\r\nt=0 0\r\n{m}\r\n{}\r\n",
            attrs.join("\r\n")
        );
        if let Ok(sdp) = SessionDescription::parse(text.as_bytes()) {
            let mut oa = OfferAnswer::new(1, "192.0.2.10".parse().unwrap());
            let _ = oa.receive_offer(&sdp, &caps());
        }
    }
}
