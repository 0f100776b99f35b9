//! Test tones and checks of recorded audio: tones made with sox, WAV files read here
//! (RIFF chunks parsed by hand), the dominant frequency found with a Goertzel scan, and
//! sox's own `stat` "Rough frequency" as a second opinion in messages.

use super::WAIT;
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Block RMS (full scale = 1.0) below which audio counts as silence (about -40 dBFS).
pub const SILENCE_FLOOR: f64 = 0.01;

/// Lowest and highest frequency of the scan, and its coarse step.
const SCAN_MIN_HZ: f64 = 100.0;
const SCAN_MAX_HZ: f64 = 3500.0;
const SCAN_STEP_HZ: f64 = 10.0;

/// Longest stretch analysed (taken from the middle of the non-silent part).
const MAX_ANALYSED_SECONDS: f64 = 2.0;

/// Runs `program args`, bounded by [`WAIT`]: (success, stdout, stderr).
fn run(program: &str, args: &[&str]) -> Result<(bool, String, String), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).map_err(|e| e.to_string())?)
        .stderr(std::fs::File::create(&err).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{program} {args:?} did not finish within {WAIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    Ok((status.success(), read(&out), read(&err)))
}

/// Runs `sox ARGS`, bounded by [`WAIT`]: its stdout + stderr, or an error with them.
pub fn sox(args: &[&str]) -> Result<String, String> {
    match run("sox", args)? {
        (true, out, err) => Ok(out + &err),
        (false, out, err) => Err(format!("sox {args:?} failed:\n{out}{err}")),
    }
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Writes an 8 kHz mono signed 16-bit WAV with a sine of `hz` at half scale lasting
/// `seconds` (sox). Panics when sox fails.
pub fn make_tone(path: &Path, hz: f64, seconds: f64) {
    make_tone_at(path, hz, seconds, 8000, 1);
}

/// [`make_tone`] at another sample rate and channel count (baresip's file source wants
/// the codec's: 16 kHz for G.722, 48 kHz stereo for Opus), the same sine on each channel.
pub fn make_tone_at(path: &Path, hz: f64, seconds: f64, rate: u32, channels: u8) {
    let (hz, secs, rate) = (hz.to_string(), seconds.to_string(), rate.to_string());
    let channels = channels.to_string();
    let args = [
        "-n",
        "-r",
        &rate,
        "-c",
        &channels,
        "-b",
        "16",
        "-e",
        "signed-integer",
        utf8(path),
        "synth",
        &secs,
        "sine",
        &hz,
        "vol",
        "0.5",
    ];
    match run("sox", &args) {
        Ok((true, _, _)) => {}
        Ok((false, out, err)) => panic!("sox {args:?} failed:\n{out}{err}"),
        Err(e) => panic!("{e} (Debian package sox)"),
    }
}

/// Writes an 8 kHz mono signed 16-bit WAV of digital silence lasting `seconds` (sox).
pub fn make_silence(path: &Path, seconds: f64) {
    let secs = seconds.to_string();
    let args = [
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        "-e",
        "signed-integer",
        utf8(path),
        "trim",
        "0",
        &secs,
    ];
    match run("sox", &args) {
        Ok((true, _, _)) => {}
        Ok((false, out, err)) => panic!("sox {args:?} failed:\n{out}{err}"),
        Err(e) => panic!("{e} (Debian package sox)"),
    }
}

/// The text of `sox FILE -n stat` (sox prints it on stderr).
pub fn sox_stat(wav: &Path) -> Result<String, String> {
    sox(&[utf8(wav), "-n", "stat"])
}

/// sox's `stat` "Rough   frequency" of a file (zero-crossing based: ~975 for 1000 Hz).
pub fn sox_rough_frequency(wav: &Path) -> Option<f64> {
    let text = sox_stat(wav).ok()?;
    text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        (name.split_whitespace().collect::<Vec<_>>() == ["Rough", "frequency"])
            .then(|| value.trim().parse().ok())?
    })
}

/// A decoded WAV file: channel 0 only.
#[derive(Debug, Clone)]
pub struct Wav {
    /// Sample rate.
    pub rate: u32,
    /// Channels in the file.
    pub channels: u16,
    /// Samples of the first channel, full scale = 1.0.
    pub samples: Vec<f64>,
    /// The RIFF and data sizes in the header match the file (a writer that has not
    /// closed the file yet leaves them at 0 or stale).
    pub finalized: bool,
}

impl Wav {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// G.711 µ-law to linear (ITU-T G.711, 14-bit magnitude scaled to 16 bits).
fn ulaw(byte: u8) -> i16 {
    let u = !byte;
    let exp = (u >> 4) & 7;
    let mant = i32::from(u & 0x0f);
    let mag = (((mant << 3) + 0x84) << exp) - 0x84;
    i16::try_from(if u & 0x80 != 0 { -mag } else { mag }).expect("in range")
}

/// G.711 A-law to linear.
fn alaw(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let exp = (a >> 4) & 7;
    let mant = i32::from(a & 0x0f);
    let mag = if exp == 0 {
        (mant << 4) + 8
    } else {
        ((mant << 4) + 0x108) << (exp - 1)
    };
    i16::try_from(if a & 0x80 != 0 { mag } else { -mag }).expect("in range")
}

/// Parses a WAV file: RIFF/WAVE, any chunk order, `fmt ` of 16, 18 or 40 bytes
/// (WAVE_FORMAT_EXTENSIBLE), other chunks (LIST, fact, PEAK, …) skipped, and a `data`
/// chunk whose size is 0, 0xFFFFFFFF or past the end (file still being written) taken
/// as "up to the end of the file". Formats: PCM 8/16/24/32-bit, A-law, µ-law.
pub fn parse_wav(bytes: &[u8]) -> Result<Wav, String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let riff_ok = le32(bytes, 4) as usize + 8 == bytes.len();
    let mut fmt: Option<(u16, u16, u32, u16, u16)> = None; // tag, channels, rate, align, bits
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let declared = le32(bytes, at + 4) as usize;
        let body = at + 8;
        if id == b"fmt " {
            if declared < 16 || body + 16 > bytes.len() {
                return Err(format!("short fmt chunk ({declared} bytes)"));
            }
            let mut tag = le16(bytes, body);
            if tag == 0xFFFE {
                // WAVE_FORMAT_EXTENSIBLE: the real tag starts the SubFormat GUID.
                if declared < 40 || body + 40 > bytes.len() {
                    return Err("short WAVE_FORMAT_EXTENSIBLE fmt chunk".into());
                }
                tag = le16(bytes, body + 24);
            }
            fmt = Some((
                tag,
                le16(bytes, body + 2),
                le32(bytes, body + 4),
                le16(bytes, body + 12),
                le16(bytes, body + 14),
            ));
        } else if id == b"data" {
            let (tag, channels, rate, align, bits) =
                fmt.ok_or("data chunk before the fmt chunk")?;
            let left = bytes.len() - body;
            let finalized = riff_ok && declared != 0 && declared <= left;
            let size = if declared == 0 || declared == 0xFFFF_FFFF || declared > left {
                left
            } else {
                declared
            };
            let align = usize::from(align.max(1));
            if channels == 0 || rate == 0 {
                return Err(format!("bad fmt: {channels} channels at {rate} Hz"));
            }
            let data = &bytes[body..body + size - size % align];
            let samples: Vec<f64> = match (tag, bits) {
                (1, 16) => data
                    .chunks_exact(align)
                    .map(|f| f64::from(i16::from_le_bytes([f[0], f[1]])) / 32768.0)
                    .collect(),
                (1, 8) => data
                    .chunks_exact(align)
                    .map(|f| (f64::from(f[0]) - 128.0) / 128.0)
                    .collect(),
                (1, 24) => data
                    .chunks_exact(align)
                    .map(|f| {
                        f64::from(i32::from_le_bytes([0, f[0], f[1], f[2]]) >> 8) / 8_388_608.0
                    })
                    .collect(),
                (1, 32) => data
                    .chunks_exact(align)
                    .map(|f| {
                        f64::from(i32::from_le_bytes([f[0], f[1], f[2], f[3]])) / 2_147_483_648.0
                    })
                    .collect(),
                (6, 8) => data
                    .chunks_exact(align)
                    .map(|f| f64::from(alaw(f[0])) / 32768.0)
                    .collect(),
                (7, 8) => data
                    .chunks_exact(align)
                    .map(|f| f64::from(ulaw(f[0])) / 32768.0)
                    .collect(),
                _ => return Err(format!("unsupported WAV format tag {tag}, {bits} bits")),
            };
            return Ok(Wav {
                rate,
                channels,
                samples,
                finalized,
            });
        }
        // Chunks are padded to an even length.
        at = body.saturating_add(declared).saturating_add(declared & 1);
    }
    Err("no data chunk".into())
}

/// Reads and parses a WAV file.
pub fn read_wav(path: &Path) -> Result<Wav, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    parse_wav(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Whether `path` is a complete WAV file (header sizes written, data present).
pub fn wav_is_finalized(path: &Path) -> bool {
    read_wav(path).is_ok_and(|w| w.finalized && !w.samples.is_empty())
}

/// Root mean square of `x` (full scale = 1.0).
pub fn rms(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|s| s * s).sum::<f64>() / x.len() as f64).sqrt()
}

/// Goertzel power of `x` (already windowed) at `hz`.
fn goertzel(x: &[f64], rate: f64, hz: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Sum of the Goertzel powers at `hz` over Hann-windowed blocks of `x`.
fn block_power(blocks: &[Vec<f64>], rate: f64, hz: f64) -> f64 {
    blocks.iter().map(|b| goertzel(b, rate, hz)).sum()
}

/// The non-silent part of a recording, and the middle of it that is analysed.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// First and last sample (exclusive) whose 10 ms block is above [`SILENCE_FLOOR`].
    pub active: (usize, usize),
    /// The analysed middle part.
    pub analysed: (usize, usize),
}

/// Finds the non-silent span (leading/trailing silence dropped: jitter-buffer fill,
/// call set-up) and its middle part (10 % trimmed each side, at most 2 s).
pub fn analysis_span(w: &Wav) -> Option<Span> {
    let block = usize::try_from(w.rate / 100).expect("fits").max(1);
    let loud: Vec<usize> = w
        .samples
        .chunks(block)
        .enumerate()
        .filter(|(_, b)| rms(b) >= SILENCE_FLOOR)
        .map(|(i, _)| i)
        .collect();
    let (first, last) = (*loud.first()?, *loud.last()?);
    let active = (first * block, ((last + 1) * block).min(w.samples.len()));
    let len = active.1 - active.0;
    let trim = len / 10;
    let (mut a, mut b) = (active.0 + trim, active.1 - trim);
    let max = (MAX_ANALYSED_SECONDS * f64::from(w.rate)) as usize;
    if b - a > max {
        let mid = (a + b) / 2;
        a = mid - max / 2;
        b = a + max;
    }
    Some(Span {
        active,
        analysed: (a, b),
    })
}

/// The dominant frequency of `x` at `rate`: a Goertzel scan of 100–3500 Hz in 10 Hz steps
/// over 100 ms Hann-windowed blocks (powers summed), refined in 0.5 Hz steps around the
/// best step. `None` when `x` is shorter than one block.
pub fn goertzel_peak(x: &[f64], rate: u32) -> Option<f64> {
    let n = usize::try_from(rate / 10).expect("fits");
    if n == 0 || x.len() < n {
        return None;
    }
    let hann: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos())
        .collect();
    let blocks: Vec<Vec<f64>> = x
        .chunks_exact(n)
        .map(|b| b.iter().zip(&hann).map(|(s, w)| s * w).collect())
        .collect();
    let fs = f64::from(rate);
    let top = SCAN_MAX_HZ.min(fs / 2.0 - SCAN_STEP_HZ);
    let best = |from: f64, to: f64, step: f64| {
        let mut best = (from, f64::MIN);
        let mut f = from;
        while f <= to + 1e-9 {
            let p = block_power(&blocks, fs, f);
            if p > best.1 {
                best = (f, p);
            }
            f += step;
        }
        best.0
    };
    let coarse = best(SCAN_MIN_HZ, top, SCAN_STEP_HZ);
    Some(best(coarse - SCAN_STEP_HZ, coarse + SCAN_STEP_HZ, 0.5))
}

/// What [`analyze`] found in a recording.
#[derive(Debug, Clone)]
pub struct ToneReport {
    /// Whole file length, seconds.
    pub seconds: f64,
    /// Non-silent part, seconds from the start.
    pub active: (f64, f64),
    /// Analysed part, seconds from the start.
    pub analysed: (f64, f64),
    /// RMS of the analysed part (full scale = 1.0).
    pub rms: f64,
    /// Goertzel peak of the analysed part.
    pub goertzel_hz: Option<f64>,
    /// sox `stat` "Rough frequency" of the whole file.
    pub sox_rough_hz: Option<f64>,
}

impl fmt::Display for ToneReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hz = |v: Option<f64>| v.map_or_else(|| "none".to_owned(), |v| format!("{v:.1} Hz"));
        write!(
            f,
            "Goertzel peak {}, sox rough frequency {}, RMS {:.4}, length {:.2} s, \
             non-silent {:.2}-{:.2} s, analysed {:.2}-{:.2} s",
            hz(self.goertzel_hz),
            hz(self.sox_rough_hz),
            self.rms,
            self.seconds,
            self.active.0,
            self.active.1,
            self.analysed.0,
            self.analysed.1
        )
    }
}

/// Analyses a WAV recording: non-silent span, RMS and Goertzel peak of its middle, and
/// sox's rough frequency.
pub fn analyze(wav: &Path) -> Result<ToneReport, String> {
    let w = read_wav(wav)?;
    let sox_rough_hz = sox_rough_frequency(wav);
    let secs = |i: usize| i as f64 / f64::from(w.rate);
    let Some(span) = analysis_span(&w) else {
        return Ok(ToneReport {
            seconds: w.seconds(),
            active: (0.0, 0.0),
            analysed: (0.0, 0.0),
            rms: rms(&w.samples),
            goertzel_hz: None,
            sox_rough_hz,
        });
    };
    let part = &w.samples[span.analysed.0..span.analysed.1];
    Ok(ToneReport {
        seconds: w.seconds(),
        active: (secs(span.active.0), secs(span.active.1)),
        analysed: (secs(span.analysed.0), secs(span.analysed.1)),
        rms: rms(part),
        goertzel_hz: goertzel_peak(part, w.rate),
        sox_rough_hz,
    })
}

/// The dominant frequency of a recording (Goertzel, middle of the non-silent part);
/// `None` when unreadable, silent or too short.
pub fn dominant_frequency(wav: &Path) -> Option<f64> {
    analyze(wav).ok()?.goertzel_hz
}

/// Checks that `wav` holds a tone of `expected_hz` ± `tolerance_hz` (Goertzel peak) that
/// is not silence (RMS above [`SILENCE_FLOOR`]); the report either way.
pub fn check_tone(wav: &Path, expected_hz: f64, tolerance_hz: f64) -> Result<ToneReport, String> {
    let r = analyze(wav)?;
    let what = format!(
        "{}: expected {expected_hz} Hz ± {tolerance_hz}",
        wav.display()
    );
    if r.rms < SILENCE_FLOOR {
        return Err(format!("{what}, got silence: {r}"));
    }
    match r.goertzel_hz {
        Some(hz) if (hz - expected_hz).abs() <= tolerance_hz => Ok(r),
        _ => Err(format!("{what}, got {r}")),
    }
}

/// Panics unless `wav` holds a tone of `expected_hz` ± `tolerance_hz` (see
/// [`check_tone`]); the message includes sox's figure.
pub fn assert_tone(wav: &Path, expected_hz: f64, tolerance_hz: f64) -> ToneReport {
    check_tone(wav, expected_hz, tolerance_hz).unwrap_or_else(|e| panic!("{e}"))
}

/// Signal-to-noise ratio of the tone at `hz` in the analysed middle of `wav`, in dB: a
/// least-squares sine at `hz` is fitted to each 50 ms block (so that a phase step, where
/// a jitter buffer or concealment moved the stream, costs one block, not the rest), and
/// what the fits do not explain is the noise. `None` when silent or too short.
pub fn tone_snr_db(wav: &Path, hz: f64) -> Option<f64> {
    let w = read_wav(wav).ok()?;
    let span = analysis_span(&w)?;
    let part = &w.samples[span.analysed.0..span.analysed.1];
    let n = usize::try_from(w.rate / 20).ok()?.max(1);
    let (mut signal, mut noise) = (0.0, 0.0);
    let step = 2.0 * std::f64::consts::PI * hz / f64::from(w.rate);
    for block in part.chunks_exact(n) {
        // Normal equations of x ≈ a·cos + b·sin (the basis is nearly orthogonal over
        // whole blocks; solved exactly anyway).
        let (mut cc, mut ss, mut cs, mut xc, mut xs) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, x) in block.iter().enumerate() {
            let (s, c) = (step * i as f64).sin_cos();
            cc += c * c;
            ss += s * s;
            cs += c * s;
            xc += x * c;
            xs += x * s;
        }
        let det = cc * ss - cs * cs;
        if det.abs() < 1e-12 {
            continue;
        }
        let a = (xc * ss - xs * cs) / det;
        let b = (xs * cc - xc * cs) / det;
        for (i, x) in block.iter().enumerate() {
            let (s, c) = (step * i as f64).sin_cos();
            let fit = a * c + b * s;
            signal += fit * fit;
            noise += (x - fit) * (x - fit);
        }
    }
    (signal > 0.0).then(|| 10.0 * (signal / noise.max(1e-12)).log10())
}

/// The (low, high) frequencies of a DTMF key (ITU-T Q.23 Figure 1).
fn dtmf_pair(digit: char) -> (f64, f64) {
    const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    let keys = ["123A", "456B", "789C", "*0#D"];
    for (r, row) in keys.iter().enumerate() {
        if let Some(c) = row.find(digit) {
            return (LOW[r], HIGH[c]);
        }
    }
    panic!("{digit:?} is not a DTMF key");
}

/// Writes an 8 kHz mono 16-bit WAV: `lead` seconds of silence, then each of `digits` as
/// a Q.23 tone pair (each tone at about -10 dBm0) for `on_ms` followed by `off_ms` of
/// silence, then silence up to `total` seconds.
pub fn make_dtmf(path: &Path, digits: &str, on_ms: u32, off_ms: u32, lead: f64, total: f64) {
    let rate = 8000.0;
    let mut pcm: Vec<i16> = vec![0; (lead * rate) as usize];
    for d in digits.chars() {
        let (lo, hi) = dtmf_pair(d);
        let on = (f64::from(on_ms) * rate / 1000.0) as usize;
        for i in 0..on {
            let t = i as f64 / rate;
            let v = 7000.0 * (std::f64::consts::TAU * lo * t).sin()
                + 7000.0 * (std::f64::consts::TAU * hi * t).sin();
            pcm.push(v.round() as i16);
        }
        pcm.extend(std::iter::repeat_n(
            0,
            (f64::from(off_ms) * rate / 1000.0) as usize,
        ));
    }
    pcm.resize(((total * rate) as usize).max(pcm.len()), 0);
    let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut wav = Vec::with_capacity(44 + data.len());
    let len = u32::try_from(data.len()).expect("a short file");
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&len.to_le_bytes());
    wav.extend_from_slice(&data);
    std::fs::write(path, wav).expect("write DTMF WAV");
}

/// The DTMF digits multimon-ng (Debian package `multimon-ng`, an independent decoder)
/// hears in `wav`, in order.
pub fn multimon_dtmf(wav: &Path) -> Result<String, String> {
    let out = std::process::Command::new("multimon-ng")
        .args(["-q", "-c", "-a", "DTMF", "-t", "wav"])
        .arg(wav)
        .output()
        .map_err(|e| format!("cannot run multimon-ng: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("DTMF: "))
        .collect())
}
