//! Field paths such as `trunks[2].remote[0]`: how an error names the field it is about.

use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A mapping key (`trunks`, `name`).
    Key(String),
    /// A sequence index, 0-based (`[2]`).
    Index(usize),
}

/// A path from the top of the document to a node, displayed as `trunks[2].name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The top of the document.
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// This path followed by the mapping key `key`.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_owned()));
        p
    }

    /// This path followed by the sequence index `index`.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Segment::Index(index));
        p
    }

    /// This path followed by every segment of `tail`.
    pub fn join(&self, tail: &FieldPath) -> FieldPath {
        let mut p = self.clone();
        p.0.extend(tail.0.iter().cloned());
        p
    }

    /// The path one step up, or `None` at the top.
    pub fn parent(&self) -> Option<FieldPath> {
        let mut p = self.clone();
        p.0.pop().map(|_| p)
    }

    /// Whether this is the top of the document.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Converts the path `serde_path_to_error` recorded. Enum and unknown steps carry no
    /// node of their own in YAML and are left out.
    pub fn from_serde(path: &serde_path_to_error::Path) -> FieldPath {
        use serde_path_to_error::Segment as S;
        FieldPath(
            path.iter()
                .filter_map(|s| match s {
                    S::Seq { index } => Some(Segment::Index(*index)),
                    S::Map { key } => Some(Segment::Key(key.clone())),
                    S::Enum { .. } | S::Unknown => None,
                })
                .collect(),
        )
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    // A key that would read as several steps, or as none, is quoted.
                    let plain = !k.is_empty()
                        && !k.contains(|c: char| c.is_whitespace() || ".[]\"".contains(c));
                    if plain {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_keys_and_indexes() {
        let p = FieldPath::root()
            .key("trunks")
            .index(2)
            .key("remote")
            .index(0);
        assert_eq!(p.to_string(), "trunks[2].remote[0]");
        assert_eq!(FieldPath::root().to_string(), "(root)");
        assert_eq!(
            FieldPath::root().key("").key("a.b").to_string(),
            "\"\".\"a.b\""
        );
        assert_eq!(
            p.parent().map(|p| p.to_string()).as_deref(),
            Some("trunks[2].remote")
        );
    }
}
