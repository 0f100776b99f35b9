//! Internally tagged mappings (`kind: sip` next to the kind's own fields), read so that
//! errors inside keep their full path (serde's `#[serde(tag)]` buffers the content and
//! loses it).

use super::error::Problem;
use super::path::FieldPath;
use super::report::Report;
use serde_yaml::{Mapping, Value};

/// Takes the entry `key` out of a mapping value.
pub(crate) fn take(value: &mut Value, key: &str) -> Option<Value> {
    value.as_mapping_mut()?.shift_remove(key)
}

/// Moves the entries named in `keys` out of a mapping value into a new mapping.
pub(crate) fn split_off(value: &mut Value, keys: &[&str]) -> Value {
    let mut out = Mapping::new();
    for k in keys {
        if let Some(v) = take(value, k) {
            out.insert(Value::String((*k).to_owned()), v);
        }
    }
    Value::Mapping(out)
}

/// Takes the tag `tag_key` out of the mapping at `path` and returns which of `kinds` it
/// names, reporting a missing or unknown tag.
pub(crate) fn take_tag(
    value: &mut Value,
    tag_key: &str,
    kinds: &[&'static str],
    path: &FieldPath,
    report: &mut Report,
) -> Option<&'static str> {
    let expected = kinds.join(", ");
    if !value.is_mapping() {
        report.problems.push(Problem::value(
            path.clone(),
            format!("expected a mapping with `{tag_key}: {}`", kinds.join(" | ")),
        ));
        return None;
    }
    let tag_path = path.key(tag_key);
    match take(value, tag_key) {
        None => {
            report.problems.push(Problem::value(
                tag_path,
                format!("missing field `{tag_key}` (one of: {expected})"),
            ));
            None
        }
        Some(Value::String(s)) => match kinds.iter().find(|k| **k == s) {
            Some(k) => Some(*k),
            None => {
                report.problems.push(Problem::value(
                    tag_path,
                    format!("unknown {tag_key} `{s}`, expected one of: {expected}"),
                ));
                None
            }
        },
        Some(_) => {
            report.problems.push(Problem::value(
                tag_path,
                format!("expected a string, one of: {expected}"),
            ));
            None
        }
    }
}

/// The string at `key` of a mapping value, if there is one (for names of entries that
/// failed to load, so that references to them are not reported as unknown as well).
pub(crate) fn raw_string(value: &Value, key: &str) -> Option<String> {
    value.get(key)?.as_str().map(str::to_owned)
}
