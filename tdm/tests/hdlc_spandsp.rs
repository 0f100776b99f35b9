//! `tdm::hdlc` against an independent HDLC: spandsp's, in tests/hdlc-peer/hdlc.c (built
//! here with `gcc ... -lspandsp`; Debian `libspandsp-dev`). Frames we frame must come
//! out of spandsp's receiver, and frames spandsp frames out of our deframer, with the
//! same contents, in both bit packings; a round trip alone would not catch a bit-order
//! or FCS-order mistake made the same way on both sides.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use tdm::hdlc::{BitOrder, Deframer, Framer, Limits};

fn peer() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hdlc-peer/hdlc.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hdlc-peer");
        std::fs::create_dir_all(&dir).expect("create the peer's build directory");
        let tmp = dir.join(format!("hdlc.{}.tmp", std::process::id()));
        let bin = dir.join("hdlc");
        let out = Command::new("gcc")
            .args(["-O2", "-Wall", "-Werror", "-o"])
            .arg(&tmp)
            .arg(&src)
            .arg("-lspandsp")
            .output()
            .expect("run gcc (apt-get install build-essential libspandsp-dev)");
        assert!(
            out.status.success(),
            "building the spandsp peer failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&tmp, &bin).expect("move the peer into place");
        bin
    })
}

/// Runs the peer with `input` on stdin; its stdout. Bounded by the input's size (the
/// peer reads to EOF and exits).
fn run(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(peer())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the spandsp peer");
    let mut stdin = child.stdin.take().expect("piped");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("the peer runs");
    writer.join().expect("writer thread");
    assert!(out.status.success());
    out.stdout
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Frames of every kind that matter for stuffing: flags and ones inside, zeros, all
/// lengths from 3 to 264, pseudo-random contents (fixed seed).
fn frames() -> Vec<Vec<u8>> {
    let mut v = vec![
        vec![0x02, 0x01, 0x7F],
        vec![0x7E; 10],
        vec![0xFF; 40],
        vec![0x00; 3],
        vec![0x3F, 0x7E, 0xFC, 0x1F, 0xF8],
        vec![0x55; 264],
    ];
    let mut x: u32 = 0x1234_5678;
    for len in (3..=264).step_by(7) {
        let f = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Runs of ones are what stuffing is about: bias towards them.
                if x & 3 == 0 { 0xFF } else { x as u8 }
            })
            .collect();
        v.push(f);
    }
    v
}

fn orders() -> [(BitOrder, &'static str); 2] {
    [(BitOrder::MsbFirst, "msb"), (BitOrder::LsbFirst, "lsb")]
}

#[test]
fn spandsp_reads_what_we_frame() {
    let frames = frames();
    for (order, name) in orders() {
        let mut f = Framer::new(order);
        let mut stream = Vec::new();
        for fr in &frames {
            f.push_frame(fr);
            let mut chunk = vec![0; f.pending() + 3];
            f.fill(&mut chunk);
            stream.extend_from_slice(&chunk);
        }
        let out = String::from_utf8(run(&["rx", name], &stream)).expect("text");
        let want: Vec<String> = frames.iter().map(|f| format!("FRAME {}", hex(f))).collect();
        let got: Vec<String> = out.lines().map(str::to_owned).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn we_read_what_spandsp_frames() {
    let frames = frames();
    let input: String = frames.iter().map(|f| hex(f) + "\n").collect();
    for (order, name) in orders() {
        let stream = run(&["tx", name], input.as_bytes());
        let mut d = Deframer::new(order, Limits::LAPD);
        let mut got = Vec::new();
        let mut errors = Vec::new();
        d.feed(&stream, |r| match r {
            Ok(f) => got.push(f.to_vec()),
            Err(e) => errors.push(e),
        });
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(got, frames, "{name}");
    }
}
