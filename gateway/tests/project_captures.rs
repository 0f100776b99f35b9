//! The project's own recordings in `captures/`: every `.pcap`/`.pcapng` has a `.txt`
//! beside it; its SIP messages parse and come in the order its `sequence:` line gives;
//! tshark decodes it with no malformed packet or warning.

use capture_kit::{ip_of, read_frames, tcp_of, transport_of, udp_of};
use gateway::sip::message::SipMessage;
use std::path::{Path, PathBuf};
use std::process::Command;

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    v.sort();
    v
}

/// SIP messages of a capture in frame order: each UDP datagram or TCP segment payload
/// that starts like SIP (the project's recordings carry one message per segment).
fn sip_messages(path: &Path) -> Vec<SipMessage> {
    let mut out = Vec::new();
    for f in read_frames(path) {
        let Some(t) = ip_of(f.linktype, &f.data).and_then(transport_of) else {
            continue;
        };
        let payload = match t.proto {
            // RAS (UDP 1719) is aligned PER, not SIP, whatever its first octet.
            17 => udp_of(t.payload)
                .filter(|d| d.sport != 1719 && d.dport != 1719)
                .map(|d| d.payload),
            6 => tcp_of(t.payload).map(|s| s.payload),
            _ => None,
        };
        // RTP/RTCP (version 2: first bits 10) and STUN (00) are not SIP; a SIP message
        // starts with a letter (a method or `SIP/2.0`).
        if let Some(p) = payload.filter(|p| p.first().is_some_and(u8::is_ascii_alphabetic)) {
            let m = SipMessage::parse(p)
                .unwrap_or_else(|e| panic!("{}: undecodable SIP: {e}", path.display()));
            out.push(m);
        }
    }
    out
}

fn label(m: &SipMessage) -> String {
    match m {
        SipMessage::Request(r) => r.method.to_string(),
        SipMessage::Response(r) => r.status.0.to_string(),
    }
}

#[test]
fn every_capture_is_described_and_matches_its_sequence() {
    let all = captures();
    assert!(all.len() >= 3, "captures/ holds {} recordings", all.len());
    for pcap in all {
        let txt = pcap.with_extension("txt");
        let text = std::fs::read_to_string(&txt)
            .unwrap_or_else(|_| panic!("{} has no .txt beside it", pcap.display()));
        let expected = text
            .lines()
            .find_map(|l| l.strip_prefix("sequence:"))
            .map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("{} has no `sequence:` line", txt.display()));
        let got: Vec<String> = sip_messages(&pcap).iter().map(label).collect();
        assert_eq!(got, expected, "{}", pcap.display());
    }
}

#[test]
fn tshark_finds_nothing_wrong_in_the_captures() {
    for pcap in captures() {
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&pcap)
            .args(["-Y", "_ws.malformed || _ws.expert.severity >= \"warning\""])
            .output()
            .expect("tshark is installed (./tests/run.sh installs it)");
        assert!(out.status.success(), "tshark failed on {}", pcap.display());
        let flagged = String::from_utf8_lossy(&out.stdout);
        // A TCP reset from a closed port is the peer's choice, not a protocol error.
        let flagged: Vec<&str> = flagged.lines().filter(|l| !l.contains("[RST")).collect();
        assert!(flagged.is_empty(), "{}: {flagged:?}", pcap.display());
    }
}
