//! Reads the document section by section, each list element on its own, so that one
//! bad entry does not hide the errors of another.

use super::cdr::Cdr;
use super::collect::collect;
use super::error::Problem;
use super::general::{General, Metrics};
use super::listeners::Listeners;
use super::media::Media;
use super::path::FieldPath;
use super::radius::Radius;
use super::report::Report;
use super::routes::{self, LoadedRoutes};
use super::sip::Sip;
use super::spans::{self, Span};
use super::tagged::{raw_string, take};
use super::trunk::{self, Trunk};
use serde::de::DeserializeOwned;
use serde_yaml::Value;

/// The top-level keys.
pub(crate) const SECTIONS: &[&str] = &[
    "general",
    "listeners",
    "metrics",
    "media",
    "sip",
    "spans",
    "trunks",
    "routes",
    "cdr",
    "radius",
];

/// A list element as read.
#[derive(Debug)]
pub(crate) struct Item<T> {
    /// Its index in the list.
    pub index: usize,
    /// The element (what was left of it after taking out erroneous parts).
    pub value: T,
}

/// Everything read, as far as it could be.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub general: Option<General>,
    pub listeners: Option<Listeners>,
    pub metrics: Option<Metrics>,
    pub media: Option<Media>,
    pub sip: Option<Sip>,
    pub cdr: Option<Cdr>,
    pub radius: Option<Radius>,
    pub spans: Vec<Item<Span>>,
    pub trunks: Vec<Item<Trunk>>,
    pub routes: LoadedRoutes,
    /// (index, name) of every trunk entry with a name, including those that failed to
    /// read.
    pub trunk_names: Vec<(usize, String)>,
    /// (index, name) of every span entry with a name, including those that failed to read.
    pub span_names: Vec<(usize, String)>,
}

/// Reads the whole document.
pub(crate) fn load(mut root: Value, report: &mut Report) -> Loaded {
    let mut out = Loaded::default();
    let top = FieldPath::root();
    if root.is_null() {
        root = Value::Mapping(Default::default());
    }
    let Some(map) = root.as_mapping() else {
        report.problems.push(Problem::value(
            top,
            "expected a mapping of sections (general, listeners, ...)",
        ));
        return out;
    };
    for key in map.keys() {
        // The reader makes every key a string.
        let key = key.as_str().unwrap_or_default();
        if !SECTIONS.contains(&key) {
            report.problems.push(Problem::key(
                top.key(key),
                format!(
                    "unknown section `{key}`, expected one of: {}",
                    SECTIONS.join(", ")
                ),
            ));
        }
    }

    out.general = optional(&mut root, "general", report).or_else(|| Some(General::default()));
    out.listeners = required(&mut root, "listeners", report);
    out.metrics = required(&mut root, "metrics", report);
    out.media = optional(&mut root, "media", report).or_else(|| Some(Media::default()));
    out.sip = optional(&mut root, "sip", report).or_else(|| Some(Sip::default()));
    out.cdr = optional(&mut root, "cdr", report).or_else(|| Some(Cdr::default()));
    out.radius = optional(&mut root, "radius", report);

    for (index, v) in list(&mut root, "spans", report) {
        out.span_names
            .extend(raw_string(&v, "name").map(|n| (index, n)));
        if let Some(value) = spans::load(v, &top.key("spans").index(index), report) {
            out.spans.push(Item { index, value });
        }
    }
    for (index, v) in list(&mut root, "trunks", report) {
        out.trunk_names
            .extend(raw_string(&v, "name").map(|n| (index, n)));
        if let Some(value) = trunk::load(v, &top.key("trunks").index(index), report) {
            out.trunks.push(Item { index, value });
        }
    }
    if let Some(v) = take(&mut root, "routes") {
        out.routes = routes::load(v, &top.key("routes"), report);
    }
    out
}

/// A section that may be left out (or left empty).
fn optional<T: DeserializeOwned>(root: &mut Value, key: &str, report: &mut Report) -> Option<T> {
    match take(root, key) {
        None | Some(Value::Null) => None,
        Some(v) => collect::<T>(v, &FieldPath::root().key(key), report),
    }
}

/// A section that must be given.
fn required<T: DeserializeOwned>(root: &mut Value, key: &str, report: &mut Report) -> Option<T> {
    let path = FieldPath::root().key(key);
    match take(root, key) {
        None => {
            report
                .problems
                .push(Problem::value(path, format!("missing section `{key}`")));
            None
        }
        Some(v) => collect::<T>(v, &path, report),
    }
}

/// The elements of a list section (absent or empty: none).
fn list(root: &mut Value, key: &str, report: &mut Report) -> Vec<(usize, Value)> {
    match take(root, key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => items.into_iter().enumerate().collect(),
        Some(_) => {
            report.problems.push(Problem::value(
                FieldPath::root().key(key),
                "expected a list",
            ));
            Vec::new()
        }
    }
}

impl Loaded {
    /// Whether a trunk of this name is given (even if it failed to read).
    pub fn has_trunk(&self, name: &str) -> bool {
        self.trunk_names.iter().any(|(_, n)| n == name)
    }

    /// Whether a span of this name is given (even if it failed to read).
    pub fn has_span(&self, name: &str) -> bool {
        self.span_names.iter().any(|(_, n)| n == name)
    }

    /// The span of this name, if it read.
    pub fn span(&self, name: &str) -> Option<&Span> {
        self.spans.iter().map(|i| &i.value).find(|s| s.name == name)
    }
}
