//! RFC 3264 offer/answer scenarios as test vectors. The situations follow RFC 3264 §10
//! and RFC 4317 (audio/video offers, one-of-N codec selection, telephone-event, hold);
//! the SDP lines are our own, written for a trunk gateway answering or offering.

use gateway::sip::sdp::{
    AnswerStage, LocalCapabilities, MediaDescription, MediaKind, NegotiationError, OfferAnswer,
    SessionDescription, Transport,
};
use mapping::model::{Codec, CodecName, MediaDirection};

fn sdp(lines: &[&str]) -> SessionDescription {
    let text = lines.join("\r\n") + "\r\n";
    SessionDescription::parse(text.as_bytes()).expect("test vector parses")
}

fn codec(name: CodecName, pt: u8, fmtp: Option<&str>) -> Codec {
    let clock_rate = if name == CodecName::Opus { 48000 } else { 8000 };
    let channels = if name == CodecName::Opus { 2 } else { 1 };
    Codec {
        name,
        clock_rate,
        channels,
        payload_type: pt,
        fmtp: fmtp.map(str::to_owned),
    }
}

/// The gateway: PCMA, PCMU, G.729 (Annex B off), telephone-event on PT 101, T.38.
fn caps() -> LocalCapabilities {
    LocalCapabilities {
        codecs: vec![
            codec(CodecName::Pcma, 8, None),
            codec(CodecName::Pcmu, 0, None),
            codec(CodecName::G729, 18, Some("annexb=no")),
        ],
        telephone_event: Some(codec(CodecName::TelephoneEvent, 101, Some("0-16"))),
        rtp: "192.0.2.10:20000".parse().unwrap(),
        t38: Some("192.0.2.10:20002".parse().unwrap()),
        ptime: Some(20),
        direction: MediaDirection::SendRecv,
        single_codec: false,
        prefer_offerer_order: true,
    }
}

fn formats(m: &MediaDescription) -> Vec<&str> {
    m.formats.iter().map(String::as_str).collect()
}

/// RFC 3264 §10.1 situation: audio (PCMU, PCMA, an unknown codec) and video offered; we
/// take audio in the offerer's order and reject video with port 0 in position 2.
#[test]
fn audio_and_video_offer_video_rejected_in_place() {
    let offer = sdp(&[
        "v=0",
        "o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com",
        "s=",
        "c=IN IP4 host.atlanta.example.com",
        "t=0 0",
        "m=audio 49170 RTP/AVP 0 8 97",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:97 iLBC/8000",
        "m=video 51372 RTP/AVP 31 32",
        "a=rtpmap:31 H261/90000",
        "a=rtpmap:32 MPV/90000",
    ]);
    let mut oa = OfferAnswer::new(1000, "192.0.2.10".parse().unwrap());
    let answer = oa.receive_offer(&offer, &caps()).unwrap();
    let a = &answer.sdp;
    assert_eq!(a.media.len(), 2);
    assert_eq!(a.media[0].port, 20000);
    assert_eq!(formats(&a.media[0]), ["0", "8"]);
    assert_eq!(a.media[1].kind, MediaKind::Other("video".into()));
    assert_eq!(a.media[1].port, 0);
    assert_eq!(formats(&a.media[1]), ["31", "32"]);
    // A host-name c= gives no RTP address until resolved.
    let audio = answer.audio.unwrap();
    assert_eq!(audio.remote.rtp, None);
    assert_eq!(audio.codec().unwrap().name, CodecName::Pcmu);
    let text = a.to_string();
    assert!(text.starts_with("v=0\r\no=- 1000 1000 IN IP4 192.0.2.10\r\ns=-\r\n"));
    assert!(text.contains("m=video 0 RTP/AVP 31 32\r\n"));
    assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'));
}

/// RFC 3264 §10.2 situation (one of N codecs): the offer lists PCMU, G.723 and G.729;
/// with `single_codec` we answer exactly one, by our preference, in the offerer's PT.
#[test]
fn one_of_n_codec_selection() {
    let offer = sdp(&[
        "v=0",
        "o=carol 28908764872 28908764872 IN IP4 100.3.6.6",
        "s=-",
        "t=0 0",
        "c=IN IP4 192.0.2.4",
        "m=audio 0 RTP/AVP 0 4 18",
        "m=audio 62986 RTP/AVP 0 4 18",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:4 G723/8000",
        "a=rtpmap:18 G729/8000",
    ]);
    let mut c = caps();
    c.single_codec = true;
    c.prefer_offerer_order = false;
    c.codecs.reverse(); // G.729 first
    let mut oa = OfferAnswer::new(7, "192.0.2.10".parse().unwrap());
    let answer = oa.receive_offer(&offer, &c).unwrap();
    // The disabled first stream stays disabled, in place.
    assert_eq!(answer.sdp.media[0].port, 0);
    assert_eq!(formats(&answer.sdp.media[1]), ["18"]);
    let audio = answer.audio.unwrap();
    assert_eq!(audio.index, 1);
    assert_eq!(audio.remote.rtp, Some("192.0.2.4:62986".parse().unwrap()));
    // The offer did not turn Annex B off; we do (RFC 4856).
    assert_eq!(audio.codec().unwrap().fmtp.as_deref(), Some("annexb=no"));
    assert!(answer.sdp.to_string().contains("a=fmtp:18 annexb=no\r\n"));
}

/// RFC 4317 §2.3-like: telephone-event on the offerer's dynamic PT 97 (ours is 101);
/// the answer keeps 97, the map translates both ways.
#[test]
fn telephone_event_kept_with_pt_mapping() {
    let offer = sdp(&[
        "v=0",
        "o=- 1 1 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
        "m=audio 49170 RTP/AVP 8 96 97",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:97 telephone-event/8000",
        "a=fmtp:97 0-15",
        "a=ptime:30",
        "a=maxptime:40",
    ]);
    let mut oa = OfferAnswer::new(9, "192.0.2.10".parse().unwrap());
    let answer = oa.receive_offer(&offer, &caps()).unwrap();
    let audio = answer.audio.unwrap();
    assert_eq!(formats(&answer.sdp.media[0]), ["8", "97"]);
    let te = audio.telephone_event().unwrap();
    assert_eq!(te.payload_type, 97);
    assert_eq!(audio.payload_map.to_local(97), Some(101));
    assert_eq!(audio.payload_map.to_remote(101), Some(97));
    assert_eq!(audio.payload_map.to_local(8), Some(8));
    assert_eq!(audio.payload_map.to_local(96), None);
    assert_eq!(audio.local.ptime, Some(30), "offerer's ptime honoured");
    let text = answer.sdp.to_string();
    assert!(text.contains("a=rtpmap:97 telephone-event/8000\r\na=fmtp:97 0-16\r\n"));
    assert!(text.contains("a=ptime:30\r\n"));
}

/// Opus, L16/16000 and G.722 match by name, clock and channels; the answer re-uses the
/// offerer's dynamic numbers and the relay maps them to ours.
#[test]
fn dynamic_codecs_map_to_our_payload_types() {
    let offer = sdp(&[
        "v=0",
        "o=- 5 5 IN IP6 2001:db8::1",
        "s=-",
        "c=IN IP6 2001:db8::1",
        "t=0 0",
        "m=audio 40000 RTP/AVP 109 112 9",
        "a=rtpmap:109 opus/48000/2",
        "a=fmtp:109 useinbandfec=1",
        "a=rtpmap:112 L16/16000",
        "a=rtpmap:9 G722/8000",
        "a=rtcp:40005 IN IP6 2001:db8::2",
    ]);
    let mut c = caps();
    c.codecs = vec![
        codec(CodecName::Opus, 111, None),
        Codec {
            clock_rate: 16000,
            ..codec(CodecName::L16, 98, None)
        },
        codec(CodecName::G722, 9, None),
    ];
    c.rtp = "[2001:db8::10]:30000".parse().unwrap();
    let mut oa = OfferAnswer::new(3, "2001:db8::10".parse().unwrap());
    let answer = oa.receive_offer(&offer, &c).unwrap();
    let audio = answer.audio.unwrap();
    assert_eq!(formats(&answer.sdp.media[0]), ["109", "112", "9"]);
    assert_eq!(audio.payload_map.to_local(109), Some(111));
    assert_eq!(audio.payload_map.to_local(112), Some(98));
    assert_eq!(audio.payload_map.to_remote(9), Some(9));
    assert_eq!(
        audio.remote.rtp,
        Some("[2001:db8::1]:40000".parse().unwrap())
    );
    assert_eq!(
        audio.remote.rtcp,
        Some("[2001:db8::2]:40005".parse().unwrap())
    );
    // The offerer's fmtp is echoed when we state none.
    assert_eq!(
        audio.local.codecs[0].fmtp.as_deref(),
        Some("useinbandfec=1")
    );
    let text = answer.sdp.to_string();
    assert!(text.contains("c=IN IP6 2001:db8::10\r\n"), "{text}");
    assert!(text.contains("a=rtpmap:109 opus/48000/2\r\n"));
}

/// RFC 3264 §6.1 direction table, and old-style hold (§8.4).
#[test]
fn hold_directions_answered_per_table() {
    let cases = [
        ("a=sendonly", MediaDirection::SendOnly, "a=recvonly"),
        ("a=recvonly", MediaDirection::RecvOnly, "a=sendonly"),
        ("a=inactive", MediaDirection::Inactive, "a=inactive"),
        ("a=sendrecv", MediaDirection::SendRecv, "a=sendrecv"),
    ];
    for (attr, offered, answered) in cases {
        let offer = sdp(&[
            "v=0",
            "o=- 1 2 IN IP4 198.51.100.1",
            "s=-",
            "c=IN IP4 198.51.100.1",
            "t=0 0",
            "m=audio 49170 RTP/AVP 0",
            attr,
        ]);
        assert_eq!(offer.to_media().unwrap().direction, offered);
        let mut oa = OfferAnswer::new(1, "192.0.2.10".parse().unwrap());
        let answer = oa.receive_offer(&offer, &caps()).unwrap();
        let text = answer.sdp.to_string();
        assert!(text.contains(&format!("{answered}\r\n")), "{attr}: {text}");
    }
    // Session-level direction applies; media level wins over it.
    let offer = sdp(&[
        "v=0",
        "o=- 1 2 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
        "a=sendonly",
        "m=audio 49170 RTP/AVP 0",
        "m=audio 49172 RTP/AVP 0",
        "a=inactive",
    ]);
    assert_eq!(offer.direction_for(0), MediaDirection::SendOnly);
    assert_eq!(offer.direction_for(1), MediaDirection::Inactive);
    // c=0.0.0.0: RFC 2543 hold, read as sendonly (inactive when recvonly was written).
    let old = sdp(&[
        "v=0",
        "o=- 1 2 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "m=audio 49170 RTP/AVP 0",
        "m=audio 49172 RTP/AVP 0",
        "a=recvonly",
    ]);
    assert_eq!(old.direction_for(0), MediaDirection::SendOnly);
    assert_eq!(old.direction_for(1), MediaDirection::Inactive);
    let mut oa = OfferAnswer::new(1, "192.0.2.10".parse().unwrap());
    let answer = oa.receive_offer(&old, &caps()).unwrap();
    assert_eq!(
        answer.audio.unwrap().local.direction,
        MediaDirection::RecvOnly
    );
}

/// We hold and resume: re-offers bump the version by one each time (RFC 3264 §8); an
/// unchanged re-offer keeps it; the m-line layout of the previous exchange stays.
#[test]
fn hold_resume_reoffers_bump_version() {
    let mut oa = OfferAnswer::new(4242, "192.0.2.10".parse().unwrap());
    let mut c = caps();
    let offer1 = oa.create_offer(&c);
    assert_eq!(offer1.origin.version, 4242);
    assert_eq!(offer1.origin.session_id, "4242");
    assert_eq!(formats(&offer1.media[0]), ["8", "0", "18", "101"]);
    let answer = sdp(&[
        "v=0",
        "o=bob 77 77 IN IP4 203.0.113.5",
        "s=-",
        "c=IN IP4 203.0.113.5",
        "t=0 0",
        "m=audio 6000 RTP/AVP 8 101",
        "a=rtpmap:101 telephone-event/8000",
    ]);
    let out = oa.receive_answer(&answer, AnswerStage::Final).unwrap();
    assert_eq!(out.audio.unwrap().codec().unwrap().name, CodecName::Pcma);

    c.direction = MediaDirection::SendOnly;
    let hold = oa.create_offer(&c);
    assert_eq!(hold.origin.version, 4243);
    assert_eq!(hold.origin.session_id, "4242");
    assert_eq!(hold.to_media().unwrap().direction, MediaDirection::SendOnly);
    let held = sdp(&[
        "v=0",
        "o=bob 77 78 IN IP4 203.0.113.5",
        "s=-",
        "c=IN IP4 203.0.113.5",
        "t=0 0",
        "m=audio 6000 RTP/AVP 8",
        "a=recvonly",
    ]);
    let out = oa.receive_answer(&held, AnswerStage::Final).unwrap();
    assert_eq!(
        out.audio.unwrap().remote.direction,
        MediaDirection::RecvOnly
    );

    c.direction = MediaDirection::SendRecv;
    let resume = oa.create_offer(&c);
    assert_eq!(resume.origin.version, 4244);
    oa.receive_answer(&answer, AnswerStage::Final).unwrap();
    let again = oa.create_offer(&c);
    assert_eq!(
        again.origin.version, 4244,
        "unchanged description, same version"
    );
}

/// A T.38 re-offer (audio line and image line): we accept T.38 in its own position with
/// its T38 attributes; with T.38 refused the image line is rejected in place.
#[test]
fn t38_line_kept_in_position() {
    let offer = sdp(&[
        "v=0",
        "o=- 10 11 IN IP4 198.51.100.7",
        "s=-",
        "c=IN IP4 198.51.100.7",
        "t=0 0",
        "m=audio 16756 RTP/AVP 8",
        "m=image 16758 udptl t38",
        "a=T38FaxVersion:0",
        "a=T38MaxBitRate:14400",
        "a=T38FaxRateManagement:transferredTCF",
        "a=T38FaxMaxDatagram:176",
        "a=T38FaxUdpEC:t38UDPRedundancy",
    ]);
    let mut oa = OfferAnswer::new(1, "192.0.2.10".parse().unwrap());
    let answer = oa.receive_offer(&offer, &caps()).unwrap();
    let image = &answer.sdp.media[1];
    assert!(image.is_t38());
    assert_eq!(image.port, 20002);
    assert_eq!(image.transport, Transport::Udptl);
    assert_eq!(image.attributes.len(), 5);
    let t38 = answer.t38.unwrap();
    assert_eq!(
        (t38.index, t38.remote),
        (1, Some("198.51.100.7:16758".parse().unwrap()))
    );
    assert!(
        answer
            .sdp
            .to_string()
            .contains("m=image 20002 udptl t38\r\na=T38FaxVersion:0\r\n")
    );

    let mut c = caps();
    c.t38 = None;
    let answer = OfferAnswer::new(1, "192.0.2.10".parse().unwrap())
        .receive_offer(&offer, &c)
        .unwrap();
    assert_eq!(answer.sdp.media[1].port, 0);
    assert!(answer.sdp.to_string().contains("m=image 0 udptl t38\r\n"));
    assert!(answer.t38.is_none());

    // Image only (audio replaced, as some gateways switch): accepted without audio.
    let fax_only = sdp(&[
        "v=0",
        "o=- 10 12 IN IP4 198.51.100.7",
        "s=-",
        "c=IN IP4 198.51.100.7",
        "t=0 0",
        "m=image 16758 udptl t38",
        "a=T38FaxVersion:0",
    ]);
    let answer = oa.receive_offer(&fax_only, &caps()).unwrap();
    assert!(answer.audio.is_none());
    assert_eq!(answer.sdp.media[0].port, 20002);
}

/// No common codec: 488 with Warning 305. SRTP-only audio is not accepted either.
#[test]
fn no_common_codec_is_488_305() {
    let offer = sdp(&[
        "v=0",
        "o=- 1 1 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
        "m=audio 49170 RTP/AVP 3 97 101",
        "a=rtpmap:97 iLBC/8000",
        "a=rtpmap:101 telephone-event/8000",
        "m=audio 49172 RTP/SAVP 0",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
    ]);
    assert!(offer.media[1].is_secure());
    let mut oa = OfferAnswer::new(1, "192.0.2.10".parse().unwrap());
    let err = oa.receive_offer(&offer, &caps()).unwrap_err();
    assert_eq!(err, NegotiationError::NoCommonCodec);
    assert_eq!(err.sip_status(), 488);
    assert_eq!(err.warning().0, 305);
}

/// We offer; a 183 brings an early answer, the 200 a different one (unreliable 183);
/// the change is reported. An answer with a PT we never offered is refused.
#[test]
fn early_then_final_answer_change_detected() {
    let mut oa = OfferAnswer::new(55, "192.0.2.10".parse().unwrap());
    oa.create_offer(&caps());
    let early = sdp(&[
        "v=0",
        "o=gw 1 1 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=audio 7000 RTP/AVP 0",
    ]);
    let out = oa.receive_answer(&early, AnswerStage::Early).unwrap();
    assert!(!out.changed_from_early);
    assert!(oa.offer_pending());
    let final_same = sdp(&[
        "v=0",
        "o=gw 1 1 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=audio 7002 RTP/AVP 18",
        "a=fmtp:18 annexb=no",
    ]);
    let out = oa.receive_answer(&final_same, AnswerStage::Final).unwrap();
    assert!(out.changed_from_early);
    let audio = out.audio.unwrap();
    assert_eq!(audio.codec().unwrap().name, CodecName::G729);
    assert_eq!(audio.remote.rtp, Some("203.0.113.9:7002".parse().unwrap()));
    assert!(!oa.offer_pending());
    assert_eq!(
        oa.receive_answer(&final_same, AnswerStage::Final),
        Err(NegotiationError::NoOffer)
    );

    oa.create_offer(&caps());
    let bad = sdp(&[
        "v=0",
        "o=gw 1 2 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=audio 7002 RTP/AVP 96",
        "a=rtpmap:96 opus/48000/2",
    ]);
    assert_eq!(
        oa.receive_answer(&bad, AnswerStage::Final),
        Err(NegotiationError::UnknownPayloadType(96))
    );
    // An extra unoffered PT beside an offered codec is reported and ignored.
    let mut extra = bad.clone();
    extra.media[0].formats.insert(0, "8".to_owned());
    let out = oa.receive_answer(&extra, AnswerStage::Final).unwrap();
    assert_eq!(out.unoffered_payload_types, [96]);
    assert_eq!(out.audio.unwrap().payload_map.to_local(96), None);
}

/// Delayed offer: the INVITE had no SDP, our offer goes in the 200, the answer in the
/// ACK; m-line count mismatches are refused.
#[test]
fn delayed_offer_answer_in_ack() {
    let mut oa = OfferAnswer::new(8, "192.0.2.10".parse().unwrap());
    let offer_in_200 = oa.create_offer(&caps());
    assert_eq!(offer_in_200.media.len(), 1);
    let two_lines = sdp(&[
        "v=0",
        "o=- 1 1 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=audio 7000 RTP/AVP 8",
        "m=video 0 RTP/AVP 31",
    ]);
    assert!(matches!(
        oa.receive_answer(&two_lines, AnswerStage::Final),
        Err(NegotiationError::MediaCountMismatch {
            offer: 1,
            answer: 2
        })
    ));
    let ack_answer = sdp(&[
        "v=0",
        "o=- 1 1 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=audio 7000 RTP/AVP 8 101",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
    ]);
    // A crossing offer while ours is outstanding: 491 (RFC 3261 §14.2).
    let err = oa.receive_offer(&ack_answer, &caps()).unwrap_err();
    assert_eq!(err, NegotiationError::OfferPending);
    assert_eq!(err.sip_status(), 491);
    let out = oa.receive_answer(&ack_answer, AnswerStage::Final).unwrap();
    let audio = out.audio.unwrap();
    assert_eq!(audio.payload_map.to_local(101), Some(101));
    assert_eq!(oa.negotiated(), Some(&audio));
}

/// A re-offer from the peer that adds a stream keeps positions; the answer's version
/// goes up only when the answer changes.
#[test]
fn answers_bump_version_only_on_change() {
    let offer = sdp(&[
        "v=0",
        "o=- 1 1 IN IP4 198.51.100.1",
        "s=-",
        "c=IN IP4 198.51.100.1",
        "t=0 0",
        "m=audio 49170 RTP/AVP 0",
    ]);
    let mut oa = OfferAnswer::new(100, "192.0.2.10".parse().unwrap());
    let a1 = oa.receive_offer(&offer, &caps()).unwrap().sdp;
    let a2 = oa.receive_offer(&offer, &caps()).unwrap().sdp;
    assert_eq!(a1.origin.version, a2.origin.version);
    let mut held = offer.clone();
    held.media[0]
        .attributes
        .push(gateway::sip::sdp::Attribute::flag("sendonly"));
    let a3 = oa.receive_offer(&held, &caps()).unwrap().sdp;
    assert_eq!(a3.origin.version, a1.origin.version + 1);
}

/// We switch a call to fax: the re-offer puts `m=image udptl t38` where audio was, the
/// version goes up, and the peer's T.38 answer is read back with its address.
#[test]
fn t38_reoffer_replaces_audio_in_place() {
    let mut oa = OfferAnswer::new(20, "192.0.2.10".parse().unwrap());
    oa.create_offer(&caps());
    let answer = sdp(&[
        "v=0",
        "o=- 1 1 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=audio 7000 RTP/AVP 8",
    ]);
    oa.receive_answer(&answer, AnswerStage::Final).unwrap();
    let params = [
        gateway::sip::sdp::Attribute::with_value("T38FaxVersion", 0),
        gateway::sip::sdp::Attribute::with_value("T38FaxRateManagement", "transferredTCF"),
    ];
    let fax = oa.create_t38_offer(&caps(), &params).unwrap();
    assert_eq!(fax.origin.version, 21);
    assert_eq!(fax.media.len(), 1);
    assert!(fax.media[0].is_t38());
    let text = fax.to_string();
    assert!(text.contains(
        "m=image 20002 udptl t38\r\na=T38FaxVersion:0\r\na=T38FaxRateManagement:transferredTCF\r\n"
    ));
    let fax_answer = sdp(&[
        "v=0",
        "o=- 1 2 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=image 7010 udptl t38",
        "a=T38FaxVersion:0",
        "a=T38FaxRateManagement:transferredTCF",
    ]);
    let out = oa.receive_answer(&fax_answer, AnswerStage::Final).unwrap();
    assert!(out.audio.is_none());
    let t38 = out.t38.unwrap();
    assert_eq!(t38.remote, Some("203.0.113.9:7010".parse().unwrap()));
    assert_eq!(t38.attributes.len(), 2);
    // Without T.38 configured there is no fax offer.
    let mut no_fax = caps();
    no_fax.t38 = None;
    assert!(oa.create_t38_offer(&no_fax, &params).is_none());
    // Back to audio: the position is kept.
    let back = oa.create_offer(&caps());
    assert!(back.media[0].is_rtp_audio());
    assert_eq!(back.origin.version, 22);
}
