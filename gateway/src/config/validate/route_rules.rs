//! Checks of `routes:`: names, trunk references, egress lists and weights, replacement
//! groups.

use super::check_unique;
use crate::config::egress::EgressStrategy;
use crate::config::load::Loaded;
use crate::config::manipulation::check_replacement;
use crate::config::names::check_name;
use crate::config::path::FieldPath;
use crate::config::report::Report;
use crate::config::routes::LoadedRule;

pub(super) fn check(l: &Loaded, report: &mut Report) {
    let base = FieldPath::root().key("routes");
    for table in &l.routes.tables {
        if let Err(e) = check_name(table) {
            report.key(&base.key(table), e);
        }
        let names = l
            .routes
            .rules
            .iter()
            .filter(|r| r.table == *table)
            .map(|r| {
                (
                    base.key(table).index(r.index).key("name"),
                    r.rule.name.as_str(),
                )
            });
        check_unique("rule", names, report);
    }
    for r in &l.routes.rules {
        rule(l, r, &base.key(&r.table).index(r.index), report);
    }
}

fn rule(l: &Loaded, r: &LoadedRule, path: &FieldPath, report: &mut Report) {
    let rule = &r.rule;
    if let Err(e) = check_name(&rule.name) {
        report.value(&path.key("name"), e);
    }
    for (k, trunk) in rule.matches.ingress.iter().enumerate() {
        if !l.has_trunk(trunk) {
            report.value(
                &path.key("match").key("ingress").index(k),
                format!("unknown trunk `{trunk}`"),
            );
        }
    }

    let egress = path.key("egress");
    if rule.egress.is_empty() && report.intact(&egress) {
        report.value(&egress, "at least one egress trunk is needed");
    }
    for (k, e) in rule.egress.iter().enumerate() {
        if !l.has_trunk(&e.trunk) {
            report.value(&egress.index(k), format!("unknown trunk `{}`", e.trunk));
        }
        if rule.egress[..k].iter().any(|o| o.trunk == e.trunk) {
            report.value(
                &egress.index(k),
                format!("trunk `{}` is listed twice", e.trunk),
            );
        }
        if rule.strategy == EgressStrategy::Failover && e.weight.is_some() {
            report.value(
                &egress.index(k).key("weight"),
                "`weight` needs `strategy: weighted` (failover tries the list in order)",
            );
        }
    }
    if rule.strategy == EgressStrategy::Weighted
        && !rule.egress.is_empty()
        && rule.egress.iter().all(|e| e.weight() == 0)
    {
        report.value(
            &egress,
            "every weight is 0: at least one egress trunk needs a weight above 0",
        );
    }

    for (key, rewrite) in [
        ("called", &rule.rewrite.called),
        ("calling", &rule.rewrite.calling),
    ] {
        if let Some(replace) = rewrite.as_ref().and_then(|rw| rw.replace.as_ref())
            && let Err(e) = check_replacement(replace.regex.regex(), &replace.with)
        {
            report.value(&path.key("rewrite").key(key).key("replace").key("with"), e);
        }
    }
}
