//! Decodes every H.225.0 User-user payload (Q.931 User-user element, protocol
//! discriminator 0x05) and every RAS datagram of the shared captures with
//! `h323_asn1::h225`, and checks that re-encoding gives the same bytes. Counts per file
//! are printed and compared with what tshark 4.0.17 decodes (numbers below). Skips,
//! saying so, when `../shared` is not there.

use std::path::{Path, PathBuf};
use std::process::Command;

use capture_kit::*;
use h323_asn1::h225;
use mapping::q931::{Dialect, IeId, Message};

/// The aligned-PER `H323-UserInformation` of every H.225.0 message in a capture.
fn uuie_payloads(path: &Path) -> Vec<Vec<u8>> {
    let frames = read_frames(path);
    let mut out = Vec::new();
    for (key, stream) in tcp_streams(&frames) {
        if !is_h225(&key, &stream) {
            continue;
        }
        for pdu in tpkt_payloads(&stream.buf) {
            let Ok(msg) = Message::decode(pdu, Dialect::H225) else {
                continue;
            };
            if let Some(uu) = msg.find(IeId::USER_USER) {
                if let [0x05, per @ ..] = uu.content() {
                    out.push(per.to_vec());
                }
            }
        }
    }
    out
}

/// Every RAS datagram (UDP port 1718 or 1719 at either end).
fn ras_datagrams(path: &Path) -> Vec<Vec<u8>> {
    let frames = read_frames(path);
    udp_datagrams(&frames)
        .into_iter()
        .filter(|(_, key, _)| [1718, 1719].contains(&key.1) || [1718, 1719].contains(&key.3))
        .map(|(_, _, payload)| payload)
        .collect()
}

/// What tshark 4.0.17 finds in each capture: (file, User-user payloads, RAS messages,
/// H.225.0 frames tshark flags malformed).
/// `tshark -n -r F -Y h225.h323_message_body -T fields -e h225.h323_message_body` and
/// the same with `h225.RasMessage`; `-Y '_ws.malformed && h225'` for the last column.
const EXPECTED: &[(&str, usize, usize, usize)] = &[
    ("h323-cisco-cucm-faststart-hold-resume.pcapng", 9, 0, 0),
    ("h323-cisco-cucm-faststart-hold-transfer.pcapng", 12, 0, 0),
    (
        "h323-cisco-cucm-gw-separate-h245-userinput-dtmf.pcapng",
        20,
        0,
        0,
    ),
    (
        "h323-cisco-gw2gw-faststart-tunnel-modem-passthru-codec-switch.pcapng",
        36,
        0,
        0,
    ),
    ("h323-cisco-gw2gw-faststart-tunnel-t38-ogw.pcapng", 36, 0, 0),
    ("h323-cisco-gw2gw-faststart-tunnel-t38-tgw.pcapng", 36, 0, 0),
    ("h323-openh323-callgen-h245-rtp-g711a.pcap", 4, 0, 0),
    ("h323-ras-gk-tandberg-vcs-openh323-mixed.pcap", 8, 15, 2),
    ("voip-softswitch-sip-mgcp-h225ras-g711.pcap", 0, 24, 0),
];

/// Messages that are allowed not to decode: (file, "uuie" or "ras", index in the file's
/// list, reason). Re-encodings that differ are excused only by [`older_encoder`].
const EXCEPTIONS: &[(&str, &str, usize, &str)] = &[
    (
        "h323-ras-gk-tandberg-vcs-openh323-mixed.pcap",
        "uuie",
        6,
        "Setup in frame 65: tshark flags it malformed too ([UNKNOWN PER: too long integer \
         (per_normally_small_nonnegative_whole_number)]); an AliasAddress in \
         additionalSourceAddresses has a CHOICE index no encoder can have written",
    ),
    (
        "h323-ras-gk-tandberg-vcs-openh323-mixed.pcap",
        "ras",
        0,
        "GRQ in frame 59: tshark flags it malformed too ([UNKNOWN PER: unexpected length]); \
         the extension additions end short of what their open-type lengths announce",
    ),
];

fn exception(file: &str, kind: &str, index: usize) -> Option<&'static str> {
    EXCEPTIONS
        .iter()
        .find(|e| e.0 == file && e.1 == kind && e.2 == index)
        .map(|e| e.3)
}

/// Last arc of an H.225.0 protocolIdentifier (the version).
fn version(p: &h225::ProtocolIdentifier) -> Option<u32> {
    p.0.last().copied()
}

fn uu_version(m: &h225::H323UserInformation) -> Option<u32> {
    use h225::H323UUPDUH323MessageBody as B;
    let p = match &m.h323_uu_pdu.h323_message_body {
        B::setup(b) => &b.protocol_identifier,
        B::callProceeding(b) => &b.protocol_identifier,
        B::connect(b) => &b.protocol_identifier,
        B::alerting(b) => &b.protocol_identifier,
        B::information(b) => &b.protocol_identifier,
        B::releaseComplete(b) => &b.protocol_identifier,
        B::facility(b) => &b.protocol_identifier,
        B::progress(b) => &b.protocol_identifier,
        B::status(b) => &b.protocol_identifier,
        B::statusInquiry(b) => &b.protocol_identifier,
        B::setupAcknowledge(b) => &b.protocol_identifier,
        B::notify(b) => &b.protocol_identifier,
        _ => return None,
    };
    version(p)
}

fn ras_version(m: &h225::RasMessage) -> Option<u32> {
    use h225::RasMessage as R;
    let p = match m {
        R::gatekeeperRequest(b) => &b.protocol_identifier,
        R::gatekeeperConfirm(b) => &b.protocol_identifier,
        R::gatekeeperReject(b) => &b.protocol_identifier,
        R::registrationRequest(b) => &b.protocol_identifier,
        R::registrationConfirm(b) => &b.protocol_identifier,
        R::registrationReject(b) => &b.protocol_identifier,
        R::resourcesAvailableIndicate(b) => &b.protocol_identifier,
        R::resourcesAvailableConfirm(b) => &b.protocol_identifier,
        _ => return None,
    };
    version(p)
}

/// Why a re-encoding may differ: the message came from an encoder of an H.225.0 version
/// before 7 (its own protocolIdentifier, or for RAS messages without one the highest
/// version seen in the capture). Aligned PER writes an extension bitmap as long as the
/// encoder's version knows additions (X.691 19.7), so a v4 Setup carries 20 bits where v7
/// has 28; the value is the same, the bytes cannot be.
fn older_encoder(own: Option<u32>, file_max: Option<u32>) -> Option<String> {
    match (own, file_max) {
        (Some(v), _) if v < 7 => Some(format!(
            "protocolIdentifier version {v} < 7: shorter extension bitmap than v7"
        )),
        (None, Some(v)) if v < 7 => Some(format!(
            "no protocolIdentifier; endpoints in this capture speak version <= {v}: shorter extension bitmap than v7"
        )),
        _ => None,
    }
}

#[derive(Default)]
struct Tally {
    decoded: usize,
    identical: usize,
    older: usize,
    excused: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Uuie,
    Ras,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Uuie => "uuie",
            Kind::Ras => "ras",
        }
    }
}

/// Decodes, re-encodes, re-decodes: `Ok((identical, version, value survives))`.
fn round_trip(kind: Kind, bytes: &[u8]) -> Result<(Vec<u8>, Option<u32>, bool), String> {
    match kind {
        Kind::Uuie => {
            let m = h225::decode_user_information(bytes).map_err(|e| e.to_string())?;
            let again = h225::encode_user_information(&m).map_err(|e| format!("re-encode: {e}"))?;
            let same = h225::decode_user_information(&again).is_ok_and(|m2| m2 == m);
            Ok((again, uu_version(&m), same))
        }
        Kind::Ras => {
            let m = h225::decode_ras(bytes).map_err(|e| e.to_string())?;
            let again = h225::encode_ras(&m).map_err(|e| format!("re-encode: {e}"))?;
            let same = h225::decode_ras(&again).is_ok_and(|m2| m2 == m);
            Ok((again, ras_version(&m), same))
        }
    }
}

/// Highest protocolIdentifier version among the messages of one kind that decode.
fn max_version(kind: Kind, all: &[Vec<u8>]) -> Option<u32> {
    all.iter()
        .filter_map(|b| round_trip(kind, b).ok().and_then(|r| r.1))
        .max()
}

fn check(
    file: &str,
    kind: Kind,
    index: usize,
    bytes: &[u8],
    file_max: Option<u32>,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) {
    let k = kind.name();
    match (round_trip(kind, bytes), exception(file, k, index)) {
        (Ok((again, _, _)), _) if again == bytes => {
            tally.decoded += 1;
            tally.identical += 1;
        }
        (Ok((again, own, survives)), _) => {
            tally.decoded += 1;
            match older_encoder(own, file_max) {
                Some(why) if survives => {
                    tally.older += 1;
                    println!("  {k}#{index}: re-encoding differs, value identical: {why}");
                }
                _ => failures.push(format!(
                    "{file} {k}#{index}: re-encoding differs (value survives: {survives})\n  in:  {}\n  out: {}",
                    hex(bytes),
                    hex(&again)
                )),
            }
        }
        (Err(e), Some(why)) => {
            tally.excused += 1;
            println!("  excused {k}#{index} (does not decode: {e}): {why}");
        }
        (Err(e), None) => {
            failures.push(format!("{file} {k}#{index}: {e}\n  bytes: {}", hex(bytes)));
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn h225_captures_decode_and_reencode_identically() {
    let Some(dir) = shared_dir_or_skip("captures", "h225_captures_decode_and_reencode_identically")
    else {
        return;
    };
    let mut failures = Vec::new();
    for &(file, want_uu, want_ras, malformed) in EXPECTED {
        let path = dir.join(file);
        let uu = uuie_payloads(&path);
        let ras = ras_datagrams(&path);
        let (mut t_uu, mut t_ras) = (Tally::default(), Tally::default());
        println!("{file}:");
        let uu_max = max_version(Kind::Uuie, &uu);
        for (i, b) in uu.iter().enumerate() {
            check(file, Kind::Uuie, i, b, uu_max, &mut t_uu, &mut failures);
        }
        let ras_max = max_version(Kind::Ras, &ras);
        for (i, b) in ras.iter().enumerate() {
            check(file, Kind::Ras, i, b, ras_max, &mut t_ras, &mut failures);
        }
        println!(
            "  user-user: {} found, {} decoded, {} re-encoded identically, {} differ (pre-v7 encoder), {} excused (tshark: {want_uu})",
            uu.len(),
            t_uu.decoded,
            t_uu.identical,
            t_uu.older,
            t_uu.excused
        );
        println!(
            "  RAS: {} found, {} decoded, {} re-encoded identically, {} differ (pre-v7 encoder), {} excused (tshark: {want_ras}; {malformed} H.225.0 frames malformed)",
            ras.len(),
            t_ras.decoded,
            t_ras.identical,
            t_ras.older,
            t_ras.excused
        );
        assert_eq!(
            uu.len(),
            want_uu,
            "{file}: User-user payloads found vs tshark"
        );
        assert_eq!(ras.len(), want_ras, "{file}: RAS datagrams found vs tshark");
        assert!(
            t_uu.excused + t_ras.excused <= malformed,
            "{file}: only messages tshark flags malformed may fail to decode"
        );
    }
    for f in &failures {
        println!("FAILED {f}");
    }
    assert!(failures.is_empty(), "{} messages failed", failures.len());
}

#[test]
fn h225_seed_packets_do_not_panic() {
    let Some(dir) = shared_dir_or_skip(
        "corpora/seed-packets/h225",
        "h225_seed_packets_do_not_panic",
    ) else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("seed folder readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcapng" || x == "pcap"))
        .collect();
    files.sort();
    let (mut uu_total, mut uu_ok, mut ras_total, mut ras_ok, mut same) = (0, 0, 0, 0, 0);
    for path in &files {
        for b in uuie_payloads(path) {
            uu_total += 1;
            match h225::decode_user_information(&b) {
                Ok(m) => {
                    uu_ok += 1;
                    if h225::encode_user_information(&m).is_ok_and(|again| again == b) {
                        same += 1;
                    }
                }
                Err(e) => println!("  {}: user-user does not decode: {e}", path.display()),
            }
        }
        for b in ras_datagrams(path) {
            ras_total += 1;
            match h225::decode_ras(&b) {
                Ok(m) => {
                    ras_ok += 1;
                    if h225::encode_ras(&m).is_ok_and(|again| again == b) {
                        same += 1;
                    }
                }
                Err(e) => println!("  {}: RAS does not decode: {e}", path.display()),
            }
        }
    }
    println!(
        "seed-packets/h225: {} files, user-user {uu_ok}/{uu_total} decoded, RAS {ras_ok}/{ras_total} decoded, {same} re-encoded identically",
        files.len()
    );
    // tshark 4.0.17 decodes every seed without a malformed flag (20 User-user, 11 RAS).
    assert_eq!(uu_ok, uu_total, "every seed User-user payload decodes");
    assert_eq!(ras_ok, ras_total, "every seed RAS message decodes");
}

/// Writes `packets` as a text2pcap hex dump and returns the pcap path.
fn to_pcap(dir: &Path, name: &str, packets: &[Vec<u8>], ports: &[&str]) -> Option<PathBuf> {
    let txt = dir.join(format!("{name}.txt"));
    let pcap = dir.join(format!("{name}.pcap"));
    let mut dump = String::new();
    for p in packets {
        for (i, chunk) in p.chunks(16).enumerate() {
            dump.push_str(&format!("{:06x}", i * 16));
            for b in chunk {
                dump.push_str(&format!(" {b:02x}"));
            }
            dump.push('\n');
        }
        dump.push('\n');
    }
    std::fs::write(&txt, dump).expect("temp file writable");
    let ok = Command::new("text2pcap")
        .args(ports)
        .arg(&txt)
        .arg(&pcap)
        .output()
        .ok()?
        .status
        .success();
    ok.then_some(pcap)
}

/// Runs tshark on a pcap: (frames with an H.225.0 layer, frames flagged malformed).
fn tshark_counts(pcap: &Path) -> Option<(usize, usize)> {
    let count = |filter: &str| -> Option<usize> {
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(pcap)
            .args(["-Y", filter])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).lines().count())
    };
    Some((
        count("h225")?,
        count("_ws.malformed || _ws.expert.severity >= \"error\"")?,
    ))
}

/// Independent check of what the encoder writes: every User-user payload and RAS message
/// of the captures, decoded and re-encoded by us, is wrapped again (Q.931 SETUP-shaped
/// frame in TPKT on TCP 1720; RAS on UDP 1719) and decoded by tshark, which must find
/// every one and flag none malformed. Skips when tshark/text2pcap are missing.
#[test]
fn h225_reencoded_messages_pass_tshark() {
    let Some(dir) = shared_dir_or_skip("captures", "h225_reencoded_messages_pass_tshark") else {
        return;
    };
    let (mut uu, mut ras) = (Vec::new(), Vec::new());
    for &(file, ..) in EXPECTED {
        let path = dir.join(file);
        for b in uuie_payloads(&path) {
            if let Ok(m) = h225::decode_user_information(&b) {
                let per = h225::encode_user_information(&m).expect("re-encodes");
                // Q.931: discriminator, CR length 2, CR, FACILITY (0x62), User-user IE.
                let mut q931 = vec![0x08, 0x02, 0x00, 0x01, 0x62, 0x7e];
                q931.extend_from_slice(&u16::try_from(per.len() + 1).expect("fits").to_be_bytes());
                q931.push(0x05);
                q931.extend_from_slice(&per);
                let mut tpkt = vec![0x03, 0x00];
                tpkt.extend_from_slice(&u16::try_from(q931.len() + 4).expect("fits").to_be_bytes());
                tpkt.extend_from_slice(&q931);
                uu.push(tpkt);
            }
        }
        for b in ras_datagrams(&path) {
            if let Ok(m) = h225::decode_ras(&b) {
                ras.push(h225::encode_ras(&m).expect("re-encodes"));
            }
        }
    }
    let tmp = std::env::temp_dir().join(format!("h225-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let (Some(uu_pcap), Some(ras_pcap)) = (
        to_pcap(&tmp, "uu", &uu, &["-T", "11720,1720"]),
        to_pcap(&tmp, "ras", &ras, &["-u", "11719,1719"]),
    ) else {
        println!("SKIPPED h225_reencoded_messages_pass_tshark: text2pcap not available");
        return;
    };
    let (Some(uu_counts), Some(ras_counts)) = (tshark_counts(&uu_pcap), tshark_counts(&ras_pcap))
    else {
        println!("SKIPPED h225_reencoded_messages_pass_tshark: tshark not available");
        return;
    };
    println!(
        "tshark on our re-encodings: user-user {} sent, {} decoded, {} malformed; RAS {} sent, {} decoded, {} malformed",
        uu.len(),
        uu_counts.0,
        uu_counts.1,
        ras.len(),
        ras_counts.0,
        ras_counts.1
    );
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(
        uu_counts,
        (uu.len(), 0),
        "tshark: user-user frames decoded, malformed"
    );
    assert_eq!(
        ras_counts,
        (ras.len(), 0),
        "tshark: RAS frames decoded, malformed"
    );
}
