//! ITU-T G.711 (11/88) A-law and µ-law companding, written from the Recommendation.
//!
//! Linear samples are `i16` (the 16-bit PCM the rest of the media engine uses): A-law
//! works on the top 13 bits (sign + 12), µ-law on the top 14 (sign + 13), both in sign and
//! magnitude with decision values symmetric about zero (Tables 1a/1b and 2a/2b).
//!
//! Both laws are a 13-segment (A) or 15-segment (µ) piecewise linear curve: an octet is
//! polarity bit, 3-bit segment number and 4-bit quantisation step inside the segment.
//! Decoding is a lookup in 256-entry tables computed at compile time; encoding searches
//! the segment the magnitude falls in.

/// Which G.711 law: µ-law (RTP payload type 0, "PCMU", T1 timeslots) or A-law (type 8,
/// "PCMA", E1 timeslots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law, G.711 Tables 2a/2b.
    Pcmu,
    /// A-law, G.711 Tables 1a/1b.
    Pcma,
}

impl Law {
    /// Encodes one linear sample.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Pcmu => ulaw_encode(sample),
            Law::Pcma => alaw_encode(sample),
        }
    }

    /// Decodes one octet.
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Law::Pcmu => ulaw_decode(code),
            Law::Pcma => alaw_decode(code),
        }
    }

    /// The octet a silent channel carries (the code for +0).
    pub fn silence(self) -> u8 {
        match self {
            Law::Pcmu => 0xff,
            Law::Pcma => 0xd5,
        }
    }

    /// The static RTP payload type of this law (RFC 3551 §6, Table 4).
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Pcmu => 0,
            Law::Pcma => 8,
        }
    }
}

/// A-law transmits with the even bits inverted (Tables 1a/1b, note on character signals).
const ALAW_EVEN_BITS: u8 = 0x55;
/// The A-law polarity bit is 1 for positive values (Table 1a) before the inversion.
const ALAW_POSITIVE: u8 = 0x80;
/// Largest A-law magnitude in 13-bit units (sign + 12 bits): 4095, decoded at most 4032.
const ALAW_MAX: i32 = 0x0fff;

/// µ-law bias in 16-bit units: 33 in the 14-bit units of Table 2a, shifted by two.
/// Biasing makes every µ-law segment start at a power of two.
const ULAW_BIAS: i32 = 0x84;
/// Largest µ-law magnitude in 16-bit units that still fits 15 bits once biased.
const ULAW_MAX: i32 = 0x7fff - ULAW_BIAS;
/// The µ-law polarity bit is 1 for negative values (Table 2b) before the inversion.
const ULAW_NEGATIVE: u8 = 0x80;

/// A-law decode in 13-bit units (Table 1a/1b "value at decoder output"): the middle of the
/// quantisation interval. Segment 0 and 1 have steps of 2; each further segment doubles.
const fn alaw_magnitude(segment: u8, step: u8) -> i32 {
    let q = step as i32;
    if segment == 0 {
        2 * q + 1
    } else {
        (2 * q + 33) << (segment - 1)
    }
}

/// µ-law decode in 16-bit units (Table 2a/2b "value at decoder output", times four): the
/// biased segment base plus the step, less the bias.
const fn ulaw_magnitude(segment: u8, step: u8) -> i32 {
    ((((step as i32) << 3) + ULAW_BIAS) << segment) - ULAW_BIAS
}

const fn build_alaw() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        let c = code as u8 ^ ALAW_EVEN_BITS;
        let magnitude = alaw_magnitude((c >> 4) & 0x07, c & 0x0f) << 3;
        table[code] = if c & ALAW_POSITIVE != 0 {
            magnitude as i16
        } else {
            (-magnitude) as i16
        };
        code += 1;
    }
    table
}

const fn build_ulaw() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        // µ-law transmits all bits inverted (Tables 2a/2b).
        let c = !(code as u8);
        let magnitude = ulaw_magnitude((c >> 4) & 0x07, c & 0x0f);
        table[code] = if c & ULAW_NEGATIVE != 0 {
            (-magnitude) as i16
        } else {
            magnitude as i16
        };
        code += 1;
    }
    table
}

static ALAW_DECODE: [i16; 256] = build_alaw();
static ULAW_DECODE: [i16; 256] = build_ulaw();

/// Decodes an A-law octet to a 16-bit linear sample (Tables 1a/1b).
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// Decodes a µ-law octet to a 16-bit linear sample (Tables 2a/2b).
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Encodes a 16-bit linear sample to A-law (Tables 1a/1b).
pub fn alaw_encode(sample: i16) -> u8 {
    let sample = i32::from(sample);
    let polarity = if sample >= 0 { ALAW_POSITIVE } else { 0 };
    // 13-bit sign and magnitude: the low three bits are below A-law's resolution.
    let magnitude = (sample.abs() >> 3).min(ALAW_MAX);
    // Segment 0 and 1 both step by 2 (the 13-segment curve's collinear centre); segment
    // s >= 1 covers [2^(s+4), 2^(s+5)) in steps of 2^s.
    let mut segment = 0u8;
    while segment < 7 && magnitude >= 32 << segment {
        segment += 1;
    }
    let shift = if segment == 0 { 1 } else { segment };
    let step = ((magnitude >> shift) & 0x0f) as u8;
    (polarity | (segment << 4) | step) ^ ALAW_EVEN_BITS
}

/// Encodes a 16-bit linear sample to µ-law (Tables 2a/2b).
pub fn ulaw_encode(sample: i16) -> u8 {
    let sample = i32::from(sample);
    let polarity = if sample < 0 { ULAW_NEGATIVE } else { 0 };
    // Biased, segment s covers [2^(s+7), 2^(s+8)) in steps of 2^(s+3) (16-bit units).
    let biased = sample.abs().min(ULAW_MAX) + ULAW_BIAS;
    let mut segment = 0u8;
    while segment < 7 && biased >= 0x100 << segment {
        segment += 1;
    }
    let step = ((biased >> (segment + 3)) & 0x0f) as u8;
    !(polarity | (segment << 4) | step)
}

/// Encodes `pcm` into `out` (the shorter of the two bounds the work).
pub fn encode_into(law: Law, pcm: &[i16], out: &mut [u8]) {
    for (o, &s) in out.iter_mut().zip(pcm) {
        *o = law.encode(s);
    }
}

/// Decodes `codes` into `out` (the shorter of the two bounds the work).
pub fn decode_into(law: Law, codes: &[u8], out: &mut [i16]) {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = law.decode(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_codes() {
        // Table 2a/2b: +0 and -0 are all ones after inversion, with opposite polarity.
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7f), 0);
        // Segment 0 step 1: 2 in 14-bit units; segment 7 step 15: 8031 (Table 2a).
        assert_eq!(ulaw_decode(0xfe), 2 << 2);
        assert_eq!(ulaw_decode(0x80), 8031 << 2);
        assert_eq!(ulaw_decode(0x00), -(8031 << 2));
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
    }

    #[test]
    fn alaw_known_codes() {
        // Table 1a/1b: the smallest step either side of zero is ±1 in 13-bit units.
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        // Segment 7 step 15: 4032 (Table 1a), 0xaa on the line.
        assert_eq!(alaw_decode(0xaa), 4032 << 3);
        assert_eq!(alaw_decode(0x2a), -(4032 << 3));
        // Segment 2 step 0 decodes to 66 (Table 1a).
        assert_eq!(alaw_decode(0xa0 ^ 0x55), 66 << 3);
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(alaw_encode(-8), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xaa);
        assert_eq!(alaw_encode(i16::MIN), 0x2a);
    }

    #[test]
    fn round_trip_every_code() {
        for law in [Law::Pcmu, Law::Pcma] {
            for code in 0..=255u8 {
                let v = law.decode(code);
                assert_eq!(law.decode(law.encode(v)), v, "{law:?} {code:#04x}");
            }
        }
    }

    #[test]
    fn distinct_codes_except_ulaw_zero() {
        for law in [Law::Pcmu, Law::Pcma] {
            let mut values: Vec<i16> = (0..=255u8).map(|c| law.decode(c)).collect();
            values.sort_unstable();
            values.dedup();
            // µ-law has two zeros (0xff, 0x7f); A-law has no zero at all.
            let expected = if law == Law::Pcmu { 255 } else { 256 };
            assert_eq!(values.len(), expected, "{law:?}");
        }
    }

    #[test]
    fn quantiser_is_monotone_and_close() {
        for law in [Law::Pcmu, Law::Pcma] {
            let mut prev = i16::MIN;
            for x in i16::MIN..=i16::MAX {
                let y = law.decode(law.encode(x));
                assert!(y >= prev, "{law:?}: {x} -> {y} after {prev}");
                prev = y;
                // The error is at most one step of the top segment (A: 128 << 3 / 2 + clip,
                // µ: 256 << 2 / 2 + clip); relative error is small above the first segments.
                let err = (i32::from(y) - i32::from(x)).abs();
                assert!(err <= 1024, "{law:?}: {x} -> {y}");
                if i32::from(x).abs() > 1024 {
                    assert!(err * 16 <= i32::from(x).abs(), "{law:?}: {x} -> {y}");
                }
            }
        }
    }

    #[test]
    fn slices() {
        let pcm = [0i16, 1000, -1000, 30000];
        let mut codes = [0u8; 4];
        encode_into(Law::Pcma, &pcm, &mut codes);
        let mut back = [0i16; 4];
        decode_into(Law::Pcma, &codes, &mut back);
        for (a, b) in pcm.iter().zip(back) {
            assert!((a - b).abs() <= 1024);
        }
    }
}
