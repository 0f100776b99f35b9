//! Checks of `spans:`: names, framing and line code against the span type, drivers.

use super::check_unique;
use crate::config::load::Loaded;
use crate::config::names::check_name;
use crate::config::path::FieldPath;
use crate::config::report::Report;
use crate::config::spans::{DahdiDriver, LineCode, PseudowireProtocol, Span, SpanDriver, SpanType};

pub(super) fn check(l: &Loaded, report: &mut Report) {
    let base = FieldPath::root().key("spans");
    let names = l
        .span_names
        .iter()
        .map(|(i, n)| (base.index(*i).key("name"), n.as_str()));
    check_unique("span", names, report);

    let mut dahdi: Vec<(u32, FieldPath)> = Vec::new();
    for item in &l.spans {
        let s = &item.value;
        let path = base.index(item.index);
        if let Err(e) = check_name(&s.name) {
            report.value(&path.key("name"), e);
        }
        if !s.framing.fits(s.line) {
            report.value(
                &path.key("framing"),
                format!(
                    "framing {} is not for {} (e1: ccs, ccs-crc4, cas, cas-crc4; t1: esf, d4)",
                    s.framing.name(),
                    line_name(s.line)
                ),
            );
        }
        let code_ok = match s.line_code {
            LineCode::Ami => true,
            LineCode::Hdb3 => s.line == SpanType::E1,
            LineCode::B8zs => s.line == SpanType::T1,
        };
        if !code_ok {
            report.value(
                &path.key("line_code"),
                format!(
                    "line code not for {} (e1: hdb3, ami; t1: b8zs, ami)",
                    line_name(s.line)
                ),
            );
        }
        let dp = path.key("driver");
        match &s.driver {
            SpanDriver::Dahdi(d) => {
                // `check-config`, `run` and reloads check the build too.
                if report.check_files && !cfg!(feature = "dahdi") {
                    report.value(
                        &dp.key("kind"),
                        "this gatewayd was built without the DAHDI span driver (cargo feature `dahdi`)",
                    );
                }
                check_dahdi_channels(s, d, &dp, report);
                if d.span == 0 {
                    report.value(&dp.key("span"), "DAHDI spans are numbered from 1");
                } else if let Some((_, first)) = dahdi.iter().find(|(n, _)| *n == d.span) {
                    let first = first.clone();
                    report.value(
                        &dp.key("span"),
                        format!("DAHDI span {} is also used by {first}", d.span),
                    );
                } else {
                    dahdi.push((d.span, path.clone()));
                }
            }
            SpanDriver::Pseudowire(p) => {
                if !(1..=64).contains(&p.frames_per_packet) {
                    report.value(&dp.key("frames_per_packet"), "frames_per_packet is 1-64");
                }
                if !(1..=100).contains(&p.jitter_buffer_ms) {
                    report.value(&dp.key("jitter_buffer_ms"), "jitter_buffer_ms is 1-100");
                }
                if p.remote.port() == 0 {
                    report.value(&dp.key("remote"), "port 0 is not allowed");
                }
                // T1 SAToP carries 193-bit frames; our SAToP writes E1 frames only.
                if p.protocol == PseudowireProtocol::Satop && s.line == SpanType::T1 {
                    report.value(&dp.key("protocol"), "satop is supported on e1 spans only");
                }
            }
            SpanDriver::Test(t) => {
                if t.socket.as_os_str().is_empty() {
                    report.value(&dp.key("socket"), "a socket path is needed");
                }
            }
        }
    }
}

/// `dchannel` must place the span on channels from 1 up; `bearers` must be other
/// timeslots of the span than the D-channel's.
fn check_dahdi_channels(s: &Span, d: &DahdiDriver, dp: &FieldPath, report: &mut Report) {
    let ts = s.signalling_timeslot();
    let Some(dchannel) = d.dchannel else {
        if d.bearers.is_some() {
            report.value(
                &dp.key("bearers"),
                "needs `dchannel`, which places the span's timeslots on DAHDI's channel numbers",
            );
        }
        return;
    };
    if s.framing.is_cas() {
        report.value(
            &dp.key("dchannel"),
            format!(
                "a span with {} framing has no D-channel (timeslot {ts} carries the ABCD bits)",
                s.framing.name()
            ),
        );
        return;
    }
    if d.first_channel(s).is_none() {
        report.value(
            &dp.key("dchannel"),
            format!(
                "channel {dchannel} cannot be timeslot {ts}: the span's timeslot 1 would be below channel 1"
            ),
        );
        return;
    }
    let Some(bearers) = &d.bearers else {
        return;
    };
    let (lo, hi) = (
        d.channel_of(s, *s.timeslots().start()).unwrap_or(0),
        d.channel_of(s, *s.timeslots().end()).unwrap_or(0),
    );
    for &c in bearers.numbers() {
        let problem = match d.timeslot_of(s, c) {
            None => format!(
                "channel {c} is not on this span (channels {lo}-{hi} with dchannel {dchannel})"
            ),
            Some(t) if t == ts => format!("channel {c} is the D-channel"),
            Some(_) => continue,
        };
        report.value(&dp.key("bearers"), problem);
        break;
    }
}

fn line_name(line: SpanType) -> &'static str {
    match line {
        SpanType::E1 => "e1",
        SpanType::T1 => "t1",
    }
}
