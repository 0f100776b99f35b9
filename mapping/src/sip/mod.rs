//! SIP side of the translation tables: RFC 3398 causes, RFC 3326 Reason, caller ID (RFC 3323/3325), message mapping.
