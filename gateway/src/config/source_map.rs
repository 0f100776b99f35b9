//! Where each node of the YAML document sits in the file, by [`FieldPath`].

use super::path::FieldPath;
use std::collections::HashMap;

/// A position in the file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Which part of a mapping entry an error points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The key (`foo` in `foo: 1`): unknown and duplicate keys.
    Key,
    /// The value: everything else.
    Value,
}

/// What the source map knows of one node.
#[derive(Debug, Clone, Default)]
struct Node {
    /// Where its key starts, for a mapping value.
    key: Option<Location>,
    /// Where the value starts.
    value: Option<Location>,
    /// The text of a plain (unquoted) scalar, as written.
    plain: Option<String>,
}

/// Path -> position index built from the parser's marked event stream.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    nodes: HashMap<FieldPath, Node>,
}

impl SourceMap {
    /// Records where the key of the mapping entry `path` starts. The first record wins, so
    /// a duplicate key never moves the position of the entry that is kept.
    pub(crate) fn record_key(&mut self, path: &FieldPath, at: Location) {
        let n = self.nodes.entry(path.clone()).or_default();
        n.key.get_or_insert(at);
    }

    /// Records where the value at `path` starts, and its text when it is a plain scalar.
    /// The first record wins, as for keys.
    pub(crate) fn record_value(&mut self, path: &FieldPath, at: Location, plain: Option<&str>) {
        let n = self.nodes.entry(path.clone()).or_default();
        if n.value.is_none() {
            n.value = Some(at);
            n.plain = plain.map(str::to_owned);
        }
    }

    /// The position of `path` (its key or its value), or of its nearest ancestor that has
    /// one; line 1 column 1 when nothing is known (an empty document).
    pub fn locate(&self, path: &FieldPath, anchor: Anchor) -> Location {
        let mut p = Some(path.clone());
        let mut first = true;
        while let Some(cur) = p {
            if let Some(n) = self.nodes.get(&cur) {
                let key = if anchor == Anchor::Key && first {
                    n.key
                } else {
                    None
                };
                if let Some(at) = key.or(n.value).or(n.key) {
                    return at;
                }
            }
            first = false;
            p = cur.parent();
        }
        Location { line: 1, column: 1 }
    }

    /// The text of the plain scalar at `path`, as written in the file.
    pub fn plain_text(&self, path: &FieldPath) -> Option<&str> {
        self.nodes.get(path).and_then(|n| n.plain.as_deref())
    }
}
