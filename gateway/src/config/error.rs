//! Configuration errors: what is wrong, where in the file, and which field.

use super::digits::UNQUOTED_DIGITS;
use super::path::FieldPath;
use super::source_map::{Anchor, Location, SourceMap};

/// A configuration error, displayed as `FILE:LINE:COL: field.path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<embedded>`).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Dotted path of the field (`trunks[2].name`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.path, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

/// An error found while reading or checking the document, before it is placed in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The field it is about.
    pub path: FieldPath,
    /// Whether it points at the field's key or at its value.
    pub anchor: Anchor,
    /// A position known from elsewhere (syntax errors, the second of two duplicate keys);
    /// otherwise the source map places the problem by its path.
    pub at: Option<Location>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem with the value at `path`.
    pub fn value(path: FieldPath, message: impl Into<String>) -> Problem {
        Problem {
            path,
            anchor: Anchor::Value,
            at: None,
            message: message.into(),
        }
    }

    /// A problem with the key of `path` (unknown key).
    pub fn key(path: FieldPath, message: impl Into<String>) -> Problem {
        Problem {
            anchor: Anchor::Key,
            ..Problem::value(path, message)
        }
    }

    /// Places the problem in the file.
    pub fn locate(self, file: &str, source: &SourceMap) -> ConfigError {
        let at = self
            .at
            .unwrap_or_else(|| source.locate(&self.path, self.anchor));
        let message = if self.message.starts_with(UNQUOTED_DIGITS) {
            match source.plain_text(&self.path) {
                Some(text) => format!("{UNQUOTED_DIGITS}: write \"{text}\" with the quotes"),
                None => self.message,
            }
        } else {
            self.message
        };
        ConfigError {
            file: file.to_owned(),
            line: at.line,
            column: at.column,
            path: self.path.to_string(),
            message,
        }
    }
}
