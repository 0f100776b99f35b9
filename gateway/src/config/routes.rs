//! `routes:` route tables. Each table is an ordered list of rules; the first rule that
//! matches a call decides where it goes. A call coming in on a trunk is routed with the
//! trunk's `route_table` (default `default`).
//!
//! ```yaml
//! routes:
//!   default:
//!     - name: germany
//!       match: {called: {prefix: "0049"}, ingress: [pbx]}
//!       rewrite: {called: {strip: 2, prefix: "+"}}
//!       egress: [carrier-a, carrier-b]
//! ```

use super::collect::collect;
use super::digits::DigitString;
use super::egress::{EgressEntry, EgressStrategy, FailoverCause, default_failover_causes};
use super::error::Problem;
use super::manipulation::NumberRewrite;
use super::number_regex::NumberRegex;
use super::path::FieldPath;
use super::pattern::DialPattern;
use super::report::Report;
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// The route tables by name.
pub type RouteTables = BTreeMap<String, Vec<RouteRule>>;

/// One rule of a route table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Name, unique in its table; shown in logs and CDRs.
    pub name: String,
    /// Which calls the rule takes; absent: every call.
    #[serde(default, rename = "match")]
    pub matches: RouteMatch,
    /// Digit manipulation of the called and calling numbers, before the call goes out.
    #[serde(default)]
    pub rewrite: Rewrite,
    /// Caller-ID presentation and a default calling number.
    #[serde(default)]
    pub caller_id: CallerId,
    /// Trunks the call goes out on, at least one (see `strategy`).
    pub egress: Vec<EgressEntry>,
    /// `failover` (in list order, the default) or `weighted` (load sharing by `weight`).
    #[serde(default)]
    pub strategy: EgressStrategy,
    /// Q.850 causes on which the next egress trunk is tried. Default
    /// `[34, 38, 41, 42, 44, 47]`.
    #[serde(default = "default_failover_causes")]
    pub failover_causes: Vec<FailoverCause>,
}

impl RouteRule {
    /// Whether a failed attempt with `cause` moves on to the next egress trunk.
    pub fn fails_over_on(&self, cause: mapping::cause::Q850Cause) -> bool {
        self.failover_causes.iter().any(|c| c.0 == cause)
    }
}

/// `match:` all given conditions must hold.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    /// Condition on the called number.
    #[serde(default)]
    pub called: Option<NumberMatch>,
    /// Condition on the calling number; a call without one does not match.
    #[serde(default)]
    pub calling: Option<NumberMatch>,
    /// Only calls coming in on one of these trunks; absent or empty: any trunk.
    #[serde(default)]
    pub ingress: Vec<String>,
}

impl RouteMatch {
    /// Whether a call from trunk `ingress` with these numbers matches.
    pub fn matches(&self, ingress: &str, called: &str, calling: Option<&str>) -> bool {
        let ingress_ok = self.ingress.is_empty() || self.ingress.iter().any(|t| t == ingress);
        let called_ok = self.called.as_ref().is_none_or(|m| m.matches(called));
        let calling_ok = match (&self.calling, calling) {
            (None, _) => true,
            (Some(m), Some(n)) => m.matches(n),
            (Some(_), None) => false,
        };
        ingress_ok && called_ok && calling_ok
    }
}

/// A condition on a number: exactly one of `prefix`, `pattern` or `regex`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "NumberMatchFields")]
pub enum NumberMatch {
    /// `prefix: "0049"`: the number starts with these digits.
    Prefix(DigitString),
    /// `pattern: "0[1-9]X."`: a dial-plan pattern (see [`DialPattern`]).
    Pattern(DialPattern),
    /// `regex: "^00(1|7)"`: a regular expression, searched in the number.
    Regex(NumberRegex),
}

impl NumberMatch {
    /// Whether `number` matches.
    pub fn matches(&self, number: &str) -> bool {
        match self {
            NumberMatch::Prefix(p) => number.starts_with(p.as_str()),
            NumberMatch::Pattern(p) => p.matches(number),
            NumberMatch::Regex(r) => r.regex().is_match(number),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberMatchFields {
    #[serde(default)]
    prefix: Option<DigitString>,
    #[serde(default)]
    pattern: Option<DialPattern>,
    #[serde(default)]
    regex: Option<NumberRegex>,
}

impl TryFrom<NumberMatchFields> for NumberMatch {
    type Error = &'static str;

    fn try_from(f: NumberMatchFields) -> Result<NumberMatch, &'static str> {
        match (f.prefix, f.pattern, f.regex) {
            (Some(p), None, None) => Ok(NumberMatch::Prefix(p)),
            (None, Some(p), None) => Ok(NumberMatch::Pattern(p)),
            (None, None, Some(r)) => Ok(NumberMatch::Regex(r)),
            _ => Err("give exactly one of `prefix`, `pattern` or `regex`"),
        }
    }
}

/// `rewrite:` digit manipulation (see [`NumberRewrite`] for the order of the steps).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rewrite {
    /// Manipulation of the called number.
    #[serde(default)]
    pub called: Option<NumberRewrite>,
    /// Manipulation of the calling number (when the call has one).
    #[serde(default)]
    pub calling: Option<NumberRewrite>,
}

/// `caller_id:` what the far end is told about the caller.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerId {
    /// `allowed` (show the number), `restricted` (withhold it: SIP Privacy: id, Q.931
    /// presentation restricted) or `keep` (as it came in). Default `keep`.
    #[serde(default)]
    pub presentation: CallerPresentation,
    /// Calling number used, as given (not rewritten), when the call has none.
    #[serde(default)]
    pub default_number: Option<DigitString>,
}

/// Caller-ID presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallerPresentation {
    /// Presentation allowed.
    Allowed,
    /// Presentation restricted.
    Restricted,
    /// As received.
    #[default]
    Keep,
}

/// A rule as read, with where it was and whether it read without errors.
#[derive(Debug)]
pub(crate) struct LoadedRule {
    /// Its table.
    pub table: String,
    /// Its index in the table in the file.
    pub index: usize,
    /// The rule (what was left of it after taking out erroneous parts).
    pub rule: RouteRule,
}

/// The outcome of reading `routes:`.
#[derive(Debug, Default)]
pub(crate) struct LoadedRoutes {
    /// Table names, in file order.
    pub tables: Vec<String>,
    /// Every rule that could be read at all.
    pub rules: Vec<LoadedRule>,
}

impl LoadedRoutes {
    /// The tables (meaningful when every rule read without errors).
    pub fn into_tables(self) -> RouteTables {
        let mut out: RouteTables = self.tables.into_iter().map(|t| (t, Vec::new())).collect();
        for r in self.rules {
            out.entry(r.table).or_default().push(r.rule);
        }
        out
    }
}

/// Reads `routes:` at `path`, every table and every rule on its own.
pub(crate) fn load(value: Value, path: &FieldPath, report: &mut Report) -> LoadedRoutes {
    let mut out = LoadedRoutes::default();
    let Value::Mapping(tables) = value else {
        if !value.is_null() {
            report.problems.push(Problem::value(
                path.clone(),
                "expected a mapping of route table names to lists of rules",
            ));
        }
        return out;
    };
    for (name, rules) in tables {
        // The reader makes every key a string.
        let name = name.as_str().unwrap_or_default().to_owned();
        let table_path = path.key(&name);
        out.tables.push(name.clone());
        let rules = match rules {
            Value::Sequence(rules) => rules,
            Value::Null => Vec::new(),
            _ => {
                report
                    .problems
                    .push(Problem::value(table_path, "expected a list of route rules"));
                continue;
            }
        };
        for (index, rule) in rules.into_iter().enumerate() {
            if let Some(rule) = collect::<RouteRule>(rule, &table_path.index(index), report) {
                out.rules.push(LoadedRule {
                    table: name.clone(),
                    index,
                    rule,
                });
            }
        }
    }
    out
}
