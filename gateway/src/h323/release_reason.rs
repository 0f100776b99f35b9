//! `ReleaseComplete-UUIE.reason` (H.225.0, RELEASE COMPLETE message) to and from Q.850
//! causes, as data.
//!
//! Received: the Q.931 Cause element wins; the reason is read only when a peer sends a
//! RELEASE COMPLETE without one, through the H.225.0 table (the default of GnuGk's
//! `[H225toQ931]` is the same table). Sent: the Cause element always goes; a reason is
//! added only where one cause names one reason without doubt.

use h323_asn1::h225::ReleaseCompleteReason as R;
use mapping::cause::Q850Cause;

/// The Q.850 cause a `ReleaseCompleteReason` stands for (the H.225.0 table of release
/// complete reasons and Q.931 causes). Reasons the table does not list map to 31.
pub fn cause_of_reason(reason: &R) -> Q850Cause {
    let v = match reason {
        R::noBandwidth(()) => 34,
        R::gatekeeperResources(()) => 47,
        R::unreachableDestination(()) => 3,
        R::destinationRejection(()) => 16,
        R::invalidRevision(()) => 88,
        R::noPermission(()) => 111,
        R::unreachableGatekeeper(()) => 38,
        R::gatewayResources(()) => 42,
        R::badFormatAddress(()) => 28,
        R::adaptiveBusy(()) => 41,
        R::inConf(()) => 17,
        R::undefinedReason(()) => 31,
        R::facilityCallDeflection(()) => 16,
        R::securityDenied(()) => 31,
        R::calledPartyNotRegistered(()) => 20,
        R::callerNotRegistered(()) => 31,
        R::newConnectionNeeded(()) => 47,
        R::nonStandardReason(_) => 127,
        R::replaceWithConferenceInvite(_) => 31,
        R::genericDataReason(()) => 31,
        R::neededFeatureNotSupported(()) => 31,
        R::tunnelledSignallingRejected(()) => 127,
        // Exchange routing error: the call looped through too many hops.
        R::hopCountExceeded(()) => 25,
        _ => 31,
    };
    Q850Cause(v)
}

/// The reason to send beside the Cause element, when `cause` names one without doubt
/// (the inverse of [`cause_of_reason`] on its one-to-one rows). `None`: the Cause element
/// alone says it (H.225.0: `reason` is OPTIONAL).
pub fn reason_for_cause(cause: Q850Cause) -> Option<R> {
    Some(match cause.0 {
        3 => R::unreachableDestination(()),
        17 => R::inConf(()),
        20 => R::calledPartyNotRegistered(()),
        28 => R::badFormatAddress(()),
        34 => R::noBandwidth(()),
        41 => R::adaptiveBusy(()),
        42 => R::gatewayResources(()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows() {
        assert_eq!(cause_of_reason(&R::noBandwidth(())).0, 34);
        assert_eq!(cause_of_reason(&R::inConf(())).0, 17);
        assert_eq!(cause_of_reason(&R::unreachableGatekeeper(())).0, 38);
        assert_eq!(cause_of_reason(&R::calledPartyNotRegistered(())).0, 20);
        assert_eq!(cause_of_reason(&R::undefinedReason(())).0, 31);
        assert_eq!(cause_of_reason(&R::tunnelledSignallingRejected(())).0, 127);
    }

    #[test]
    fn sent_reasons_read_back_as_their_cause() {
        for v in 0..128u8 {
            if let Some(r) = reason_for_cause(Q850Cause(v)) {
                assert_eq!(cause_of_reason(&r).0, v, "row {v}");
            }
        }
        assert_eq!(reason_for_cause(Q850Cause::NORMAL_CLEARING), None);
    }
}
