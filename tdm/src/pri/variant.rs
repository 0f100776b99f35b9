//! Switch variants as data (DESIGN.md practice 10): one ITU-T Q.931 baseline, and
//! EuroISDN, NI-2 and QSIG as the few fields that differ. Code reads fields, never a
//! variant's name.

use std::time::Duration;

use mapping::q931::Dialect;

/// Call control timer values (Q.931 §9, Tables 9-1 and 9-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// T301: ALERTING received, waiting for CONNECT (at least 3 min).
    pub t301: Duration,
    /// T302: SETUP ACKNOWLEDGE sent, waiting for more digits (10-15 s).
    pub t302: Duration,
    /// T303: SETUP sent, no answer yet (4 s).
    pub t303: Duration,
    /// T304: SETUP ACKNOWLEDGE received, sending digits (20 s network, 30 s user).
    pub t304: Duration,
    /// T305: DISCONNECT sent, waiting for RELEASE or DISCONNECT (30 s).
    pub t305: Duration,
    /// T308: RELEASE sent, waiting for RELEASE COMPLETE (4 s).
    pub t308: Duration,
    /// T309: data link down while calls are active (90 s).
    pub t309: Duration,
    /// T310: CALL PROCEEDING received, waiting for ALERTING/CONNECT/DISCONNECT (10 s
    /// network side; the user side's 30-120 s range starts at 30 s).
    pub t310: Duration,
    /// T313: CONNECT sent by the user side, waiting for CONNECT ACKNOWLEDGE (4 s).
    pub t313: Duration,
    /// T316: RESTART sent, waiting for RESTART ACKNOWLEDGE (2 min).
    pub t316: Duration,
    /// T322: STATUS ENQUIRY sent, waiting for STATUS (4 s).
    pub t322: Duration,
}

/// How a side asks for a B-channel in SETUP (Q.931 §5.1.2, §5.2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelPreference {
    /// "Preferred": the peer may answer with another channel.
    Preferred,
    /// "Exclusive": this channel or none.
    Exclusive,
}

/// One PRI switch variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// Short name for logs and configuration (`euroisdn`, `ni2`, `qsig`).
    pub name: &'static str,
    /// The Q.931 wire dialect.
    pub dialect: Dialect,
    /// Timer values on the network side.
    pub network_timers: Timers,
    /// Timer values on the user side.
    pub user_timers: Timers,
    /// Channel indication in SETUPs sent by the network side.
    pub network_channel: ChannelPreference,
    /// Channel indication in SETUPs sent by the user side.
    pub user_channel: ChannelPreference,
    /// T303 first expiry retransmits SETUP (Tables 9-1/9-2); else the call clears at once.
    pub retransmit_setup: bool,
    /// En-bloc SETUPs carry Sending complete (§4.5.27; not used by NI-2).
    pub sending_complete: bool,
    /// Restart the whole interface (RESTART, class "single interface") the first time
    /// the data link comes up.
    pub restart_on_first_link_up: bool,
}

const BASE_NETWORK_TIMERS: Timers = Timers {
    t301: Duration::from_secs(180),
    t302: Duration::from_secs(15),
    t303: Duration::from_secs(4),
    t304: Duration::from_secs(20),
    t305: Duration::from_secs(30),
    t308: Duration::from_secs(4),
    t309: Duration::from_secs(90),
    t310: Duration::from_secs(10),
    t313: Duration::from_secs(4),
    t316: Duration::from_secs(120),
    t322: Duration::from_secs(4),
};

impl Variant {
    /// ITU-T Q.931 itself: the baseline the others override.
    pub const Q931: Variant = Variant {
        name: "q931",
        dialect: Dialect::Q931,
        network_timers: BASE_NETWORK_TIMERS,
        user_timers: Timers {
            t304: Duration::from_secs(30),
            t310: Duration::from_secs(30),
            ..BASE_NETWORK_TIMERS
        },
        network_channel: ChannelPreference::Exclusive,
        user_channel: ChannelPreference::Preferred,
        retransmit_setup: true,
        sending_complete: true,
        restart_on_first_link_up: false,
    };

    /// ETSI EuroISDN (EN 300 403-1): the Q.931 baseline as it stands.
    pub const EUROISDN: Variant = Variant {
        name: "euroisdn",
        ..Variant::Q931
    };

    /// National ISDN 2: exclusive channels both ways, no Sending complete, and the
    /// interface restarted when the link first comes up.
    pub const NI2: Variant = Variant {
        name: "ni2",
        user_channel: ChannelPreference::Exclusive,
        sending_complete: false,
        restart_on_first_link_up: true,
        ..Variant::Q931
    };

    /// QSIG basic call (ECMA-143 / ISO/IEC 11572): symmetric; the side configured as
    /// `network` plays side A (its SETUPs are exclusive and win glare), the other side B.
    pub const QSIG: Variant = Variant {
        name: "qsig",
        user_timers: BASE_NETWORK_TIMERS,
        ..Variant::Q931
    };

    /// Every variant, for configuration lookups.
    pub const ALL: &'static [Variant] = &[
        Variant::Q931,
        Variant::EUROISDN,
        Variant::NI2,
        Variant::QSIG,
    ];

    /// The variant of a configuration name.
    pub fn by_name(name: &str) -> Option<Variant> {
        Variant::ALL.iter().copied().find(|v| v.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_override_one_baseline() {
        assert_eq!(Variant::by_name("ni2"), Some(Variant::NI2));
        assert_eq!(Variant::by_name("x"), None);
        assert_eq!(
            Variant::EUROISDN.network_timers,
            Variant::Q931.network_timers
        );
        assert_eq!(Variant::NI2.user_channel, ChannelPreference::Exclusive);
        const { assert!(!Variant::NI2.sending_complete) };
        assert_eq!(Variant::QSIG.user_timers.t310, Duration::from_secs(10));
        assert_eq!(Variant::Q931.user_timers.t310, Duration::from_secs(30));
    }
}
