//! Q.931 <-> call model, one test per row of the table in `mapping::q931::translate`.

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::model::{
    Bearer, CallEvent, Info, Initiator, Progress, Redirection, RedirectionReason, Release, Setup,
};
use mapping::number::{Digits, NumberingPlan, PartyNumber, Presentation, Screening, TypeOfNumber};
use mapping::progress::ProgressDescription;
use mapping::q931::ies::*;
use mapping::q931::translate::{Outgoing, TranslateError, from_event, to_event};
use mapping::q931::{CallReference, Dialect, IeId, Message, MessageType};

const CR: CallReference = CallReference::pri(0x55, false);

fn out(dialect: Dialect) -> Outgoing {
    Outgoing {
        dialect,
        call_ref: CR,
        speech_law: Layer1Protocol::G711_ALAW,
        location: Location::PRIVATE_LOCAL,
    }
}

/// Event -> message -> bytes -> message -> event.
fn through_wire(event: &CallEvent, dialect: Dialect) -> (Message, Option<CallEvent>) {
    let m = from_event(event, &out(dialect))
        .expect("translates")
        .expect("has a message");
    let back = Message::decode(&m.encode(), dialect).expect("decodes");
    assert_eq!(back, m);
    let ev = to_event(&back, Initiator::Callee).expect("translates back");
    (back, ev)
}

fn number(digits: &str) -> PartyNumber {
    PartyNumber {
        digits: Digits::new(digits).unwrap(),
        ton: TypeOfNumber::NATIONAL,
        npi: NumberingPlan::ISDN,
        presentation: Some(Presentation::ALLOWED),
        screening: Some(Screening::NETWORK_PROVIDED),
    }
}

fn setup() -> Setup {
    Setup {
        called: PartyNumber {
            presentation: None,
            screening: None,
            ..number("301234")
        },
        calling: Some(number("2000")),
        display_name: Some("Alice".into()),
        redirection: vec![Redirection {
            from: number("3000"),
            reason: RedirectionReason::NO_REPLY,
            count: None,
        }],
        bearer: Bearer::Audio3k1,
        media: None,
        sending_complete: true,
    }
}

#[test]
fn setup_row() {
    for dialect in [Dialect::Q931, Dialect::H225] {
        let event = CallEvent::Setup(Box::new(setup()));
        let (m, back) = through_wire(&event, dialect);
        assert_eq!(m.msg_type, MessageType::SETUP);
        assert!(m.has(IeId::SENDING_COMPLETE));
        let bc = m.get::<BearerCapability>().unwrap().unwrap();
        assert_eq!(bc.layer1, Some(Layer1Protocol::G711_ALAW));
        assert_eq!(back, Some(event));
    }
}

#[test]
fn setup_display_hidden_when_restricted_and_defaults() {
    let mut s = setup();
    s.calling.as_mut().unwrap().presentation = Some(Presentation::RESTRICTED);
    let (_, back) = through_wire(&CallEvent::Setup(Box::new(s)), Dialect::Q931);
    let Some(CallEvent::Setup(back)) = back else {
        panic!("setup expected")
    };
    assert_eq!(back.display_name, None);
    // No called number (overlap sending) and no sending complete.
    let mut m = Message::new(Dialect::Q931, CR, MessageType::SETUP);
    m.set(&BearerCapability::from_model(
        Bearer::Speech,
        Layer1Protocol::G711_ULAW,
    ))
    .unwrap();
    let Some(CallEvent::Setup(s)) = to_event(&m, Initiator::Caller).unwrap() else {
        panic!("setup expected")
    };
    assert!(s.called.digits.is_empty() && !s.sending_complete && s.calling.is_none());
    assert_eq!(s.bearer, Bearer::Speech);
}

#[test]
fn setup_without_bearer_is_cause_96() {
    let m = Message::new(Dialect::Q931, CR, MessageType::SETUP);
    let err = to_event(&m, Initiator::Caller).unwrap_err();
    assert_eq!(err, TranslateError::MissingIe(IeId::BEARER_CAPABILITY));
    assert_eq!(err.cause(), Q850Cause::MANDATORY_IE_MISSING);
}

#[test]
fn call_proceeding_row() {
    let (m, back) = through_wire(&CallEvent::Proceeding, Dialect::H225);
    assert_eq!(m.msg_type, MessageType::CALL_PROCEEDING);
    assert_eq!(back, Some(CallEvent::Proceeding));
}

#[test]
fn alerting_row() {
    let event = CallEvent::Alerting(Progress {
        descriptions: vec![ProgressDescription::INBAND_AVAILABLE],
        media: None,
    });
    let (m, back) = through_wire(&event, Dialect::Q931);
    assert_eq!(m.msg_type, MessageType::ALERTING);
    assert_eq!(
        m.get::<ProgressIndicator>().unwrap().unwrap().location,
        Location::PRIVATE_LOCAL
    );
    assert_eq!(back, Some(event));
    let plain = CallEvent::Alerting(Progress::default());
    let (m, back) = through_wire(&plain, Dialect::H225);
    assert!(m.ies().is_empty());
    assert_eq!(back, Some(plain));
}

#[test]
fn progress_row() {
    let event = CallEvent::Progress(Progress {
        descriptions: vec![
            ProgressDescription::NOT_END_TO_END_ISDN,
            ProgressDescription::INBAND_AVAILABLE,
        ],
        media: None,
    });
    let (m, back) = through_wire(&event, Dialect::Q931);
    assert_eq!(m.msg_type, MessageType::PROGRESS);
    assert_eq!(back, Some(event));
    // An empty progress still carries the mandatory indicator: in-band available.
    let (m, _) = through_wire(&CallEvent::Progress(Progress::default()), Dialect::Q931);
    assert_eq!(
        m.progress_descriptions(),
        [ProgressDescription::INBAND_AVAILABLE]
    );
    assert!(m.validate().is_ok());
}

#[test]
fn connect_row() {
    let event = CallEvent::Connect {
        connected: Some(number("301234")),
        media: None,
    };
    let (m, back) = through_wire(&event, Dialect::Q931);
    assert_eq!(m.msg_type, MessageType::CONNECT);
    assert_eq!(back, Some(event));
    let bare = CallEvent::Connect {
        connected: None,
        media: None,
    };
    assert_eq!(through_wire(&bare, Dialect::H225).1, Some(bare));
}

#[test]
fn release_row() {
    let cause = Cause {
        value: Q850Cause::USER_BUSY,
        location: Location::PUBLIC_REMOTE,
    };
    let event = CallEvent::Release(Release {
        cause,
        initiator: Initiator::Callee,
        sip_status: None,
    });
    // H.225.0 clears with RELEASE COMPLETE, PRI starts with DISCONNECT.
    let (m, back) = through_wire(&event, Dialect::H225);
    assert_eq!(m.msg_type, MessageType::RELEASE_COMPLETE);
    assert_eq!(back, Some(event.clone()));
    let (m, back) = through_wire(&event, Dialect::Q931);
    assert_eq!(m.msg_type, MessageType::DISCONNECT);
    assert_eq!(back, Some(event));
}

#[test]
fn release_without_cause_is_normal_clearing() {
    for t in [
        MessageType::DISCONNECT,
        MessageType::RELEASE,
        MessageType::RELEASE_COMPLETE,
    ] {
        let m = Message::new(Dialect::Q931, CR, t);
        assert_eq!(
            to_event(&m, Initiator::Caller).unwrap(),
            Some(CallEvent::Release(Release {
                cause: Cause::NORMAL,
                initiator: Initiator::Caller,
                sip_status: None,
            }))
        );
    }
}

#[test]
fn information_digits_row() {
    let event = CallEvent::Info(Info::Digits(Digits::new("45").unwrap()));
    let (m, back) = through_wire(&event, Dialect::Q931);
    assert_eq!(m.msg_type, MessageType::INFORMATION);
    assert!(m.has(IeId::CALLED_PARTY_NUMBER));
    assert_eq!(back, Some(event));
}

#[test]
fn information_keypad_row() {
    let event = CallEvent::Info(Info::Dtmf {
        digit: '#',
        duration_ms: 0,
    });
    let (m, back) = through_wire(&event, Dialect::H225);
    assert_eq!(m.keypad().as_deref(), Some("#"));
    assert_eq!(back, Some(event));
    // Several keypad characters are digits.
    let mut m = Message::new(Dialect::H225, CR, MessageType::INFORMATION);
    m.set(&KeypadFacility::new("123")).unwrap();
    assert_eq!(
        to_event(&m, Initiator::Caller).unwrap(),
        Some(CallEvent::Info(Info::Digits(Digits::new("123").unwrap())))
    );
    // INFORMATION without digits is no event.
    let m = Message::new(Dialect::H225, CR, MessageType::INFORMATION);
    assert_eq!(to_event(&m, Initiator::Caller).unwrap(), None);
}

#[test]
fn other_messages_and_events_have_no_counterpart() {
    let m = Message::new(Dialect::H225, CR, MessageType::FACILITY);
    assert_eq!(to_event(&m, Initiator::Caller).unwrap(), None);
    assert_eq!(
        from_event(&CallEvent::Hold, &out(Dialect::Q931)).unwrap(),
        None
    );
}
