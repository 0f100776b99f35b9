//! A broken configuration reports every error, each at its line and column with its
//! field path.

use gateway::config::{Config, ConfigError};
use proptest::prelude::*;

/// Independent mistakes, one or two per section. Line numbers matter: the test below
/// names them.
const BROKEN: &str = r#"general:
  node_name: gw1
  colour: blue
listeners:
  sip:
    - { transport: udp, address: "127.0.0.1:5060" }
    - { transport: udp, address: "127.0.0.1:5060" }
  h225:
    - address: "127.0.0.1:1720"
metrics:
  listen: "127.0.0.1:1720"
media:
  ptime_ms: twenty
trunks:
  - name: carrier
    kind: sip
    remote: "sip.example.net:5060"
  - name: carrier
    kind: sip
    remote: "sip2.example.net:5060"
  - name: legacy
    kind: h323
    remote: "192.0.2.20:1720"
    fast_start: yes
    dtmf_mode: inband
routes:
  default:
    - name: bad-regex
      match:
        called: { regex: "^(49" }
      egress: [carrier]
    - name: germany
      match:
        called: { prefix: 0049 }
      egress: [carrier, nowhere]
    - name: bad-pattern
      match:
        calling: { pattern: "+49X.5" }
      egress: [legacy]
      egress: [carrier]
"#;

fn errors(text: &str) -> Vec<String> {
    match Config::parse("broken.yaml", text) {
        Ok(_) => panic!("the broken config was accepted"),
        Err(errors) => errors.iter().map(ConfigError::to_string).collect(),
    }
}

#[test]
fn every_error_is_reported_with_line_column_and_path() {
    let got = errors(BROKEN);
    let expected = [
        "broken.yaml:3:3: general.colour: unknown field `colour`, expected one of: node_name, drain_timeout_seconds, redact_numbers, no_answer_seconds, max_call_seconds, capture_file",
        "broken.yaml:7:34: listeners.sip[1].address: port clash: udp 127.0.0.1:5060 is also used by listeners.sip[0].address (127.0.0.1:5060)",
        "broken.yaml:11:11: metrics.listen: port clash: tcp 127.0.0.1:1720 is also used by listeners.h225[0].address (127.0.0.1:1720)",
        "broken.yaml:13:13: media.ptime_ms: invalid type: string \"twenty\", expected u32",
        "broken.yaml:18:11: trunks[1].name: duplicate trunk name `carrier` (first used by trunks[0])",
        "broken.yaml:24:17: trunks[2].fast_start: invalid type: string \"yes\", expected a boolean",
        "broken.yaml:25:5: trunks[2].dtmf_mode: unknown field `dtmf_mode`, expected one of: remote, gatekeeper, fast_start, h245_tunnelling, dtmf, codecs",
        "broken.yaml:30:26: routes.default[0].match.called.regex: invalid regex `^(49`: unclosed group",
        "broken.yaml:34:27: routes.default[1].match.called.prefix: digit string must be quoted, or YAML reads it as a number and drops leading zeros and '+': write \"0049\" with the quotes",
        "broken.yaml:35:25: routes.default[1].egress[1]: unknown trunk `nowhere`",
        "broken.yaml:38:29: routes.default[2].match.calling.pattern: invalid pattern `+49X.5`: `.` may only end a pattern, after at least one element (position 5)",
        "broken.yaml:40:7: routes.default[2].egress: duplicate key `egress` (first given at line 39)",
    ];
    assert_eq!(got, expected, "\n{}", got.join("\n"));
}

const EXAMPLE: &str = include_str!("../../deploy/gateway.example.yaml");

const TOKENS: &[&str] = &[
    "\n",
    "\n",
    "\n",
    "  ",
    "  ",
    "    ",
    "- ",
    "- ",
    ": ",
    ": ",
    ", ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "general",
    "listeners",
    "metrics",
    "trunks",
    "routes",
    "spans",
    "sip",
    "h225",
    "default",
    "name",
    "kind",
    "pri",
    "ss7",
    "remote",
    "egress",
    "match",
    "called",
    "prefix",
    "span",
    "driver",
    "transport",
    "udp",
    "address",
    "listen",
    "\"127.0.0.1:5060\"",
    "0049",
    "\"0049\"",
    "x",
    "1",
    "null",
    "true",
];

/// Every error is placed on a line of the file (or just past its end) with a path.
fn well_placed(text: &str) -> Result<(), TestCaseError> {
    if let Err(errors) = Config::parse("p.yaml", text) {
        prop_assert!(!errors.is_empty());
        let lines = text.lines().count() + 1;
        for e in &errors {
            prop_assert!(
                e.line >= 1 && e.line <= lines,
                "{e} (file of {lines} lines)"
            );
            prop_assert!(e.column >= 1, "{e}");
            prop_assert!(!e.path.is_empty(), "{e}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any text gives a configuration or well-placed errors, never a panic.
    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n\t]{0,200}") {
        well_placed(&text)?;
    }

    /// Text made of YAML and configuration tokens reaches deeper than random characters.
    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        well_placed(&tokens.concat())?;
    }

    /// The example with one line taken out or duplicated still gives well-placed errors.
    #[test]
    fn damaged_examples_give_well_placed_errors(line in 0usize..400, duplicate: bool) {
        let mut lines: Vec<&str> = EXAMPLE.lines().collect();
        let at = line % lines.len();
        if duplicate {
            lines.insert(at, lines[at]);
        } else {
            lines.remove(at);
        }
        well_placed(&lines.join("\n"))?;
    }
}
