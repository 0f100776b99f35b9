//! Wire validation of the Q.931 encoder by an independent decoder (tshark).
//!
//! A PRI call is built from the neutral call model with `mapping::q931::translate`, framed
//! as Q.921 I-frames in a LINKTYPE_LINUX_LAPD (177) pcap, and decoded by tshark: no frame
//! may be malformed or draw a warning, and the fields tshark reads back (message types,
//! call reference flags, numbers, presentation/screening, channel, cause) must be the ones
//! the call model said.

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::model::{Bearer, CallEvent, Initiator, Progress, Release, Setup};
use mapping::number::{Digits, NumberingPlan, PartyNumber, Presentation, Screening, TypeOfNumber};
use mapping::progress::ProgressDescription;
use mapping::q931::ies::{ChannelId, Layer1Protocol};
use mapping::q931::translate::{Outgoing, from_event};
use mapping::q931::{CallReference, Dialect, Message, MessageType};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use std::process::Command;
use std::time::Duration;

/// Who sent a frame, seen from the capturing (network) side.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Network,
    User,
}

/// LINKTYPE_LINUX_LAPD pseudo-header (16 octets, big-endian) + Q.921 I-frame + Q.931.
fn lapd_frame(from: Side, ns: u8, nr: u8, q931: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(20 + q931.len());
    let pkttype: u16 = if from == Side::Network { 4 } else { 0 };
    f.extend_from_slice(&pkttype.to_be_bytes());
    f.extend_from_slice(&0x20FDu16.to_be_bytes()); // hatype
    f.extend_from_slice(&1u16.to_be_bytes()); // halen
    f.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // addr[0] = 1: we are the network side
    f.extend_from_slice(&0x0030u16.to_be_bytes()); // protocol
    // Q.921 §3.3.3: SAPI 0, C/R = 1 for commands from the network, 0 from the user; TEI 0.
    let cr = if from == Side::Network { 0x02 } else { 0x00 };
    f.extend_from_slice(&[cr, 0x01]);
    // Q.921 §3.4.2: I-frame control, N(S) and N(R) shifted left, P = 0.
    f.extend_from_slice(&[ns << 1, nr << 1]);
    f.extend_from_slice(q931);
    f
}

fn number(digits: &str, ton: TypeOfNumber, pres: Option<Presentation>) -> PartyNumber {
    PartyNumber {
        digits: Digits::new(digits).expect("test digits are valid"),
        ton,
        npi: NumberingPlan::ISDN,
        presentation: pres,
        screening: pres.map(|_| Screening::NETWORK_PROVIDED),
    }
}

/// The messages of one call, in order, with their senders.
fn call_messages() -> Vec<(Side, Message)> {
    let ours = Outgoing {
        dialect: Dialect::Q931,
        call_ref: CallReference::pri(0x0123, false),
        speech_law: Layer1Protocol::G711_ALAW,
        location: Location::PUBLIC_LOCAL,
    };
    let theirs = Outgoing {
        call_ref: CallReference::pri(0x0123, true),
        location: Location::PRIVATE_LOCAL,
        ..ours
    };
    let ev = |e: CallEvent, out: &Outgoing| {
        from_event(&e, out)
            .expect("every event of this call translates")
            .expect("every event of this call has a Q.931 message")
    };
    let setup = CallEvent::Setup(Box::new(Setup {
        called: number("301234567", TypeOfNumber::NATIONAL, None),
        calling: Some(number(
            "4940123456",
            TypeOfNumber::INTERNATIONAL,
            Some(Presentation::RESTRICTED),
        )),
        display_name: None,
        redirection: vec![],
        bearer: Bearer::Speech,
        media: None,
        sending_complete: true,
    }));
    let mut setup_msg = ev(setup, &ours);
    setup_msg
        .set(&ChannelId::pri_b_channel(5, true))
        .expect("a channel id fits");
    let mut proceeding = ev(CallEvent::Proceeding, &theirs);
    proceeding
        .set(&ChannelId::pri_b_channel(5, true))
        .expect("a channel id fits");
    let alerting = ev(
        CallEvent::Alerting(Progress {
            descriptions: vec![ProgressDescription::INBAND_AVAILABLE],
            media: None,
        }),
        &theirs,
    );
    let connect = ev(
        CallEvent::Connect {
            connected: Some(number("301234567", TypeOfNumber::NATIONAL, None)),
            media: None,
        },
        &theirs,
    );
    let connect_ack = Message::new(
        Dialect::Q931,
        ours.call_ref,
        MessageType::CONNECT_ACKNOWLEDGE,
    );
    let disconnect = ev(
        CallEvent::Release(Release {
            cause: Cause {
                value: Q850Cause::USER_BUSY,
                location: Location::PUBLIC_LOCAL,
            },
            initiator: Initiator::Caller,
            sip_status: None,
        }),
        &ours,
    );
    let release = Message::clearing(Dialect::Q931, theirs.call_ref, MessageType::RELEASE, None);
    let release_complete = Message::release_complete(Dialect::Q931, ours.call_ref, None);
    vec![
        (Side::Network, setup_msg),
        (Side::User, proceeding),
        (Side::User, alerting),
        (Side::User, connect),
        (Side::Network, connect_ack),
        (Side::Network, disconnect),
        (Side::User, release),
        (Side::Network, release_complete),
    ]
}

fn write_pcap(path: &std::path::Path, msgs: &[(Side, Message)]) {
    let file = std::fs::File::create(path).expect("create pcap in temp dir");
    let header = PcapHeader {
        datalink: DataLink::LINUX_LAPD,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(file, header).expect("write pcap header");
    let (mut ns_net, mut ns_user) = (0u8, 0u8);
    for (i, (from, msg)) in msgs.iter().enumerate() {
        let (ns, nr) = match from {
            Side::Network => (ns_net, ns_user),
            Side::User => (ns_user, ns_net),
        };
        match from {
            Side::Network => ns_net += 1,
            Side::User => ns_user += 1,
        }
        let data = lapd_frame(*from, ns, nr, &msg.encode());
        let ts = Duration::from_millis(100 * i as u64);
        w.write_packet(&PcapPacket::new(ts, data.len() as u32, &data))
            .expect("write pcap packet");
    }
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark is installed (./tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark prints UTF-8")
}

/// tshark prints integer fields in decimal or, for some, as `0x..` hex.
fn num(field: &str) -> Option<u32> {
    match field.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => field.parse().ok(),
    }
}

#[test]
fn tshark_decodes_a_pri_call_built_from_the_call_model() {
    let dir = std::env::temp_dir().join(format!("q931-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pcap = dir.join("pri-call.pcap");
    let msgs = call_messages();
    write_pcap(&pcap, &msgs);
    let pcap = pcap.to_str().expect("temp path is UTF-8");

    let bad = tshark(&[
        "-n",
        "-r",
        pcap,
        "-Y",
        "_ws.malformed || _ws.expert.severity >= \"warning\"",
    ]);
    assert!(bad.trim().is_empty(), "tshark flags frames:\n{bad}");

    let fields = tshark(&[
        "-n",
        "-r",
        pcap,
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-e",
        "lapd.cr",
        "-e",
        "q931.message_type",
        "-e",
        "q931.call_ref_flag",
        "-e",
        "q931.called_party_number.digits",
        "-e",
        "q931.calling_party_number.digits",
        "-e",
        "q931.presentation_ind",
        "-e",
        "q931.screening_ind",
        "-e",
        "q931.channel.number",
        "-e",
        "q931.progress_indicator.description",
        "-e",
        "q931.connected_number.digits",
        "-e",
        "q931.cause_value",
    ]);
    let rows: Vec<Vec<&str>> = fields.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(
        rows.len(),
        msgs.len(),
        "one decoded frame per message:\n{fields}"
    );

    let expected_types: [u32; 8] = [0x05, 0x02, 0x01, 0x07, 0x0f, 0x45, 0x4d, 0x5a];
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            num(row[1]),
            Some(expected_types[i]),
            "frame {i} message type: {row:?}"
        );
        let flag_expected = msgs[i].0 == Side::User;
        let flag = matches!(row[2], "1" | "True" | "true");
        assert_eq!(
            flag, flag_expected,
            "frame {i} call reference flag: {row:?}"
        );
    }
    let setup = &rows[0];
    assert_eq!(setup[3], "301234567");
    assert_eq!(setup[4], "4940123456");
    assert_eq!(num(setup[5]), Some(1), "presentation restricted");
    assert_eq!(num(setup[6]), Some(3), "screening network provided");
    assert_eq!(num(setup[7]), Some(5), "B-channel 5");
    assert_eq!(
        num(rows[1][7]),
        Some(5),
        "CALL PROCEEDING confirms channel 5"
    );
    assert_eq!(num(rows[2][8]), Some(8), "ALERTING: in-band info available");
    assert_eq!(rows[3][9], "301234567", "CONNECT connected number");
    assert_eq!(num(rows[5][10]), Some(17), "DISCONNECT cause user busy");
    std::fs::remove_dir_all(&dir).ok();
}
