//! Wire validation of the pseudowire encapsulations: packets from `tdm::pseudowire`'s
//! packetizer, in IPv4/UDP, written as a raw-IP pcap and read back by tshark's own
//! CESoPSN and SAToP dissectors (Decode As on the UDP port). Nothing may be malformed or
//! flagged as an error, and the fields must say what we sent. Skipped without tshark.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use tdm::pseudowire::{Config, Protocol, Pseudowire, TdmPort};

const PORT: u16 = 41000;

fn have_tshark() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// IPv4 (header checksum computed) and UDP (checksum 0: none, RFC 768) around `payload`.
fn ip_udp(payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
        127,
        0,
        0,
        1,
        127,
        0,
        0,
        2,
    ];
    let sum: u32 = p
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let sum = (sum & 0xFFFF) + (sum >> 16);
    let sum = !((sum & 0xFFFF) + (sum >> 16)) as u16;
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let ulen = 8 + payload.len();
    p.extend_from_slice(&PORT.to_be_bytes());
    p.extend_from_slice(&PORT.to_be_bytes());
    p.extend_from_slice(&(ulen as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

struct Counter(u8);

impl TdmPort for Counter {
    fn transmit(&mut self, frame: &mut tdm::pseudowire::Frame) {
        self.0 = self.0.wrapping_add(1);
        frame.fill(self.0);
    }
    fn receive(&mut self, _frame: &tdm::pseudowire::Frame) {}
}

/// Ten packets of `config` (the first with R set, as nothing was received; the last
/// with L), written to `path`.
fn write(config: Config, path: &Path) {
    let t0 = Instant::now();
    let period = config.packet_period();
    let mut pw = Pseudowire::new(config, t0).expect("valid config");
    let mut port = Counter(0);
    let file = std::fs::File::create(path).expect("create pcap");
    let header = PcapHeader {
        datalink: DataLink::RAW,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(file, header).expect("pcap header");
    for i in 0..10u32 {
        pw.set_local_fault(i == 9);
        pw.handle_timeout(t0 + period * i, &mut port);
        while let Some(p) = pw.poll_transmit() {
            let rec = ip_udp(p);
            let ts = Duration::from_secs(1_700_000_000) + period * i;
            w.write_packet(&PcapPacket::new(ts, rec.len() as u32, &rec))
                .expect("write record");
        }
    }
}

fn tshark(pcap: &Path, decode_as: &str, filter: &str, fields: &[&str]) -> String {
    let mut c = Command::new("tshark");
    c.args(["-n", "-r"]).arg(pcap).args([
        "-d",
        &format!("udp.port=={PORT},{decode_as}"),
        "-Y",
        filter,
    ]);
    if !fields.is_empty() {
        c.args(["-T", "fields"]);
        for f in fields {
            c.args(["-e", f]);
        }
    }
    let out = c.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn check(config: Config, decode_as: &str, fields: &str, payload_len: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = dir.path().join("pw.pcap");
    let first = config.first_seq;
    write(config, &pcap);
    let bad = tshark(
        &pcap,
        decode_as,
        "_ws.malformed || _ws.expert.severity >= warning",
        &[],
    );
    assert!(bad.trim().is_empty(), "flagged by tshark:\n{bad}");
    let rows = tshark(
        &pcap,
        decode_as,
        decode_as,
        &[
            &format!("{fields}.cw.seqno"),
            &format!("{fields}.cw.rbit"),
            &format!("{fields}.payload.len"),
        ],
    );
    let rows: Vec<Vec<&str>> = rows.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 10, "{rows:?}");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(
            r[0],
            first.wrapping_add(i as u16).to_string(),
            "sequence: {rows:?}"
        );
    }
    assert_eq!(rows[0][1], "1", "R while nothing is received: {rows:?}");
    assert_eq!(rows[1][2], payload_len.to_string(), "{rows:?}");
}

#[test]
fn tshark_reads_our_cesopsn_packets() {
    if !have_tshark() {
        eprintln!("tshark not installed: skipped");
        return;
    }
    let ts: Vec<u8> = (1..=31).collect();
    let long = Config {
        protocol: Protocol::Cesopsn,
        timeslots: ts,
        frames_per_packet: 8,
        jitter_buffer: Duration::from_millis(4),
        rtp: None,
        first_seq: 0xFFFA,
    };
    check(long.clone(), "pwcesopsn", "pwcesopsn", 8 * 31);
    // Short packets carry their length in the control word. (Wireshark takes a payload
    // that is not a multiple of 8 octets for an error; RFC 5086 allows any N x frames.)
    let short = Config {
        timeslots: vec![1, 16],
        frames_per_packet: 4,
        ..long
    };
    check(short, "pwcesopsn", "pwcesopsn", 8);
}

#[test]
fn tshark_reads_our_satop_packets() {
    if !have_tshark() {
        eprintln!("tshark not installed: skipped");
        return;
    }
    let c = Config {
        protocol: Protocol::Satop,
        timeslots: Vec::new(),
        frames_per_packet: 8,
        jitter_buffer: Duration::from_millis(4),
        rtp: None,
        first_seq: 100,
    };
    check(c, "pwsatopcw", "pwsatop", 256);
}
