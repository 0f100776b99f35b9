//! A listening-quality estimate per call direction: the ITU-T G.107 E-model, simplified
//! to what a relay can measure (delay, loss, codec), and its MOS (G.107 Annex B).
//!
//! R = R0 − Is − Id − Ie,eff + A (G.107 §7.1). Every parameter a relay cannot see keeps
//! its G.107 default (§7.7: loudness ratings, noise, sidetone, echo), which makes
//! R0 − Is = 93.2 with A = 0. Two terms remain:
//!
//! - Id, the delay impairment, from the one-way mouth-to-ear delay `d` in ms with the usual
//!   simplification of G.107's Idd/Idte/Idle at default echo values:
//!   Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3) (H the step function);
//! - Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl/BurstR + Bpl) (G.107 §7.5), Ppl the packet loss in
//!   percent, BurstR 1 for random loss, Ie and Bpl per codec from ITU-T G.113 Appendix I.
//!
//! This is a planning-style estimate from network figures, not a measurement of the audio
//! (no P.863), and says nothing about echo or levels.

/// A codec's equipment impairment (ITU-T G.113 Appendix I).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecImpairment {
    /// Equipment impairment factor Ie without loss.
    pub ie: f64,
    /// Packet-loss robustness factor Bpl.
    pub bpl: f64,
}

impl CodecImpairment {
    /// G.711 with packet loss concealment (G.711 Appendix I): Ie 0, Bpl 25.1.
    pub const G711_PLC: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 25.1 };
    /// G.729 Annex A with VAD (Annex B): Ie 11, Bpl 19.0.
    pub const G729A_VAD: CodecImpairment = CodecImpairment {
        ie: 11.0,
        bpl: 19.0,
    };

    /// The impairment for a codec by its SDP name (case-insensitive). G.722 and L16 are
    /// rated like G.711 with PLC: a narrowband estimate of a wideband codec (the
    /// wideband E-model, G.107.1, rates on another scale). Opus has no G.113 entry; at
    /// the bit rates telephony uses we assume it transparent (Ie 0) with concealment at
    /// least as good as G.711's PLC (Bpl 25.1). Unknown names are rated like G.711.
    pub fn for_codec(name: &str) -> CodecImpairment {
        if name.eq_ignore_ascii_case("G729") || name.eq_ignore_ascii_case("G729A") {
            CodecImpairment::G729A_VAD
        } else {
            CodecImpairment::G711_PLC
        }
    }
}

/// R0 − Is with every G.107 default (§7.7), A = 0.
pub const R_DEFAULT: f64 = 93.2;

/// The delay impairment Id for a one-way delay of `d_ms` milliseconds (see the module
/// documentation for the simplification).
pub fn delay_impairment(d_ms: f64) -> f64 {
    let d = d_ms.max(0.0);
    let knee = 177.3;
    0.024 * d + if d > knee { 0.11 * (d - knee) } else { 0.0 }
}

/// Ie,eff (G.107 §7.5) for `loss_pct` percent of packets lost; `burst_r` is 1 for random
/// loss and larger for bursty loss.
pub fn effective_equipment_impairment(codec: CodecImpairment, loss_pct: f64, burst_r: f64) -> f64 {
    let ppl = loss_pct.clamp(0.0, 100.0);
    let burst_r = burst_r.max(1.0);
    codec.ie + (95.0 - codec.ie) * ppl / (ppl / burst_r + codec.bpl)
}

/// The rating R for a one-way delay (ms) and random packet loss (percent) with `codec`.
pub fn r_factor(codec: CodecImpairment, one_way_delay_ms: f64, loss_pct: f64) -> f64 {
    R_DEFAULT
        - delay_impairment(one_way_delay_ms)
        - effective_equipment_impairment(codec, loss_pct, 1.0)
}

/// MOS (conversational quality estimate) from R, G.107 Annex B: 1 below R = 0, 4.5
/// above R = 100, else 1 + 0.035R + R(R − 60)(100 − R)·7·10⁻⁶.
pub fn mos(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).clamp(1.0, 4.5)
    }
}

/// What is known about one direction of a call, for [`estimate`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Direction {
    /// Packets lost on the way in, in percent of those expected (our own count).
    pub loss_in_pct: f64,
    /// Packets lost by the time they reach the receiving peer, in percent, as it reports
    /// them (0 when it sent no report).
    pub loss_out_pct: f64,
    /// Round trip of the sending leg, if measured.
    pub rtt_in_ms: Option<f64>,
    /// Round trip of the receiving leg, if measured.
    pub rtt_out_ms: Option<f64>,
    /// Jitter on the way in (ours) plus on the way out (the receiving peer's report), ms.
    pub jitter_ms: f64,
}

/// The estimate of one direction: one-way delay = half of each measured round trip plus
/// a jitter buffer of twice the jitter; loss = the larger of the two losses. A relayed
/// stream keeps its sequence numbers, so the receiving peer's count already holds what
/// was lost before the gateway; for a stream the gateway makes itself this undercounts
/// when both legs lose. Returns (R, MOS).
pub fn estimate(codec: CodecImpairment, d: &Direction) -> (f64, f64) {
    let half = |rtt: Option<f64>| rtt.map_or(0.0, |r| r.max(0.0) / 2.0);
    let delay = half(d.rtt_in_ms) + half(d.rtt_out_ms) + 2.0 * d.jitter_ms.max(0.0);
    let p_in = (d.loss_in_pct / 100.0).clamp(0.0, 1.0);
    let p_out = (d.loss_out_pct / 100.0).clamp(0.0, 1.0);
    let loss = p_in.max(p_out) * 100.0;
    let r = r_factor(codec, delay, loss);
    (r, mos(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn mos_at_known_ratings() {
        // G.107 default connection: R = 93.2 -> MOS 4.41.
        assert!(close(mos(93.2), 4.41, 0.005), "{}", mos(93.2));
        // The user-satisfaction boundaries of G.107 Annex B / G.109 (R 90, 80, 70, 60, 50).
        for (r, want) in [
            (90.0, 4.34),
            (80.0, 4.02),
            (70.0, 3.60),
            (60.0, 3.10),
            (50.0, 2.58),
        ] {
            assert!(close(mos(r), want, 0.01), "R {r}: {}", mos(r));
        }
        assert_eq!(mos(-5.0), 1.0);
        assert_eq!(mos(0.0), 1.0);
        assert_eq!(mos(100.0), 4.5);
        assert_eq!(mos(f64::NAN), 1.0);
    }

    #[test]
    fn delay_impairment_has_its_knee() {
        assert_eq!(delay_impairment(0.0), 0.0);
        assert!(close(delay_impairment(100.0), 2.4, 1e-9));
        assert!(close(delay_impairment(177.3), 4.2552, 1e-9));
        assert!(close(delay_impairment(300.0), 7.2 + 0.11 * 122.7, 1e-9));
        assert_eq!(delay_impairment(-10.0), 0.0);
    }

    #[test]
    fn equipment_impairment_with_loss() {
        let g711 = CodecImpairment::G711_PLC;
        assert_eq!(effective_equipment_impairment(g711, 0.0, 1.0), 0.0);
        // 2 % random loss: 95·2/(2 + 25.1) = 7.01.
        assert!(close(
            effective_equipment_impairment(g711, 2.0, 1.0),
            7.011,
            0.001
        ));
        let g729 = CodecImpairment::G729A_VAD;
        assert_eq!(effective_equipment_impairment(g729, 0.0, 1.0), 11.0);
        // 1 %: 11 + 84/(1 + 19) = 15.2.
        assert!(close(
            effective_equipment_impairment(g729, 1.0, 1.0),
            15.2,
            1e-9
        ));
        // Bursty loss hurts more than random loss.
        assert!(
            effective_equipment_impairment(g711, 2.0, 2.0)
                > effective_equipment_impairment(g711, 2.0, 1.0)
        );
        assert_eq!(
            effective_equipment_impairment(g711, 100.0, 1.0),
            95.0 * 100.0 / 125.1
        );
    }

    #[test]
    fn clean_and_impaired_calls() {
        let g711 = CodecImpairment::G711_PLC;
        let (r, m) = estimate(g711, &Direction::default());
        assert_eq!(r, R_DEFAULT);
        assert!(close(m, 4.41, 0.005));
        // 5 % loss, 80 ms round trips on one leg, 8 ms jitter: about 3.85.
        let d = Direction {
            loss_in_pct: 5.0,
            rtt_in_ms: Some(80.0),
            jitter_ms: 8.0,
            ..Direction::default()
        };
        let (r, m) = estimate(g711, &d);
        let want_r = 93.2 - 0.024 * 56.0 - 95.0 * 5.0 / 30.1;
        assert!(close(r, want_r, 1e-9), "{r}");
        assert!(m > 3.7 && m < 4.0, "{m}");
        // The far peer's count already holds the loss before the gateway.
        let both = Direction {
            loss_in_pct: 4.0,
            loss_out_pct: 10.0,
            ..Direction::default()
        };
        let (r2, _) = estimate(g711, &both);
        assert!(close(r2, r_factor(g711, 0.0, 10.0), 1e-9));
        assert_eq!(
            CodecImpairment::for_codec("g729"),
            CodecImpairment::G729A_VAD
        );
        assert_eq!(
            CodecImpairment::for_codec("opus"),
            CodecImpairment::G711_PLC
        );
    }
}
