//! SIP side of the translation tables (DESIGN.md "The pivot"): everything between SIP
//! header values / status codes and the neutral call model. Pure: header values come in as
//! `&str`, results go out as plain values; no SIP stack types.
//!
//! - [`cause_map`]: Q.850 cause <-> SIP status (RFC 3398 §8.2.6.1, §7.2.4.1);
//! - [`reason`]: the Reason header (RFC 3326, RFC 8606 location);
//! - [`reason_phrase`](mod@reason_phrase): reason phrases (RFC 3261 §21 and extensions);
//! - [`caller_id`]: From / P-Asserted-Identity / Remote-Party-ID / Privacy <-> party number
//!   (RFC 3323, RFC 3325), with [`number_form`], [`privacy`], [`rpid`], [`name_addr`];
//! - [`diversion`]: the Diversion header (RFC 5806) <-> redirection history;
//! - [`messages`]: SIP messages <-> call events (the design card);
//! - [`method`]: SIP methods.

pub mod caller_id;
pub mod cause_map;
pub mod diversion;
pub mod messages;
pub mod method;
pub mod name_addr;
pub mod number_form;
pub mod privacy;
pub mod reason;
pub mod reason_phrase;
pub mod rpid;
mod syntax;

pub use caller_id::{
    CallerId, IdentitySource, SipIdentityIn, SipIdentityOut, SipIdentityPolicy, caller_from_sip,
    caller_to_sip,
};
pub use cause_map::{release_cause_for_status, status_for_cause};
pub use diversion::{diversion_to_redirection, redirection_to_diversion};
pub use messages::{
    InviteIn, InviteResponseIn, LegRole, LegState, SipAction, SipMapError, event_to_sip,
    invite_response_to_event, invite_to_setup, request_to_event,
};
pub use method::SipMethod;
pub use number_form::NumberForm;
pub use reason::{ReasonProtocol, ReasonValue, parse_reason};
pub use reason_phrase::{reason_phrase, reason_phrase_or_class};
pub use syntax::Param;
