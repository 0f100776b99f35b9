//! The CDR columns and their two encodings: CSV (RFC 4180, with a header line) and JSON
//! lines. One table of columns drives both, so they cannot drift apart.

use crate::switch::CallRecord;
use crate::switch::record::DirectionStats;
use serde_json::{Map, Value};
use std::time::SystemTime;

/// RFC 3339 UTC with milliseconds.
fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn opt<T: ToString>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |v| Value::String(v.to_string()))
}

fn num<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

fn initiator(i: mapping::model::Initiator) -> &'static str {
    match i {
        mapping::model::Initiator::Caller => "caller",
        mapping::model::Initiator::Callee => "callee",
        mapping::model::Initiator::Gateway => "gateway",
    }
}

fn stats(r: &CallRecord, caller: bool) -> Option<DirectionStats> {
    r.media
        .map(|m| if caller { m.from_caller } else { m.from_callee })
}

/// One column: its name and how a record fills it (`Null` for an empty field).
type Column = (&'static str, fn(&CallRecord) -> Value);

/// The columns, in file order.
pub const COLUMNS: &[Column] = &[
    ("call", |r| Value::from(r.call)),
    ("node", |r| Value::from(r.node.clone())),
    ("start", |r| Value::from(time(r.start))),
    ("answer", |r| opt(r.answer.map(time))),
    ("end", |r| Value::from(time(r.end))),
    ("duration_ms", |r| {
        Value::from(
            r.end
                .duration_since(r.start)
                .map_or(0, |d| d.as_millis() as u64),
        )
    }),
    ("billable_seconds", |r| Value::from(r.billable_seconds())),
    ("ingress_trunk", |r| Value::from(r.ingress_trunk.clone())),
    ("egress_trunk", |r| opt(r.egress_trunk.as_deref())),
    ("route", |r| opt(r.rule.as_deref())),
    ("attempt", |r| Value::from(r.attempt)),
    ("failed_over", |r| Value::from(r.failed_over)),
    ("ingress_call_id", |r| opt(r.ingress_call_id.as_deref())),
    ("egress_call_id", |r| opt(r.egress_call_id.as_deref())),
    ("calling_in", |r| opt(r.calling_in.as_deref())),
    ("called_in", |r| Value::from(r.called_in.clone())),
    ("calling_out", |r| opt(r.calling_out.as_deref())),
    ("called_out", |r| opt(r.called_out.as_deref())),
    ("cause", |r| Value::from(r.cause.value.0)),
    ("cause_name", |r| opt(r.cause.value.name())),
    ("initiator", |r| Value::from(initiator(r.initiator))),
    ("sip_status", |r| num(r.sip_status)),
    ("codec", |r| opt(r.codec.as_deref())),
    ("caller_packets", |r| num(stats(r, true).map(|s| s.packets))),
    ("caller_lost", |r| num(stats(r, true).map(|s| s.lost))),
    ("caller_jitter_ms", |r| {
        num(stats(r, true).map(|s| s.jitter_ms))
    }),
    (
        "callee_packets",
        |r| num(stats(r, false).map(|s| s.packets)),
    ),
    ("callee_lost", |r| num(stats(r, false).map(|s| s.lost))),
    ("callee_jitter_ms", |r| {
        num(stats(r, false).map(|s| s.jitter_ms))
    }),
    // RTCP and the E-model (media::rtcp, media::quality): per party, the round trip of its
    // leg, what it reports about the stream we send it, and the MOS estimate of its audio.
    ("caller_rtt_ms", |r| {
        num(stats(r, true).and_then(|s| s.rtt_ms))
    }),
    ("caller_rtt_max_ms", |r| {
        num(stats(r, true).and_then(|s| s.rtt_max_ms))
    }),
    ("caller_remote_lost", |r| {
        num(stats(r, true).and_then(|s| s.remote_lost))
    }),
    ("caller_remote_jitter_ms", |r| {
        num(stats(r, true).and_then(|s| s.remote_jitter_ms))
    }),
    ("caller_mos", |r| num(stats(r, true).and_then(|s| s.mos))),
    ("callee_rtt_ms", |r| {
        num(stats(r, false).and_then(|s| s.rtt_ms))
    }),
    ("callee_rtt_max_ms", |r| {
        num(stats(r, false).and_then(|s| s.rtt_max_ms))
    }),
    ("callee_remote_lost", |r| {
        num(stats(r, false).and_then(|s| s.remote_lost))
    }),
    ("callee_remote_jitter_ms", |r| {
        num(stats(r, false).and_then(|s| s.remote_jitter_ms))
    }),
    ("callee_mos", |r| num(stats(r, false).and_then(|s| s.mos))),
];

/// The CSV header line (with CRLF, RFC 4180 §2).
pub fn csv_header() -> Vec<u8> {
    csv_line(COLUMNS.iter().map(|(name, _)| (*name).to_owned()))
}

fn csv_line(fields: impl Iterator<Item = String>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing strings into memory cannot fail.
    let _ = w.write_record(fields.collect::<Vec<_>>());
    w.into_inner().unwrap_or_default()
}

/// One record as a CSV line.
pub fn csv_row(r: &CallRecord) -> Vec<u8> {
    csv_line(COLUMNS.iter().map(|(_, f)| match f(r) {
        Value::Null => String::new(),
        Value::String(s) => s,
        v => v.to_string(),
    }))
}

/// One record as a JSON line (with `\n`); empty fields are left out.
pub fn json_row(r: &CallRecord) -> Vec<u8> {
    let mut map = Map::new();
    for (name, f) in COLUMNS {
        let v = f(r);
        if !v.is_null() {
            map.insert((*name).to_owned(), v);
        }
    }
    let mut line = Value::Object(map).to_string().into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::switch::record::MediaFigures;
    use mapping::cause::{Cause, Q850Cause};
    use mapping::model::Initiator;
    use std::time::{Duration, UNIX_EPOCH};

    pub(crate) fn record() -> CallRecord {
        let start = UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
        CallRecord {
            call: 7,
            node: "gw1".into(),
            ingress_trunk: "pbx".into(),
            egress_trunk: Some("carrier".into()),
            egress_kind: Some("sip"),
            rule: Some("out".into()),
            attempt: 1,
            failed_over: false,
            ingress_call_id: Some("abc,\"1\"@host".into()),
            egress_call_id: None,
            ingress_peer: None,
            called_in: "94000".into(),
            calling_in: Some("2000".into()),
            called_out: Some("4000".into()),
            calling_out: Some("2000".into()),
            start,
            answer: Some(start + Duration::from_millis(2_500)),
            end: start + Duration::from_millis(62_600),
            setup_ms: 2500,
            cause: Cause::user(Q850Cause::NORMAL_CLEARING),
            initiator: Initiator::Callee,
            sip_status: None,
            codec: Some("PCMU".into()),
            media: Some(MediaFigures {
                from_caller: DirectionStats {
                    packets: 3000,
                    octets: 480_000,
                    lost: 2,
                    jitter_ms: 1,
                    rtt_ms: Some(82),
                    rtt_max_ms: Some(95),
                    remote_lost: Some(-1),
                    remote_jitter_ms: Some(3),
                    mos: Some(4.38),
                },
                from_callee: DirectionStats::default(),
            }),
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_matches_the_header() {
        let header = String::from_utf8(csv_header()).unwrap();
        let row = String::from_utf8(csv_row(&record())).unwrap();
        assert!(header.starts_with("call,node,start,answer,end,duration_ms,"));
        assert!(row.starts_with("7,gw1,2026-09-21T"), "{row}");
        assert!(
            row.contains(",\"abc,\"\"1\"\"@host\","),
            "RFC 4180 quoting: {row}"
        );
        assert!(row.ends_with("\r\n"));
        let text = format!("{header}{row}");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rec = reader.records().next().unwrap().unwrap();
        assert_eq!(rec.len(), COLUMNS.len());
        let col = |name: &str| &rec[COLUMNS.iter().position(|c| c.0 == name).unwrap()];
        assert_eq!(col("billable_seconds"), "60", "from answer to end");
        assert_eq!(col("cause"), "16");
        assert_eq!(col("cause_name"), "normal-call-clearing");
        assert_eq!(col("initiator"), "callee");
        assert_eq!(col("sip_status"), "", "no SIP status");
        assert_eq!((col("attempt"), col("failed_over")), ("1", "false"));
        assert_eq!(
            (col("caller_rtt_ms"), col("caller_rtt_max_ms")),
            ("82", "95")
        );
        assert_eq!(
            (col("caller_remote_lost"), col("caller_mos")),
            ("-1", "4.38")
        );
        assert_eq!((col("callee_rtt_ms"), col("callee_mos")), ("", ""));
    }

    #[test]
    fn json_lines_leave_out_empty_fields() {
        let line = json_row(&record());
        assert_eq!(line.last(), Some(&b'\n'));
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["cause"], 16);
        assert_eq!(v["caller_packets"], 3000);
        assert_eq!(v["caller_mos"], 4.38);
        assert_eq!(v["caller_remote_jitter_ms"], 3);
        assert!(v.get("callee_rtt_ms").is_none(), "no round trip measured");
        assert!(v.get("egress_call_id").is_none());
        assert_eq!(v["answer"], "2026-09-21T14:13:22.623Z");
    }
}
