//! Standard reason phrases for SIP status codes: RFC 3261 §21 plus the extension RFCs
//! named on each row. Used when the gateway builds a response; phrases are not normative
//! (RFC 3261 §7.2), so a received phrase is never interpreted.

/// One status code and its phrase, with the RFC that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhraseRow {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub phrase: &'static str,
    /// Defining document.
    pub rfc: &'static str,
}

const fn row(status: u16, phrase: &'static str, rfc: &'static str) -> PhraseRow {
    PhraseRow {
        status,
        phrase,
        rfc,
    }
}

/// Reason phrases, ascending by status code.
pub static REASON_PHRASES: &[PhraseRow] = &[
    row(100, "Trying", "RFC 3261 §21.1.1"),
    row(180, "Ringing", "RFC 3261 §21.1.2"),
    row(181, "Call Is Being Forwarded", "RFC 3261 §21.1.3"),
    row(182, "Queued", "RFC 3261 §21.1.4"),
    row(183, "Session Progress", "RFC 3261 §21.1.5"),
    row(199, "Early Dialog Terminated", "RFC 6228"),
    row(200, "OK", "RFC 3261 §21.2.1"),
    row(202, "Accepted", "RFC 3265"),
    row(204, "No Notification", "RFC 5839"),
    row(300, "Multiple Choices", "RFC 3261 §21.3.1"),
    row(301, "Moved Permanently", "RFC 3261 §21.3.2"),
    row(302, "Moved Temporarily", "RFC 3261 §21.3.3"),
    row(305, "Use Proxy", "RFC 3261 §21.3.4"),
    row(380, "Alternative Service", "RFC 3261 §21.3.5"),
    row(400, "Bad Request", "RFC 3261 §21.4.1"),
    row(401, "Unauthorized", "RFC 3261 §21.4.2"),
    row(402, "Payment Required", "RFC 3261 §21.4.3"),
    row(403, "Forbidden", "RFC 3261 §21.4.4"),
    row(404, "Not Found", "RFC 3261 §21.4.5"),
    row(405, "Method Not Allowed", "RFC 3261 §21.4.6"),
    row(406, "Not Acceptable", "RFC 3261 §21.4.7"),
    row(407, "Proxy Authentication Required", "RFC 3261 §21.4.8"),
    row(408, "Request Timeout", "RFC 3261 §21.4.9"),
    row(410, "Gone", "RFC 3261 §21.4.10"),
    row(412, "Conditional Request Failed", "RFC 3903"),
    row(413, "Request Entity Too Large", "RFC 3261 §21.4.11"),
    row(414, "Request-URI Too Long", "RFC 3261 §21.4.12"),
    row(415, "Unsupported Media Type", "RFC 3261 §21.4.13"),
    row(416, "Unsupported URI Scheme", "RFC 3261 §21.4.14"),
    row(417, "Unknown Resource-Priority", "RFC 4412"),
    row(420, "Bad Extension", "RFC 3261 §21.4.15"),
    row(421, "Extension Required", "RFC 3261 §21.4.16"),
    row(422, "Session Interval Too Small", "RFC 4028"),
    row(423, "Interval Too Brief", "RFC 3261 §21.4.17"),
    row(428, "Use Identity Header", "RFC 8224"),
    row(429, "Provide Referrer Identity", "RFC 3892"),
    row(430, "Flow Failed", "RFC 5626"),
    row(433, "Anonymity Disallowed", "RFC 5079"),
    row(436, "Bad Identity Info", "RFC 8224"),
    row(437, "Unsupported Credential", "RFC 8224"),
    row(438, "Invalid Identity Header", "RFC 8224"),
    row(439, "First Hop Lacks Outbound Support", "RFC 5626"),
    row(440, "Max-Breadth Exceeded", "RFC 5393"),
    row(469, "Bad Info Package", "RFC 6086"),
    row(470, "Consent Needed", "RFC 5360"),
    row(480, "Temporarily Unavailable", "RFC 3261 §21.4.18"),
    row(481, "Call/Transaction Does Not Exist", "RFC 3261 §21.4.19"),
    row(482, "Loop Detected", "RFC 3261 §21.4.20"),
    row(483, "Too Many Hops", "RFC 3261 §21.4.21"),
    row(484, "Address Incomplete", "RFC 3261 §21.4.22"),
    row(485, "Ambiguous", "RFC 3261 §21.4.23"),
    row(486, "Busy Here", "RFC 3261 §21.4.24"),
    row(487, "Request Terminated", "RFC 3261 §21.4.25"),
    row(488, "Not Acceptable Here", "RFC 3261 §21.4.26"),
    row(489, "Bad Event", "RFC 6665"),
    row(491, "Request Pending", "RFC 3261 §21.4.27"),
    row(493, "Undecipherable", "RFC 3261 §21.4.28"),
    row(494, "Security Agreement Required", "RFC 3329"),
    row(500, "Server Internal Error", "RFC 3261 §21.5.1"),
    row(501, "Not Implemented", "RFC 3261 §21.5.2"),
    row(502, "Bad Gateway", "RFC 3261 §21.5.3"),
    row(503, "Service Unavailable", "RFC 3261 §21.5.4"),
    row(504, "Server Time-out", "RFC 3261 §21.5.5"),
    row(505, "Version Not Supported", "RFC 3261 §21.5.6"),
    row(513, "Message Too Large", "RFC 3261 §21.5.7"),
    row(555, "Push Notification Service Not Supported", "RFC 8599"),
    row(580, "Precondition Failure", "RFC 3312"),
    row(600, "Busy Everywhere", "RFC 3261 §21.6.1"),
    row(603, "Decline", "RFC 3261 §21.6.2"),
    row(604, "Does Not Exist Anywhere", "RFC 3261 §21.6.3"),
    row(606, "Not Acceptable", "RFC 3261 §21.6.4"),
    row(607, "Unwanted", "RFC 8197"),
    row(608, "Rejected", "RFC 8688"),
];

/// The standard phrase for `status`, if the table has one.
pub fn reason_phrase(status: u16) -> Option<&'static str> {
    REASON_PHRASES
        .binary_search_by_key(&status, |r| r.status)
        .ok()
        .map(|i| REASON_PHRASES[i].phrase)
}

/// The phrase for `status`, or for an unknown code the phrase of its class's x00 code (the
/// class a UAC treats it as, RFC 3261 §8.1.3.2); "Unknown" outside 100-699.
pub fn reason_phrase_or_class(status: u16) -> &'static str {
    reason_phrase(status)
        .or_else(|| match status {
            100..=699 => reason_phrase(status / 100 * 100),
            _ => None,
        })
        .unwrap_or("Unknown")
}
