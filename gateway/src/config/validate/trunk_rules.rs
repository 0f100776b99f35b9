//! Checks of `trunks:`: names, route tables, kind-specific ranges, span references and
//! the use of each span timeslot by one trunk at most.

use super::{check_codecs, check_unique};
use crate::config::channels::ChannelSet;
use crate::config::load::Loaded;
use crate::config::names::check_name;
use crate::config::path::FieldPath;
use crate::config::report::Report;
use crate::config::spans::{Span, SpanDriver, SpanType};
use crate::config::trunk::{
    H323Trunk, LocalTrunk, PriTrunk, R2Trunk, SipTrunk, Ss7Trunk, TrunkParams,
};
use std::collections::HashMap;

/// Who uses each (span, timeslot).
type Timeslots = HashMap<(String, u16), FieldPath>;

pub(super) fn check(l: &Loaded, report: &mut Report) {
    let base = FieldPath::root().key("trunks");
    let names = l
        .trunk_names
        .iter()
        .map(|(i, n)| (base.index(*i).key("name"), n.as_str()));
    check_unique("trunk", names, report);

    let mut used = Timeslots::new();
    for item in &l.trunks {
        let t = &item.value;
        let path = base.index(item.index);
        if let Err(e) = check_name(&t.name) {
            report.value(&path.key("name"), e);
        }
        if let Some(table) = &t.route_table
            && !l.routes.tables.contains(table)
        {
            report.value(
                &path.key("route_table"),
                format!("no route table `{table}` in routes"),
            );
        }
        if t.max_calls == Some(0) {
            report.value(
                &path.key("max_calls"),
                "must be at least 1 (omit it for no limit)",
            );
        }
        let mut ctx = Ctx {
            l,
            report: &mut *report,
            used: &mut used,
            path: &path,
        };
        match &t.params {
            TrunkParams::Sip(s) => ctx.sip(s),
            TrunkParams::H323(h) => ctx.h323(h),
            TrunkParams::Pri(p) => ctx.pri(p),
            TrunkParams::Ss7(s) => ctx.ss7(s),
            TrunkParams::R2(r) => ctx.r2(r),
            TrunkParams::Local(t) => ctx.local(t),
        }
    }
}

struct Ctx<'a> {
    l: &'a Loaded,
    report: &'a mut Report,
    used: &'a mut Timeslots,
    /// Path of the trunk.
    path: &'a FieldPath,
}

impl<'a> Ctx<'a> {
    fn local(&mut self, t: &LocalTrunk) {
        // The band a telephone channel carries (G.711 passband, ITU-T G.712).
        if !(300..=3400).contains(&t.tone_hz) {
            self.report
                .value(&self.path.key("tone_hz"), "must be between 300 and 3400 Hz");
        }
        if t.ring_ms > 600_000 {
            self.report.value(
                &self.path.key("ring_ms"),
                "must be at most 600000 (10 minutes)",
            );
        }
    }

    fn sip(&mut self, s: &SipTrunk) {
        if s.remote.is_empty() && s.users.is_empty() && self.report.intact(&self.path.key("remote"))
        {
            self.report.value(
                &self.path.key("remote"),
                "a sip trunk needs at least one remote address, or registered `users`",
            );
        }
        let users = s
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (self.path.key("users").index(i).key("name"), u.name.as_str()));
        check_unique("user", users, self.report);
        for (i, u) in s.users.iter().enumerate() {
            let bad = u.name.is_empty()
                || !u
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c));
            if bad {
                self.report.value(
                    &self.path.key("users").index(i).key("name"),
                    "a user name must be a non-empty SIP user part (RFC 3261 §25.1 unreserved characters)",
                );
            }
        }
        let tls = s.transport == crate::config::SipTransport::Tls;
        match &s.tls_ca_file {
            Some(_) if !tls => self.report.value(
                &self.path.key("tls_ca_file"),
                "`tls_ca_file` is only for transport tls",
            ),
            Some(f) if self.report.check_files => {
                if let Err(e) = crate::tls::client_config(Some(f)) {
                    self.report
                        .value(&self.path.key("tls_ca_file"), e.to_string());
                }
            }
            _ => {}
        }
        if s.tls_server_name.is_some() && !tls {
            self.report.value(
                &self.path.key("tls_server_name"),
                "`tls_server_name` is only for transport tls",
            );
        }
        if s.options_ping_seconds == Some(0) {
            self.report.value(
                &self.path.key("options_ping_seconds"),
                "must be at least 1 (omit it to turn pings off)",
            );
        }
        if let Some(r) = &s.register {
            if r.expiry_seconds < 60 {
                self.report.value(
                    &self.path.key("register").key("expiry_seconds"),
                    "must be at least 60",
                );
            }
            if r.user.is_empty() {
                self.report
                    .value(&self.path.key("register").key("user"), "must not be empty");
            }
        }
        if let Some(codecs) = &s.codecs {
            check_codecs(codecs, &self.path.key("codecs"), self.report);
        }
    }

    fn h323(&mut self, h: &H323Trunk) {
        if h.remote.is_none() && h.gatekeeper.is_none() {
            self.report.value(
                self.path,
                "an h323 trunk needs `remote`, `gatekeeper` or both",
            );
        }
        if let Some(gk) = &h.gatekeeper
            && gk.time_to_live_seconds == 0
        {
            self.report.value(
                &self.path.key("gatekeeper").key("time_to_live_seconds"),
                "must be at least 1",
            );
        }
        if let Some(codecs) = &h.codecs {
            check_codecs(codecs, &self.path.key("codecs"), self.report);
        }
    }

    fn pri(&mut self, p: &PriTrunk) {
        let span_path = self.path.key("span");
        let Some(span) = self.span(&p.span, &span_path) else {
            return;
        };
        if span.framing.is_cas() {
            self.report.value(
                &span_path,
                format!(
                    "span `{}` has CAS framing ({}): PRI needs ccs or ccs-crc4",
                    span.name,
                    span.framing.name()
                ),
            );
            return;
        }
        if let SpanDriver::Dahdi(d) = &span.driver
            && d.dchannel.is_none()
        {
            self.report.value(
                &span_path,
                format!(
                    "span `{}` is a DAHDI span without `driver.dchannel`, which a PRI trunk needs",
                    span.name
                ),
            );
        }
        let bearers = span.bearer_timeslots();
        let channels = self.channels(p.channels.as_ref(), &bearers, span, "B-channel");
        self.claim(span, &[span.signalling_timeslot()], &span_path);
        let at = if p.channels.is_some() {
            self.path.key("channels")
        } else {
            span_path
        };
        self.claim(span, &channels, &at);
    }

    fn r2(&mut self, r: &R2Trunk) {
        let span_path = self.path.key("span");
        let Some(span) = self.span(&r.span, &span_path) else {
            return;
        };
        if span.line != SpanType::E1 || !span.framing.is_cas() {
            self.report.value(
                &span_path,
                format!(
                    "R2 needs an e1 span with cas or cas-crc4 framing; `{}` is not",
                    span.name
                ),
            );
            return;
        }
        if r.max_dnis_digits == 0 || r.max_dnis_digits > 32 {
            self.report
                .value(&self.path.key("max_dnis_digits"), "max_dnis_digits is 1-32");
        }
        if r.max_ani_digits > 32 {
            self.report
                .value(&self.path.key("max_ani_digits"), "max_ani_digits is 0-32");
        }
        let bearers = bearer_channels(span);
        let channels = self.channels(r.channels.as_ref(), &bearers, span, "voice channel");
        self.claim(span, &[span.signalling_timeslot()], &span_path);
        let at = if r.channels.is_some() {
            self.path.key("channels")
        } else {
            span_path
        };
        self.claim(span, &channels, &at);
    }

    fn ss7(&mut self, s: &Ss7Trunk) {
        let bits = s.variant.point_code_bits();
        for (key, pc) in [("opc", s.opc), ("dpc", s.dpc)] {
            if pc >= 1 << bits {
                self.report.value(
                    &self.path.key(key),
                    format!(
                        "{pc} does not fit a {bits}-bit point code (0-{})",
                        (1u32 << bits) - 1
                    ),
                );
            }
        }
        if s.opc == s.dpc {
            self.report
                .value(&self.path.key("dpc"), "dpc must differ from opc");
        }
        if (s.links.is_empty() && self.report.intact(&self.path.key("links"))) || s.links.len() > 16
        {
            self.report
                .value(&self.path.key("links"), "a link set has 1-16 links");
        }
        for (k, link) in s.links.iter().enumerate() {
            let lp = self.path.key("links").index(k);
            let Some(span) = self.span(&link.span, &lp.key("span")) else {
                continue;
            };
            if span.framing.is_cas() {
                self.report.value(
                    &lp.key("span"),
                    format!("span `{}` has CAS framing: SS7 needs ccs", span.name),
                );
                continue;
            }
            if !span.timeslots().contains(&link.timeslot) {
                self.report.value(&lp.key("timeslot"), timeslot_range(span));
                continue;
            }
            self.claim(span, &[link.timeslot], &lp.key("timeslot"));
        }
        if s.circuits.is_empty() && self.report.intact(&self.path.key("circuits")) {
            self.report.value(
                &self.path.key("circuits"),
                "at least one circuit group is needed",
            );
        }
        let mut cics: Vec<(u32, u32, usize)> = Vec::new();
        for (k, group) in s.circuits.iter().enumerate() {
            let gp = self.path.key("circuits").index(k);
            let first = u32::from(group.first_cic);
            let last = first + group.timeslots.len().saturating_sub(1) as u32;
            if last > u32::from(s.variant.max_cic()) {
                self.report.value(
                    &gp.key("first_cic"),
                    format!(
                        "CICs {first}-{last} go past {}, the largest of this variant",
                        s.variant.max_cic()
                    ),
                );
            }
            if let Some((a, b, other)) = cics.iter().find(|(a, b, _)| first <= *b && *a <= last) {
                self.report.value(
                    &gp.key("first_cic"),
                    format!("CICs {first}-{last} overlap {a}-{b} of circuits[{other}]"),
                );
            }
            cics.push((first, last, k));
            let Some(span) = self.span(&group.span, &gp.key("span")) else {
                continue;
            };
            if span.framing.is_cas() {
                self.report.value(
                    &gp.key("span"),
                    format!("span `{}` has CAS framing: SS7 needs ccs", span.name),
                );
                continue;
            }
            let all: Vec<u16> = span.timeslots().collect();
            let ts = self.channels(Some(&group.timeslots), &all, span, "timeslot");
            self.claim(span, &ts, &gp.key("timeslots"));
        }
    }

    /// The span named at `path`; reports an unknown one. `None` also when it is known but
    /// failed to read (its own errors are reported).
    fn span(&mut self, name: &str, path: &FieldPath) -> Option<&'a Span> {
        let l: &'a Loaded = self.l;
        if !l.has_span(name) {
            self.report.value(path, format!("unknown span `{name}`"));
        }
        l.span(name)
    }

    /// The channels given (checked to be among `allowed`) or, when none are given, all of
    /// `allowed`.
    fn channels(
        &mut self,
        given: Option<&ChannelSet>,
        allowed: &[u16],
        span: &Span,
        what: &str,
    ) -> Vec<u16> {
        let Some(given) = given else {
            return allowed.to_vec();
        };
        let path = self.path.key("channels");
        let mut out = Vec::new();
        for &c in given.numbers() {
            if allowed.contains(&c) {
                out.push(c);
            } else {
                let allowed = ChannelSet::from_numbers(allowed.iter().copied());
                self.report.value(
                    &path,
                    format!("{c} is not a {what} of span `{}` ({allowed})", span.name),
                );
                break;
            }
        }
        out
    }

    /// Records that the trunk uses `timeslots` of `span` (named at `at`); reports those
    /// already used, once per earlier user.
    fn claim(&mut self, span: &Span, timeslots: &[u16], at: &FieldPath) {
        let mut taken: Vec<(FieldPath, Vec<u16>)> = Vec::new();
        for &t in timeslots {
            let key = (span.name.clone(), t);
            match self.used.get(&key) {
                Some(owner) => match taken.iter_mut().find(|(o, _)| o == owner) {
                    Some((_, list)) => list.push(t),
                    None => taken.push((owner.clone(), vec![t])),
                },
                None => {
                    self.used.insert(key, at.clone());
                }
            }
        }
        for (owner, list) in taken {
            let owner = crate::config::collect::to_original(&owner, &self.report.removed);
            let (noun, verb) = if list.len() == 1 {
                ("timeslot", "is")
            } else {
                ("timeslots", "are")
            };
            let list = ChannelSet::from_numbers(list);
            self.report.value(
                at,
                format!(
                    "{noun} {list} of span `{}` {verb} already used by {owner}",
                    span.name
                ),
            );
        }
    }
}

/// The timeslots of a span that carry calls: all but the signalling one.
fn bearer_channels(span: &Span) -> Vec<u16> {
    let d = span.signalling_timeslot();
    span.timeslots().filter(|t| *t != d).collect()
}

fn timeslot_range(span: &Span) -> String {
    let r = span.timeslots();
    format!(
        "span `{}` has timeslots {}-{}",
        span.name,
        r.start(),
        r.end()
    )
}
