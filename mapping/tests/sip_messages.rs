//! SIP messages <-> call events: every row of the design card, both ways.

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::model::{
    CallEvent, Info, Initiator, Media, MediaDirection, MediaExchange, Progress,
    ProgressDescription, Release, Setup,
};
use mapping::number::{Presentation, Screening, TypeOfNumber};
use mapping::sip::messages::{release_cause_for_response, release_for_request, status_for_release};
use mapping::sip::{
    InviteIn, InviteResponseIn, LegRole, LegState, NumberForm, ReasonValue, SipAction,
    SipIdentityIn, SipMapError, SipMethod, event_to_sip, invite_response_to_event, invite_to_setup,
    request_to_event,
};

fn media() -> Media {
    Media {
        direction: MediaDirection::SendRecv,
        ptime: Some(20),
        ..Media::default()
    }
}

fn resp(status: u16) -> InviteResponseIn<'static> {
    InviteResponseIn {
        status,
        offer_sent: true,
        ..Default::default()
    }
}

fn with_sdp(status: u16) -> InviteResponseIn<'static> {
    InviteResponseIn {
        media: Some(media()),
        ..resp(status)
    }
}

fn early_media() -> Progress {
    Progress {
        descriptions: vec![ProgressDescription::INBAND_AVAILABLE],
        media: Some(MediaExchange::Answer(media())),
    }
}

fn bi(v: Q850Cause) -> Cause {
    Cause {
        value: v,
        location: Location::BEYOND_INTERWORKING,
    }
}

const IN_EARLY: LegState = LegState {
    role: LegRole::Incoming,
    answered: false,
};
const IN_ANSWERED: LegState = LegState {
    role: LegRole::Incoming,
    answered: true,
};
const OUT_EARLY: LegState = LegState {
    role: LegRole::Outgoing,
    answered: false,
};
const OUT_ANSWERED: LegState = LegState {
    role: LegRole::Outgoing,
    answered: true,
};

fn response(status: u16, phrase: &'static str, with_sdp: bool) -> SipAction {
    SipAction::Response {
        status,
        reason_phrase: phrase,
        with_sdp,
        reason: None,
    }
}

fn request(method: SipMethod, with_sdp: bool) -> SipAction {
    SipAction::Request {
        method,
        with_sdp,
        reason: None,
    }
}

// ---- INVITE <-> Setup -------------------------------------------------------------------

fn invite() -> InviteIn<'static> {
    InviteIn {
        request_uri: "sip:+4930123456@gw.example;user=phone",
        identity: SipIdentityIn {
            from: r#""Alice" <sip:+4940987@peer.example>;tag=abc"#,
            ..Default::default()
        },
        media: Some(media()),
        diversion: Vec::new(),
    }
}

#[test]
fn card_invite_to_setup() {
    let setup = invite_to_setup(&invite(), false, &NumberForm::default()).unwrap();
    assert_eq!(setup.called.digits.as_str(), "4930123456");
    assert_eq!(setup.called.ton, TypeOfNumber::INTERNATIONAL);
    let calling = setup.calling.as_ref().unwrap();
    assert_eq!(calling.digits.as_str(), "4940987");
    assert_eq!(calling.presentation, Some(Presentation::ALLOWED));
    assert_eq!(calling.screening, Some(Screening::USER_NOT_SCREENED));
    assert_eq!(setup.display_name.as_deref(), Some("Alice"));
    assert_eq!(setup.media, Some(media()));
    assert!(setup.sending_complete);
    assert!(setup.redirection.is_empty());
}

#[test]
fn invite_with_tel_request_uri_and_national_number() {
    let inv = InviteIn {
        request_uri: "tel:0301234;phone-context=+49",
        media: None,
        ..invite()
    };
    let setup = invite_to_setup(&inv, false, &NumberForm::default()).unwrap();
    assert_eq!(setup.called.digits.as_str(), "301234");
    assert_eq!(setup.called.ton, TypeOfNumber::NATIONAL);
    assert_eq!(setup.media, None);
}

#[test]
fn invite_request_uri_errors() {
    let form = NumberForm::default();
    let not_number = InviteIn {
        request_uri: "sip:alice@gw.example",
        ..invite()
    };
    let err = invite_to_setup(&not_number, false, &form).unwrap_err();
    assert_eq!(
        (err.clone(), err.status()),
        (SipMapError::NoCalledNumber, 404)
    );
    for uri in ["mailto:a@b", "", "garbage"] {
        let inv = InviteIn {
            request_uri: uri,
            ..invite()
        };
        let err = invite_to_setup(&inv, false, &form).unwrap_err();
        assert_eq!(
            (err.clone(), err.status()),
            (SipMapError::UnsupportedUri, 416),
            "{uri}"
        );
    }
}

#[test]
fn card_setup_to_invite() {
    let setup = invite_to_setup(&invite(), false, &NumberForm::default()).unwrap();
    let mut delayed = setup.clone();
    delayed.media = None;
    let ev = |s: &Setup| CallEvent::Setup(Box::new(s.clone()));
    assert_eq!(
        event_to_sip(&ev(&setup), OUT_EARLY),
        Some(request(SipMethod::Invite, true))
    );
    assert_eq!(
        event_to_sip(&ev(&delayed), OUT_EARLY),
        Some(request(SipMethod::Invite, false))
    );
    assert_eq!(event_to_sip(&ev(&setup), IN_EARLY), None);
}

// ---- 100 <-> Proceeding -------------------------------------------------------------------

#[test]
fn card_100_to_proceeding() {
    assert_eq!(
        invite_response_to_event(resp(100)),
        Some(CallEvent::Proceeding)
    );
}

#[test]
fn card_proceeding_to_100() {
    assert_eq!(
        event_to_sip(&CallEvent::Proceeding, IN_EARLY),
        Some(response(100, "Trying", false))
    );
    assert_eq!(event_to_sip(&CallEvent::Proceeding, OUT_EARLY), None);
    assert_eq!(event_to_sip(&CallEvent::Proceeding, IN_ANSWERED), None);
}

// ---- 180 <-> Alerting ---------------------------------------------------------------------

#[test]
fn card_180_to_alerting() {
    assert_eq!(
        invite_response_to_event(resp(180)),
        Some(CallEvent::Alerting(Progress::default()))
    );
}

#[test]
fn card_180_with_sdp_to_alerting_with_early_media() {
    assert_eq!(
        invite_response_to_event(with_sdp(180)),
        Some(CallEvent::Alerting(early_media()))
    );
}

#[test]
fn card_alerting_to_180() {
    assert_eq!(
        event_to_sip(&CallEvent::Alerting(Progress::default()), IN_EARLY),
        Some(response(180, "Ringing", false))
    );
    assert_eq!(
        event_to_sip(&CallEvent::Alerting(early_media()), IN_EARLY),
        Some(response(180, "Ringing", true))
    );
    assert_eq!(
        event_to_sip(&CallEvent::Alerting(early_media()), OUT_EARLY),
        None
    );
}

// ---- 183 <-> Progress ---------------------------------------------------------------------

#[test]
fn card_183_with_sdp_to_progress_inband_and_media() {
    assert_eq!(
        invite_response_to_event(with_sdp(183)),
        Some(CallEvent::Progress(early_media()))
    );
}

#[test]
fn card_183_without_sdp_to_progress() {
    assert_eq!(
        invite_response_to_event(resp(183)),
        Some(CallEvent::Progress(Progress::default()))
    );
}

#[test]
fn sdp_in_response_to_a_delayed_offer_invite_is_an_offer() {
    let r = InviteResponseIn {
        offer_sent: false,
        ..with_sdp(183)
    };
    let Some(CallEvent::Progress(p)) = invite_response_to_event(r) else {
        panic!("expected progress");
    };
    assert_eq!(p.media, Some(MediaExchange::Offer(media())));
}

#[test]
fn other_provisionals_are_progress_and_199_is_nothing() {
    for status in [181, 182, 150, 101] {
        assert_eq!(
            invite_response_to_event(resp(status)),
            Some(CallEvent::Progress(Progress::default())),
            "{status}"
        );
    }
    assert_eq!(invite_response_to_event(resp(199)), None);
    assert_eq!(invite_response_to_event(resp(99)), None);
    assert_eq!(invite_response_to_event(resp(700)), None);
}

#[test]
fn card_progress_to_183() {
    assert_eq!(
        event_to_sip(&CallEvent::Progress(early_media()), IN_EARLY),
        Some(response(183, "Session Progress", true))
    );
    assert_eq!(
        event_to_sip(&CallEvent::Progress(Progress::default()), IN_EARLY),
        Some(response(183, "Session Progress", false))
    );
    assert_eq!(
        event_to_sip(&CallEvent::Progress(early_media()), OUT_EARLY),
        None
    );
}

// ---- 200 <-> Connect ----------------------------------------------------------------------

#[test]
fn card_200_to_connect() {
    assert_eq!(
        invite_response_to_event(with_sdp(200)),
        Some(CallEvent::Connect {
            connected: None,
            media: Some(MediaExchange::Answer(media())),
        })
    );
    assert_eq!(
        invite_response_to_event(resp(202)),
        Some(CallEvent::Connect {
            connected: None,
            media: None
        })
    );
}

#[test]
fn card_connect_to_200() {
    let connect = CallEvent::Connect {
        connected: None,
        media: Some(MediaExchange::Answer(media())),
    };
    assert_eq!(
        event_to_sip(&connect, IN_EARLY),
        Some(response(200, "OK", true))
    );
    assert_eq!(event_to_sip(&connect, IN_ANSWERED), None);
    assert_eq!(event_to_sip(&connect, OUT_EARLY), None);
}

// ---- BYE / CANCEL <-> Release(16) ----------------------------------------------------------

#[test]
fn card_bye_and_cancel_to_release_16_with_initiator() {
    for method in [SipMethod::Bye, SipMethod::Cancel] {
        for initiator in [Initiator::Caller, Initiator::Callee] {
            assert_eq!(
                request_to_event(&method, None, initiator),
                Some(CallEvent::Release(Release {
                    cause: Cause::NORMAL,
                    initiator,
                    sip_status: None
                })),
                "{method} {initiator:?}"
            );
        }
    }
    assert_eq!(
        request_to_event(&SipMethod::Info, None, Initiator::Caller),
        None
    );
    assert_eq!(
        request_to_event(&SipMethod::Invite, None, Initiator::Caller),
        None
    );
}

#[test]
fn bye_reason_q850_is_honoured() {
    let r = release_for_request(Some("Q.850;cause=17;text=\"User busy\""), Initiator::Callee);
    assert_eq!(r.cause, Cause::user(Q850Cause::USER_BUSY));
    let r = release_for_request(Some("Q.850;cause=34;location=LN"), Initiator::Callee);
    assert_eq!(
        r.cause,
        Cause {
            value: Q850Cause::NO_CIRCUIT_AVAILABLE,
            location: Location::PUBLIC_LOCAL
        }
    );
}

#[test]
fn cancel_reason_sip() {
    // RFC 3326 §2: answered elsewhere -> non-selected user clearing.
    let r = release_for_request(
        Some("SIP;cause=200;text=\"Call completed elsewhere\""),
        Initiator::Caller,
    );
    assert_eq!((r.cause, r.sip_status), (Cause::user(Q850Cause(26)), None));
    // A failure status in the Reason: RFC 3398 for it, status kept.
    let r = release_for_request(
        Some("SIP;cause=600;text=\"Busy Everywhere\""),
        Initiator::Caller,
    );
    assert_eq!(
        (r.cause, r.sip_status),
        (Cause::user(Q850Cause::USER_BUSY), Some(600))
    );
    // Q.850 wins over SIP.
    let r = release_for_request(Some("SIP;cause=600, Q.850;cause=21"), Initiator::Caller);
    assert_eq!(
        (r.cause, r.sip_status),
        (Cause::user(Q850Cause(21)), Some(600))
    );
    // Unusable Reason: plain 16.
    let r = release_for_request(Some("preemption;cause=1"), Initiator::Caller);
    assert_eq!(r.cause, Cause::NORMAL);
}

fn release(cause: Cause, sip_status: Option<u16>) -> CallEvent {
    CallEvent::Release(Release {
        cause,
        initiator: Initiator::Callee,
        sip_status,
    })
}

fn q850_reason(v: Q850Cause) -> Option<ReasonValue> {
    Some(ReasonValue::q850(v))
}

#[test]
fn card_release_after_answer_to_bye() {
    for state in [IN_ANSWERED, OUT_ANSWERED] {
        assert_eq!(
            event_to_sip(&release(Cause::NORMAL, None), state),
            Some(SipAction::Request {
                method: SipMethod::Bye,
                with_sdp: false,
                reason: q850_reason(Q850Cause::NORMAL_CLEARING),
            }),
            "{state:?}"
        );
    }
}

#[test]
fn card_release_before_answer_outgoing_to_cancel() {
    assert_eq!(
        event_to_sip(&release(Cause::NORMAL, None), OUT_EARLY),
        Some(SipAction::Request {
            method: SipMethod::Cancel,
            with_sdp: false,
            reason: q850_reason(Q850Cause::NORMAL_CLEARING),
        })
    );
}

#[test]
fn card_release_before_answer_incoming_to_error_status() {
    let cases: &[(Cause, Option<u16>, u16, &str)] = &[
        (bi(Q850Cause::USER_BUSY), None, 486, "Busy Here"),
        (bi(Q850Cause::UNALLOCATED_NUMBER), None, 404, "Not Found"),
        (bi(Q850Cause::CALL_REJECTED), None, 403, "Forbidden"),
        (Cause::user(Q850Cause::CALL_REJECTED), None, 603, "Decline"),
        (Cause::NORMAL, None, 480, "Temporarily Unavailable"),
        (
            bi(Q850Cause::RECOVERY_ON_TIMER_EXPIRY),
            None,
            504,
            "Server Time-out",
        ),
        // A SIP status behind the release is kept (SIP-to-SIP).
        (
            bi(Q850Cause::UNALLOCATED_NUMBER),
            Some(604),
            604,
            "Does Not Exist Anywhere",
        ),
        (
            bi(Q850Cause::NORMAL_UNSPECIFIED),
            Some(499),
            499,
            "Bad Request",
        ),
        // ...but only a failure status.
        (bi(Q850Cause::USER_BUSY), Some(200), 486, "Busy Here"),
    ];
    for &(cause, sip_status, status, phrase) in cases {
        assert_eq!(
            event_to_sip(&release(cause, sip_status), IN_EARLY),
            Some(SipAction::Response {
                status,
                reason_phrase: phrase,
                with_sdp: false,
                reason: q850_reason(cause.value),
            }),
            "{cause:?} {sip_status:?}"
        );
    }
}

// ---- 4xx-6xx <-> Release(cause) -----------------------------------------------------------

#[test]
fn card_failure_response_to_release() {
    let cases: &[(u16, Cause)] = &[
        (404, bi(Q850Cause::UNALLOCATED_NUMBER)),
        (486, bi(Q850Cause::USER_BUSY)),
        (480, bi(Q850Cause::NO_USER_RESPONDING)),
        (503, bi(Q850Cause::TEMPORARY_FAILURE)),
        (487, bi(Q850Cause::NORMAL_CLEARING)),
        (488, bi(Q850Cause::NORMAL_UNSPECIFIED)),
        (302, bi(Q850Cause::NORMAL_UNSPECIFIED)),
        (600, Cause::user(Q850Cause::USER_BUSY)),
        (603, Cause::user(Q850Cause::CALL_REJECTED)),
    ];
    for &(status, cause) in cases {
        assert_eq!(
            invite_response_to_event(resp(status)),
            Some(release(cause, Some(status))),
            "{status}"
        );
    }
}

#[test]
fn failure_response_reason_q850_takes_precedence() {
    let r = InviteResponseIn {
        reason: Some("Q.850;cause=34;text=\"No circuit/channel available\""),
        ..resp(486)
    };
    assert_eq!(
        invite_response_to_event(r),
        Some(release(bi(Q850Cause::NO_CIRCUIT_AVAILABLE), Some(486)))
    );
    // Location: RFC 8606 parameter, else the status's.
    assert_eq!(
        release_cause_for_response(603, Some("Q.850;cause=21"), None),
        Cause::user(Q850Cause::CALL_REJECTED)
    );
    assert_eq!(
        release_cause_for_response(486, Some("Q.850;cause=17;location=U"), None),
        Cause::user(Q850Cause::USER_BUSY)
    );
    // A SIP Reason in a response does not override the status.
    assert_eq!(
        release_cause_for_response(480, Some("SIP;cause=486"), None),
        bi(Q850Cause::NO_USER_RESPONDING)
    );
}

#[test]
fn failure_response_warning_for_488() {
    let r = InviteResponseIn {
        warning: Some("304 gw.example \"Media type not available\""),
        ..resp(488)
    };
    assert_eq!(
        invite_response_to_event(r),
        Some(release(bi(Q850Cause::BEARER_NOT_IMPLEMENTED), Some(488)))
    );
}

#[test]
fn release_status_round_trip_for_sip_to_sip() {
    // A SIP failure crossing the gateway to another SIP leg keeps its exact status.
    for status in [400, 404, 415, 480, 486, 488, 503, 600, 603, 606] {
        let Some(CallEvent::Release(r)) = invite_response_to_event(resp(status)) else {
            panic!("{status}");
        };
        assert_eq!(status_for_release(&r), status);
    }
}

// ---- mid-call events ------------------------------------------------------------------------

#[test]
fn mid_call_events() {
    let info = CallEvent::Info(Info::Dtmf {
        digit: '5',
        duration_ms: 100,
    });
    assert_eq!(
        event_to_sip(&info, IN_ANSWERED),
        Some(request(SipMethod::Info, false))
    );
    for ev in [CallEvent::Hold, CallEvent::Resume] {
        assert_eq!(
            event_to_sip(&ev, OUT_ANSWERED),
            Some(request(SipMethod::Invite, true))
        );
        assert_eq!(event_to_sip(&ev, OUT_EARLY), None);
    }
    let offer = CallEvent::Media(MediaExchange::Offer(media()));
    assert_eq!(
        event_to_sip(&offer, IN_ANSWERED),
        Some(request(SipMethod::Invite, true))
    );
    assert_eq!(
        event_to_sip(&offer, IN_EARLY),
        Some(request(SipMethod::Update, true))
    );
    let answer = CallEvent::Media(MediaExchange::Answer(media()));
    assert_eq!(
        event_to_sip(&answer, IN_ANSWERED),
        Some(response(200, "OK", true))
    );
}
