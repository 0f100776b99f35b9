//! Q.850 cause values and locations: the one vocabulary every leg's release maps into.

crate::wire_enum! {
    /// Cause value, ITU-T Q.850 Table 1 (7 bits).
    pub struct Q850Cause(u8) {
        /// 1
        UNALLOCATED_NUMBER = 1 => "unallocated-number",
        /// 2
        NO_ROUTE_TO_TRANSIT_NETWORK = 2 => "no-route-to-specified-transit-network",
        /// 3
        NO_ROUTE_TO_DESTINATION = 3 => "no-route-to-destination",
        /// 4
        SEND_SPECIAL_INFORMATION_TONE = 4 => "send-special-information-tone",
        /// 5
        MISDIALLED_TRUNK_PREFIX = 5 => "misdialled-trunk-prefix",
        /// 6
        CHANNEL_UNACCEPTABLE = 6 => "channel-unacceptable",
        /// 7
        CALL_AWARDED_IN_ESTABLISHED_CHANNEL = 7 => "call-awarded-and-being-delivered-in-an-established-channel",
        /// 8
        PREEMPTION = 8 => "preemption",
        /// 9
        PREEMPTION_CIRCUIT_RESERVED = 9 => "preemption-circuit-reserved-for-reuse",
        /// 14
        PORTED_NUMBER = 14 => "qor-ported-number",
        /// 16
        NORMAL_CLEARING = 16 => "normal-call-clearing",
        /// 17
        USER_BUSY = 17 => "user-busy",
        /// 18
        NO_USER_RESPONDING = 18 => "no-user-responding",
        /// 19
        NO_ANSWER = 19 => "no-answer-from-user",
        /// 20
        SUBSCRIBER_ABSENT = 20 => "subscriber-absent",
        /// 21
        CALL_REJECTED = 21 => "call-rejected",
        /// 22
        NUMBER_CHANGED = 22 => "number-changed",
        /// 23
        REDIRECTION_TO_NEW_DESTINATION = 23 => "redirection-to-new-destination",
        /// 25
        EXCHANGE_ROUTING_ERROR = 25 => "exchange-routing-error",
        /// 26
        NON_SELECTED_USER_CLEARING = 26 => "non-selected-user-clearing",
        /// 27
        DESTINATION_OUT_OF_ORDER = 27 => "destination-out-of-order",
        /// 28
        INVALID_NUMBER_FORMAT = 28 => "invalid-number-format",
        /// 29
        FACILITY_REJECTED = 29 => "facility-rejected",
        /// 30
        RESPONSE_TO_STATUS_ENQUIRY = 30 => "response-to-status-enquiry",
        /// 31
        NORMAL_UNSPECIFIED = 31 => "normal-unspecified",
        /// 34
        NO_CIRCUIT_AVAILABLE = 34 => "no-circuit-channel-available",
        /// 38
        NETWORK_OUT_OF_ORDER = 38 => "network-out-of-order",
        /// 39
        PERMANENT_FRAME_MODE_OUT_OF_SERVICE = 39 => "permanent-frame-mode-connection-out-of-service",
        /// 40
        PERMANENT_FRAME_MODE_OPERATIONAL = 40 => "permanent-frame-mode-connection-operational",
        /// 41
        TEMPORARY_FAILURE = 41 => "temporary-failure",
        /// 42
        SWITCHING_EQUIPMENT_CONGESTION = 42 => "switching-equipment-congestion",
        /// 43
        ACCESS_INFORMATION_DISCARDED = 43 => "access-information-discarded",
        /// 44
        REQUESTED_CHANNEL_NOT_AVAILABLE = 44 => "requested-circuit-channel-not-available",
        /// 46
        PRECEDENCE_CALL_BLOCKED = 46 => "precedence-call-blocked",
        /// 47
        RESOURCE_UNAVAILABLE = 47 => "resource-unavailable-unspecified",
        /// 49
        QOS_NOT_AVAILABLE = 49 => "quality-of-service-not-available",
        /// 50
        FACILITY_NOT_SUBSCRIBED = 50 => "requested-facility-not-subscribed",
        /// 53
        OUTGOING_BARRED_IN_CUG = 53 => "outgoing-calls-barred-within-cug",
        /// 55
        INCOMING_BARRED_IN_CUG = 55 => "incoming-calls-barred-within-cug",
        /// 57
        BEARER_NOT_AUTHORIZED = 57 => "bearer-capability-not-authorized",
        /// 58
        BEARER_NOT_AVAILABLE = 58 => "bearer-capability-not-presently-available",
        /// 62
        INCONSISTENT_OUTGOING_ACCESS = 62 => "inconsistency-in-outgoing-access-and-subscriber-class",
        /// 63
        SERVICE_NOT_AVAILABLE = 63 => "service-or-option-not-available-unspecified",
        /// 65
        BEARER_NOT_IMPLEMENTED = 65 => "bearer-capability-not-implemented",
        /// 66
        CHANNEL_TYPE_NOT_IMPLEMENTED = 66 => "channel-type-not-implemented",
        /// 69
        FACILITY_NOT_IMPLEMENTED = 69 => "requested-facility-not-implemented",
        /// 70
        ONLY_RESTRICTED_DIGITAL = 70 => "only-restricted-digital-information-bearer-available",
        /// 79
        SERVICE_NOT_IMPLEMENTED = 79 => "service-or-option-not-implemented-unspecified",
        /// 81
        INVALID_CALL_REFERENCE = 81 => "invalid-call-reference-value",
        /// 82
        CHANNEL_DOES_NOT_EXIST = 82 => "identified-channel-does-not-exist",
        /// 83
        SUSPENDED_CALL_EXISTS = 83 => "suspended-call-exists-but-not-this-identity",
        /// 84
        CALL_IDENTITY_IN_USE = 84 => "call-identity-in-use",
        /// 85
        NO_CALL_SUSPENDED = 85 => "no-call-suspended",
        /// 86
        CALL_IDENTITY_CLEARED = 86 => "call-with-requested-identity-cleared",
        /// 87
        USER_NOT_MEMBER_OF_CUG = 87 => "user-not-member-of-cug",
        /// 88
        INCOMPATIBLE_DESTINATION = 88 => "incompatible-destination",
        /// 90
        NON_EXISTENT_CUG = 90 => "non-existent-cug",
        /// 91
        INVALID_TRANSIT_NETWORK = 91 => "invalid-transit-network-selection",
        /// 95
        INVALID_MESSAGE = 95 => "invalid-message-unspecified",
        /// 96
        MANDATORY_IE_MISSING = 96 => "mandatory-information-element-missing",
        /// 97
        MESSAGE_TYPE_NON_EXISTENT = 97 => "message-type-non-existent-or-not-implemented",
        /// 98
        MESSAGE_NOT_COMPATIBLE_OR_NON_EXISTENT = 98 => "message-not-compatible-with-call-state-or-non-existent",
        /// 99
        IE_NON_EXISTENT = 99 => "information-element-non-existent-or-not-implemented",
        /// 100
        INVALID_IE_CONTENTS = 100 => "invalid-information-element-contents",
        /// 101
        MESSAGE_NOT_COMPATIBLE_WITH_STATE = 101 => "message-not-compatible-with-call-state",
        /// 102
        RECOVERY_ON_TIMER_EXPIRY = 102 => "recovery-on-timer-expiry",
        /// 103
        PARAMETER_NON_EXISTENT_PASSED_ON = 103 => "parameter-non-existent-or-not-implemented-passed-on",
        /// 110
        UNRECOGNIZED_PARAMETER_DISCARDED = 110 => "message-with-unrecognized-parameter-discarded",
        /// 111
        PROTOCOL_ERROR = 111 => "protocol-error-unspecified",
        /// 127
        INTERWORKING = 127 => "interworking-unspecified",
    }
}

crate::wire_enum! {
    /// Location, Q.850 §2.2.5 (octet 3 bits 4-1).
    pub struct Location(u8) {
        /// User.
        USER = 0 => "user",
        /// Private network serving the local user.
        PRIVATE_LOCAL = 1 => "private-network-local-user",
        /// Public network serving the local user.
        PUBLIC_LOCAL = 2 => "public-network-local-user",
        /// Transit network.
        TRANSIT = 3 => "transit-network",
        /// Public network serving the remote user.
        PUBLIC_REMOTE = 4 => "public-network-remote-user",
        /// Private network serving the remote user.
        PRIVATE_REMOTE = 5 => "private-network-remote-user",
        /// International network.
        INTERNATIONAL = 7 => "international-network",
        /// Network beyond interworking point.
        BEYOND_INTERWORKING = 10 => "network-beyond-interworking-point",
    }
}

/// A cause as the call model carries it: value and location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cause {
    /// Q.850 cause value.
    pub value: Q850Cause,
    /// Where the cause was generated.
    pub location: Location,
}

impl Cause {
    /// A cause with location "user".
    pub const fn user(value: Q850Cause) -> Self {
        Cause {
            value,
            location: Location::USER,
        }
    }

    /// Normal call clearing (16) from the user.
    pub const NORMAL: Cause = Cause::user(Q850Cause::NORMAL_CLEARING);
}
