//! Codec and transcoding cost (issue 6), measured on demand and printed; never asserted.
//!
//! ```text
//! cargo bench -p gateway --bench codecs                   # without G.729
//! cargo bench -p gateway --bench codecs --features g729   # with it
//! CODEC_BENCH_SECONDS=2 cargo bench -p gateway --bench codecs
//! ```
//!
//! Per codec: encode and decode time per 20 ms frame (one thread, a voice-like test
//! signal). Per pair, through `Transcoder` (20 ms in and out): the time per 20 ms frame
//! of PCMU -> X alone, X -> PCMU alone, and both (one full-duplex transcoded call), the
//! channels one core carries in real time (20 ms / that time), and beside them the sum
//! of the raw decode + encode costs of the same run (what the transcoder adds on top is
//! resampling and its FIFO). Results go in BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gateway::media::codec::{CodecKind, Transcoder};

/// A voice-like test signal: two tones and a little noise, about -12 dBFS.
fn signal(rate: u32, samples: usize) -> Vec<i16> {
    let mut seed = 1u32;
    (0..samples)
        .map(|n| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let t = n as f64 / f64::from(rate);
            let v = 5000.0 * (std::f64::consts::TAU * 440.0 * t).sin()
                + 3000.0 * (std::f64::consts::TAU * 1250.0 * t).sin()
                + f64::from((seed >> 16) as i16) / 64.0;
            v as i16
        })
        .collect()
}

/// Runs `f` repeatedly for about `budget`; returns the mean time per call.
fn time(budget: Duration, mut f: impl FnMut()) -> Duration {
    // Warm up.
    for _ in 0..50 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget {
        for _ in 0..50 {
            f();
        }
        n += 50;
    }
    start.elapsed() / n.max(1)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` (CI) runs this binary
    // without it: then a quick smoke pass that only checks every path runs.
    let measuring = std::env::args().any(|a| a == "--bench");
    let seconds: f64 = std::env::var("CODEC_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if measuring { 1.0 } else { 0.005 });
    if !measuring {
        println!("smoke run (figures meaningless): use `cargo bench` to measure");
    }
    let budget = Duration::from_secs_f64(seconds);

    let mut codecs = vec![
        ("PCMU", CodecKind::Pcmu),
        ("PCMA", CodecKind::Pcma),
        ("L16/8000", CodecKind::L16 { rate: 8000 }),
        ("L16/16000", CodecKind::L16 { rate: 16000 }),
        ("G.722", CodecKind::G722),
        ("Opus/8000", CodecKind::Opus { rate: 8000 }),
        ("Opus/48000", CodecKind::Opus { rate: 48000 }),
    ];
    if cfg!(feature = "g729") {
        codecs.push(("G.729", CodecKind::G729));
    }

    let mut raw: Vec<(&str, f64, f64)> = Vec::new();
    println!("codec cost per 20 ms frame (one core, {seconds} s per figure)");
    println!(
        "{:<12} {:>12} {:>12} {:>10}",
        "codec", "encode us", "decode us", "octets"
    );
    for (name, kind) in &codecs {
        let info = kind.info();
        let frame = info.samples_in(20);
        // Two seconds of signal, frames taken round robin so the encoder sees change.
        let pcm = signal(info.sample_rate, frame * 100);
        let mut enc = kind.encoder().expect("encoder");
        let mut dec = kind.decoder().expect("decoder");
        let mut payloads = vec![vec![0u8; enc.max_payload(frame)]; 100];
        let mut lens = vec![0usize; 100];
        for (i, chunk) in pcm.chunks_exact(frame).enumerate() {
            lens[i] = enc.encode(chunk, &mut payloads[i]).expect("encode");
        }
        let mut out = vec![0u8; enc.max_payload(frame)];
        let mut i = 0;
        let t_enc = time(budget, || {
            let chunk = &pcm[(i % 100) * frame..(i % 100 + 1) * frame];
            black_box(enc.encode(chunk, &mut out).expect("encode"));
            i += 1;
        });
        let mut buf = vec![0i16; frame * 2];
        let mut j = 0;
        let t_dec = time(budget, || {
            let k = j % 100;
            black_box(
                dec.decode(&payloads[k][..lens[k]], &mut buf)
                    .expect("decode"),
            );
            j += 1;
        });
        let mean_len = lens.iter().sum::<usize>() as f64 / lens.len() as f64;
        raw.push((name, us(t_enc), us(t_dec)));
        println!(
            "{name:<12} {:>12.2} {:>12.2} {:>10.1}",
            us(t_enc),
            us(t_dec),
            mean_len
        );
    }

    let mut pairs = vec![
        (
            "PCMU<->L16/16000",
            "L16/16000",
            CodecKind::L16 { rate: 16000 },
        ),
        ("PCMU<->G.722", "G.722", CodecKind::G722),
        (
            "PCMU<->Opus/48000",
            "Opus/48000",
            CodecKind::Opus { rate: 48000 },
        ),
        (
            "PCMU<->Opus/8000",
            "Opus/8000",
            CodecKind::Opus { rate: 8000 },
        ),
    ];
    if cfg!(feature = "g729") {
        pairs.push(("PCMU<->G.729", "G.729", CodecKind::G729));
    }
    let raw_of = |name: &str| {
        raw.iter()
            .find(|(n, _, _)| *n == name)
            .map_or((0.0, 0.0), |&(_, e, d)| (e, d))
    };
    println!();
    println!("transcoding through Transcoder, 20 ms in and out: one direction each, then both");
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12} {:>22}",
        "pair",
        "->X us",
        "X-> us",
        "both us",
        "->X ch/core",
        "X-> ch/core",
        "calls/core",
        "raw: u-dec+X-enc/X-dec+u-enc"
    );
    for (name, other_name, other) in &pairs {
        // Payload streams to feed: PCMU frames, and the other codec's frames.
        let pcmu_frames = encoded(CodecKind::Pcmu);
        let other_frames = encoded(*other);
        let mut ab = Transcoder::new(CodecKind::Pcmu, *other, 20).expect("PCMU -> X");
        let mut ba = Transcoder::new(*other, CodecKind::Pcmu, 20).expect("X -> PCMU");
        let mut out_ab = vec![0u8; ab.max_payload()];
        let mut out_ba = vec![0u8; ba.max_payload()];
        let mut i = 0;
        let t_ab = time(budget, || {
            ab.push(&pcmu_frames[i % pcmu_frames.len()]).expect("push");
            while let Some(o) = ab.pop(&mut out_ab).expect("pop") {
                black_box(o);
            }
            i += 1;
        });
        let mut j = 0;
        let t_ba = time(budget, || {
            ba.push(&other_frames[j % other_frames.len()])
                .expect("push");
            while let Some(o) = ba.pop(&mut out_ba).expect("pop") {
                black_box(o);
            }
            j += 1;
        });
        let t = time(budget, || {
            let k = i % pcmu_frames.len();
            ab.push(&pcmu_frames[k]).expect("push");
            while let Some(o) = ab.pop(&mut out_ab).expect("pop") {
                black_box(o);
            }
            ba.push(&other_frames[j % other_frames.len()])
                .expect("push");
            while let Some(o) = ba.pop(&mut out_ba).expect("pop") {
                black_box(o);
            }
            i += 1;
            j += 1;
        });
        let (u_enc, u_dec) = raw_of("PCMU");
        let (x_enc, x_dec) = raw_of(other_name);
        println!(
            "{name:<18} {:>10.2} {:>10.2} {:>10.2} {:>12.0} {:>12.0} {:>12.0} {:>10.2} /{:>10.2}",
            us(t_ab),
            us(t_ba),
            us(t),
            20_000.0 / us(t_ab),
            20_000.0 / us(t_ba),
            20_000.0 / us(t),
            u_dec + x_enc,
            x_dec + u_enc
        );
    }
}

/// 100 frames of 20 ms of the test signal encoded as `kind`.
fn encoded(kind: CodecKind) -> Vec<Vec<u8>> {
    let info = kind.info();
    let frame = info.samples_in(20);
    let pcm = signal(info.sample_rate, frame * 100);
    let mut enc = kind.encoder().expect("encoder");
    pcm.chunks_exact(frame)
        .map(|chunk| {
            let mut p = vec![0u8; enc.max_payload(frame)];
            let n = enc.encode(chunk, &mut p).expect("encode");
            p.truncate(n);
            p
        })
        .collect()
}
