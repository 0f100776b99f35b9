//! Call reference, Q.931 §4.3.

/// A call reference: 0 to 15 octets of value with a flag in the top bit of the first octet.
///
/// The flag is 0 in messages sent by the side that allocated the reference and 1 in
/// messages sent to it (§4.3). A length of 0 is the dummy call reference; a non-zero
/// length with value 0 is the global call reference. BRI uses 1 octet, PRI and H.225.0 two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallReference {
    len: u8,
    flag: bool,
    value: u128,
}

/// A call reference value that does not fit the length asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("call reference value does not fit in {len} octets (or length above 15)")]
pub struct CallReferenceError {
    /// The length asked for.
    pub len: u8,
}

impl CallReference {
    /// Most octets the length field can say (§4.3: 4 bits).
    pub const MAX_LEN: u8 = 15;

    /// The dummy call reference (length 0, §4.3).
    pub const fn dummy() -> Self {
        CallReference {
            len: 0,
            flag: false,
            value: 0,
        }
    }

    /// A call reference of `len` octets; `value` excludes the flag bit, so it must fit in
    /// `8 * len - 1` bits.
    pub fn new(len: u8, value: u128, flag: bool) -> Result<Self, CallReferenceError> {
        if len > Self::MAX_LEN || (len == 0 && (value != 0 || flag)) {
            return Err(CallReferenceError { len });
        }
        if len > 0 && value >> (8 * u32::from(len) - 1) != 0 {
            return Err(CallReferenceError { len });
        }
        Ok(CallReference { len, flag, value })
    }

    /// A one-octet (BRI) call reference; `value` is taken modulo 128.
    pub const fn bri(value: u8, flag: bool) -> Self {
        CallReference {
            len: 1,
            flag,
            value: (value & 0x7F) as u128,
        }
    }

    /// A two-octet (PRI, H.225.0) call reference; `value` is taken modulo 32768.
    pub const fn pri(value: u16, flag: bool) -> Self {
        CallReference {
            len: 2,
            flag,
            value: (value & 0x7FFF) as u128,
        }
    }

    /// The global call reference (value 0) of `len` octets, 1 or 2 in practice (§5.5).
    pub const fn global(len: u8) -> Self {
        CallReference {
            len: if len > Self::MAX_LEN {
                Self::MAX_LEN
            } else {
                len
            },
            flag: false,
            value: 0,
        }
    }

    /// Number of value octets (the call reference length, §4.3 octet 1).
    pub const fn octets(&self) -> u8 {
        self.len
    }

    /// The call reference flag (top bit of the first value octet).
    pub const fn flag(&self) -> bool {
        self.flag
    }

    /// The value without the flag bit.
    pub const fn value(&self) -> u128 {
        self.value
    }

    /// True for the dummy call reference (length 0).
    pub const fn is_dummy(&self) -> bool {
        self.len == 0
    }

    /// True for the global call reference (length > 0, value 0).
    pub const fn is_global(&self) -> bool {
        self.len > 0 && self.value == 0
    }

    /// The same reference with the flag set to `flag` (the dummy has no flag and stays as is).
    pub const fn with_flag(self, flag: bool) -> Self {
        if self.len == 0 {
            return self;
        }
        CallReference { flag, ..self }
    }

    /// The reference as the other side uses it in its answers (flag inverted, §4.3).
    pub const fn reply(self) -> Self {
        self.with_flag(!self.flag)
    }

    /// Appends length octet and value octets (§4.3 Figure 4-5).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.len);
        let n = usize::from(self.len);
        for i in 0..n {
            let shift = 8 * (n - 1 - i);
            // Truncation to the low octet is the intent: one value octet at a time.
            let mut octet = (self.value >> shift) as u8;
            if i == 0 && self.flag {
                octet |= 0x80;
            }
            out.push(octet);
        }
    }

    /// Reads value octets (the length octet has been checked by the caller).
    pub(crate) fn from_octets(octets: &[u8]) -> Self {
        let mut value: u128 = 0;
        let mut flag = false;
        for (i, &o) in octets.iter().enumerate() {
            let o = if i == 0 {
                flag = o & 0x80 != 0;
                o & 0x7F
            } else {
                o
            };
            value = (value << 8) | u128::from(o);
        }
        CallReference {
            // At most 15 octets: the caller checked the length nibble.
            len: octets.len() as u8,
            flag,
            value,
        }
    }
}

impl core::fmt::Display for CallReference {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_dummy() {
            return f.write_str("dummy");
        }
        write!(
            f,
            "{}/0x{:x}{}",
            self.len,
            self.value,
            if self.flag { " (to originator)" } else { "" }
        )
    }
}
