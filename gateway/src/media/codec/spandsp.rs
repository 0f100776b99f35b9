//! Test support: spandsp (Debian's libspandsp-dev) as an independent implementation,
//! through the small C harness beside this file, compiled once per test run.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The harness binary, built on first use with `gcc ... -lspandsp -lm`.
fn harness() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/media/codec/spandsp_harness.c");
        let dir = std::env::temp_dir().join(format!("gateway-spandsp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let bin = dir.join("spandsp_harness");
        let status = Command::new("gcc")
            .args(["-O2", "-Wall", "-o"])
            .arg(&bin)
            .arg(&src)
            .args(["-lspandsp", "-lm"])
            .status()
            .expect("gcc runs (Debian build-essential)");
        assert!(status.success(), "harness builds (Debian libspandsp-dev)");
        bin
    })
}

/// Runs the harness with `args`, `input` on its stdin; returns its stdout.
pub fn run(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(harness())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("harness starts");
    let mut stdin = child.stdin.take().expect("piped");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("harness runs");
    writer.join().expect("writer").expect("stdin written");
    assert!(out.status.success(), "harness {args:?} failed");
    out.stdout
}

/// PCM to little-endian bytes.
pub fn to_le(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Little-endian bytes to PCM.
pub fn from_le(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}
