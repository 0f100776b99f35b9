//! Deserialization that finds every error of a section, not just the first.
//!
//! serde stops at the first error. To go on, the value the error is about is taken out of
//! the document and deserialization runs again, until it succeeds; "missing field" errors
//! for fields taken out that way are not reported again, nor are errors about a value
//! part of which was taken out. Paths are kept in the
//! coordinates of the original document even when sequence elements are taken out.

use super::error::Problem;
use super::path::{FieldPath, Segment};
use super::report::Report;
use serde::de::DeserializeOwned;
use serde_yaml::Value;

/// At most this many errors are collected from one section.
const MAX_ERRORS_PER_SECTION: usize = 100;

/// Deserializes `value`, found at `base` in the document, reporting every error into
/// `report`. Returns what could be deserialized after taking out the erroneous parts
/// (see [`Report::intact`]), or `None` when nothing could.
pub(crate) fn collect<T: DeserializeOwned>(
    mut value: Value,
    base: &FieldPath,
    report: &mut Report,
) -> Option<T> {
    // Paths taken out so far, relative to `value`, in original coordinates.
    let mut removed: Vec<FieldPath> = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let current = FieldPath::from_serde(error.path());
        let original = to_original(&current, &removed);
        let message = error.into_inner().to_string();
        report_error(base, &original, &message, &removed, report);
        if original.is_root()
            || removed.len() >= MAX_ERRORS_PER_SECTION
            || !remove_at(&mut value, &current.0)
        {
            return None;
        }
        report.removed.push(base.join(&original));
        removed.push(original);
    }
}

/// Turns one serde error into a problem, unless it only repeats an earlier one.
fn report_error(
    base: &FieldPath,
    original: &FieldPath,
    message: &str,
    removed: &[FieldPath],
    report: &mut Report,
) {
    if let Some(field) = quoted_name(message, "missing field `") {
        let field_path = original.key(field);
        if !removed.contains(&field_path) {
            report.problems.push(Problem::value(
                base.join(&field_path),
                format!("missing field `{field}`"),
            ));
        }
    } else if message.starts_with("unknown field `") {
        report
            .problems
            .push(Problem::key(base.join(original), tidy_expected(message)));
    } else if !removed
        .iter()
        .any(|r| r.0.len() > original.0.len() && r.0.starts_with(&original.0))
    {
        // An error about a value part of which was taken out is most likely caused by
        // that (a check across fields that now misses one): it is not reported.
        report
            .problems
            .push(Problem::value(base.join(original), tidy_expected(message)));
    }
}

/// The name between `prefix` and the next backquote.
fn quoted_name<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// serde lists alternatives as "expected one of `a`, `b`"; say "expected one of: a, b".
fn tidy_expected(message: &str) -> String {
    let listing = message.starts_with("unknown field") || message.starts_with("unknown variant");
    match message.split_once(", expected ") {
        Some((head, list)) if listing => {
            let list = list.replace('`', "");
            let list = list
                .strip_prefix("one of ")
                .map_or(list.clone(), |l| format!("one of: {l}"));
            format!("{head}, expected {list}")
        }
        _ => message.replace("there are no fields", "no fields are allowed here"),
    }
}

/// Maps a path in the current (shrunk) value back to the original one: a sequence index
/// moves past every earlier element that was taken out.
pub(crate) fn to_original(current: &FieldPath, removed: &[FieldPath]) -> FieldPath {
    let mut out = FieldPath::root();
    for seg in &current.0 {
        match seg {
            Segment::Key(k) => out = out.key(k),
            Segment::Index(i) => {
                let mut gone: Vec<usize> = removed
                    .iter()
                    .filter_map(|r| match r.0.split_last() {
                        Some((Segment::Index(j), parent)) if parent == out.0.as_slice() => Some(*j),
                        _ => None,
                    })
                    .collect();
                gone.sort_unstable();
                let mut index = *i;
                for j in gone {
                    if j <= index {
                        index += 1;
                    }
                }
                out = out.index(index);
            }
        }
    }
    out
}

/// Takes the node at `path` out of `value`; false when there is no such node.
fn remove_at(value: &mut Value, path: &[Segment]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for seg in parent {
        node = match (seg, node) {
            (Segment::Key(k), Value::Mapping(m)) => match m.get_mut(k.as_str()) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Index(i), Value::Sequence(s)) => match s.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Segment::Key(k), Value::Mapping(m)) => m.shift_remove(k.as_str()).is_some(),
        (Segment::Index(i), Value::Sequence(s)) if *i < s.len() => {
            s.remove(*i);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        #[serde(default)]
        size: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Section {
        items: Vec<Item>,
        #[serde(default)]
        flag: bool,
    }

    fn run(yaml: &str) -> (Option<Section>, Vec<String>) {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        let mut report = Report::default();
        let c = collect::<Section>(v, &FieldPath::root().key("s"), &mut report);
        let shown = report
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        (c, shown)
    }

    #[test]
    fn finds_every_error_with_original_indexes() {
        let (c, shown) = run(
            "items:\n - {name: a, size: x}\n - {name: b, colour: red}\n - {size: 3}\n - {name: c, size: y}\nflag: 3\n",
        );
        assert_eq!(
            shown,
            vec![
                "s.items[0].size: invalid type: string \"x\", expected u32",
                "s.items[1].colour: unknown field `colour`, expected name or size",
                "s.items[2].name: missing field `name`",
                "s.items[3].size: invalid type: string \"y\", expected u32",
                "s.flag: invalid type: integer `3`, expected a boolean",
            ]
        );
        let left = c.expect("what is left deserializes");
        assert_eq!(left.items.len(), 3);
    }

    #[test]
    fn missing_fields_of_removed_values_are_not_repeated() {
        let (_, shown) = run("items: 5\n");
        assert_eq!(
            shown,
            vec!["s.items: invalid type: integer `5`, expected a sequence"]
        );
    }
}
