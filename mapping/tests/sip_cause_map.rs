//! RFC 3398 cause tables, row by row: §8.2.6.1 (SIP status -> Q.850 cause) and §7.2.4.1
//! (Q.850 cause -> SIP status). Expected values are typed from the RFC, not read from the
//! table under test.

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::sip::cause_map::{
    CAUSE_TO_STATUS, SIP_NETWORK_LOCATION, STATUS_TO_CAUSE, StatusMapping, cause_for_status,
    listed_status_for_cause, location_for_status, release_cause_for_status, status_for_cause,
};

/// One test per §8.2.6.1 row; plus a test that the table holds exactly these rows.
macro_rules! status_rows {
    ($($name:ident: $status:literal => $expect:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let row = STATUS_TO_CAUSE
                    .iter()
                    .find(|r| r.status == $status)
                    .expect("RFC 3398 §8.2.6.1 row missing from STATUS_TO_CAUSE");
                assert_eq!(row.mapping, $expect, "row {}", $status);
            }
        )*

        #[test]
        fn rfc3398_8_2_6_1_table_holds_exactly_the_rfc_rows() {
            let tested: &[u16] = &[$($status),*];
            let table: Vec<u16> = STATUS_TO_CAUSE.iter().map(|r| r.status).collect();
            assert_eq!(table, tested);
        }
    };
}

fn cause(v: u8) -> StatusMapping {
    StatusMapping::Cause(Q850Cause(v))
}

status_rows! {
    rfc3398_8_2_6_1_400_bad_request_to_41_temporary_failure: 400 => cause(41);
    rfc3398_8_2_6_1_401_unauthorized_to_21_call_rejected: 401 => cause(21);
    rfc3398_8_2_6_1_402_payment_required_to_21_call_rejected: 402 => cause(21);
    rfc3398_8_2_6_1_403_forbidden_to_21_call_rejected: 403 => cause(21);
    rfc3398_8_2_6_1_404_not_found_to_1_unallocated_number: 404 => cause(1);
    rfc3398_8_2_6_1_405_method_not_allowed_to_63_service_unavailable: 405 => cause(63);
    rfc3398_8_2_6_1_406_not_acceptable_to_79_not_implemented: 406 => cause(79);
    rfc3398_8_2_6_1_407_proxy_auth_required_to_21_call_rejected: 407 => cause(21);
    rfc3398_8_2_6_1_408_request_timeout_to_102_timer_expiry: 408 => cause(102);
    rfc3398_8_2_6_1_410_gone_to_22_number_changed: 410 => cause(22);
    rfc3398_8_2_6_1_413_entity_too_long_to_127_interworking: 413 => cause(127);
    rfc3398_8_2_6_1_414_uri_too_long_to_127_interworking: 414 => cause(127);
    rfc3398_8_2_6_1_415_unsupported_media_to_79_not_implemented: 415 => cause(79);
    rfc3398_8_2_6_1_416_unsupported_uri_scheme_to_127_interworking: 416 => cause(127);
    rfc3398_8_2_6_1_420_bad_extension_to_127_interworking: 420 => cause(127);
    rfc3398_8_2_6_1_421_extension_required_to_127_interworking: 421 => cause(127);
    rfc3398_8_2_6_1_423_interval_too_brief_to_127_interworking: 423 => cause(127);
    rfc3398_8_2_6_1_480_temporarily_unavailable_to_18_no_user_responding: 480 => cause(18);
    rfc3398_8_2_6_1_481_transaction_does_not_exist_to_41_temporary_failure: 481 => cause(41);
    rfc3398_8_2_6_1_482_loop_detected_to_25_exchange_routing_error: 482 => cause(25);
    rfc3398_8_2_6_1_483_too_many_hops_to_25_exchange_routing_error: 483 => cause(25);
    rfc3398_8_2_6_1_484_address_incomplete_to_28_invalid_number_format: 484 => cause(28);
    rfc3398_8_2_6_1_485_ambiguous_to_1_unallocated_number: 485 => cause(1);
    rfc3398_8_2_6_1_486_busy_here_to_17_user_busy: 486 => cause(17);
    rfc3398_8_2_6_1_487_request_terminated_no_mapping: 487 => StatusMapping::NoMapping;
    rfc3398_8_2_6_1_488_not_acceptable_here_by_warning: 488 => StatusMapping::ByWarning;
    rfc3398_8_2_6_1_500_server_internal_error_to_41_temporary_failure: 500 => cause(41);
    rfc3398_8_2_6_1_501_not_implemented_to_79_not_implemented: 501 => cause(79);
    rfc3398_8_2_6_1_502_bad_gateway_to_38_network_out_of_order: 502 => cause(38);
    rfc3398_8_2_6_1_503_service_unavailable_to_41_temporary_failure: 503 => cause(41);
    rfc3398_8_2_6_1_504_server_time_out_to_102_timer_expiry: 504 => cause(102);
    rfc3398_8_2_6_1_505_version_not_supported_to_127_interworking: 505 => cause(127);
    rfc3398_8_2_6_1_513_message_too_large_to_127_interworking: 513 => cause(127);
    rfc3398_8_2_6_1_600_busy_everywhere_to_17_user_busy: 600 => cause(17);
    rfc3398_8_2_6_1_603_decline_to_21_call_rejected: 603 => cause(21);
    rfc3398_8_2_6_1_604_does_not_exist_anywhere_to_1_unallocated: 604 => cause(1);
    rfc3398_8_2_6_1_606_not_acceptable_by_warning: 606 => StatusMapping::ByWarning;
}

#[test]
fn rfc3398_8_2_6_1_listed_rows_through_the_function() {
    for row in STATUS_TO_CAUSE {
        if let StatusMapping::Cause(c) = row.mapping {
            assert_eq!(
                cause_for_status(row.status, None),
                c,
                "status {}",
                row.status
            );
        }
    }
}

#[test]
fn rfc3398_8_2_6_1_unlisted_status_gives_31() {
    for status in [
        300, 302, 380, 409, 411, 422, 489, 491, 499, 580, 599, 607, 699,
    ] {
        assert_eq!(
            cause_for_status(status, None),
            Q850Cause::NORMAL_UNSPECIFIED,
            "status {status}"
        );
    }
}

#[test]
fn rfc3398_8_2_6_1_487_gives_16_like_the_cancel_it_answers() {
    assert_eq!(cause_for_status(487, None), Q850Cause::NORMAL_CLEARING);
}

#[test]
fn rfc3398_8_2_6_1_488_606_by_warning_header() {
    // No Warning, or one that is not about bearer capability: 31.
    assert_eq!(cause_for_status(488, None), Q850Cause(31));
    assert_eq!(
        cause_for_status(606, Some("399 gw \"Miscellaneous\"")),
        Q850Cause(31)
    );
    assert_eq!(
        cause_for_status(488, Some("370 gw \"Insufficient bandwidth\"")),
        Q850Cause(31)
    );
    // Unavailable bearer capability: 65.
    assert_eq!(
        cause_for_status(488, Some("304 gw.example \"Media type not available\"")),
        Q850Cause(65)
    );
    assert_eq!(
        cause_for_status(
            606,
            Some("399 a \"x\", 305 b \"Incompatible media format\"")
        ),
        Q850Cause(65)
    );
    // Malformed Warning values are skipped.
    assert_eq!(cause_for_status(606, Some("garbage, 30x y")), Q850Cause(31));
    // Other statuses ignore Warning.
    assert_eq!(cause_for_status(486, Some("304 gw \"x\"")), Q850Cause(17));
}

#[test]
fn rfc3398_8_2_6_1_location_user_for_6xx_network_for_4xx_5xx() {
    assert_eq!(SIP_NETWORK_LOCATION, Location::BEYOND_INTERWORKING);
    for status in [400, 404, 486, 499, 500, 503, 599] {
        assert_eq!(
            location_for_status(status),
            SIP_NETWORK_LOCATION,
            "{status}"
        );
    }
    for status in [600, 603, 604, 606, 699] {
        assert_eq!(location_for_status(status), Location::USER, "{status}");
    }
    assert_eq!(
        release_cause_for_status(603, None),
        Cause::user(Q850Cause::CALL_REJECTED)
    );
    assert_eq!(
        release_cause_for_status(486, None),
        Cause {
            value: Q850Cause::USER_BUSY,
            location: Location::BEYOND_INTERWORKING
        }
    );
}

/// A cause at a network location, so the (+) "user" alternative does not apply.
fn net(v: u8) -> Cause {
    Cause {
        value: Q850Cause(v),
        location: Location::PUBLIC_REMOTE,
    }
}

/// One test per §7.2.4.1 row; plus a test that the table holds exactly these rows.
macro_rules! cause_rows {
    ($($name:ident: $cause:literal => $status:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let row = CAUSE_TO_STATUS
                    .iter()
                    .find(|r| r.cause == Q850Cause($cause))
                    .expect("RFC 3398 §7.2.4.1 row missing from CAUSE_TO_STATUS");
                assert_eq!(row.status, $status, "cause {}", $cause);
                assert_eq!(listed_status_for_cause(net($cause)), $status, "cause {}", $cause);
            }
        )*

        #[test]
        fn rfc3398_7_2_4_1_table_holds_exactly_the_rfc_rows() {
            let tested: &[u8] = &[$($cause),*];
            let table: Vec<u8> = CAUSE_TO_STATUS.iter().map(|r| r.cause.0).collect();
            assert_eq!(table, tested);
        }
    };
}

cause_rows! {
    rfc3398_7_2_4_1_1_unallocated_number_to_404: 1 => Some(404);
    rfc3398_7_2_4_1_2_no_route_to_network_to_404: 2 => Some(404);
    rfc3398_7_2_4_1_3_no_route_to_destination_to_404: 3 => Some(404);
    rfc3398_7_2_4_1_16_normal_call_clearing_to_bye_or_cancel: 16 => None;
    rfc3398_7_2_4_1_17_user_busy_to_486: 17 => Some(486);
    rfc3398_7_2_4_1_18_no_user_responding_to_408: 18 => Some(408);
    rfc3398_7_2_4_1_19_no_answer_to_480: 19 => Some(480);
    rfc3398_7_2_4_1_20_subscriber_absent_to_480: 20 => Some(480);
    rfc3398_7_2_4_1_21_call_rejected_to_403: 21 => Some(403);
    rfc3398_7_2_4_1_22_number_changed_to_410: 22 => Some(410);
    rfc3398_7_2_4_1_23_redirection_to_410: 23 => Some(410);
    rfc3398_7_2_4_1_26_non_selected_user_clearing_to_404: 26 => Some(404);
    rfc3398_7_2_4_1_27_destination_out_of_order_to_502: 27 => Some(502);
    rfc3398_7_2_4_1_28_address_incomplete_to_484: 28 => Some(484);
    rfc3398_7_2_4_1_29_facility_rejected_to_501: 29 => Some(501);
    rfc3398_7_2_4_1_31_normal_unspecified_to_480: 31 => Some(480);
    rfc3398_7_2_4_1_34_no_circuit_available_to_503: 34 => Some(503);
    rfc3398_7_2_4_1_38_network_out_of_order_to_503: 38 => Some(503);
    rfc3398_7_2_4_1_41_temporary_failure_to_503: 41 => Some(503);
    rfc3398_7_2_4_1_42_switching_equipment_congestion_to_503: 42 => Some(503);
    rfc3398_7_2_4_1_47_resource_unavailable_to_503: 47 => Some(503);
    rfc3398_7_2_4_1_55_incoming_barred_in_cug_to_403: 55 => Some(403);
    rfc3398_7_2_4_1_57_bearer_not_authorized_to_403: 57 => Some(403);
    rfc3398_7_2_4_1_58_bearer_not_available_to_503: 58 => Some(503);
    rfc3398_7_2_4_1_65_bearer_not_implemented_to_488: 65 => Some(488);
    rfc3398_7_2_4_1_70_only_restricted_digital_to_488: 70 => Some(488);
    rfc3398_7_2_4_1_79_service_not_implemented_to_501: 79 => Some(501);
    rfc3398_7_2_4_1_87_user_not_member_of_cug_to_403: 87 => Some(403);
    rfc3398_7_2_4_1_88_incompatible_destination_to_503: 88 => Some(503);
    rfc3398_7_2_4_1_102_recovery_on_timer_expiry_to_504: 102 => Some(504);
    rfc3398_7_2_4_1_111_protocol_error_to_500: 111 => Some(500);
    rfc3398_7_2_4_1_127_interworking_to_500: 127 => Some(500);
}

#[test]
fn rfc3398_7_2_4_1_listed_rows_through_the_function() {
    for row in CAUSE_TO_STATUS {
        if let Some(status) = row.status {
            assert_eq!(
                status_for_cause(net(row.cause.0)),
                status,
                "cause {}",
                row.cause
            );
        }
    }
}

#[test]
fn rfc3398_7_2_4_1_note_plus_21_from_user_gives_603() {
    assert_eq!(status_for_cause(Cause::user(Q850Cause::CALL_REJECTED)), 603);
    assert_eq!(status_for_cause(net(21)), 403);
    // The note is for 21 only: other causes from the user keep their 4xx.
    assert_eq!(status_for_cause(Cause::user(Q850Cause::USER_BUSY)), 486);
}

#[test]
fn rfc3398_7_2_4_1_16_as_a_response_takes_its_class_default_480() {
    assert_eq!(status_for_cause(Cause::NORMAL), 480);
}

#[test]
fn rfc3398_7_2_4_1_unlisted_causes_fall_back_by_class() {
    let cases: &[(u8, u16)] = &[
        // normal class -> 31 -> 480
        (4, 480),
        (6, 480),
        (9, 480),
        (25, 480),
        (30, 480),
        // resource unavailable -> 47 -> 503
        (43, 503),
        (44, 503),
        (46, 503),
        // service or option not available -> 63 (no row) -> 127 -> 500
        (49, 500),
        (50, 500),
        (63, 500),
        // service or option not implemented -> 79 -> 501
        (66, 501),
        (69, 501),
        // invalid message -> 95 (no row) -> 500
        (81, 500),
        (95, 500),
        // protocol error -> 111 -> 500
        (96, 500),
        (100, 500),
        // interworking, and values beyond 7 bits
        (120, 500),
        (200, 500),
    ];
    for &(cause, status) in cases {
        assert_eq!(status_for_cause(net(cause)), status, "cause {cause}");
    }
}
