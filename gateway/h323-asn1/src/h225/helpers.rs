//! Hand-written helpers for the generated H.225.0 types: BMPString conversions (UTF-16BE,
//! see PEERS.md section 8), the protocol identifier, transport addresses and identifiers.

use rasn::types::{BmpString, FixedOctetString, ObjectIdentifier};

use super::generated::h323_messages::{
    AliasAddress, CallIdentifier, CallType, ConferenceIdentifier, EndpointIdentifier, EndpointType,
    GatekeeperIdentifier, GloballyUniqueID, H323UUPDU, H323UUPDUH323MessageBody,
    H323UserInformation, ProtocolIdentifier, RasMessage, RegistrationConfirm, RequestSeqNum,
    SetupUUIE, SetupUUIEConferenceGoal, TerminalInfo, TransportAddress, TransportAddressIpAddress,
};

/// `protocolIdentifier` arcs of H.225.0 version 7: {itu-t(0) recommendation(0) h(8)
/// 2250 version(0) 7}.
pub const H225_V7_OID: &[u32] = &[0, 0, 8, 2250, 0, 7];

/// A string outside the Basic Multilingual Plane (or U+FFFE/U+FFFF) cannot be a BMPString.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotBmp;

impl core::fmt::Display for NotBmp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("string has characters outside the Basic Multilingual Plane")
    }
}

impl std::error::Error for NotBmp {}

/// A BMPString from text. rasn's `BmpString::try_from(&str)` would read the UTF-8 bytes
/// as UCS-2 code units; this goes through UTF-16BE instead.
pub fn bmp_string(text: &str) -> Result<BmpString, NotBmp> {
    if text.chars().any(|c| u32::from(c) > 0xFFFD) {
        return Err(NotBmp);
    }
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    BmpString::try_from(bytes).map_err(|_| NotBmp)
}

/// The text of a BMPString (unpaired surrogates become U+FFFD).
pub fn bmp_to_string(s: &BmpString) -> String {
    char::decode_utf16(s.clone().into_vec())
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// The H.225.0 v7 protocol identifier.
pub fn protocol_identifier_v7() -> ProtocolIdentifier {
    ProtocolIdentifier(
        ObjectIdentifier::new(H225_V7_OID).expect("a valid OID: two first arcs 0, 0"),
    )
}

/// `AliasAddress.h323-ID` from text.
pub fn h323_id(text: &str) -> Result<AliasAddress, NotBmp> {
    Ok(AliasAddress::h323_ID(bmp_string(text)?))
}

/// `AliasAddress.dialedDigits` (the caller checks the alphabet `0-9 # * ,`; encoding
/// rejects anything else).
pub fn dialed_digits(digits: &str) -> Option<AliasAddress> {
    rasn::types::Ia5String::try_from(digits)
        .ok()
        .map(AliasAddress::dialedDigits)
}

/// `TransportAddress.ipAddress`.
pub fn ipv4_address(ip: std::net::Ipv4Addr, port: u16) -> TransportAddress {
    TransportAddress::ipAddress(TransportAddressIpAddress {
        ip: rasn::types::OctetString::from(ip.octets().to_vec()),
        port,
    })
}

/// A `GloballyUniqueID` from its 16 octets.
pub fn guid(octets: [u8; 16]) -> GloballyUniqueID {
    GloballyUniqueID(FixedOctetString::new(octets))
}

/// A `CallIdentifier` from its 16 octets.
pub fn call_identifier(octets: [u8; 16]) -> CallIdentifier {
    CallIdentifier { guid: guid(octets) }
}

/// A `ConferenceIdentifier` from its 16 octets.
pub fn conference_identifier(octets: [u8; 16]) -> ConferenceIdentifier {
    ConferenceIdentifier(guid(octets))
}

/// An `EndpointIdentifier` from text.
pub fn endpoint_identifier(text: &str) -> Result<EndpointIdentifier, NotBmp> {
    Ok(EndpointIdentifier(bmp_string(text)?))
}

/// A `GatekeeperIdentifier` from text.
pub fn gatekeeper_identifier(text: &str) -> Result<GatekeeperIdentifier, NotBmp> {
    Ok(GatekeeperIdentifier(bmp_string(text)?))
}

/// An `EndpointType` saying "terminal", nothing else.
pub fn terminal_endpoint() -> EndpointType {
    EndpointType {
        non_standard_data: None,
        vendor: None,
        gatekeeper: None,
        gateway: None,
        mcu: None,
        terminal: Some(TerminalInfo {
            non_standard_data: None,
        }),
        mc: false,
        undefined_node: false,
        set: None,
        supported_tunnelled_protocols: None,
    }
}

/// A v7 `Setup-UUIE` (create, point-to-point) with every extension addition the ASN.1
/// declares mandatory set (`false`), everything optional absent: set the fields you need.
pub fn setup_uuie(
    source_info: EndpointType,
    conference_id: ConferenceIdentifier,
    call_id: CallIdentifier,
) -> SetupUUIE {
    SetupUUIE {
        protocol_identifier: protocol_identifier_v7(),
        h245_address: None,
        source_address: None,
        source_info,
        destination_address: None,
        dest_call_signal_address: None,
        dest_extra_call_info: None,
        dest_extra_crv: None,
        active_mc: false,
        conference_id,
        conference_goal: SetupUUIEConferenceGoal::create(()),
        call_services: None,
        call_type: CallType::pointToPoint(()),
        source_call_signal_address: None,
        remote_extension_address: None,
        call_identifier: Some(call_id),
        h245_security_capability: None,
        tokens: None,
        crypto_tokens: None,
        fast_start: None,
        media_wait_for_connect: Some(false),
        can_overlap_send: Some(false),
        endpoint_identifier: None,
        multiple_calls: Some(false),
        maintain_connection: Some(false),
        connection_parameters: None,
        language: None,
        presentation_indicator: None,
        screening_indicator: None,
        service_control: None,
        symmetric_operation_required: None,
        capacity: None,
        circuit_info: None,
        desired_protocols: None,
        needed_features: None,
        desired_features: None,
        supported_features: None,
        parallel_h245_control: None,
        additional_source_addresses: None,
        hop_count: None,
        display_name: None,
    }
}

/// An `H323-UserInformation` carrying `body`, with `h245Tunnelling` as given and nothing
/// else.
pub fn user_information(
    body: H323UUPDUH323MessageBody,
    h245_tunnelling: bool,
) -> H323UserInformation {
    H323UserInformation {
        h323_uu_pdu: H323UUPDU {
            h323_message_body: body,
            non_standard_data: None,
            h4501_supplementary_service: None,
            h245_tunnelling: Some(h245_tunnelling),
            h245_control: None,
            non_standard_control: None,
            call_linkage: None,
            tunnelled_signalling_message: None,
            provisional_resp_to_h245_tunnelling: None,
            stimulus_control: None,
            generic_data: None,
        },
        user_data: None,
    }
}

/// A v7 RCF (`registrationConfirm`) with the mandatory extension additions set
/// (`willRespondToIRR` and `maintainConnection` false), everything optional absent.
pub fn registration_confirm(
    seq: u16,
    call_signal_address: Vec<TransportAddress>,
    endpoint_identifier: EndpointIdentifier,
) -> RasMessage {
    RasMessage::registrationConfirm(RegistrationConfirm {
        request_seq_num: RequestSeqNum(seq.max(1)),
        protocol_identifier: protocol_identifier_v7(),
        non_standard_data: None,
        call_signal_address,
        terminal_alias: None,
        gatekeeper_identifier: None,
        endpoint_identifier,
        alternate_gatekeeper: None,
        time_to_live: None,
        tokens: None,
        crypto_tokens: None,
        integrity_check_value: None,
        will_respond_to_irr: Some(false),
        pre_granted_arq: None,
        maintain_connection: Some(false),
        service_control: None,
        supports_additive_registration: None,
        terminal_alias_pattern: None,
        supported_prefixes: None,
        usage_spec: None,
        feature_server_alias: None,
        capacity_reporting_spec: None,
        feature_set: None,
        generic_data: None,
        assigned_gatekeeper: None,
        rehoming_model: None,
        transport_qos: None,
    })
}
