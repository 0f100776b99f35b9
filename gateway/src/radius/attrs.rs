//! What the gateway says in its requests: the Access-Request of a call and the
//! Accounting-Requests of its Start, Interim-Update and Stop, from the switch's
//! [`CallRecord`] (standard attributes plus the Cisco VoIP VSAs billing systems read).

use super::dict::{AcctStatus, AttrType, CiscoAttr, TerminateCause};
use super::packet::Attr;
use crate::switch::CallRecord;
use mapping::cause::Q850Cause;
use mapping::model::Initiator;
use md5::{Digest, Md5};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{SystemTime, UNIX_EPOCH};

/// Who the gateway is in its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nas {
    /// NAS-Identifier (and h323-gw-id).
    pub identifier: String,
    /// NAS-IP-Address, when the gateway has an IPv4 signalling address.
    pub ip: Option<Ipv4Addr>,
    /// A number drawn at start, part of every Acct-Session-Id so that ids stay unique
    /// across restarts (the switch's call numbers start again at 1).
    pub boot: u32,
}

/// What an Access-Request asks about: a call coming in, before routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthQuery {
    /// The switch's call number.
    pub call: u64,
    /// Ingress trunk.
    pub trunk: String,
    /// Calling number (User-Name and Calling-Station-Id); empty when withheld.
    pub calling: String,
    /// Called number (Called-Station-Id).
    pub called: String,
    /// Source address of the call's signalling.
    pub source: Option<IpAddr>,
    /// SIP Call-ID or H.323 call identifier.
    pub call_id: Option<String>,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The Acct-Session-Id of a call: start time, boot number and call number in hex,
/// stable from Start to Stop and across retransmissions.
pub fn session_id(nas: &Nas, r: &CallRecord) -> String {
    format!("{:08X}{:08X}-{:X}", unix(r.start), nas.boot, r.call)
}

/// h323-conf-id: 128 bits as four groups of eight hex digits, as Cisco prints a
/// conference id; derived from the ingress Call-ID (or the session id without one) so
/// it is the same in every request of the call.
pub fn conf_id(nas: &Nas, r: &CallRecord) -> String {
    let seed = r
        .ingress_call_id
        .clone()
        .unwrap_or_else(|| session_id(nas, r));
    let d: [u8; 16] = Md5::digest(seed.as_bytes()).into();
    let w = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    format!("{:08X} {:08X} {:08X} {:08X}", w(0), w(4), w(8), w(12))
}

/// The time format of Cisco's h323-*-time attributes: `HH:MM:SS.mmm UTC Www Mmm DD YYYY`.
pub fn cisco_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, day) = civil(days as i64);
    const WEEK: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTH: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02}:{:02}:{:02}.{:03} UTC {} {} {} {}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis(),
        WEEK[(days % 7) as usize],
        MONTH[(m - 1) as usize],
        day,
        y
    )
}

/// Year, month (1-12) and day of a count of days since 1970-01-01 (the proleptic
/// Gregorian calendar, by eras of 400 years).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn nas_attrs(nas: &Nas, out: &mut Vec<Attr>) {
    out.push(Attr::text(AttrType::NAS_IDENTIFIER, &nas.identifier));
    if let Some(ip) = nas.ip {
        out.push(Attr::Std(AttrType::NAS_IP_ADDRESS, ip.octets().to_vec()));
    }
}

/// Service-Type Login (RFC 2865 §5.6), NAS-Port-Type Virtual (§5.41): what VoIP
/// gateways send.
const SERVICE_LOGIN: u32 = 1;
const PORT_VIRTUAL: u32 = 5;

/// The attributes of an Access-Request for a call (the password is added by the
/// client: it is hidden with the server's secret).
pub fn access_attrs(nas: &Nas, q: &AuthQuery) -> Vec<Attr> {
    let mut a = vec![
        Attr::text(AttrType::USER_NAME, &q.calling),
        Attr::text(AttrType::CALLING_STATION_ID, &q.calling),
        Attr::text(AttrType::CALLED_STATION_ID, &q.called),
        Attr::int(AttrType::SERVICE_TYPE, SERVICE_LOGIN),
        Attr::int(AttrType::NAS_PORT_TYPE, PORT_VIRTUAL),
    ];
    nas_attrs(nas, &mut a);
    if let Some(src) = q.source {
        a.push(Attr::cisco(
            CiscoAttr::H323_REMOTE_ADDRESS,
            &src.to_string(),
        ));
    }
    a.push(Attr::cisco(CiscoAttr::H323_GW_ID, &nas.identifier));
    if let Some(id) = &q.call_id {
        a.push(Attr::cisco(CiscoAttr::AVPAIR, &format!("call-id={id}")));
    }
    a
}

/// Acct-Terminate-Cause for a Q.850 cause and who cleared.
fn terminate_cause(r: &CallRecord) -> TerminateCause {
    match (r.cause.value, r.initiator) {
        (Q850Cause::RECOVERY_ON_TIMER_EXPIRY, Initiator::Gateway) => {
            TerminateCause::SESSION_TIMEOUT
        }
        (_, Initiator::Caller) => TerminateCause::USER_REQUEST,
        (_, Initiator::Callee) => TerminateCause::LOST_SERVICE,
        _ => TerminateCause::NAS_REQUEST,
    }
}

/// The attributes of an Accounting-Request (without Acct-Delay-Time, which the client
/// sets when it sends). `r` is the call as it stands at `status` (for Start and
/// Interim-Update: so far; its `end` is the time of the event).
pub fn accounting_attrs(nas: &Nas, r: &CallRecord, status: AcctStatus) -> Vec<Attr> {
    let calling = r.calling_in.clone().unwrap_or_default();
    let mut a = vec![
        Attr::int(AttrType::ACCT_STATUS_TYPE, status.0),
        Attr::text(AttrType::ACCT_SESSION_ID, &session_id(nas, r)),
        Attr::text(AttrType::USER_NAME, &calling),
        Attr::text(AttrType::CALLING_STATION_ID, &calling),
        Attr::text(AttrType::CALLED_STATION_ID, &r.called_in),
        Attr::int(AttrType::SERVICE_TYPE, SERVICE_LOGIN),
        Attr::int(AttrType::NAS_PORT_TYPE, PORT_VIRTUAL),
        Attr::int(AttrType::EVENT_TIMESTAMP, unix(r.end) as u32),
    ];
    nas_attrs(nas, &mut a);
    if status != AcctStatus::START {
        a.push(Attr::int(
            AttrType::ACCT_SESSION_TIME,
            u32::try_from(r.billable_seconds()).unwrap_or(u32::MAX),
        ));
    }
    if status == AcctStatus::STOP {
        a.push(Attr::int(
            AttrType::ACCT_TERMINATE_CAUSE,
            terminate_cause(r).0,
        ));
        if let Some(m) = &r.media {
            let p = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
            // Input: what the caller sent to the gateway; output: what came from the
            // callee toward the caller. RTP payload octets (headers not counted).
            a.push(Attr::int(
                AttrType::ACCT_INPUT_OCTETS,
                p(m.from_caller.octets),
            ));
            a.push(Attr::int(
                AttrType::ACCT_OUTPUT_OCTETS,
                p(m.from_callee.octets),
            ));
            a.push(Attr::int(
                AttrType::ACCT_INPUT_PACKETS,
                p(m.from_caller.packets),
            ));
            a.push(Attr::int(
                AttrType::ACCT_OUTPUT_PACKETS,
                p(m.from_callee.packets),
            ));
        }
    }
    a.push(Attr::cisco(CiscoAttr::H323_GW_ID, &nas.identifier));
    a.push(Attr::cisco(CiscoAttr::H323_CONF_ID, &conf_id(nas, r)));
    a.push(Attr::cisco(CiscoAttr::H323_CALL_ORIGIN, "answer"));
    a.push(Attr::cisco(CiscoAttr::H323_CALL_TYPE, "VoIP"));
    if let Some(ip) = r.ingress_peer {
        a.push(Attr::cisco(CiscoAttr::H323_REMOTE_ADDRESS, &ip.to_string()));
    }
    a.push(Attr::cisco(
        CiscoAttr::H323_SETUP_TIME,
        &cisco_time(r.start),
    ));
    if let Some(t) = r.answer {
        a.push(Attr::cisco(CiscoAttr::H323_CONNECT_TIME, &cisco_time(t)));
    }
    if status == AcctStatus::STOP {
        a.push(Attr::cisco(
            CiscoAttr::H323_DISCONNECT_TIME,
            &cisco_time(r.end),
        ));
        // Cisco writes the Q.850 cause as two hex digits.
        a.push(Attr::cisco(
            CiscoAttr::H323_DISCONNECT_CAUSE,
            &format!("{:02X}", r.cause.value.0),
        ));
    }
    if let Some(id) = &r.ingress_call_id {
        a.push(Attr::cisco(CiscoAttr::AVPAIR, &format!("call-id={id}")));
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::packet::{Code, Packet};
    use std::time::Duration;

    fn nas() -> Nas {
        Nas {
            identifier: "gw1".into(),
            ip: Some(Ipv4Addr::LOCALHOST),
            boot: 0xABCD,
        }
    }

    #[test]
    fn cisco_time_format() {
        // 2026-11-26 13:45:06.789 UTC was a Thursday.
        let t = UNIX_EPOCH + Duration::from_millis(1_795_700_706_789);
        assert_eq!(cisco_time(t), "13:45:06.789 UTC Thu Nov 26 2026");
        assert_eq!(cisco_time(UNIX_EPOCH), "00:00:00.000 UTC Thu Jan 1 1970");
        // A leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(cisco_time(t), "00:00:00.000 UTC Tue Feb 29 2000");
    }

    #[test]
    fn stop_carries_duration_cause_packets_and_vsas() {
        let r = crate::cdr::format::tests::record();
        let attrs = accounting_attrs(&nas(), &r, AcctStatus::STOP);
        let p = Packet {
            code: Code::ACCOUNTING_REQUEST,
            identifier: 0,
            authenticator: [0; 16],
            attrs,
        };
        assert_eq!(p.get_int(AttrType::ACCT_STATUS_TYPE), Some(2));
        assert_eq!(p.get_int(AttrType::ACCT_SESSION_TIME), Some(60));
        assert_eq!(p.get_int(AttrType::ACCT_INPUT_PACKETS), Some(3000));
        assert_eq!(p.get_int(AttrType::ACCT_INPUT_OCTETS), Some(480_000));
        assert_eq!(p.get_int(AttrType::ACCT_OUTPUT_OCTETS), Some(0));
        assert_eq!(
            p.get_int(AttrType::ACCT_TERMINATE_CAUSE),
            Some(TerminateCause::LOST_SERVICE.0)
        );
        assert_eq!(
            p.get_cisco(CiscoAttr::H323_DISCONNECT_CAUSE).as_deref(),
            Some("10")
        );
        assert_eq!(
            p.get_cisco(CiscoAttr::H323_CALL_ORIGIN).as_deref(),
            Some("answer")
        );
        assert_eq!(p.get_cisco(CiscoAttr::H323_GW_ID).as_deref(), Some("gw1"));
        let id = session_id(&nas(), &r);
        assert_eq!(
            p.get(AttrType::ACCT_SESSION_ID),
            Some(id.as_bytes()),
            "session id"
        );
        let conf = p.get_cisco(CiscoAttr::H323_CONF_ID).expect("conf id");
        assert_eq!(conf.len(), 35);
        // The same call gives the same ids in every request.
        let start = accounting_attrs(&nas(), &r, AcctStatus::START);
        assert!(start.contains(&Attr::text(AttrType::ACCT_SESSION_ID, &id)));
        assert!(
            !start
                .iter()
                .any(|a| matches!(a, Attr::Std(t, _) if *t == AttrType::ACCT_SESSION_TIME))
        );
    }

    #[test]
    fn access_request_names_the_numbers() {
        let q = AuthQuery {
            call: 1,
            trunk: "pbx".into(),
            calling: "2000".into(),
            called: "4000".into(),
            source: Some(IpAddr::from([127, 0, 0, 1])),
            call_id: Some("c@h".into()),
        };
        let a = access_attrs(&nas(), &q);
        assert!(a.contains(&Attr::text(AttrType::USER_NAME, "2000")));
        assert!(a.contains(&Attr::text(AttrType::CALLED_STATION_ID, "4000")));
        assert!(a.contains(&Attr::cisco(CiscoAttr::AVPAIR, "call-id=c@h")));
    }
}
