//! Checks of the single sections: general, listeners (TLS files), media, CDR, RADIUS.

use super::check_codecs;
use crate::config::cdr::FsyncPolicy;
use crate::config::listeners::SipTransport;
use crate::config::load::Loaded;
use crate::config::names::check_name;
use crate::config::path::FieldPath;
use crate::config::report::Report;

pub(super) fn check(l: &Loaded, report: &mut Report) {
    let root = FieldPath::root();
    if let Some(g) = &l.general
        && let Err(e) = check_name(&g.node_name)
    {
        report.value(&root.key("general").key("node_name"), e);
    }

    if let Some(sip) = &l.sip {
        check_sip(sip, &root.key("sip"), report);
    }

    if let Some(listeners) = &l.listeners {
        let path = root.key("listeners").key("sip");
        for (i, s) in listeners.sip.iter().enumerate() {
            match (s.transport, &s.tls) {
                (SipTransport::Tls, None) => report.value(
                    &path.index(i),
                    "a tls listener needs `tls: {certificate, private_key}`",
                ),
                (SipTransport::Udp | SipTransport::Tcp, Some(_)) => report.value(
                    &path.index(i).key("tls"),
                    format!(
                        "`tls` files are only for transport tls, not {}",
                        s.transport.name()
                    ),
                ),
                (SipTransport::Tls, Some(files)) if report.check_files => {
                    if let Err(e) = crate::tls::server_config(files) {
                        report.value(&path.index(i).key("tls"), e.to_string());
                    }
                }
                _ => {}
            }
        }
    }

    if let Some(m) = &l.media {
        let path = root.key("media");
        check_codecs(&m.codecs, &path.key("codecs"), report);
        if !(10..=60).contains(&m.ptime_ms) || m.ptime_ms % 10 != 0 {
            report.value(
                &path.key("ptime_ms"),
                "ptime_ms is 10, 20, 30, 40, 50 or 60",
            );
        }
    }

    if let Some(c) = &l.cdr {
        let path = root.key("cdr");
        if c.formats.is_empty() && report.intact(&path.key("formats")) {
            report.value(
                &path.key("formats"),
                "at least one format is needed: csv, jsonl",
            );
        }
        for (i, f) in c.formats.iter().enumerate() {
            if c.formats[..i].contains(f) {
                report.value(&path.key("formats").index(i), "format listed twice");
            }
        }
        match (c.fsync, c.fsync_interval_seconds) {
            (FsyncPolicy::Interval, Some(0)) => {
                report.value(&path.key("fsync_interval_seconds"), "must be at least 1");
            }
            (FsyncPolicy::Always | FsyncPolicy::Never, Some(_)) => report.value(
                &path.key("fsync_interval_seconds"),
                "only meaningful with `fsync: interval`",
            ),
            _ => {}
        }
        let rotation = path.key("rotation");
        if c.rotation.max_size_mib == Some(0) {
            report.value(
                &rotation.key("max_size_mib"),
                "must be at least 1 (null: no limit)",
            );
        }
        if c.rotation.interval_seconds == Some(0) {
            report.value(
                &rotation.key("interval_seconds"),
                "must be at least 1 (null: no limit)",
            );
        }
    }

    if let Some(r) = &l.radius {
        let path = root.key("radius");
        if r.servers.is_empty() && report.intact(&path.key("servers")) {
            report.value(&path.key("servers"), "at least one server is needed");
        }
        for (i, s) in r.servers.iter().enumerate() {
            let sp = path.key("servers").index(i);
            if s.auth_port.is_none() && s.acct_port.is_none() {
                report.value(&sp, "give `auth_port`, `acct_port` or both");
            }
            for (key, port) in [("auth_port", s.auth_port), ("acct_port", s.acct_port)] {
                if port == Some(0) {
                    report.value(&sp.key(key), "port 0 is not allowed");
                }
            }
        }
        if r.timeout_seconds == 0 {
            report.value(&path.key("timeout_seconds"), "must be at least 1");
        }
        if r.retry_interval_seconds == 0 {
            report.value(&path.key("retry_interval_seconds"), "must be at least 1");
        }
        if r.interim_seconds == Some(0) {
            report.value(
                &path.key("interim_seconds"),
                "must be at least 1 (null: none)",
            );
        }
        for (key, cause) in [
            ("reject_cause", r.reject_cause),
            ("unavailable_cause", r.unavailable_cause),
        ] {
            if !(1..=127).contains(&cause) {
                report.value(&path.key(key), "a Q.850 cause is 1..=127");
            }
        }
        for (i, t) in r.authenticate.iter().enumerate() {
            if !l.trunk_names.iter().any(|(_, n)| n == t) {
                report.value(
                    &path.key("authenticate").index(i),
                    format!("unknown trunk `{t}`"),
                );
            }
        }
        if !r.authenticate.is_empty() && !r.servers.iter().any(|s| s.auth_port.is_some()) {
            report.value(
                &path.key("authenticate"),
                "no server has an `auth_port` to authenticate with",
            );
        }
    }
}

/// `sip:`: timers in order (RFC 3261 §17.1.2.2 needs T1 <= T2), registrar limits and
/// session-timer intervals in order.
fn check_sip(sip: &crate::config::sip::Sip, path: &FieldPath, report: &mut Report) {
    let t = &sip.timers;
    let timers = path.key("timers");
    if t.t1_ms == 0 {
        report.value(&timers.key("t1_ms"), "T1 must be at least 1 ms");
    }
    if t.t2_ms < t.t1_ms {
        report.value(&timers.key("t2_ms"), "T2 must not be shorter than T1");
    }
    if t.t4_ms == 0 {
        report.value(&timers.key("t4_ms"), "T4 must be at least 1 ms");
    }
    if sip.max_message_bytes < 1500 {
        report.value(
            &path.key("max_message_bytes"),
            "must be at least 1500 octets (RFC 3261 §18.1.1)",
        );
    }
    let r = &sip.registrar;
    let reg = path.key("registrar");
    if r.min_expires_seconds == 0 {
        report.value(&reg.key("min_expires_seconds"), "must be at least 1");
    }
    if r.max_expires_seconds < r.min_expires_seconds {
        report.value(
            &reg.key("max_expires_seconds"),
            "must not be shorter than min_expires_seconds",
        );
    }
    if r.default_expires_seconds < r.min_expires_seconds
        || r.default_expires_seconds > r.max_expires_seconds
    {
        report.value(
            &reg.key("default_expires_seconds"),
            "must lie between min_expires_seconds and max_expires_seconds",
        );
    }
    if r.max_contacts == 0 {
        report.value(&reg.key("max_contacts"), "must be at least 1");
    }
    if r.nonce_lifetime_seconds == 0 {
        report.value(&reg.key("nonce_lifetime_seconds"), "must be at least 1");
    }
    let st = &sip.session_timer;
    let stp = path.key("session_timer");
    if st.min_se_seconds < 90 {
        report.value(
            &stp.key("min_se_seconds"),
            "must be at least 90 (RFC 4028 §4)",
        );
    }
    if st.interval_seconds < st.min_se_seconds {
        report.value(
            &stp.key("interval_seconds"),
            "must not be shorter than min_se_seconds",
        );
    }
}
