//! Caller ID between SIP identity headers and the call model's [`PartyNumber`]:
//! From (RFC 3261), P-Asserted-Identity (RFC 3325), Remote-Party-ID (draft-ietf-sip-privacy)
//! and Privacy (RFC 3323).
//!
//! # SIP -> call model ([`caller_from_sip`])
//!
//! Identity source, first that yields a number:
//! 1. P-Asserted-Identity, only from a trusted peer (RFC 3325 §5: outside the trust domain
//!    it means nothing); screening "network provided";
//! 2. Remote-Party-ID with `party=calling` (or no `party`); screening "user provided,
//!    verified and passed" for `screen=yes` from a trusted peer, else "not screened" (an
//!    untrusted peer cannot vouch for its own screening);
//! 3. the From URI; screening "user provided, not screened".
//!
//! Presentation is restricted when the caller asks for privacy in any of the ways it can:
//! Privacy `id`, `user` or `header`; RPID `privacy=full` or `uri`; or an anonymous From
//! (RFC 3323 §4.1.1.3, user-level privacy). The restrictive reading wins when signals
//! conflict (e.g. `Privacy: none` with an anonymous From). `session` and `critical` do
//! not change presentation.
//!
//! When no source yields a number the result has no digits, screening "network provided"
//! (the Q.931 convention for a number without digits), and presentation restricted if the
//! caller asked for privacy (an anonymous From with no PAI), else "not available due to
//! interworking" (e.g. `sip:alice@example.com`).
//!
//! The display name comes from the chosen source, else the From (unless anonymous); it is
//! dropped whenever presentation is restricted and for RPID `privacy=name`.
//!
//! # Call model -> SIP ([`caller_to_sip`])
//!
//! | number | From | P-Asserted-Identity | Privacy | Remote-Party-ID |
//! |---|---|---|---|---|
//! | allowed | number + display | trusted peers | - | trusted peers, `privacy=off` |
//! | restricted | [`ANONYMOUS_FROM`] | trusted peers (real identity) | `id` (`;critical`) | trusted peers, `privacy=full` |
//! | restricted, no digits | [`ANONYMOUS_FROM`] | - | - | - |
//! | not available / none | [`UNAVAILABLE_FROM`] | - | - | - |
//!
//! PAI and RPID are sent only when the policy enables them. International numbers render
//! as `+digits`, national ones with the national prefix ([`NumberForm::render`]).

use super::name_addr::{NameAddr, Uri};
use super::number_form::NumberForm;
use super::privacy::Privacy;
use super::rpid::{RemotePartyId, RpidParty, RpidPrivacy};
use super::syntax::quote;
use crate::number::{Digits, PartyNumber, Presentation, Screening, TypeOfNumber};

/// The From value sent for a restricted caller (RFC 3323 §4.1.1.3).
pub const ANONYMOUS_FROM: &str = "\"Anonymous\" <sip:anonymous@anonymous.invalid>";

/// The From value sent when the caller's number is not available (our choice, in the
/// shape of [`ANONYMOUS_FROM`]; read back as "not available", not as a privacy request).
pub const UNAVAILABLE_FROM: &str = "<sip:unavailable@unknown.invalid>";

/// The identity header values of a received INVITE (each `None` when absent; several
/// headers of one name joined with `,`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SipIdentityIn<'a> {
    /// From header value.
    pub from: &'a str,
    /// P-Asserted-Identity header value.
    pub p_asserted_identity: Option<&'a str>,
    /// Remote-Party-ID header value.
    pub remote_party_id: Option<&'a str>,
    /// Privacy header value.
    pub privacy: Option<&'a str>,
}

/// Which header the caller's number was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentitySource {
    /// P-Asserted-Identity (trusted peer).
    PAssertedIdentity,
    /// Remote-Party-ID.
    RemotePartyId,
    /// From.
    From,
    /// No header held a number.
    None,
}

/// The caller as the call model carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerId {
    /// Calling number with presentation and screening (no digits when none was found).
    pub number: PartyNumber,
    /// Display name, when one was given and may be presented.
    pub display_name: Option<String>,
    /// Where the number came from.
    pub source: IdentitySource,
}

/// The first PAI value that holds a number, with a display name from any value.
fn pai_identity(header: &str, form: &NumberForm) -> Option<(Option<String>, PartyNumber)> {
    let values = NameAddr::parse_list(header);
    let (index, number) = values.iter().enumerate().find_map(|(i, v)| {
        Uri::parse(&v.uri)
            .and_then(|u| form.number_from_uri(&u))
            .map(|n| (i, n))
    })?;
    let display = values[index]
        .display
        .clone()
        .or_else(|| values.iter().find_map(|v| v.display.clone()));
    Some((display, number))
}

/// SIP identity headers -> caller ID (see the module docs for the rules).
pub fn caller_from_sip(h: &SipIdentityIn<'_>, trusted: bool, form: &NumberForm) -> CallerId {
    let privacy = h.privacy.map(Privacy::parse).unwrap_or_default();
    let from = NameAddr::parse(h.from);
    let from_uri = from.as_ref().and_then(|f| Uri::parse(&f.uri));
    let from_anonymous = from_uri.as_ref().is_some_and(Uri::is_anonymous);
    let rpid = h.remote_party_id.and_then(RemotePartyId::calling);

    let pai = if trusted {
        h.p_asserted_identity.and_then(|v| pai_identity(v, form))
    } else {
        None
    };
    let rpid_number = rpid
        .as_ref()
        .and_then(|r| Uri::parse(&r.uri))
        .and_then(|u| form.number_from_uri(&u));
    let from_number = from_uri
        .as_ref()
        .filter(|_| !from_anonymous)
        .and_then(|u| form.number_from_uri(u));

    let (source, number, display) = if let Some((display, n)) = pai {
        (IdentitySource::PAssertedIdentity, Some(n), display)
    } else if let Some(n) = rpid_number {
        let display = rpid.as_ref().and_then(|r| r.display.clone());
        (IdentitySource::RemotePartyId, Some(n), display)
    } else if let Some(n) = from_number {
        (IdentitySource::From, Some(n), None)
    } else {
        (IdentitySource::None, None, None)
    };
    let display = display.or_else(|| {
        from.as_ref()
            .filter(|_| !from_anonymous)
            .and_then(|f| f.display.clone())
    });

    let rpid_privacy = rpid.as_ref().and_then(|r| r.privacy.as_ref());
    let restricted = privacy.hides_identity()
        || rpid_privacy.is_some_and(RpidPrivacy::hides_number)
        || from_anonymous;
    let hide_name = restricted || rpid_privacy.is_some_and(RpidPrivacy::hides_name);

    let screening = match source {
        IdentitySource::PAssertedIdentity | IdentitySource::None => Screening::NETWORK_PROVIDED,
        IdentitySource::RemotePartyId
            if trusted && rpid.as_ref().and_then(|r| r.screen) == Some(true) =>
        {
            Screening::USER_VERIFIED_PASSED
        }
        IdentitySource::RemotePartyId | IdentitySource::From => Screening::USER_NOT_SCREENED,
    };
    let presentation = match (restricted, number.is_some()) {
        (true, _) => Presentation::RESTRICTED,
        (false, true) => Presentation::ALLOWED,
        (false, false) => Presentation::NOT_AVAILABLE,
    };
    let mut number = number.unwrap_or_else(|| PartyNumber::unknown(Digits::empty()));
    number.presentation = Some(presentation);
    number.screening = Some(screening);
    CallerId {
        number,
        display_name: display.filter(|_| !hide_name),
        source,
    }
}

/// Which URI form P-Asserted-Identity uses on the way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IdentityUriForm {
    /// `sip:+4930123@domain;user=phone`.
    #[default]
    Sip,
    /// `tel:+4930123` (`;phone-context=domain` for numbers that are not international).
    Tel,
}

/// How the caller's identity is presented to one SIP peer (per trunk configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipIdentityPolicy {
    /// The peer is in our trust domain (RFC 3325 §2.3): it may see asserted identities.
    pub trusted: bool,
    /// Host part for the URIs we build (our domain or the gateway's address).
    pub domain: String,
    /// Send P-Asserted-Identity to trusted peers.
    pub send_pai: bool,
    /// Send Remote-Party-ID to trusted peers (for peers that predate RFC 3325).
    pub send_rpid: bool,
    /// Add `critical` to `Privacy: id` (RFC 3323 §4.2: fail rather than reveal).
    pub privacy_critical: bool,
    /// URI form of P-Asserted-Identity.
    pub pai_uri: IdentityUriForm,
}

impl SipIdentityPolicy {
    /// PAI on, RPID off, no `critical`, sip URIs.
    pub fn new(domain: &str, trusted: bool) -> Self {
        SipIdentityPolicy {
            trusted,
            domain: domain.to_string(),
            send_pai: true,
            send_rpid: false,
            privacy_critical: false,
            pai_uri: IdentityUriForm::Sip,
        }
    }
}

/// The identity header values to send (From without its tag: the dialog adds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipIdentityOut {
    /// From header value.
    pub from: String,
    /// P-Asserted-Identity header value.
    pub p_asserted_identity: Option<String>,
    /// Privacy header value.
    pub privacy: Option<String>,
    /// Remote-Party-ID header value.
    pub remote_party_id: Option<String>,
}

/// A number as a URI user part: `#` escaped (it would end the URI), the rest as dialled.
fn uri_user(rendered: &str) -> String {
    rendered.replace('#', "%23")
}

fn sip_uri(rendered: &str, domain: &str) -> String {
    format!("sip:{}@{};user=phone", uri_user(rendered), domain)
}

fn tel_uri(n: &PartyNumber, rendered: &str, domain: &str) -> String {
    if n.ton == TypeOfNumber::INTERNATIONAL {
        format!("tel:{}", uri_user(rendered))
    } else {
        format!("tel:{};phone-context={}", uri_user(rendered), domain)
    }
}

fn name_addr(display: Option<&str>, uri: &str) -> String {
    match display.filter(|d| !d.is_empty()) {
        Some(d) => format!("{} <{}>", quote(d), uri),
        None => format!("<{uri}>"),
    }
}

/// Call model caller ID -> SIP identity headers (see the module docs for the table).
pub fn caller_to_sip(
    number: Option<&PartyNumber>,
    display: Option<&str>,
    policy: &SipIdentityPolicy,
    form: &NumberForm,
) -> SipIdentityOut {
    let restricted = number.is_some_and(PartyNumber::is_restricted);
    let Some(n) = number.filter(|n| !n.digits.is_empty()) else {
        return SipIdentityOut {
            from: if restricted {
                ANONYMOUS_FROM
            } else {
                UNAVAILABLE_FROM
            }
            .to_string(),
            p_asserted_identity: None,
            privacy: None,
            remote_party_id: None,
        };
    };
    if n.presentation == Some(Presentation::NOT_AVAILABLE) {
        return caller_to_sip(None, None, policy, form);
    }
    let rendered = form.render(n);
    let sip = sip_uri(&rendered, &policy.domain);
    let from = if restricted {
        ANONYMOUS_FROM.to_string()
    } else {
        name_addr(display, &sip)
    };
    let p_asserted_identity = (policy.trusted && policy.send_pai).then(|| {
        let uri = match policy.pai_uri {
            IdentityUriForm::Sip => sip.clone(),
            IdentityUriForm::Tel => tel_uri(n, &rendered, &policy.domain),
        };
        name_addr(display, &uri)
    });
    let privacy = restricted.then(|| {
        if policy.privacy_critical {
            "id;critical".to_string()
        } else {
            "id".to_string()
        }
    });
    let remote_party_id = (policy.trusted && policy.send_rpid).then(|| {
        let screened = matches!(
            n.screening,
            Some(Screening::USER_VERIFIED_PASSED | Screening::NETWORK_PROVIDED)
        );
        RemotePartyId {
            display: display.filter(|d| !d.is_empty()).map(str::to_string),
            uri: sip.clone(),
            party: Some(RpidParty::Calling),
            screen: Some(screened),
            privacy: Some(if restricted {
                RpidPrivacy::Full
            } else {
                RpidPrivacy::Off
            }),
        }
        .to_string()
    });
    SipIdentityOut {
        from,
        p_asserted_identity,
        privacy,
        remote_party_id,
    }
}
