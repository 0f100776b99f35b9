//! Route selection: the ingress trunk's route table, first matching rule, digit
//! manipulation, caller-ID rules and the order the egress trunks are tried in.
//! Pure functions of the configuration and the call.

use crate::config::{CallerPresentation, Config, RouteRule, attempt_order};
use mapping::cause::Q850Cause;
use mapping::model::Setup;
use mapping::number::{Digits, PartyNumber, Presentation};
use mapping::sip::number_form::NumberForm;

/// Where a call goes and as what.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutePlan {
    /// The rule that matched (for logs and CDRs).
    pub rule: String,
    /// The called number after manipulation.
    pub called: PartyNumber,
    /// The calling number after manipulation and caller-ID rules.
    pub calling: Option<PartyNumber>,
    /// Egress trunks in the order they are tried.
    pub attempts: Vec<String>,
    /// Causes on which the next trunk is tried.
    pub failover: Vec<Q850Cause>,
}

impl RoutePlan {
    /// Whether a failed attempt with `cause` moves on to the next trunk.
    pub fn fails_over_on(&self, cause: Q850Cause) -> bool {
        self.failover.contains(&cause)
    }
}

/// The number as route patterns see it: `+` and the digits for an international
/// number, the digits as dialled otherwise.
pub fn number_text(n: &PartyNumber) -> String {
    NumberForm::default().render(n)
}

fn rewritten(n: &PartyNumber, text: String) -> Option<PartyNumber> {
    let mut out = PartyNumber::from_e164_or_local(&text).ok()?;
    if out.ton == mapping::number::TypeOfNumber::UNKNOWN && text == number_text(n) {
        // Unchanged: keep the type and plan it came with.
        out.ton = n.ton;
        out.npi = n.npi;
    }
    out.presentation = n.presentation;
    out.screening = n.screening;
    Some(out)
}

/// Routes a call from trunk `ingress`. `random(n)` draws in `0..n` for weighted load
/// sharing. `Err` is the cause to release the call with: 3 (no route to destination)
/// when no rule matches.
pub fn route(
    cfg: &Config,
    ingress: &str,
    setup: &Setup,
    random: impl FnMut(u32) -> u32,
) -> Result<RoutePlan, Q850Cause> {
    let rules = cfg
        .route_table_for(ingress)
        .ok_or(Q850Cause::NO_ROUTE_TO_DESTINATION)?;
    let called = number_text(&setup.called);
    let calling = setup.calling.as_ref().map(number_text);
    let rule = rules
        .iter()
        .find(|r| {
            r.matches.matches(
                ingress,
                &called,
                calling.as_deref().filter(|c| !c.is_empty()),
            )
        })
        .ok_or(Q850Cause::NO_ROUTE_TO_DESTINATION)?;
    plan(rule, setup, random)
}

fn plan(
    rule: &RouteRule,
    setup: &Setup,
    random: impl FnMut(u32) -> u32,
) -> Result<RoutePlan, Q850Cause> {
    let called = match &rule.rewrite.called {
        Some(rw) => rewritten(&setup.called, rw.apply(&number_text(&setup.called)))
            .ok_or(Q850Cause::INVALID_NUMBER_FORMAT)?,
        None => setup.called.clone(),
    };
    let mut calling = match (&setup.calling, &rule.rewrite.calling) {
        (Some(n), Some(rw)) if !n.digits.is_empty() => rewritten(n, rw.apply(&number_text(n))),
        (n, _) => n.clone(),
    };
    if calling.as_ref().is_none_or(|n| n.digits.is_empty())
        && let Some(default) = &rule.caller_id.default_number
        && let Ok(n) = PartyNumber::from_e164_or_local(default.as_str())
    {
        let presentation = calling.as_ref().and_then(|c| c.presentation);
        calling = Some(PartyNumber { presentation, ..n });
    }
    match rule.caller_id.presentation {
        CallerPresentation::Keep => {}
        CallerPresentation::Allowed => {
            if let Some(n) = calling.as_mut() {
                n.presentation = Some(Presentation::ALLOWED);
            }
        }
        CallerPresentation::Restricted => {
            let n = calling.get_or_insert_with(|| PartyNumber::unknown(Digits::empty()));
            n.presentation = Some(Presentation::RESTRICTED);
        }
    }
    let attempts = attempt_order(rule.strategy, &rule.egress, random)
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(RoutePlan {
        rule: rule.name.clone(),
        called,
        calling,
        attempts,
        failover: rule.failover_causes.iter().map(|c| c.0).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mapping::model::Bearer;

    const CFG: &str = "listeners: {sip: [{transport: udp, address: \"127.0.0.1:5060\"}]}\n\
        metrics: {listen: \"127.0.0.1:9464\"}\nroutes:\n  default:\n\
        \x20   - name: hairpin\n      match: {called: {prefix: \"9\"}}\n      \
        rewrite: {called: {strip: 1}}\n      egress: [far, near]\n\
        \x20   - name: anon\n      match: {called: {prefix: \"7\"}}\n      \
        caller_id: {presentation: restricted}\n      egress: [far]\n\
        \x20   - name: default-caller\n      match: {called: {prefix: \"5\"}}\n      \
        caller_id: {default_number: \"+4930100\"}\n      egress: [far]\n\
        trunks:\n  - {name: far, kind: local}\n  - {name: near, kind: local, answer: echo}\n  \
        - {name: in, kind: sip, remote: \"127.0.0.2:5060\"}\n";

    fn setup(called: &str, calling: Option<&str>) -> Setup {
        Setup {
            called: PartyNumber::from_e164_or_local(called).unwrap(),
            calling: calling.map(|c| PartyNumber::from_e164_or_local(c).unwrap()),
            display_name: None,
            redirection: Vec::new(),
            bearer: Bearer::Speech,
            media: None,
            sending_complete: true,
        }
    }

    fn cfg() -> Config {
        Config::parse("t.yaml", CFG).expect("valid")
    }

    #[test]
    fn first_matching_rule_with_manipulation() {
        let p = route(&cfg(), "in", &setup("94000", Some("2000")), |_| 0).unwrap();
        assert_eq!(p.rule, "hairpin");
        assert_eq!(p.called.digits.as_str(), "4000");
        assert_eq!(p.calling.as_ref().unwrap().digits.as_str(), "2000");
        assert_eq!(p.attempts, ["far", "near"]);
        assert!(p.fails_over_on(Q850Cause(34)));
        assert!(!p.fails_over_on(Q850Cause::USER_BUSY));
    }

    #[test]
    fn no_rule_is_no_route() {
        assert_eq!(
            route(&cfg(), "in", &setup("1234", None), |_| 0),
            Err(Q850Cause::NO_ROUTE_TO_DESTINATION)
        );
        assert_eq!(
            route(&cfg(), "nosuchtrunk", &setup("94000", None), |_| 0),
            Err(Q850Cause::NO_ROUTE_TO_DESTINATION)
        );
    }

    #[test]
    fn caller_id_rules() {
        let p = route(&cfg(), "in", &setup("7000", Some("2000")), |_| 0).unwrap();
        assert_eq!(
            p.calling.unwrap().presentation,
            Some(Presentation::RESTRICTED)
        );
        let p = route(&cfg(), "in", &setup("5000", None), |_| 0).unwrap();
        let n = p.calling.unwrap();
        assert_eq!(n.digits.as_str(), "4930100");
        assert_eq!(n.ton, mapping::number::TypeOfNumber::INTERNATIONAL);
    }
}
