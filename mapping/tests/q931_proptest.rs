//! Property tests: typed elements round-trip (`decode(encode(x)) == x`), whole messages
//! round-trip, and any byte string that decodes re-encodes to the same bytes.

use mapping::cause::{Location, Q850Cause};
use mapping::model::RedirectionReason;
use mapping::number::{Digits, NumberingPlan, PartyNumber, Presentation, Screening, TypeOfNumber};
use mapping::progress::ProgressDescription;
use mapping::q931::ies::*;
use mapping::q931::{
    CallReference, CodingStandard, Dialect, IeCodec, IeValue, InfoElement, Message, MessageType,
};
use proptest::prelude::*;

fn dialect() -> impl Strategy<Value = Dialect> {
    prop_oneof![Just(Dialect::Q931), Just(Dialect::H225)]
}

fn coding() -> impl Strategy<Value = CodingStandard> {
    (0u8..4).prop_map(CodingStandard)
}

fn digits() -> impl Strategy<Value = Digits> {
    "[0-9*#A-D]{0,24}".prop_map(|s| Digits::new(&s).expect("pattern yields digits"))
}

fn party(with_3a: bool) -> impl Strategy<Value = PartyNumber> {
    (digits(), 0u8..8, 0u8..16, 0u8..4, 0u8..4).prop_map(move |(d, t, n, p, s)| PartyNumber {
        digits: d,
        ton: TypeOfNumber(t),
        npi: NumberingPlan(n),
        presentation: with_3a.then_some(Presentation(p)),
        screening: with_3a.then_some(Screening(s)),
    })
}

/// A 7-bit extension group: at least one value.
fn ext_values() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0u8..128, 1..4)
}

fn bearer() -> impl Strategy<Value = BearerCapability> {
    (
        coding(),
        0u8..32,
        0u8..4,
        0u8..32,
        0u8..128,
        prop::option::of(0u8..32),
        prop::collection::vec(0u8..128, 0..3),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(cs, cap, mode, rate, mult, l1, extra, higher)| {
            let rate = TransferRate(rate);
            let mut extra: Vec<u8> = extra;
            if let Some(last) = extra.last_mut() {
                *last |= 0x80;
            }
            let mut higher: Vec<u8> = higher;
            if let Some(first) = higher.first_mut() {
                *first |= 0x40; // layer 2 or 3 identification (bits 7-6 = 1x)
            }
            BearerCapability {
                coding_standard: cs,
                capability: TransferCapability(cap),
                transfer_mode: TransferMode(mode),
                rate,
                multiplier: (rate == TransferRate::MULTIRATE).then_some(mult),
                layer1: l1.map(Layer1Protocol),
                layer1_extra: if l1.is_some() { extra } else { Vec::new() },
                higher_layers: higher,
            }
        })
}

fn cause() -> impl Strategy<Value = CauseIe> {
    (
        coding(),
        0u8..16,
        prop::option::of(0u8..128),
        0u8..128,
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(cs, loc, rec, v, diag)| CauseIe {
            coding_standard: cs,
            location: Location(loc),
            recommendation: rec,
            value: Q850Cause(v),
            diagnostics: diag,
        })
}

fn channel_id() -> impl Strategy<Value = ChannelId> {
    let spec = (
        coding(),
        any::<bool>(),
        0u8..16,
        ext_values(),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(cs, map, t, numbers, slots)| ChannelSpec {
            coding_standard: cs,
            map,
            channel_type: ChannelType(t),
            channels: if map { slots } else { numbers },
        });
    (
        prop::option::of(ext_values()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u8..4,
        prop::option::of(spec),
    )
        .prop_map(|(iid, primary, exclusive, d, sel, spec)| ChannelId {
            interface_id: iid,
            primary,
            exclusive,
            d_channel: d,
            selection: sel,
            channel: spec.filter(|_| primary),
        })
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop::option::of(any::<u8>()),
        prop::option::of(any::<u8>()),
        prop::option::of(any::<u8>()),
    )
        .prop_map(|(y, mo, d, h, mi, s)| DateTime {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi.filter(|_| h.is_some()),
            second: s.filter(|_| h.is_some() && mi.is_some()),
        })
}

/// Any registered typed element.
fn typed_ie() -> impl Strategy<Value = IeValue> {
    prop_oneof![
        bearer().prop_map(IeValue::from),
        cause().prop_map(IeValue::from),
        (coding(), 0u8..64).prop_map(|(cs, s)| IeValue::from(CallState {
            coding_standard: cs,
            state: CallStateValue(s)
        })),
        channel_id().prop_map(IeValue::from),
        (coding(), 0u8..16, 0u8..128).prop_map(|(cs, l, d)| IeValue::from(ProgressIndicator {
            coding_standard: cs,
            location: Location(l),
            description: ProgressDescription(d),
        })),
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|o| IeValue::from(Display { octets: o })),
        "[ -~]{0,10}".prop_map(|s| IeValue::from(KeypadFacility::new(&s))),
        any::<u8>().prop_map(|v| IeValue::from(Signal(SignalValue(v)))),
        party(false).prop_map(|p| IeValue::from(CalledPartyNumber(p))),
        party(true).prop_map(|p| IeValue::from(CallingPartyNumber(p))),
        prop::option::of(party(true)).prop_map(|p| IeValue::from(ConnectedNumber(
            p.unwrap_or_else(|| PartyNumber::unknown(Digits::empty()))
        ))),
        (party(true), prop::option::of(0u8..16)).prop_map(|(p, r)| IeValue::from(
            RedirectingNumber {
                number: p,
                reason: r.map(RedirectionReason),
            }
        )),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..60)).prop_map(|(p, d)| IeValue::from(
            UserUser {
                protocol: p,
                data: d
            }
        )),
        (0u8..32, prop::collection::vec(any::<u8>(), 0..20)).prop_map(|(p, c)| IeValue::from(
            Facility {
                profile: p,
                components: c
            }
        )),
        (0u8..128, prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(d, e)| IeValue::from(
            NotificationIndicator {
                description: NotificationDescription(d),
                extra: e,
            }
        )),
        date_time().prop_map(IeValue::from),
        (0u8..8).prop_map(|c| IeValue::from(RestartIndicator(RestartClass(c)))),
        prop::collection::vec(any::<u8>(), 0..10)
            .prop_map(|b| IeValue::from(HighLayerCompatibility(b))),
        prop::collection::vec(any::<u8>(), 0..10)
            .prop_map(|b| IeValue::from(LowLayerCompatibility(b))),
        Just(IeValue::from(SendingComplete)),
        Just(IeValue::from(MoreData)),
        (0u8..16).prop_map(|l| IeValue::from(CongestionLevel(l))),
        (0u8..16).prop_map(|r| IeValue::from(RepeatIndicator(r))),
    ]
}

fn call_ref() -> impl Strategy<Value = CallReference> {
    (0u8..=15, any::<u128>(), any::<bool>()).prop_map(|(len, v, flag)| {
        if len == 0 {
            return CallReference::dummy();
        }
        let bits = 8 * u32::from(len) - 1;
        let value = if bits >= 128 {
            v
        } else {
            v & ((1u128 << bits) - 1)
        };
        CallReference::new(len, value, flag).expect("value masked to fit")
    })
}

/// A raw element: single octet, or identifier plus contents (sometimes longer than 255).
fn raw_ie() -> impl Strategy<Value = InfoElement> {
    prop_oneof![
        4 => (0x80u8..=0xff).prop_map(InfoElement::single),
        8 => (0u8..0x80, prop::collection::vec(any::<u8>(), 0..32)).prop_map(|(id, c)| InfoElement::variable(id, c)),
        1 => prop::collection::vec(any::<u8>(), 250..300).prop_map(|c| InfoElement::variable(0x7e, c)),
    ]
}

proptest! {
    #[test]
    fn typed_elements_round_trip(v in typed_ie()) {
        let ie = v.encode();
        let back = ie.typed().expect("registered").expect("decodes");
        prop_assert_eq!(back, v);
    }

    #[test]
    fn raw_messages_round_trip(
        d in dialect(),
        cr in call_ref(),
        t in any::<u8>(),
        ies in prop::collection::vec(raw_ie(), 0..12),
    ) {
        let mut m = Message::new(d, cr, MessageType(t));
        for ie in ies {
            // Elements too long for this dialect and place are refused, never written.
            let _ = m.push(ie);
        }
        let bytes = m.encode();
        let back = Message::decode(&bytes, d).expect("own encoding decodes");
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode(), bytes);
    }

    #[test]
    fn typed_messages_round_trip(
        d in dialect(),
        cr in call_ref(),
        t in any::<u8>(),
        ies in prop::collection::vec(typed_ie(), 0..8),
    ) {
        let mut m = Message::new(d, cr, MessageType(t));
        for v in &ies {
            m.push(v.encode()).expect("typed test elements fit");
        }
        let back = Message::decode(&m.encode(), d).expect("own encoding decodes");
        prop_assert_eq!(&back, &m);
        let typed: Vec<IeValue> = back.ies().iter().map(|ie| ie.typed().unwrap().unwrap()).collect();
        prop_assert_eq!(typed, ies);
    }

    #[test]
    fn whatever_decodes_re_encodes_exactly(d in dialect(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = bytes;
        if let Some(b) = bytes.first_mut() { *b = 0x08; }
        if let Some(b) = bytes.get_mut(1) { *b &= 0x03; }
        if let Ok(m) = Message::decode(&bytes, d) {
            prop_assert_eq!(m.encode(), bytes);
            let _ = m.to_string();
            let _ = m.validate();
            for ie in m.ies() { let _ = ie.typed(); }
        }
    }

    #[test]
    fn set_keeps_messages_decodable(d in dialect(), ies in prop::collection::vec(raw_ie(), 0..6), extra in prop::collection::vec(typed_ie(), 0..6)) {
        let mut m = Message::new(d, CallReference::pri(1, false), MessageType::SETUP);
        for ie in ies { let _ = m.push(ie); }
        for v in &extra {
            let ie = v.encode();
            // Insert through the typed path so ordering rules apply.
            match v {
                IeValue::Cause(c) => { m.add(c).unwrap(); }
                IeValue::Called(c) => { m.set(c).unwrap(); }
                _ => { let _ = m.push(ie); }
            }
        }
        let back = Message::decode(&m.encode(), d).expect("decodes");
        prop_assert_eq!(back, m);
    }
}

#[test]
fn typed_trait_is_usable_generically() {
    fn round<T: IeCodec + PartialEq + core::fmt::Debug>(v: T) {
        assert_eq!(T::decode(&v.encode()).unwrap(), v);
    }
    round(SendingComplete);
    round(Shift {
        locking: true,
        codeset: 5,
    });
}
