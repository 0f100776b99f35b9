//! Every SIP message of the captures in `../shared/captures/` (`sip-*`,
//! `voip-softswitch-*`): parsed, validated, round-tripped through `to_bytes`, and counted
//! against what tshark 4.0 sees (`tshark -r FILE -Y sip -T fields -e frame.number | wc -l`).

mod sip_message_support;

use gateway::sip::message::SipMessage;
use sip_message_support::assert_round_trip;

/// File -> SIP messages tshark decodes (frames with a `sip` layer; in these captures no
/// frame holds two messages and no message spans frames, so frames = messages).
const TSHARK_COUNTS: &[(&str, usize)] = &[
    ("sip-audiocodes-mp114-prack-pcma-rtp.pcap", 9),
    ("sip-cisco-cme-zoiper-register-digest.pcapng", 9),
    ("sip-cisco-cucm-gw-delayed-offer-183-multicodec.pcapng", 5),
    ("sip-cisco-cucm-gw-dtmf-kpml.pcapng", 41),
    ("sip-cisco-cucm-gw-dtmf-rfc2833.pcapng", 7),
    ("sip-cisco-cucm-gw-dtmf-rfc4733.pcapng", 5),
    ("sip-cisco-cucm-gw-dtmf-sip-info.pcapng", 31),
    ("sip-cisco-cucm-gw-early-offer-prack-180.pcapng", 7),
    ("sip-cisco-cucm-gw-hold-resume.pcapng", 23),
    ("sip-cisco-cucm-gw-refer-transfer.pcapng", 21),
    ("sip-cisco-cucm-gw-session-timer-422.pcapng", 14),
    ("sip-cisco-gw2gw-fax-t38-nse.pcapng", 9),
    ("sip-cisco-ios-register-digest-401.pcapng", 4),
    ("sip-megaco-tdm-gw-fax-t38-declined.pcap", 92),
    ("sip-register-digest-401-403-invite-cancel.pcap", 81),
    ("sip-rtp-g711-dtmf-rfc2833.cap", 29),
    ("sip-rtp-g729a-sipp-freeswitch.pcap", 6),
    ("voip-softswitch-sip-mgcp-h225ras-g711.pcap", 14),
];

/// True when `buf` starts with a SIP start line: `SIP/2.0 ` or `... SIP/2.0` before the
/// first line end.
fn starts_sip(buf: &[u8]) -> bool {
    let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    let line = buf[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&buf[..line_end]);
    line.starts_with(b"SIP/2.0 ") || line.ends_with(b" SIP/2.0")
}

/// Splits a reassembled TCP byte stream into SIP messages by Content-Length
/// (RFC 3261 §18.3); CRLF keep-alives between messages are skipped. Stops at bytes that
/// do not start a SIP message or at a message cut off by the end of the capture.
fn split_stream(mut buf: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    loop {
        while let [b'\r' | b'\n', rest @ ..] = buf {
            buf = rest;
        }
        if buf.is_empty() || !starts_sip(buf) {
            break;
        }
        let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]);
        let length = head
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| {
                let n = n.trim();
                n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("l")
            })
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let end = head_end + 4 + length;
        if end > buf.len() {
            break;
        }
        out.push(&buf[..end]);
        buf = &buf[end..];
    }
    out
}

#[test]
fn every_captured_sip_message_parses_and_round_trips() {
    let Some(dir) = capture_kit::shared_dir_or_skip("captures", "sip_message_captures") else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("captures dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with("sip-") || n.starts_with("voip-softswitch-"))
        .collect();
    files.sort();
    let named: Vec<&str> = TSHARK_COUNTS.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, named, "every SIP capture has a tshark count");

    let mut total = 0;
    for (file, want) in TSHARK_COUNTS {
        let frames = capture_kit::read_frames(&dir.join(file));
        let mut messages: Vec<Vec<u8>> = capture_kit::udp_datagrams(&frames)
            .into_iter()
            .map(|(_, _, payload)| payload)
            .filter(|p| starts_sip(p))
            .collect();
        for (_, stream) in capture_kit::tcp_streams(&frames) {
            messages.extend(split_stream(&stream.buf).into_iter().map(<[u8]>::to_vec));
        }
        for (i, bytes) in messages.iter().enumerate() {
            let what = format!("{file} message {i}");
            let m = SipMessage::parse(bytes)
                .unwrap_or_else(|e| panic!("{what}: {e}\n{}", String::from_utf8_lossy(bytes)));
            m.validate()
                .unwrap_or_else(|e| panic!("{what}: {e}\n{}", String::from_utf8_lossy(bytes)));
            assert_round_trip(&m, &what);
        }
        println!("{file}: {} SIP messages (tshark: {want})", messages.len());
        assert_eq!(messages.len(), *want, "{file}: count differs from tshark");
        total += messages.len();
    }
    println!("{total} SIP messages in {} captures", TSHARK_COUNTS.len());
}
