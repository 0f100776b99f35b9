//! Golden replay: captures/pri-libpri-net-calls-user.pcap (libpri calling our user-side
//! stack, see its .txt) fed back into a fresh stack on simulated time. libpri's frames
//! go in at their captured times (timers fire at their deadlines in between), the call
//! is answered when it arrives, and what the stack sends must be exactly the frames we
//! sent in the recording.

use std::path::Path;
use std::time::{Duration, Instant};

use mapping::number::Presentation;
use mapping::q931::{CallReference, Dialect, Message, MessageType};
use pcap_file::pcap::PcapReader;
use tdm::capture::LINUX_LAPD_HEADER;
use tdm::pri::{Config, PriEvent, PriStack, StackOutput, Variant};
use tdm::q921::{self, Side};

/// (time from the first record, sent by the capturing side?, frame).
fn records(path: &Path) -> Vec<(Duration, bool, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("the capture is in captures/");
    let mut r = PcapReader::new(file).expect("a pcap file");
    let mut out = Vec::new();
    let mut t0 = None;
    while let Some(p) = r.next_packet() {
        let p = p.expect("a record");
        let t0 = *t0.get_or_insert(p.timestamp);
        let data = &p.data;
        assert!(data.len() > LINUX_LAPD_HEADER);
        let sent = u16::from_be_bytes([data[0], data[1]]) == 4;
        out.push((p.timestamp - t0, sent, data[LINUX_LAPD_HEADER..].to_vec()));
    }
    out
}

#[test]
fn replaying_libpri_s_call_gives_back_our_frames() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/pri-libpri-net-calls-user.pcap");
    let recs = records(&path);
    let expected: Vec<Vec<u8>> = recs.iter().filter(|r| r.1).map(|r| r.2.clone()).collect();
    let base = Instant::now();
    let mut stack = PriStack::new(
        base,
        q921::Config::pri(Side::User),
        Config::e1(Side::User, Variant::EUROISDN),
    );
    let mut sent = Vec::new();
    let mut events = Vec::new();
    let drain = |stack: &mut PriStack,
                 now: Instant,
                 sent: &mut Vec<Vec<u8>>,
                 events: &mut Vec<PriEvent>| loop {
        let mut answer = None;
        while let Some(o) = stack.poll_output() {
            match o {
                StackOutput::Transmit(f) => sent.push(f),
                StackOutput::Event(e) => {
                    if let PriEvent::Incoming { call, .. } = &e {
                        answer = Some(*call);
                    }
                    events.push(e);
                }
                StackOutput::Link(_) => {}
            }
        }
        let Some(call) = answer else { break };
        for t in [
            MessageType::CALL_PROCEEDING,
            MessageType::ALERTING,
            MessageType::CONNECT,
        ] {
            stack
                .l3
                .send(
                    now,
                    call,
                    Message::new(Dialect::Q931, CallReference::dummy(), t),
                )
                .expect("allowed");
        }
        stack.pump(now);
    };
    drain(&mut stack, base, &mut sent, &mut events);
    for (t, was_sent, frame) in &recs {
        if *was_sent {
            continue;
        }
        let now = base + *t;
        while let Some(d) = stack.poll_timeout().filter(|d| *d <= now) {
            stack.handle_timeout(d);
            drain(&mut stack, d, &mut sent, &mut events);
        }
        stack
            .handle_frame(now, frame)
            .expect("libpri's frames are valid");
        drain(&mut stack, now, &mut sent, &mut events);
    }
    assert_eq!(sent.len(), expected.len(), "{events:?}");
    for (i, (got, want)) in sent.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "frame {i} we sent differs");
    }
    let incoming = events.iter().find_map(|e| match e {
        PriEvent::Incoming { setup, channel, .. } => Some((setup.clone(), *channel)),
        _ => None,
    });
    let (setup, channel) = incoming.expect("the call arrived");
    assert_eq!(channel, 1);
    assert_eq!(
        setup.called_number().expect("called").digits.as_str(),
        "1000"
    );
    assert_eq!(
        setup.calling_number().expect("calling").presentation,
        Some(Presentation::RESTRICTED)
    );
    assert!(events.iter().any(
        |e| matches!(e, PriEvent::Cleared { by_peer: true, cause, .. } if cause.value.0 == 16)
    ));
    assert!(events.iter().any(|e| matches!(e, PriEvent::Idle { .. })));
}
