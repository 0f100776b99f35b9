//! Names of trunks, spans, route tables and rules.

/// Checks a name: 1-64 characters, letters, digits, `_`, `-` and `.`, starting with a
/// letter or digit.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid name (1-64 letters, digits, `_`, `-`, `.`, starting with a letter or digit)"
        ))
    }
}
