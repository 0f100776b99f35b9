//! Random identifiers: branches, tags and Call-IDs (RFC 3261 §8.1.1.4, §8.1.1.7,
//! §19.3: globally unique, at least 32 bits of randomness for tags).
//!
//! A small SplitMix64 generator seeded by the shell with OS randomness (tests give a
//! fixed seed): unpredictable enough for these identifiers, which are not secrets.

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Generates identifiers.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> IdGenerator {
        IdGenerator { state: seed }
    }

    /// The next 64 random bits (SplitMix64).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `len` characters of `[A-Za-z0-9]` (5.95 bits each).
    pub fn token(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        let mut bits = 0u64;
        for i in 0..len {
            if i % 10 == 0 {
                bits = self.next_u64();
            }
            s.push(ALPHABET[(bits % 62) as usize] as char);
            bits /= 62;
        }
        s
    }

    /// A From/To tag (about 60 bits).
    pub fn tag(&mut self) -> String {
        self.token(10)
    }

    /// A Call-ID (about 119 bits).
    pub fn call_id(&mut self) -> String {
        self.token(20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_use_the_alphabet() {
        let mut g = IdGenerator::new(1);
        let a = g.token(16);
        let b = g.token(16);
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
    }
}
