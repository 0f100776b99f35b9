//! SIP messages (RFC 3261 §7, §20, §25): parsing, typed header access, serialisation.
