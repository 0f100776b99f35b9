//! Q.850 cause <-> SIP status, as RFC 3398 gives them.
//!
//! - SIP status -> cause: RFC 3398 §8.2.6.1 ([`STATUS_TO_CAUSE`], [`WARNING_TO_CAUSE`]);
//! - cause -> SIP status: RFC 3398 §7.2.4.1 ([`CAUSE_TO_STATUS`]).
//!
//! Rules the RFC states around the tables, and how gaps in it are closed:
//! - a status not in §8.2.6.1 maps to 31 "normal, unspecified" (§8.2.6.1 text); the RFC
//!   gives no class-based fallback in this direction, so there is none;
//! - location: 6xx -> "user", 4xx/5xx -> "network" (§8.2.6.1). For "network" we use
//!   [`SIP_NETWORK_LOCATION`] = "network beyond interworking point" (Q.850 BI): the SIP
//!   network that produced the status lies beyond this gateway's interworking point;
//! - 487 "no mapping": the 487 answers a CANCEL, and a CANCEL maps to 16 (§8.2.6.1 text),
//!   so a 487 gives 16;
//! - 488 and 606 "by Warning header": 65 when the Warning code speaks to an unavailable
//!   bearer capability (we read 304 "Media type not available" and 305 "Incompatible media
//!   format" that way), else 31;
//! - the row printed "504 Version Not Supported" is 505 (504 is listed just above it as
//!   "Server time-out");
//! - a cause not in §7.2.4.1 is treated as the unspecified cause of its Q.850 class (31,
//!   47, 63, 79, 95, 111, 127; the ISUP rule for unrecognised cause values); when that
//!   has no row either (63, 95), as 127 "interworking, unspecified" -> 500;
//! - 16 "normal call clearing" maps to BYE/CANCEL, not to a status; when a final response
//!   must be sent anyway (release before answer on an incoming leg) it takes its class
//!   default, 31 -> 480;
//! - 21 with location "user" -> 603 Decline, the 6xx alternative the §7.2.4.1 note (+)
//!   allows; 22 "with diagnostic" -> 301 needs the diagnostic, which the call model does
//!   not carry, so 22 always gives 410.

use crate::cause::{Cause, Location, Q850Cause};

/// The location given to causes derived from SIP 4xx/5xx responses (RFC 3398 §8.2.6.1
/// "network"): Q.850 "network beyond interworking point".
pub const SIP_NETWORK_LOCATION: Location = Location::BEYOND_INTERWORKING;

/// What a row of RFC 3398 §8.2.6.1 says a status maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMapping {
    /// This cause value.
    Cause(Q850Cause),
    /// "--- (no mapping)" (487).
    NoMapping,
    /// "--- by Warning header" (488, 606): see [`WARNING_TO_CAUSE`].
    ByWarning,
}

/// One row of RFC 3398 §8.2.6.1 (response received -> cause value in the REL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRow {
    /// SIP status code.
    pub status: u16,
    /// What it maps to.
    pub mapping: StatusMapping,
}

const fn s(status: u16, cause: Q850Cause) -> StatusRow {
    StatusRow {
        status,
        mapping: StatusMapping::Cause(cause),
    }
}

/// RFC 3398 §8.2.6.1, every row, in the RFC's order (ascending status).
pub static STATUS_TO_CAUSE: &[StatusRow] = &[
    s(400, Q850Cause::TEMPORARY_FAILURE),
    s(401, Q850Cause::CALL_REJECTED),
    s(402, Q850Cause::CALL_REJECTED),
    s(403, Q850Cause::CALL_REJECTED),
    s(404, Q850Cause::UNALLOCATED_NUMBER),
    s(405, Q850Cause::SERVICE_NOT_AVAILABLE),
    s(406, Q850Cause::SERVICE_NOT_IMPLEMENTED),
    s(407, Q850Cause::CALL_REJECTED),
    s(408, Q850Cause::RECOVERY_ON_TIMER_EXPIRY),
    s(410, Q850Cause::NUMBER_CHANGED),
    s(413, Q850Cause::INTERWORKING),
    s(414, Q850Cause::INTERWORKING),
    s(415, Q850Cause::SERVICE_NOT_IMPLEMENTED),
    s(416, Q850Cause::INTERWORKING),
    s(420, Q850Cause::INTERWORKING),
    s(421, Q850Cause::INTERWORKING),
    s(423, Q850Cause::INTERWORKING),
    s(480, Q850Cause::NO_USER_RESPONDING),
    s(481, Q850Cause::TEMPORARY_FAILURE),
    s(482, Q850Cause::EXCHANGE_ROUTING_ERROR),
    s(483, Q850Cause::EXCHANGE_ROUTING_ERROR),
    s(484, Q850Cause::INVALID_NUMBER_FORMAT),
    s(485, Q850Cause::UNALLOCATED_NUMBER),
    s(486, Q850Cause::USER_BUSY),
    StatusRow {
        status: 487,
        mapping: StatusMapping::NoMapping,
    },
    StatusRow {
        status: 488,
        mapping: StatusMapping::ByWarning,
    },
    s(500, Q850Cause::TEMPORARY_FAILURE),
    s(501, Q850Cause::SERVICE_NOT_IMPLEMENTED),
    s(502, Q850Cause::NETWORK_OUT_OF_ORDER),
    s(503, Q850Cause::TEMPORARY_FAILURE),
    s(504, Q850Cause::RECOVERY_ON_TIMER_EXPIRY),
    s(505, Q850Cause::INTERWORKING),
    s(513, Q850Cause::INTERWORKING),
    s(600, Q850Cause::USER_BUSY),
    s(603, Q850Cause::CALL_REJECTED),
    s(604, Q850Cause::UNALLOCATED_NUMBER),
    StatusRow {
        status: 606,
        mapping: StatusMapping::ByWarning,
    },
];

/// Warning codes (RFC 3261 §20.43) that "speak to an unavailable bearer capability" and so
/// map 488/606 to 65 (RFC 3398 §8.2.6.1); any other Warning, or none, gives 31.
pub static WARNING_TO_CAUSE: &[(u16, Q850Cause)] = &[
    (304, Q850Cause::BEARER_NOT_IMPLEMENTED),
    (305, Q850Cause::BEARER_NOT_IMPLEMENTED),
];

/// One row of RFC 3398 §7.2.4.1 (cause value -> SIP response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CauseRow {
    /// Q.850 cause value.
    pub cause: Q850Cause,
    /// The response; `None` for 16, which maps to BYE/CANCEL (note (*)).
    pub status: Option<u16>,
    /// The 6xx alternative when the cause location is "user" (note (+)).
    pub user_status: Option<u16>,
}

const fn c(cause: Q850Cause, status: u16) -> CauseRow {
    CauseRow {
        cause,
        status: Some(status),
        user_status: None,
    }
}

/// RFC 3398 §7.2.4.1, every row, in the RFC's order (ascending cause value).
pub static CAUSE_TO_STATUS: &[CauseRow] = &[
    // Normal event
    c(Q850Cause::UNALLOCATED_NUMBER, 404),
    c(Q850Cause::NO_ROUTE_TO_TRANSIT_NETWORK, 404),
    c(Q850Cause::NO_ROUTE_TO_DESTINATION, 404),
    CauseRow {
        cause: Q850Cause::NORMAL_CLEARING,
        status: None,
        user_status: None,
    },
    c(Q850Cause::USER_BUSY, 486),
    c(Q850Cause::NO_USER_RESPONDING, 408),
    c(Q850Cause::NO_ANSWER, 480),
    c(Q850Cause::SUBSCRIBER_ABSENT, 480),
    CauseRow {
        cause: Q850Cause::CALL_REJECTED,
        status: Some(403),
        user_status: Some(603),
    },
    c(Q850Cause::NUMBER_CHANGED, 410),
    c(Q850Cause::REDIRECTION_TO_NEW_DESTINATION, 410),
    c(Q850Cause::NON_SELECTED_USER_CLEARING, 404),
    c(Q850Cause::DESTINATION_OUT_OF_ORDER, 502),
    c(Q850Cause::INVALID_NUMBER_FORMAT, 484),
    c(Q850Cause::FACILITY_REJECTED, 501),
    c(Q850Cause::NORMAL_UNSPECIFIED, 480),
    // Resource unavailable
    c(Q850Cause::NO_CIRCUIT_AVAILABLE, 503),
    c(Q850Cause::NETWORK_OUT_OF_ORDER, 503),
    c(Q850Cause::TEMPORARY_FAILURE, 503),
    c(Q850Cause::SWITCHING_EQUIPMENT_CONGESTION, 503),
    c(Q850Cause::RESOURCE_UNAVAILABLE, 503),
    // Service or option not available
    c(Q850Cause::INCOMING_BARRED_IN_CUG, 403),
    c(Q850Cause::BEARER_NOT_AUTHORIZED, 403),
    c(Q850Cause::BEARER_NOT_AVAILABLE, 503),
    // Service or option not implemented
    c(Q850Cause::BEARER_NOT_IMPLEMENTED, 488),
    c(Q850Cause::ONLY_RESTRICTED_DIGITAL, 488),
    c(Q850Cause::SERVICE_NOT_IMPLEMENTED, 501),
    // Invalid message
    c(Q850Cause::USER_NOT_MEMBER_OF_CUG, 403),
    c(Q850Cause::INCOMPATIBLE_DESTINATION, 503),
    // Protocol error
    c(Q850Cause::RECOVERY_ON_TIMER_EXPIRY, 504),
    c(Q850Cause::PROTOCOL_ERROR, 500),
    // Interworking
    c(Q850Cause::INTERWORKING, 500),
];

/// The status RFC 3398 §7.2.4.1 gives when nothing maps: the row of 127 "interworking".
pub const DEFAULT_STATUS: u16 = 500;

/// The cause value for a SIP final response (RFC 3398 §8.2.6.1), given the response's
/// Warning header value if any. Unlisted statuses give 31.
pub fn cause_for_status(status: u16, warning: Option<&str>) -> Q850Cause {
    let row = STATUS_TO_CAUSE
        .binary_search_by_key(&status, |r| r.status)
        .ok()
        .map(|i| STATUS_TO_CAUSE[i].mapping);
    match row {
        Some(StatusMapping::Cause(cause)) => cause,
        Some(StatusMapping::NoMapping) => Q850Cause::NORMAL_CLEARING,
        Some(StatusMapping::ByWarning) => cause_for_warning(warning),
        None => Q850Cause::NORMAL_UNSPECIFIED,
    }
}

/// The cause a 488/606 gets from its Warning header value (RFC 3398 §8.2.6.1): the first
/// warn-code listed in [`WARNING_TO_CAUSE`], else 31.
pub fn cause_for_warning(warning: Option<&str>) -> Q850Cause {
    warning
        .into_iter()
        .flat_map(warn_codes)
        .find_map(|code| {
            WARNING_TO_CAUSE
                .iter()
                .find(|(w, _)| *w == code)
                .map(|(_, c)| *c)
        })
        .unwrap_or(Q850Cause::NORMAL_UNSPECIFIED)
}

/// The warn-codes of a Warning header value (`warn-code SP warn-agent SP warn-text`,
/// comma-separated, RFC 3261 §20.43); malformed values are skipped.
fn warn_codes(header: &str) -> impl Iterator<Item = u16> + '_ {
    super::syntax::split_outside(header, ',')
        .into_iter()
        .filter_map(|v| v.split_whitespace().next())
        .filter(|code| code.len() == 3)
        .filter_map(|code| code.parse().ok())
}

/// The cause location for a SIP status (RFC 3398 §8.2.6.1): 6xx "user", else network
/// ([`SIP_NETWORK_LOCATION`]).
pub fn location_for_status(status: u16) -> Location {
    if (600..700).contains(&status) {
        Location::USER
    } else {
        SIP_NETWORK_LOCATION
    }
}

/// Cause value and location for a SIP final response (RFC 3398 §8.2.6.1).
pub fn release_cause_for_status(status: u16, warning: Option<&str>) -> Cause {
    Cause {
        value: cause_for_status(status, warning),
        location: location_for_status(status),
    }
}

/// The Q.850 class of a cause value (bits 7-5) as its "unspecified" member: 31, 47, 63,
/// 79, 95, 111 or 127.
pub fn class_unspecified(cause: Q850Cause) -> Q850Cause {
    match cause.0 {
        0..=31 => Q850Cause::NORMAL_UNSPECIFIED,
        32..=47 => Q850Cause::RESOURCE_UNAVAILABLE,
        48..=63 => Q850Cause::SERVICE_NOT_AVAILABLE,
        64..=79 => Q850Cause::SERVICE_NOT_IMPLEMENTED,
        80..=95 => Q850Cause::INVALID_MESSAGE,
        96..=111 => Q850Cause::PROTOCOL_ERROR,
        _ => Q850Cause::INTERWORKING,
    }
}

fn cause_row(cause: Q850Cause) -> Option<&'static CauseRow> {
    CAUSE_TO_STATUS
        .binary_search_by_key(&cause, |r| r.cause)
        .ok()
        .map(|i| &CAUSE_TO_STATUS[i])
}

/// The status of cause's own row (RFC 3398 §7.2.4.1), honouring note (+) for location
/// "user"; `None` when the row is absent or is 16 (BYE/CANCEL).
pub fn listed_status_for_cause(cause: Cause) -> Option<u16> {
    let row = cause_row(cause.value)?;
    match (row.user_status, cause.location) {
        (Some(user), Location::USER) => Some(user),
        _ => row.status,
    }
}

/// The final response to send for a release cause (RFC 3398 §7.2.4.1), with the fallbacks
/// described in the module docs: own row, else the class's unspecified cause's row, else 500.
pub fn status_for_cause(cause: Cause) -> u16 {
    listed_status_for_cause(cause)
        .or_else(|| {
            listed_status_for_cause(Cause {
                value: class_unspecified(cause.value),
                location: cause.location,
            })
        })
        .unwrap_or(DEFAULT_STATUS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(
            STATUS_TO_CAUSE
                .windows(2)
                .all(|w| w[0].status < w[1].status)
        );
        assert!(CAUSE_TO_STATUS.windows(2).all(|w| w[0].cause < w[1].cause));
    }
}
