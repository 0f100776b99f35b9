//! PII-safe formatting of numbers in logs (DESIGN.md practice 12).
//!
//! Calling and called numbers are personal data. Everything that logs a number goes
//! through [`Redacted`], which shows only the last two digits unless redaction has been
//! turned off process-wide (an operator's explicit choice, e.g. while debugging).

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

static REDACT: AtomicBool = AtomicBool::new(true);

/// Turns redaction of numbers in logs on (the default) or off for the whole process.
pub fn set_redaction(on: bool) {
    REDACT.store(on, Ordering::Relaxed);
}

/// True when numbers are redacted in logs.
pub fn redaction() -> bool {
    REDACT.load(Ordering::Relaxed)
}

/// Displays a number redacted: `+4930123456` -> `*********56` (length kept, last two shown).
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !redaction() {
            return f.write_str(self.0);
        }
        let n = self.0.chars().count();
        let keep = if n > 4 { 2 } else { 0 };
        for (i, c) in self.0.chars().enumerate() {
            if i + keep < n {
                f.write_str("*")?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_all_but_last_two() {
        assert_eq!(Redacted("4930123456").to_string(), "********56");
        assert_eq!(Redacted("123").to_string(), "***");
    }
}
