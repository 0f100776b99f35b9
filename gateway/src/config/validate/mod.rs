//! Checks serde cannot make: references between sections, unique names, port clashes,
//! timeslot use, and value ranges that depend on other fields.

mod ports;
mod route_rules;
mod sections;
mod span_rules;
mod trunk_rules;

use super::load::Loaded;
use super::media::Codec;
use super::path::FieldPath;
use super::report::Report;

/// Runs every check on what was read.
pub(crate) fn validate(loaded: &Loaded, report: &mut Report) {
    sections::check(loaded, report);
    ports::check(loaded, report);
    span_rules::check(loaded, report);
    trunk_rules::check(loaded, report);
    route_rules::check(loaded, report);
}

/// Reports codecs given twice, and a list without any audio codec.
fn check_codecs(codecs: &[Codec], path: &FieldPath, report: &mut Report) {
    for (i, c) in codecs.iter().enumerate() {
        if codecs[..i].contains(c) {
            report.value(
                &path.index(i),
                format!("codec {} is listed twice", c.name()),
            );
        }
    }
    if !codecs.iter().any(|c| *c != Codec::TelephoneEvent) && report.intact(path) {
        report.value(path, "at least one audio codec is needed");
    }
}

/// Reports names given twice: `names` are (path of the name, name) in file order.
fn check_unique<'a>(
    what: &str,
    names: impl IntoIterator<Item = (FieldPath, &'a str)>,
    report: &mut Report,
) {
    let mut seen: Vec<(&str, FieldPath)> = Vec::new();
    for (path, name) in names {
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            let first = first.parent().unwrap_or_default();
            report.value(
                &path,
                format!("duplicate {what} name `{name}` (first used by {first})"),
            );
        } else {
            seen.push((name, path));
        }
    }
}
