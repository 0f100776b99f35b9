//! One check at a time: each snippet is added to a minimal valid configuration and must
//! give exactly the errors listed (FILE:LINE:COL: path: message).

use gateway::config::Config;

/// A minimal valid configuration: five lines, so added snippets start at line 6.
const BASE: &str = "\
listeners:
  sip:
    - { transport: udp, address: \"127.0.0.1:5060\" }
metrics:
  listen: \"127.0.0.1:9464\"
";

/// Spans and trunks the route snippets refer to (lines 6-21).
const LINES: &str = "\
spans:
  - name: e1a
    type: e1
    driver: { kind: test, socket: /run/e1a.sock }
  - name: e1b
    type: e1
    framing: cas
    driver: { kind: dahdi, span: 3 }
trunks:
  - { name: pbx, kind: pri, span: e1a, side: network, switch: euroisdn }
  - { name: carrier, kind: sip, remote: \"192.0.2.1:5060\" }
  - { name: backup, kind: sip, remote: \"192.0.2.2:5060\" }
  - name: r2
    kind: r2
    span: e1b
    variant: br
";

fn errors(text: &str) -> Vec<String> {
    match Config::parse("t.yaml", text) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

/// Each error with the text it points at, for failure messages.
fn pointed(text: &str, got: &[String]) -> String {
    got.iter()
        .map(|e| {
            let mut parts = e.splitn(4, ':').skip(1);
            let line: usize = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
            let col: usize = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            let at = text
                .lines()
                .nth(line.saturating_sub(1))
                .map(|l| {
                    l.chars()
                        .skip(col.saturating_sub(1))
                        .take(30)
                        .collect::<String>()
                })
                .unwrap_or_default();
            format!("{e}\n    -> {at}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
fn assert_errors(snippet: &str, expected: &[&str]) {
    let text = format!("{BASE}{snippet}");
    let got = errors(&text);
    assert_eq!(got, expected, "\n{}", pointed(&text, &got));
}

#[test]
fn the_bases_are_valid() {
    assert_errors("", &[]);
    assert_errors(LINES, &[]);
}

#[test]
fn satop_is_for_e1_spans() {
    let snippet = "\
spans:
  - { name: t1, type: t1, driver: { kind: pseudowire, protocol: satop, local: \"127.0.0.1:41000\", remote: \"192.0.2.9:41000\" } }
";
    let got = errors(&format!("{BASE}{snippet}"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].ends_with("spans[0].driver.protocol: satop is supported on e1 spans only"),
        "{got:?}"
    );
}

#[test]
fn a_syntax_error_has_its_own_place() {
    let got = errors("listeners:\n  sip:\n    - a\n   b: c\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("t.yaml:4:"), "{got:?}");
    assert!(got[0].contains("YAML syntax error"), "{got:?}");
}

#[test]
fn an_empty_file_misses_its_required_sections() {
    assert_eq!(
        errors(""),
        [
            "t.yaml:1:1: listeners: missing section `listeners`",
            "t.yaml:1:1: metrics: missing section `metrics`",
        ]
    );
}

#[test]
fn unknown_sections_point_at_their_key() {
    assert_errors(
        "trunk: []\n",
        &[
            "t.yaml:6:1: trunk: unknown section `trunk`, expected one of: general, listeners, metrics, media, sip, spans, trunks, routes, cdr, radius",
        ],
    );
}

#[test]
fn trunk_kinds_are_checked() {
    assert_errors(
        "trunks:\n  - { name: a, kind: isdn }\n  - { name: b, remote: \"x:1\" }\n  - { kind: sip, remote: \"x:1\" }\n",
        &[
            "t.yaml:7:22: trunks[0].kind: unknown kind `isdn`, expected one of: sip, h323, pri, ss7, r2, local",
            "t.yaml:8:5: trunks[1].kind: missing field `kind` (one of: sip, h323, pri, ss7, r2, local)",
            "t.yaml:9:5: trunks[2].name: missing field `name`",
        ],
    );
}

#[test]
fn one_trunk_reports_several_errors() {
    assert_errors(
        "trunks:\n  - name: c\n    kind: sip\n    remote: [\"a:1\", \"b\", \"c:0\"]\n    dtmf: rfc2833\n    codecs: [PCMA, GSM]\n",
        &[
            "t.yaml:9:21: trunks[0].remote[1]: `b`: expected host:port (the port is required)",
            "t.yaml:9:26: trunks[0].remote[2]: `0` is not a port (1-65535)",
            "t.yaml:10:11: trunks[0].dtmf: unknown variant `rfc2833`, expected one of: rfc4733, info, inband",
            "t.yaml:11:20: trunks[0].codecs[1]: unknown variant `GSM`, expected one of: PCMA, PCMU, G729, G722, opus, L16, telephone-event",
        ],
    );
}

#[test]
fn dahdi_channels_are_checked() {
    let snippet = "\
spans:
  - { name: a, type: e1, driver: { kind: dahdi, span: 1, dchannel: 16, bearers: \"1-15,17-20\" } }
  - { name: b, type: e1, driver: { kind: dahdi, span: 2, dchannel: 10 } }
  - { name: c, type: e1, driver: { kind: dahdi, span: 3, dchannel: 78, bearers: \"62-70\" } }
  - { name: h, type: e1, driver: { kind: dahdi, span: 8, dchannel: 233, bearers: \"218-233\" } }
  - { name: d, type: e1, driver: { kind: dahdi, span: 4, bearers: \"94-100\" } }
  - { name: e, type: e1, framing: cas, driver: { kind: dahdi, span: 5, dchannel: 140 } }
  - { name: f, type: e1, driver: { kind: dahdi, span: 6 } }
  - { name: g, type: t1, driver: { kind: dahdi, span: 7, dchannel: 200, bearers: \"177-199\" } }
trunks:
  - { name: p, kind: pri, span: a, side: network, switch: euroisdn, channels: \"1-5,21\" }
  - { name: q, kind: pri, span: f, side: network, switch: euroisdn }
  - { name: r, kind: pri, span: g, side: user, switch: ni2 }
";
    assert_errors(
        snippet,
        &[
            "t.yaml:8:68: spans[1].driver.dchannel: channel 10 cannot be timeslot 16: the span's timeslot 1 would be below channel 1",
            "t.yaml:9:81: spans[2].driver.bearers: channel 62 is not on this span (channels 63-93 with dchannel 78)",
            "t.yaml:10:82: spans[3].driver.bearers: channel 233 is the D-channel",
            "t.yaml:11:67: spans[4].driver.bearers: needs `dchannel`, which places the span's timeslots on DAHDI's channel numbers",
            "t.yaml:12:82: spans[5].driver.dchannel: a span with cas framing has no D-channel (timeslot 16 carries the ABCD bits)",
            "t.yaml:16:79: trunks[0].channels: 21 is not a B-channel of span `a` (1-15,17-20)",
            "t.yaml:17:33: trunks[1].span: span `f` is a DAHDI span without `driver.dchannel`, which a PRI trunk needs",
        ],
    );
}

#[test]
fn spans_and_timeslots_are_checked() {
    let snippet = "\
spans:
  - { name: e1, type: e1, framing: esf, driver: { kind: dahdi, span: 1 } }
  - { name: t1, type: t1, line_code: hdb3, driver: { kind: dahdi, span: 1 } }
  - { name: cas, type: e1, framing: cas, driver: { kind: test, socket: /s } }
  - { name: ccs, type: e1, driver: { kind: pseudowire, protocol: satop, local: \"0.0.0.0:5060\", remote: \"192.0.2.9:5060\" } }
trunks:
  - { name: p, kind: pri, span: cas, side: user, switch: ni2 }
  - { name: r, kind: r2, span: ccs, variant: mx }
  - { name: q, kind: pri, span: ccs, side: user, switch: qsig, channels: \"1-10\" }
  - name: s
    kind: ss7
    variant: itu
    opc: 16384
    dpc: 1
    links: [{ span: ccs, timeslot: 16 }, { span: nowhere, timeslot: 1 }]
    circuits: [{ span: ccs, timeslots: \"5-15,17-31\", first_cic: 4090 }]
";
    assert_errors(
        snippet,
        &[
            "t.yaml:7:36: spans[0].framing: framing esf is not for e1 (e1: ccs, ccs-crc4, cas, cas-crc4; t1: esf, d4)",
            "t.yaml:8:38: spans[1].line_code: line code not for t1 (e1: hdb3, ami; t1: b8zs, ami)",
            "t.yaml:8:73: spans[1].driver.span: DAHDI span 1 is also used by spans[0]",
            "t.yaml:10:80: spans[3].driver.local: port clash: udp 0.0.0.0:5060 is also used by listeners.sip[0].address (127.0.0.1:5060)",
            "t.yaml:12:33: trunks[0].span: span `cas` has CAS framing (cas): PRI needs ccs or ccs-crc4",
            "t.yaml:13:32: trunks[1].span: R2 needs an e1 span with cas or cas-crc4 framing; `ccs` is not",
            "t.yaml:18:10: trunks[3].opc: 16384 does not fit a 14-bit point code (0-16383)",
            "t.yaml:20:36: trunks[3].links[0].timeslot: timeslot 16 of span `ccs` is already used by trunks[2].span",
            "t.yaml:20:50: trunks[3].links[1].span: unknown span `nowhere`",
            "t.yaml:21:40: trunks[3].circuits[0].timeslots: timeslots 5-10 of span `ccs` are already used by trunks[2].channels",
            "t.yaml:21:65: trunks[3].circuits[0].first_cic: CICs 4090-4115 go past 4095, the largest of this variant",
        ],
    );
}

#[test]
fn tls_listeners_need_their_files() {
    let text = "\
listeners:
  sip:
    - { transport: tls, address: \"127.0.0.1:5061\" }
    - { transport: tcp, address: \"127.0.0.1:5062\", tls: { certificate: c.pem, private_key: k.pem } }
  ras:
    - address: \"127.0.0.1:10000\"
metrics:
  listen: \"127.0.0.1:5061\"
";
    let got = errors(text);
    assert_eq!(
        got,
        [
            "t.yaml:3:7: listeners.sip[0]: a tls listener needs `tls: {certificate, private_key}`",
            "t.yaml:4:57: listeners.sip[1].tls: `tls` files are only for transport tls, not tcp",
            "t.yaml:6:16: listeners.ras[0].address: port clash: udp port 10000 is inside media.rtp_port_range 10000-20000",
            "t.yaml:8:11: metrics.listen: port clash: tcp 127.0.0.1:5061 is also used by listeners.sip[0].address (127.0.0.1:5061)",
        ],
        "\n{}",
        pointed(text, &got)
    );
}

#[test]
fn route_rules_are_checked() {
    let snippet = format!(
        "{LINES}routes:
  default:
    - name: a
      egress: [{{ trunk: carrier, weight: 2 }}]
    - name: b
      strategy: weighted
      egress: [{{ trunk: carrier, weight: 0 }}, {{ trunk: backup, weight: 0 }}]
    - name: c
      egress: []
      failover_causes: [34, 503]
    - name: a
      rewrite:
        called: {{ replace: {{ regex: \"^0(\\\\d+)\", with: \"+49$2\" }} }}
      match: {{ ingress: [pbx, ghost] }}
      egress: [carrier, carrier]
"
    );
    assert_errors(
        &snippet,
        &[
            "t.yaml:25:42: routes.default[0].egress[0].weight: `weight` needs `strategy: weighted` (failover tries the list in order)",
            "t.yaml:28:15: routes.default[1].egress: every weight is 0: at least one egress trunk needs a weight above 0",
            "t.yaml:30:15: routes.default[2].egress: at least one egress trunk is needed",
            "t.yaml:31:29: routes.default[2].failover_causes[1]: 503 is not a Q.850 cause value (1-127); SIP statuses are given as their causes (RFC 3398: 503 is 41 or 34)",
            "t.yaml:32:13: routes.default[3].name: duplicate rule name `a` (first used by routes.default[0])",
            "t.yaml:34:55: routes.default[3].rewrite.called.replace.with: `with` refers to group `2`, which the regex does not have",
            "t.yaml:35:31: routes.default[3].match.ingress[1]: unknown trunk `ghost`",
            "t.yaml:36:25: routes.default[3].egress[1]: trunk `carrier` is listed twice",
        ],
    );
}

#[test]
fn an_empty_egress_of_a_clean_rule_is_an_error() {
    let snippet = format!("{LINES}routes:\n  default:\n    - {{ name: x, egress: [] }}\n");
    assert_errors(
        &snippet,
        &["t.yaml:24:26: routes.default[0].egress: at least one egress trunk is needed"],
    );
}

#[test]
fn trunks_name_existing_route_tables() {
    let snippet = "trunks:\n  - { name: a, kind: sip, remote: \"h:1\", route_table: inbound }\n";
    assert_errors(
        snippet,
        &["t.yaml:7:55: trunks[0].route_table: no route table `inbound` in routes"],
    );
}

#[test]
fn digit_strings_keep_every_character_or_fail() {
    for (written, shown) in [("+49", "+49"), ("0049", "0049"), ("49", "49")] {
        let snippet = format!(
            "{LINES}routes:\n  default:\n    - {{ name: x, match: {{ called: {{ prefix: {written} }} }}, egress: [carrier] }}\n"
        );
        let got = errors(&format!("{BASE}{snippet}"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].ends_with(&format!("write \"{shown}\" with the quotes")),
            "{got:?}"
        );
    }
    let quoted = format!(
        "{LINES}routes:\n  default:\n    - {{ name: x, match: {{ called: {{ prefix: \"0049\" }} }}, egress: [carrier] }}\n"
    );
    assert_errors(&quoted, &[]);
}

#[test]
fn radius_and_cdr_are_checked() {
    let snippet = "\
cdr:
  formats: []
  fsync: never
  fsync_interval_seconds: 5
radius:
  servers:
    - { address: \"radius:1812\", secret: \"s\" }
    - { address: 192.0.2.1, secret: 1234, acct_port: null }
";
    assert_errors(
        snippet,
        &[
            "t.yaml:7:12: cdr.formats: at least one format is needed: csv, jsonl",
            "t.yaml:9:27: cdr.fsync_interval_seconds: only meaningful with `fsync: interval`",
            "t.yaml:12:18: radius.servers[0].address: `radius:1812` is not a host name or IP address (give the ports apart)",
            "t.yaml:13:37: radius.servers[1].secret: invalid type: integer `1234`, expected a string",
        ],
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let snippet = "radius:\n  servers:\n    - { address: 192.0.2.1, secret: \"topsecret\" }\n";
    let c = Config::parse("t.yaml", &format!("{BASE}{snippet}")).expect("valid");
    assert!(!format!("{c:?}").contains("topsecret"));
}

#[test]
fn anchors_and_aliases_are_expanded() {
    let ok = "\
trunks:
  - { name: a, kind: sip, remote: &r \"192.0.2.1:5060\" }
  - { name: b, kind: sip, remote: *r }
";
    let c = Config::parse("t.yaml", &format!("{BASE}{ok}")).expect("valid");
    assert_eq!(c.trunks.len(), 2);
    // An alias to an anchor that does not exist is a syntax error.
    let bad = "trunks:\n  - { name: b, kind: sip, remote: *nowhere }\n";
    let got = errors(&format!("{BASE}{bad}"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("t.yaml:7:"), "{got:?}");
}

#[test]
fn sip_trunks_of_registered_users() {
    assert_errors(
        "trunks:\n  - name: phones\n    kind: sip\n    users:\n      - { name: \"3000\", password: pw }\n",
        &[],
    );
    assert_errors(
        "trunks:\n  - name: phones\n    kind: sip\n    users:\n      - { name: \"3000\", password: pw }\n      - { name: \"3000\", password: pw2 }\n      - { name: \"a b\", password: pw }\n  - { name: empty, kind: sip }\n",
        &[
            "t.yaml:11:17: trunks[0].users[1].name: duplicate user name `3000` (first used by trunks[0].users[0])",
            "t.yaml:12:17: trunks[0].users[2].name: a user name must be a non-empty SIP user part (RFC 3261 §25.1 unreserved characters)",
            "t.yaml:13:5: trunks[1].remote: a sip trunk needs at least one remote address, or registered `users`",
        ],
    );
}

#[test]
fn sip_timers_and_registrar_limits_are_ordered() {
    assert_errors(
        "sip:\n  timers: { t1_ms: 500, t2_ms: 400 }\n  max_message_bytes: 100\n  registrar: { min_expires_seconds: 600, max_expires_seconds: 300 }\n",
        &[
            "t.yaml:7:32: sip.timers.t2_ms: T2 must not be shorter than T1",
            "t.yaml:8:22: sip.max_message_bytes: must be at least 1500 octets (RFC 3261 §18.1.1)",
            "t.yaml:9:14: sip.registrar.default_expires_seconds: must lie between min_expires_seconds and max_expires_seconds",
            "t.yaml:9:63: sip.registrar.max_expires_seconds: must not be shorter than min_expires_seconds",
        ],
    );
    assert_errors(
        "sip:\n  session_timer: { interval_seconds: 20, min_se_seconds: 30 }\n",
        &[
            "t.yaml:7:38: sip.session_timer.interval_seconds: must not be shorter than min_se_seconds",
            "t.yaml:7:58: sip.session_timer.min_se_seconds: must be at least 90 (RFC 4028 §4)",
        ],
    );
}
