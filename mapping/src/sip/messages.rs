//! SIP messages <-> call model events: the design card of DESIGN.md, as pure functions.
//!
//! | SIP | call model |
//! |---|---|
//! | INVITE | Setup |
//! | 100 Trying | Proceeding |
//! | 180 Ringing | Alerting (with SDP: in-band info available + early media) |
//! | 183 Session Progress with SDP | Progress (in-band info available + early media) |
//! | 183 without SDP (and 181, 182, unknown 1xx) | Progress |
//! | 2xx to INVITE | Connect |
//! | BYE, CANCEL | Release (16, initiator given) |
//! | 3xx-6xx to INVITE | Release (RFC 3398 §8.2.6.1, Reason header honoured) |
//!
//! Unknown 1xx responses are treated as 183 (RFC 3261 §8.1.3.2). 199 Early Dialog
//! Terminated (RFC 6228) ends one fork only and maps to nothing. SDP bodies arrive here
//! already parsed into [`Media`]; whether SDP in a response is an answer or an offer
//! depends on whether our INVITE carried an offer (RFC 3264; delayed offer otherwise).

use super::caller_id::{SipIdentityIn, caller_from_sip};
use super::cause_map::{location_for_status, release_cause_for_status, status_for_cause};
use super::method::SipMethod;
use super::name_addr::{Uri, UriScheme};
use super::number_form::NumberForm;
use super::reason::{ReasonValue, parse_reason};
use super::reason_phrase::reason_phrase_or_class;
use crate::cause::{Cause, Location, Q850Cause};
use crate::model::{
    Bearer, CallEvent, Initiator, Media, MediaExchange, Progress, ProgressDescription, Release,
    Setup,
};

/// Why an INVITE could not become a Setup. [`SipMapError::status`] is the response to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipMapError {
    /// The Request-URI is not a sip, sips or tel URI.
    #[error("Request-URI is not a sip, sips or tel URI")]
    UnsupportedUri,
    /// The Request-URI holds no telephone number.
    #[error("Request-URI holds no telephone number")]
    NoCalledNumber,
}

impl SipMapError {
    /// The final response for this error: 416 Unsupported URI Scheme, 404 Not Found.
    pub fn status(&self) -> u16 {
        match self {
            SipMapError::UnsupportedUri => 416,
            SipMapError::NoCalledNumber => 404,
        }
    }
}

/// What an initial INVITE carries for the call model.
#[derive(Debug, Clone, Default)]
pub struct InviteIn<'a> {
    /// The Request-URI.
    pub request_uri: &'a str,
    /// The identity headers.
    pub identity: SipIdentityIn<'a>,
    /// The SDP offer, parsed; `None` for a delayed offer.
    pub media: Option<Media>,
    /// Diversion header values (RFC 5806), top-most first.
    pub diversion: Vec<&'a str>,
}

/// INVITE -> Setup. `trusted` is the ingress trunk's trust (RFC 3325); `form` its number
/// form. SIP sends the whole number at once, so `sending_complete` is set.
pub fn invite_to_setup(
    invite: &InviteIn<'_>,
    trusted: bool,
    form: &NumberForm,
) -> Result<Setup, SipMapError> {
    let uri = Uri::parse(invite.request_uri)
        .filter(|u| u.scheme != UriScheme::Other)
        .ok_or(SipMapError::UnsupportedUri)?;
    let called = form
        .number_from_uri(&uri)
        .ok_or(SipMapError::NoCalledNumber)?;
    let caller = caller_from_sip(&invite.identity, trusted, form);
    Ok(Setup {
        called,
        calling: Some(caller.number),
        display_name: caller.display_name,
        redirection: super::diversion::diversion_to_redirection(&invite.diversion, form),
        bearer: Bearer::Speech,
        media: invite.media.clone(),
        sending_complete: true,
    })
}

/// A response to our INVITE.
#[derive(Debug, Clone, Default)]
pub struct InviteResponseIn<'a> {
    /// Status code.
    pub status: u16,
    /// Reason header value, if any (RFC 3326; RFC 6432 in responses).
    pub reason: Option<&'a str>,
    /// Warning header value, if any (read for 488/606, RFC 3398 §8.2.6.1).
    pub warning: Option<&'a str>,
    /// The SDP body, parsed.
    pub media: Option<Media>,
    /// Whether our INVITE carried an SDP offer (then SDP here is the answer).
    pub offer_sent: bool,
}

fn exchange(media: Option<Media>, offer_sent: bool) -> Option<MediaExchange> {
    media.map(|m| {
        if offer_sent {
            MediaExchange::Answer(m)
        } else {
            MediaExchange::Offer(m)
        }
    })
}

fn progress(media: Option<Media>, offer_sent: bool) -> Progress {
    Progress {
        descriptions: if media.is_some() {
            vec![ProgressDescription::INBAND_AVAILABLE]
        } else {
            Vec::new()
        },
        media: exchange(media, offer_sent),
    }
}

/// The release cause of a final failure response: a Q.850 Reason wins (its RFC 8606
/// location, else the status's location); otherwise RFC 3398 §8.2.6.1.
pub fn release_cause_for_response(
    status: u16,
    reason: Option<&str>,
    warning: Option<&str>,
) -> Cause {
    let location = location_for_status(status);
    reason
        .and_then(|r| parse_reason(r).iter().find_map(|v| v.q850_cause(location)))
        .unwrap_or_else(|| release_cause_for_status(status, warning))
}

/// A response to our INVITE -> call event (`None` for 199 and for codes outside 100-699).
/// A failure response is released by the called side.
pub fn invite_response_to_event(resp: InviteResponseIn<'_>) -> Option<CallEvent> {
    match resp.status {
        100 => Some(CallEvent::Proceeding),
        180 => Some(CallEvent::Alerting(progress(resp.media, resp.offer_sent))),
        199 => None,
        101..=199 => Some(CallEvent::Progress(progress(resp.media, resp.offer_sent))),
        200..=299 => Some(CallEvent::Connect {
            connected: None,
            media: exchange(resp.media, resp.offer_sent),
        }),
        300..=699 => Some(CallEvent::Release(Release {
            cause: release_cause_for_response(resp.status, resp.reason, resp.warning),
            initiator: Initiator::Callee,
            sip_status: Some(resp.status),
        })),
        _ => None,
    }
}

/// The release of a BYE or CANCEL: 16 "normal clearing", location user (RFC 3398
/// §8.2.6.1 text), unless the Reason header says otherwise:
/// - a Q.850 reason wins (location from RFC 8606, else user);
/// - `SIP;cause=200` (RFC 3326 §2: "call completed elsewhere") -> 26 "non-selected user
///   clearing";
/// - `SIP;cause=N` for a failure status -> RFC 3398 §8.2.6.1 for N, and N is kept.
pub fn release_for_request(reason: Option<&str>, initiator: Initiator) -> Release {
    let values = reason.map(parse_reason).unwrap_or_default();
    let q850 = values.iter().find_map(|v| v.q850_cause(Location::USER));
    let sip = values.iter().find_map(ReasonValue::sip_status);
    let (cause, sip_status) = match (q850, sip) {
        (Some(cause), sip) => (cause, sip.filter(|s| *s >= 300)),
        (None, Some(200..=299)) => (Cause::user(Q850Cause::NON_SELECTED_USER_CLEARING), None),
        (None, Some(s @ 300..=699)) => (release_cause_for_status(s, None), Some(s)),
        (None, _) => (Cause::NORMAL, None),
    };
    Release {
        cause,
        initiator,
        sip_status,
    }
}

/// An in-dialog or cancelling request -> call event: BYE and CANCEL release the call (see
/// [`release_for_request`]); other methods are not mapped here (`None`).
pub fn request_to_event(
    method: &SipMethod,
    reason: Option<&str>,
    initiator: Initiator,
) -> Option<CallEvent> {
    match method {
        SipMethod::Bye | SipMethod::Cancel => {
            Some(CallEvent::Release(release_for_request(reason, initiator)))
        }
        _ => None,
    }
}

/// Which way the INVITE went on this SIP leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegRole {
    /// The INVITE came in on this leg: we are its UAS.
    Incoming,
    /// We sent the INVITE on this leg: we are its UAC.
    Outgoing,
}

/// The call state a leg gives [`event_to_sip`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LegState {
    /// Direction of the INVITE.
    pub role: LegRole,
    /// Whether the INVITE has been answered (2xx sent or received).
    pub answered: bool,
}

/// What to send on a SIP leg for a call event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipAction {
    /// A response to the INVITE (or, for a media answer, to the pending re-INVITE/UPDATE).
    Response {
        /// Status code.
        status: u16,
        /// Reason phrase (RFC 3261 §21 table).
        reason_phrase: &'static str,
        /// Whether an SDP body goes with it.
        with_sdp: bool,
        /// Reason header to add (RFC 6432), if any.
        reason: Option<ReasonValue>,
    },
    /// A request.
    Request {
        /// Method.
        method: SipMethod,
        /// Whether an SDP body goes with it.
        with_sdp: bool,
        /// Reason header to add (RFC 3326), if any.
        reason: Option<ReasonValue>,
    },
}

fn response(status: u16, with_sdp: bool, reason: Option<ReasonValue>) -> SipAction {
    SipAction::Response {
        status,
        reason_phrase: reason_phrase_or_class(status),
        with_sdp,
        reason,
    }
}

fn request(method: SipMethod, with_sdp: bool, reason: Option<ReasonValue>) -> SipAction {
    SipAction::Request {
        method,
        with_sdp,
        reason,
    }
}

/// The final response for a release before answer on an incoming leg: the SIP status
/// behind the release when there is one (a SIP-to-SIP call keeps it exactly), else
/// RFC 3398 §7.2.4.1.
pub fn status_for_release(release: &Release) -> u16 {
    release
        .sip_status
        .filter(|s| (300..=699).contains(s))
        .unwrap_or_else(|| status_for_cause(release.cause))
}

/// A call event -> what to send on a SIP leg in `state` (`None`: nothing to send there).
///
/// - Setup: INVITE on an outgoing leg;
/// - Proceeding / Alerting / Progress / Connect: 100 / 180 / 183 / 200 on an incoming leg
///   before answer, with SDP when the event carries media;
/// - Release: BYE after answer; before answer CANCEL on an outgoing leg and the final
///   response of [`status_for_release`] on an incoming one; each with a Q.850 Reason;
/// - Info: INFO; Hold, Resume, media offers: re-INVITE after answer (media offers before
///   answer: UPDATE, RFC 3311); a media answer: 200 with SDP.
pub fn event_to_sip(event: &CallEvent, state: LegState) -> Option<SipAction> {
    let incoming_early = state.role == LegRole::Incoming && !state.answered;
    match event {
        CallEvent::Setup(setup) => (state.role == LegRole::Outgoing && !state.answered)
            .then(|| request(SipMethod::Invite, setup.media.is_some(), None)),
        CallEvent::Proceeding => incoming_early.then(|| response(100, false, None)),
        CallEvent::Alerting(p) => incoming_early.then(|| response(180, p.media.is_some(), None)),
        CallEvent::Progress(p) => incoming_early.then(|| response(183, p.media.is_some(), None)),
        CallEvent::Connect { media, .. } => {
            incoming_early.then(|| response(200, media.is_some(), None))
        }
        CallEvent::Release(release) => {
            let reason = Some(ReasonValue::q850(release.cause.value));
            Some(match (state.answered, state.role) {
                (true, _) => request(SipMethod::Bye, false, reason),
                (false, LegRole::Outgoing) => request(SipMethod::Cancel, false, reason),
                (false, LegRole::Incoming) => response(status_for_release(release), false, reason),
            })
        }
        CallEvent::Info(_) => Some(request(SipMethod::Info, false, None)),
        CallEvent::Hold | CallEvent::Resume => state
            .answered
            .then(|| request(SipMethod::Invite, true, None)),
        CallEvent::Media(MediaExchange::Offer(_)) => Some(if state.answered {
            request(SipMethod::Invite, true, None)
        } else {
            request(SipMethod::Update, true, None)
        }),
        CallEvent::Media(MediaExchange::Answer(_)) => Some(response(200, true, None)),
    }
}
