//! Every SDP body in the SIP captures of `shared/captures` parses, converts to the neutral
//! `Media`, and survives write -> parse unchanged.

use gateway::sip::sdp::{LocalCapabilities, OfferAnswer, SessionDescription};
use mapping::model::{Codec, CodecName, MediaDirection};
use std::path::Path;

/// A gateway with G.711 both laws, G.729, RFC 4733 events and T.38.
fn caps() -> LocalCapabilities {
    let codec = |name, payload_type, fmtp: Option<&str>| Codec {
        name,
        clock_rate: 8000,
        channels: 1,
        payload_type,
        fmtp: fmtp.map(str::to_owned),
    };
    LocalCapabilities {
        codecs: vec![
            codec(CodecName::Pcma, 8, None),
            codec(CodecName::Pcmu, 0, None),
            codec(CodecName::G729, 18, None),
        ],
        telephone_event: Some(codec(CodecName::TelephoneEvent, 101, Some("0-16"))),
        rtp: "192.0.2.10:20000".parse().expect("literal address"),
        t38: Some("192.0.2.10:20002".parse().expect("literal address")),
        ptime: Some(20),
        direction: MediaDirection::SendRecv,
        single_codec: true,
        prefer_offerer_order: false,
    }
}

/// SIP messages in one buffer (a UDP datagram or a reassembled TCP direction): each
/// starts with a request line (`... SIP/2.0`) or a status line (`SIP/2.0 ...`) at the
/// buffer start or after a CRLF; it ends at its Content-Length, or the next message.
fn sip_messages(buf: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut line_start = 0;
    for (i, w) in buf.windows(2).enumerate() {
        if w == b"\r\n" {
            let line = &buf[line_start..i];
            if line.starts_with(b"SIP/2.0 ") || line.ends_with(b" SIP/2.0") {
                starts.push(line_start);
            }
            line_start = i + 2;
        }
    }
    let mut out = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let next = starts.get(k + 1).copied().unwrap_or(buf.len());
        out.push(&buf[s..next]);
    }
    out
}

/// SDP bodies of one SIP message: the body itself when it starts with `v=0`, else each
/// `application/sdp` part of a multipart body (RFC 2046 §5.1), ended by `\r\n--`.
fn sdp_bodies(msg: &[u8]) -> Vec<&[u8]> {
    let Some(head_end) = find(msg, b"\r\n\r\n") else {
        return Vec::new();
    };
    let mut body = &msg[head_end + 4..];
    if let Some(len) = content_length(&msg[..head_end]) {
        body = &body[..len.min(body.len())];
    }
    if body.starts_with(b"v=0") {
        return vec![body];
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&body[from..], b"\r\n\r\nv=0") {
        let start = from + at + 4;
        let end = find(&body[start..], b"\r\n--").map_or(body.len(), |e| start + e + 2);
        out.push(&body[start..end]);
        from = end;
    }
    out
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Content-Length (or compact `l:`) of a SIP header block, RFC 3261 §20.14.
fn content_length(head: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(head);
    text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// Counts per capture: SDP bodies, those with an active audio line, and those our
/// answerer accepts when taken as offers.
fn check_file(path: &Path) -> (usize, usize, usize) {
    let frames = capture_kit::read_frames(path);
    let mut buffers: Vec<Vec<u8>> = capture_kit::udp_datagrams(&frames)
        .into_iter()
        .map(|(_, _, d)| d)
        .collect();
    buffers.extend(
        capture_kit::tcp_streams(&frames)
            .into_iter()
            .map(|(_, s)| s.buf),
    );
    let (mut sdps, mut audio, mut answered) = (0, 0, 0);
    for buf in &buffers {
        for body in sip_messages(buf).into_iter().flat_map(sdp_bodies) {
            let sdp = SessionDescription::parse(body).unwrap_or_else(|e| {
                panic!("{}: {e}\n{}", path.display(), String::from_utf8_lossy(body))
            });
            sdps += 1;
            // `SDP_CORPUS_OUT=dir` seeds the fuzz corpus with the real bodies.
            if let Some(dir) = std::env::var_os("SDP_CORPUS_OUT") {
                let name = format!("{}-{sdps}", path.file_name().unwrap().to_string_lossy());
                std::fs::write(Path::new(&dir).join(name), body).expect("corpus dir writable");
            }
            for i in 0..sdp.media.len() {
                let media = sdp.media_at(i).expect("index in range");
                if sdp.media[i].is_rtp_audio() && sdp.media[i].port != 0 {
                    assert!(media.rtp.is_some(), "{}: audio without c=", path.display());
                    assert!(
                        !media.codecs.is_empty(),
                        "{}: no codec in\n{}",
                        path.display(),
                        String::from_utf8_lossy(body)
                    );
                }
            }
            if sdp.to_media().is_ok() {
                audio += 1;
            }
            // Every body taken as an offer: the answer has one m-line per offered one.
            let mut oa = OfferAnswer::new(1, "192.0.2.10".parse().expect("literal address"));
            if let Ok(answer) = oa.receive_offer(&sdp, &caps()) {
                answered += 1;
                assert_eq!(answer.sdp.media.len(), sdp.media.len());
                let text = answer.sdp.to_string();
                assert_eq!(
                    SessionDescription::parse(text.as_bytes()).as_ref(),
                    Ok(&answer.sdp)
                );
            }
            let again = SessionDescription::parse(sdp.to_string().as_bytes())
                .expect("our own output parses");
            assert_eq!(again, sdp, "{}: write/parse changed it", path.display());
        }
    }
    (sdps, audio, answered)
}

#[test]
fn every_capture_sdp_parses_and_converts() {
    let Some(dir) = capture_kit::shared_dir_or_skip("captures", "every_capture_sdp_parses") else {
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("captures dir readable")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| {
            let capture = n.contains(".pcap") || n.ends_with(".cap");
            capture && (n.starts_with("sip-") || n.starts_with("voip-softswitch-"))
        })
        .collect();
    names.sort();
    let mut total = 0;
    for name in &names {
        let (sdps, audio, answered) = check_file(&dir.join(name));
        println!(
            "{name}: {sdps} SDP bodies, {audio} with an active audio m-line, \
             {answered} answered as offers"
        );
        total += sdps;
    }
    println!("total: {total} SDP bodies in {} captures", names.len());
    assert!(total > 0, "no SDP found in the captures");
}

/// The SDP bodies of one capture's SIP messages over UDP, in capture order.
fn udp_sdps(path: &Path) -> Vec<SessionDescription> {
    let frames = capture_kit::read_frames(path);
    capture_kit::udp_datagrams(&frames)
        .iter()
        .flat_map(|(_, _, d)| {
            sip_messages(d)
                .into_iter()
                .flat_map(sdp_bodies)
                .map(|b| SessionDescription::parse(b).expect("capture SDP parses"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The Cisco CUCM hold/resume call replayed with our offer/answer state in the
/// gateway's role: CUCM's SDPs are fed in, ours are built; CUCM holds twice with
/// `c=0.0.0.0` + `a=inactive` and resumes with delayed-offer re-INVITEs (our offer in
/// the 200, its answer in the ACK). Our version goes up by one with each change, as the
/// Cisco gateway's did (2639 -> 2643).
#[test]
fn cucm_hold_resume_replayed_in_gateway_role() {
    let Some(dir) = capture_kit::shared_dir_or_skip("captures", "cucm_hold_resume_replayed") else {
        return;
    };
    let all = udp_sdps(&dir.join("sip-cisco-cucm-gw-hold-resume.pcapng"));
    let cucm: Vec<&SessionDescription> = all
        .iter()
        .filter(|s| s.origin.username.starts_with("CiscoSystemsCCM"))
        .collect();
    assert_eq!(cucm.len(), 5, "CUCM sends 5 SDPs in this call");
    let mut caps = caps();
    caps.telephone_event = None;
    caps.codecs.retain(|c| c.name == CodecName::Pcmu);
    let mut oa = OfferAnswer::new(8378, "192.0.2.10".parse().expect("literal address"));

    let offer = oa.create_offer(&caps);
    let v0 = offer.origin.version;
    let out = oa
        .receive_answer(cucm[0], gateway::sip::sdp::AnswerStage::Final)
        .expect("CUCM answer accepted");
    assert_eq!(
        out.unoffered_payload_types,
        [101],
        "CUCM adds its telephone-event"
    );
    let audio = out.audio.expect("audio");
    assert_eq!(audio.codec().map(|c| &c.name), Some(&CodecName::Pcmu));
    assert_eq!(
        audio.remote.rtp,
        Some("10.10.214.57:23890".parse().unwrap())
    );

    for (hold, resume_answer, moh) in [
        (cucm[1], cucm[2], "10.180.110.48:24646"),
        (cucm[3], cucm[4], "10.10.214.57:23890"),
    ] {
        assert_eq!(hold.to_media().unwrap().direction, MediaDirection::Inactive);
        let answer = oa.receive_offer(hold, &caps).expect("hold accepted");
        let local = answer.audio.expect("audio").local;
        assert_eq!(local.direction, MediaDirection::Inactive);
        let delayed_offer = oa.create_offer(&caps);
        assert_eq!(
            delayed_offer.to_media().unwrap().direction,
            MediaDirection::SendRecv
        );
        let out = oa
            .receive_answer(resume_answer, gateway::sip::sdp::AnswerStage::Final)
            .expect("ACK answer accepted");
        let remote = out.audio.expect("audio").remote;
        assert_eq!(remote.rtp, Some(moh.parse().unwrap()));
        assert_eq!(remote.direction, MediaDirection::SendRecv);
    }
    let last = oa.last_sent().expect("we sent SDP");
    assert_eq!(last.origin.version, v0 + 4);
    assert_eq!(last.origin.session_id, "8378");
}
