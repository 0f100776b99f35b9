//! Codeset shifts, Q.931 §4.5.2-4.5.4.
//!
//! Elements are in codeset 0 until a Shift: a locking shift (bit 4 = 0) changes the
//! active codeset for the rest of the message; a non-locking shift (bit 4 = 1) changes it
//! for the next element only. The same tracker runs in decode, encode and lookup, so all
//! three always agree on which codeset an element is in.

/// Follows shifts element by element.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodesetTracker {
    locked: u8,
    once: Option<u8>,
}

impl CodesetTracker {
    /// A tracker at the start of a message (codeset 0).
    pub const fn new() -> Self {
        CodesetTracker {
            locked: 0,
            once: None,
        }
    }

    /// The codeset of the element whose identifier octet is `octet`, and steps past it.
    pub fn next(&mut self, octet: u8) -> u8 {
        let codeset = self.once.take().unwrap_or(self.locked);
        if let Some((locking, target)) = shift_of(octet) {
            if locking {
                self.locked = target;
            } else {
                self.once = Some(target);
            }
        }
        codeset
    }

    /// The codeset an element appended now would be in.
    pub fn current(&self) -> u8 {
        self.once.unwrap_or(self.locked)
    }
}

/// `Some((locking, codeset))` when `octet` is a Shift element (`1001 L ccc`, §4.5.3/4.5.4).
pub const fn shift_of(octet: u8) -> Option<(bool, u8)> {
    if octet & 0xF0 == 0x90 {
        Some((octet & 0x08 == 0, octet & 0x07))
    } else {
        None
    }
}
