//! Decodes the Q.931 carried in the shared captures (H.225.0 over TPKT, PRI Q.931 from a
//! Cisco backhaul) and the single-packet seeds, and checks every message re-encodes to
//! the same bytes. Skips, saying so, when `../shared` is not there.

use std::path::Path;

use capture_kit::*;
use mapping::progress::ProgressDescription;
use mapping::q931::ies::{ChannelId, ProgressIndicator};
use mapping::q931::{Dialect, Message, MessageType};

/// Decodes and re-encodes; panics with context when either step fails.
fn round_trip(file: &str, bytes: &[u8], dialect: Dialect) -> Message {
    let m = Message::decode(bytes, dialect)
        .unwrap_or_else(|e| panic!("{file}: {e} decoding {bytes:02x?}"));
    assert_eq!(m.encode(), bytes, "{file}: re-encoding differs for {m}");
    m
}

fn h225_messages(path: &Path) -> Vec<Vec<u8>> {
    let frames = read_frames(path);
    let mut out = Vec::new();
    for (key, stream) in tcp_streams(&frames) {
        if is_h225(&key, &stream) {
            out.extend(tpkt_payloads(&stream.buf).into_iter().map(<[u8]>::to_vec));
        }
    }
    out
}

#[test]
fn h225_captures_round_trip() {
    let Some(dir) = shared_dir("captures") else {
        println!("SKIPPED: ../shared/captures not found");
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("captures folder readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("h323-") || name == "voip-softswitch-sip-mgcp-h225ras-g711.pcap"
        })
        .collect();
    files.sort();
    let mut total = 0;
    let mut types = std::collections::BTreeSet::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let messages = h225_messages(path);
        let mut invalid = 0;
        for bytes in &messages {
            let m = round_trip(name, bytes, Dialect::H225);
            types.insert(m.msg_type);
            if m.validate().is_err() {
                invalid += 1;
            }
        }
        println!(
            "{name}: {} H.225.0 messages round-tripped ({invalid} fail mandatory-IE validation)",
            messages.len()
        );
        total += messages.len();
    }
    println!("total: {total} H.225.0 messages; types {types:?}");
    assert!(total > 20, "only {total} H.225.0 messages found");
    assert!(types.contains(&MessageType::SETUP) && types.contains(&MessageType::RELEASE_COMPLETE));
}

const PRI_CALL: [MessageType; 8] = [
    MessageType::SETUP,
    MessageType::CALL_PROCEEDING,
    MessageType::ALERTING,
    MessageType::CONNECT,
    MessageType::CONNECT_ACKNOWLEDGE,
    MessageType::DISCONNECT,
    MessageType::RELEASE,
    MessageType::RELEASE_COMPLETE,
];

#[test]
fn pri_call_round_trips() {
    let Some(dir) = shared_dir("captures") else {
        println!("SKIPPED: ../shared/captures not found");
        return;
    };
    let name = "DERIVED-q931-pri-call-from-backhaul.pcap";
    let frames = read_frames(&dir.join(name));
    let mut derived = Vec::new();
    for f in &frames {
        assert_eq!(f.linktype, 252, "upper-PDU link type");
        let q931 = exported_pdu_payload(&f.data).expect("exported PDU tags end");
        derived.push(round_trip(name, q931, Dialect::Q931));
    }
    println!("{name}: {} Q.931 messages round-tripped", derived.len());
    let types: Vec<_> = derived.iter().map(|m| m.msg_type).collect();
    assert_eq!(types, PRI_CALL);

    let setup = &derived[0];
    assert_eq!(setup.calling_number().unwrap().digits.as_str(), "3333");
    assert_eq!(setup.called_number().unwrap().digits.as_str(), "1001");
    let chan = setup.get::<ChannelId>().unwrap().unwrap();
    assert!(chan.primary && chan.exclusive);
    assert_eq!(chan.b_channels(), vec![1]);
    let pi = setup.get::<ProgressIndicator>().unwrap().unwrap();
    assert_eq!(pi.description, ProgressDescription::ORIGINATION_NON_ISDN);
    assert_eq!(derived[5].cause().unwrap().value.0, 16);
    for m in &derived {
        m.validate().unwrap_or_else(|e| panic!("{m}: {e}"));
    }

    // The same messages straight from the original backhaul capture (TCP 2428).
    let name = "mgcp-cisco-pri-backhaul-q931-call.pcapng";
    let frames = read_frames(&dir.join(name));
    let mut backhaul = Vec::new();
    for (key, stream) in tcp_streams(&frames) {
        if key.1 == 2428 || key.3 == 2428 {
            for pdu in backhaul_payloads(&stream.buf) {
                backhaul.push(round_trip(name, pdu, Dialect::Q931));
            }
        }
    }
    println!("{name}: {} Q.931 messages round-tripped", backhaul.len());
    assert_eq!(backhaul.len(), 8);
    let mut a: Vec<_> = derived.iter().map(Message::encode).collect();
    let mut b: Vec<_> = backhaul.iter().map(Message::encode).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

/// Q.931 messages of one seed packet: TPKT over TCP (H.225.0) or LAPD (PRI/BRI).
fn seed_messages(frame: &Frame) -> (Dialect, Vec<Vec<u8>>) {
    match frame.linktype {
        177 => (
            Dialect::Q931,
            lapd_q931(&frame.data, true)
                .map(|q| vec![q.to_vec()])
                .unwrap_or_default(),
        ),
        203 => (
            Dialect::Q931,
            lapd_q931(&frame.data, false)
                .map(|q| vec![q.to_vec()])
                .unwrap_or_default(),
        ),
        lt => {
            let payload = ip_of(lt, &frame.data)
                .and_then(transport_of)
                .filter(|t| t.proto == 6)
                .and_then(|t| tcp_of(t.payload).map(|s| s.payload.to_vec()))
                .unwrap_or_default();
            let msgs = tpkt_payloads(&payload)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            (Dialect::H225, msgs)
        }
    }
}

#[test]
fn seed_packets_decode_without_panic() {
    let mut seen = 0;
    for sub in ["seed-packets/q931", "seed-packets/h225"] {
        let Some(dir) = shared_dir(&format!("corpora/{sub}")) else {
            println!("SKIPPED: ../shared/corpora/{sub} not found");
            continue;
        };
        let (mut ok, mut errors, mut no_q931) = (0, 0, 0);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("seed folder readable")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        for path in &paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            for frame in read_frames(path) {
                let (dialect, msgs) = seed_messages(&frame);
                if msgs.is_empty() {
                    no_q931 += 1;
                }
                for bytes in msgs {
                    match Message::decode(&bytes, dialect) {
                        Ok(m) => {
                            assert_eq!(m.encode(), bytes, "{name}: re-encoding differs");
                            let _ = m.to_string();
                            let _ = mapping::q931::translate::to_event(
                                &m,
                                mapping::model::Initiator::Caller,
                            );
                            ok += 1;
                        }
                        Err(e) => {
                            println!("{name}: {e} ({:?})", e.class());
                            errors += 1;
                        }
                    }
                }
            }
        }
        println!(
            "{sub}: {ok} decoded and round-tripped, {errors} decode errors, {no_q931} frames without a whole Q.931 message"
        );
        seen += ok;
    }
    if seen > 0 {
        assert!(seen >= 10, "only {seen} seed messages decoded");
    }
}
