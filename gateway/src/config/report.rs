//! The problems found so far, and the parts of the document taken out to find them.

use super::collect::to_original;
use super::error::Problem;
use super::path::FieldPath;

/// Collects problems while the document is read and checked.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Problems, with paths in the coordinates of the file.
    pub problems: Vec<Problem>,
    /// Every node taken out of the document after an error (see [`super::collect`]), by
    /// its path in the file.
    pub removed: Vec<FieldPath>,
    /// Whether files the configuration names (TLS certificates, keys, CA files) are
    /// read and checked too: yes for a file being loaded to run or `check-config`, no
    /// for parsing a text alone (tests, the example, replays).
    pub check_files: bool,
}

impl Report {
    /// Reports a problem with the value at `path`, a path into the values as read (where
    /// list elements taken out shift later ones).
    pub fn value(&mut self, path: &FieldPath, message: impl Into<String>) {
        let path = to_original(path, &self.removed);
        self.problems.push(Problem::value(path, message));
    }

    /// Reports a problem with the key of `path` (see [`Report::value`]).
    pub fn key(&mut self, path: &FieldPath, message: impl Into<String>) {
        let path = to_original(path, &self.removed);
        self.problems.push(Problem::key(path, message));
    }

    /// Whether nothing under `path` (a path into the values as read) was taken out: only
    /// then is an empty list there really empty.
    pub fn intact(&self, path: &FieldPath) -> bool {
        let path = to_original(path, &self.removed);
        !self.removed.iter().any(|r| r.0.starts_with(&path.0))
    }
}
