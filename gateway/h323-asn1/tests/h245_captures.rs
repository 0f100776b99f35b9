//! Every H.245 message of the shared captures decodes, and re-encodes to the same bytes.
//!
//! (a) H.245 on its own TCP connection (TPKT framed), split with `capture-kit`;
//! (b) H.245 tunnelled in H.225.0 `h245Control` / `parallelH245Control` and the
//!     OpenLogicalChannels of `fastStart`, whose octet strings tshark prints (PDML
//!     `value` attributes), so this test needs no H.225.0 types;
//! (c) the seed packets of `corpora/seed-packets/h245` (H.225.0 with tunnelled H.245).
//!
//! Without `../shared` the tests print a skip line and pass; without tshark, (b) and (c)
//! do the same.

use std::path::Path;
use std::process::Command;

use capture_kit::{read_frames, shared_dir_or_skip, tcp_streams, tpkt_payloads};
use h323_asn1::h245;

/// Messages whose re-encoding legitimately differs: (hex of the message, reason). The
/// decoded value must still survive encode/decode unchanged.
const EXCEPTIONS: &[(&str, &str)] = &[
    // Cisco IOS OpenLogicalChannelAck: its extension bitmap has 3 bits (separateStack,
    // forwardMultiplexAckParameters, encryptionSync), an H.245 version from before
    // genericInformation was added; ours has 4. Same value, one bit longer bitmap
    // (X.691 18.7: the bitmap is as long as the encoder's own list of additions).
    (
        "22c000000480101c0000c0a8b682601400c0a8b6826015",
        "peer's older H.245 version: shorter extension bitmap in OpenLogicalChannelAck",
    ),
    (
        "22c000000480101c00000e32e0057c90000e32e0057c91",
        "peer's older H.245 version: shorter extension bitmap in OpenLogicalChannelAck",
    ),
    // OpenH323 (2002) OpenLogicalChannelAck: 2 extension additions known in
    // OpenLogicalChannelAck (ours 4) and 1 in H2250LogicalChannelAckParameters
    // (flowControlToZero; ours 2, with portNumber). Same value.
    (
        "22c0003c0280135c00000a01038f1388000a01038f1389010100",
        "peer's older H.245 version: shorter extension bitmaps in OpenLogicalChannelAck and H2250LogicalChannelAckParameters",
    ),
    (
        "22c000640480145c00000a01061207d6000a01061207d703000180",
        "peer's older H.245 version: shorter extension bitmap in OpenLogicalChannelAck",
    ),
];

/// What re-encoding a decoded message gave.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Identical,
    /// Different bytes, same value, for a reason listed in `EXCEPTIONS`.
    Exception,
    Differs,
}

/// Counts per file.
#[derive(Default)]
struct Counts {
    decoded: usize,
    identical: usize,
    exceptions: usize,
    differs: usize,
}

impl Counts {
    fn add(&mut self, o: Outcome) {
        self.decoded += 1;
        match o {
            Outcome::Identical => self.identical += 1,
            Outcome::Exception => self.exceptions += 1,
            Outcome::Differs => self.differs += 1,
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decoded {}, re-encoded identical {}, listed exceptions {}, differing {}",
            self.decoded, self.identical, self.exceptions, self.differs
        )
    }
}

/// Decodes and re-encodes one message (panics if it does not decode).
fn round_trip(what: &str, bytes: &[u8]) -> Outcome {
    let msg =
        h245::decode(bytes).unwrap_or_else(|e| panic!("{what}: {e}\n  bytes: {}", hex(bytes)));
    let again = h245::encode(&msg).unwrap_or_else(|e| panic!("{what}: re-encode: {e}"));
    if let Some((_, why)) = EXCEPTIONS.iter().find(|(h, _)| *h == hex(bytes)) {
        let back = h245::decode(&again).expect("re-encoded message decodes");
        assert_eq!(back, msg, "{what}: decode(encode(m)) != m");
        println!("  {what}: exception: {why}");
        return Outcome::Exception;
    }
    if again != bytes {
        println!(
            "  {what}: re-encoded differs\n    in:  {}\n    out: {}\n    {msg:?}",
            hex(bytes),
            hex(&again)
        );
        return Outcome::Differs;
    }
    let back = h245::decode(&again).expect("re-encoded message decodes");
    assert_eq!(back, msg, "{what}: decode(encode(m)) != m");
    Outcome::Identical
}

fn round_trip_olc(what: &str, bytes: &[u8]) -> Outcome {
    let olc = h245::decode_open_logical_channel(bytes)
        .unwrap_or_else(|e| panic!("{what}: {e}\n  bytes: {}", hex(bytes)));
    let again = h245::encode_open_logical_channel(&olc)
        .unwrap_or_else(|e| panic!("{what}: re-encode: {e}"));
    if again != bytes {
        println!(
            "  {what}: re-encoded differs\n    in:  {}\n    out: {}\n    {olc:?}",
            hex(bytes),
            hex(&again)
        );
        return Outcome::Differs;
    }
    let back = h245::decode_open_logical_channel(&again).expect("re-encoded OLC decodes");
    assert_eq!(back, olc, "{what}: decode(encode(olc)) != olc");
    Outcome::Identical
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("tshark prints hex"))
        .collect()
}

/// (a) H.245 over separate TCP connections: (file, H.245 TCP ports, least messages).
const TCP_FILES: &[(&str, &[u16], usize)] = &[
    (
        "h323-cisco-cucm-gw-separate-h245-userinput-dtmf.pcapng",
        &[43826, 37220],
        20,
    ),
    ("h323-openh323-callgen-h245-rtp-g711a.pcap", &[1232], 10),
    ("h323-ras-gk-tandberg-vcs-openh323-mixed.pcap", &[1232], 10),
];

#[test]
fn h245_over_tcp_decodes_and_reencodes_identically() {
    let Some(dir) = shared_dir_or_skip("captures", "h245_over_tcp") else {
        return;
    };
    let mut total = 0;
    for (file, ports, least) in TCP_FILES {
        let path = dir.join(file);
        if !path.exists() {
            println!("SKIPPED {file}: not in ../shared/captures");
            continue;
        }
        let frames = read_frames(&path);
        let mut c = Counts::default();
        for (key, stream) in tcp_streams(&frames) {
            if !ports.contains(&key.1) && !ports.contains(&key.3) {
                continue;
            }
            for (i, pdu) in tpkt_payloads(&stream.buf).into_iter().enumerate() {
                let what = format!("{file} port {}->{} PDU {i}", key.1, key.3);
                c.add(round_trip(&what, pdu));
            }
        }
        println!("{file}: H.245 over TCP: {c}");
        if let Some(n) = tshark_tcp_h245_count(&path, ports) {
            println!("{file}: tshark decodes {n} H.245 messages on those ports");
            assert_eq!(
                n, c.decoded,
                "{file}: tshark and we see different message counts"
            );
        }
        assert!(
            c.decoded >= *least,
            "{file}: only {} H.245 messages found",
            c.decoded
        );
        assert_eq!(c.differs, 0, "{file}: re-encoding changed bytes");
        total += c.decoded;
    }
    println!("total H.245 messages over TCP: {total}");
}

/// How many H.245 messages tshark decodes (not malformed) on the given TCP ports, if
/// tshark is installed.
fn tshark_tcp_h245_count(path: &Path, ports: &[u16]) -> Option<usize> {
    if !tshark_available() {
        return None;
    }
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path);
    for p in ports {
        cmd.args(["-d", &format!("tcp.port=={p},h245")]);
    }
    let out = cmd
        .args([
            "-Y",
            "h245 && !_ws.malformed",
            "-T",
            "fields",
            "-e",
            "h245.pdu_type",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split(',').count())
            .sum(),
    )
}

/// Octet strings tshark finds in one capture: (frame, field, hex), frames tshark flags
/// as malformed left out (and counted).
struct Tunnelled {
    items: Vec<(u32, &'static str, Vec<u8>)>,
    malformed_frames: usize,
}

const TUNNEL_FIELDS: &[&str] = &[
    "h225.H245Control_item",
    "h225.ParallelH245Control_item",
    "h225.FastStart_item",
];

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tunnelled_octet_strings(path: &Path) -> Tunnelled {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-Y", "h225", "-T", "pdml"])
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    let pdml = String::from_utf8_lossy(&out.stdout);
    let mut items = Vec::new();
    let mut malformed_frames = 0;
    // PDML: one <packet> per frame; a malformed one carries a "_ws.malformed" field.
    for packet in pdml.split("<packet>").skip(1) {
        let frame: u32 = packet
            .split("name=\"frame.number\"")
            .nth(1)
            .and_then(|s| s.split("show=\"").nth(1))
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if packet.contains("name=\"_ws.malformed\"") {
            malformed_frames += 1;
            continue;
        }
        for line in packet.lines() {
            for field in TUNNEL_FIELDS {
                if line.contains(&format!("name=\"{field}\"")) {
                    let value = line
                        .split("value=\"")
                        .nth(1)
                        .and_then(|s| s.split('"').next())
                        .expect("PDML field has a value");
                    items.push((frame, *field, unhex(value)));
                }
            }
        }
    }
    Tunnelled {
        items,
        malformed_frames,
    }
}

/// Decodes every tunnelled item of `path`; returns the counts and how many frames
/// tshark flags as malformed (left out).
fn check_tunnelled(path: &Path) -> (Counts, usize) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let t = tunnelled_octet_strings(path);
    let mut c = Counts::default();
    for (frame, field, bytes) in &t.items {
        let what = format!("{name} frame {frame} {field}");
        let same = if *field == "h225.FastStart_item" {
            round_trip_olc(&what, bytes)
        } else {
            round_trip(&what, bytes)
        };
        c.add(same);
    }
    (c, t.malformed_frames)
}

#[test]
fn h245_tunnelled_and_fast_start_decode_and_reencode_identically() {
    let Some(dir) = shared_dir_or_skip("captures", "h245_tunnelled") else {
        return;
    };
    if !tshark_available() {
        println!("SKIPPED h245_tunnelled: tshark not found");
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("h323-"))
        })
        .collect();
    files.sort();
    let mut total = 0;
    for path in files {
        let (c, malformed) = check_tunnelled(&path);
        println!(
            "{}: tunnelled/fastStart H.245: {c}; frames tshark flags malformed (left out): {malformed}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        assert_eq!(
            c.differs,
            0,
            "{}: re-encoding changed bytes",
            path.display()
        );
        total += c.decoded;
    }
    assert!(total >= 20, "only {total} tunnelled H.245 items found");
    println!("total tunnelled/fastStart H.245 items: {total}");
}

#[test]
fn h245_seed_corpus_decodes() {
    let Some(dir) = shared_dir_or_skip("corpora", "h245_seed_corpus") else {
        return;
    };
    let dir = dir.join("seed-packets/h245");
    if !dir.is_dir() {
        println!("SKIPPED h245_seed_corpus: no corpora/seed-packets/h245");
        return;
    }
    if !tshark_available() {
        println!("SKIPPED h245_seed_corpus: tshark not found");
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read seed dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut total = Counts::default();
    for path in &files {
        let (c, _) = check_tunnelled(path);
        total.decoded += c.decoded;
        total.identical += c.identical;
        total.exceptions += c.exceptions;
        total.differs += c.differs;
    }
    println!("seed-packets/h245: {} files: {total}", files.len());
    assert_eq!(total.differs, 0);
}
