//! Reads YAML text into a `serde_yaml::Value` and a [`SourceMap`], from the marked event
//! stream of `saphyr-parser`.
//!
//! serde_yaml reports only its first error and keeps no positions, so the document is read
//! here once: every node's position is recorded by path, duplicate keys are reported (all
//! of them) instead of aborting, and scalars are resolved with the YAML 1.2 core schema:
//! an unquoted `0049` or `+49` is the integer 49, which is what a digit-string field then
//! refuses. Mapping keys are always strings, as written.

use super::error::Problem;
use super::path::FieldPath;
use super::source_map::{Location, SourceMap};
use regex::Regex;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_yaml::{Mapping, Number, Value};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A document read from text.
#[derive(Debug)]
pub(crate) struct Document {
    /// The content; `Null` for an empty file.
    pub value: Value,
    /// Where each node is.
    pub source: SourceMap,
    /// Duplicate keys and unsupported constructs found on the way.
    pub problems: Vec<Problem>,
}

/// Reads `text`. A syntax error ends the reading and is the only problem returned.
pub(crate) fn read(text: &str) -> Result<Document, Problem> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => b.event(event, span)?,
            Err(e) => {
                let at = Location {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                };
                return Err(Problem {
                    at: Some(at),
                    ..Problem::value(b.next_path(), format!("YAML syntax error: {}", e.info()))
                });
            }
        }
    }
    Ok(Document {
        value: b.root.unwrap_or(Value::Null),
        source: b.source,
        problems: b.problems,
    })
}

/// The state of the mapping being built with respect to keys.
#[derive(Debug)]
enum KeyState {
    /// The next node is a key.
    Expect,
    /// The next node is the value of this key; `keep` is false for a duplicate or
    /// unsupported key, whose value is read and dropped.
    Ready { name: String, keep: bool },
}

#[derive(Debug)]
enum Frame {
    Seq {
        path: FieldPath,
        anchor: usize,
        items: Vec<Value>,
    },
    Map {
        path: FieldPath,
        anchor: usize,
        map: Mapping,
        key: KeyState,
    },
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    anchors: HashMap<usize, Value>,
    source: SourceMap,
    problems: Vec<Problem>,
    /// Depth inside a complex (non-scalar) key being skipped.
    skip: usize,
    documents: usize,
}

fn location(span: &Span) -> Location {
    Location {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

impl Builder {
    /// The path of the node that comes next (for a key: the path of its mapping).
    fn next_path(&self) -> FieldPath {
        match self.stack.last() {
            None => FieldPath::root(),
            Some(Frame::Seq { path, items, .. }) => path.index(items.len()),
            Some(Frame::Map {
                path,
                key: KeyState::Ready { name, .. },
                ..
            }) => path.key(name),
            Some(Frame::Map { path, .. }) => path.clone(),
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                key: KeyState::Expect,
                ..
            })
        )
    }

    fn set_key(&mut self, name: String, keep: bool) {
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = KeyState::Ready { name, keep };
        }
    }

    /// Takes a scalar key: records its position and reports a duplicate.
    fn take_key(&mut self, name: &str, at: Location) {
        let Some(Frame::Map { path, map, .. }) = self.stack.last() else {
            return;
        };
        let key_path = path.key(name);
        let duplicate = map.contains_key(name);
        if duplicate {
            let first = self
                .source
                .locate(&key_path, super::source_map::Anchor::Key);
            self.problems.push(Problem {
                at: Some(at),
                ..Problem::key(
                    key_path,
                    format!(
                        "duplicate key `{name}` (first given at line {})",
                        first.line
                    ),
                )
            });
        } else {
            self.source.record_key(&key_path, at);
        }
        self.set_key(name.to_owned(), !duplicate);
    }

    /// Puts a finished value where it belongs.
    fn place(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => {
                if let KeyState::Ready { name, keep } = std::mem::replace(key, KeyState::Expect)
                    && keep
                {
                    map.insert(Value::String(name), value);
                }
            }
        }
    }

    fn unsupported_key(&mut self, at: Location) {
        let path = self.next_path();
        self.problems.push(Problem {
            at: Some(at),
            ..Problem::key(path, "a mapping key must be a plain string")
        });
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Problem> {
        let at = location(&span);
        if self.skip > 0 {
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.skip += 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    self.skip -= 1;
                    if self.skip == 0 {
                        self.set_key(String::from("?"), false);
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Problem {
                        at: Some(at),
                        ..Problem::value(
                            FieldPath::root(),
                            "a configuration file holds a single YAML document",
                        )
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.expecting_key() {
                    self.take_key(&text, at);
                } else {
                    let path = self.next_path();
                    let plain = style == ScalarStyle::Plain;
                    self.source
                        .record_value(&path, at, plain.then_some(text.as_ref()));
                    let value = resolve(&text, style, tag.as_deref());
                    if anchor != 0 {
                        self.anchors.insert(anchor, value.clone());
                    }
                    self.place(value);
                }
            }
            Event::Alias(id) => {
                if self.expecting_key() {
                    self.unsupported_key(at);
                    self.set_key(String::from("?"), false);
                } else {
                    let path = self.next_path();
                    self.source.record_value(&path, at, None);
                    // The parser refuses an alias to an unknown anchor, so the lookup
                    // finds it; Null is only a fallback.
                    let value = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                    self.place(value);
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.expecting_key() {
                    self.unsupported_key(at);
                    self.skip = 1;
                    return Ok(());
                }
                let path = self.next_path();
                self.source.record_value(&path, at, None);
                self.stack.push(match event {
                    Event::SequenceStart(..) => Frame::Seq {
                        path,
                        anchor,
                        items: Vec::new(),
                    },
                    _ => Frame::Map {
                        path,
                        anchor,
                        map: Mapping::new(),
                        key: KeyState::Expect,
                    },
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (anchor, value) = match self.stack.pop() {
                    Some(Frame::Seq { anchor, items, .. }) => (anchor, Value::Sequence(items)),
                    Some(Frame::Map { anchor, map, .. }) => (anchor, Value::Mapping(map)),
                    // The parser balances start and end events.
                    None => return Ok(()),
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.place(value);
            }
        }
        Ok(())
    }
}

static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
        .expect("constant regex is valid")
});

/// Resolves a scalar by the YAML 1.2 core schema (quoted scalars and `!!str` are strings).
fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let forced_string =
        tag.is_some_and(|t| (t.is_yaml_core_schema() || t.handle == "!!") && t.suffix == "str");
    if style != ScalarStyle::Plain || forced_string {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Number(f64::INFINITY.into());
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Number(f64::NEG_INFINITY.into()),
        ".nan" | ".NaN" | ".NAN" => return Value::Number(f64::NAN.into()),
        _ => {}
    }
    if let Some(n) = integer(text) {
        return Value::Number(n);
    }
    if FLOAT.is_match(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Number(f.into());
    }
    Value::String(text.to_owned())
}

/// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`. Leading zeros are allowed (YAML 1.2
/// core schema); a decimal too large for 64 bits becomes a float, still a number.
fn integer(text: &str) -> Option<Number> {
    if let Some(hex) = text.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(Number::from);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8).ok().map(Number::from);
    }
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = match digits.parse::<u64>() {
        Ok(m) => m,
        Err(_) => return text.parse::<f64>().ok().map(Number::from),
    };
    if !negative {
        return Some(Number::from(magnitude));
    }
    match i64::try_from(magnitude) {
        Ok(m) => Some(Number::from(-m)),
        Err(_) => text.parse::<f64>().ok().map(Number::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source_map::Anchor;

    fn doc(text: &str) -> Document {
        read(text).expect("test document is valid YAML")
    }

    #[test]
    fn resolves_the_core_schema() {
        let d = doc(
            "a: 0049\nb: '0049'\nc: +49\nd: 1.5\ne: yes\nf: ~\ng: 0x1F\nh: 123456789012345678901234\ni: true\n",
        );
        let m = d.value.as_mapping().expect("a mapping");
        assert_eq!(m["a"], Value::Number(49.into()));
        assert_eq!(m["b"], Value::String("0049".into()));
        assert_eq!(m["c"], Value::Number(49.into()));
        assert_eq!(m["d"], Value::Number(1.5.into()));
        assert_eq!(m["e"], Value::String("yes".into()));
        assert_eq!(m["f"], Value::Null);
        assert_eq!(m["g"], Value::Number(31.into()));
        assert!(m["h"].is_f64());
        assert_eq!(m["i"], Value::Bool(true));
    }

    #[test]
    fn records_positions_by_path() {
        let d = doc("top:\n  list:\n    - x: 1\n      y: \"q\"\n");
        let p = FieldPath::root().key("top").key("list").index(0).key("y");
        assert_eq!(
            d.source.locate(&p, Anchor::Key),
            Location { line: 4, column: 7 }
        );
        assert_eq!(
            d.source.locate(&p, Anchor::Value),
            Location {
                line: 4,
                column: 10
            }
        );
        assert_eq!(
            d.source.plain_text(&p.parent().unwrap().key("x")),
            Some("1")
        );
    }

    #[test]
    fn reports_every_duplicate_key_and_keeps_the_first() {
        let d = doc("a: 1\nb: 2\na: 3\nb: 4\n");
        assert_eq!(d.problems.len(), 2);
        assert_eq!(d.problems[0].at, Some(Location { line: 3, column: 1 }));
        assert!(d.problems[0].message.contains("first given at line 1"));
        assert_eq!(d.value.as_mapping().unwrap()["a"], Value::Number(1.into()));
    }

    #[test]
    fn expands_aliases() {
        let d = doc("a: &x {k: v}\nb: *x\n");
        assert_eq!(d.value["b"]["k"], Value::String("v".into()));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = read("a:\n  - b\n  c: d\n").unwrap_err();
        assert_eq!(e.at.map(|l| l.line), Some(3));
    }

    #[test]
    fn a_second_document_is_refused() {
        assert!(read("a: 1\n---\nb: 2\n").is_err());
    }
}
