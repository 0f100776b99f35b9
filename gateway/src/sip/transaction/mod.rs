//! SIP transactions (RFC 3261 §17, with the RFC 6026 Accepted state) as sans-IO state
//! machines.
//!
//! Each machine takes `now` with every input, queues what to do in `poll_output`, and says
//! when it next needs waking in `poll_timeout`. The machines never parse: their owner
//! matches messages to transactions (branch + sent-by + method, §17.1.3/§17.2.3) and
//! hands in the status code with the message. They are generic over the message type,
//! which only has to build the two messages a transaction generates itself.
//!
//! - [`ClientInvite`]: §17.1.1 (Figure 5), Timers A, B, D, M;
//! - [`ClientNonInvite`]: §17.1.2 (Figure 6), Timers E, F, K;
//! - [`ServerInvite`]: §17.2.1 (Figure 7), Timers G, H, I, L;
//! - [`ServerNonInvite`]: §17.2.2 (Figure 8), Timer J;
//! - [`Retransmit2xx`]: the UAS core's 2xx retransmission until ACK (§13.3.1.4).

mod client_invite;
mod client_non_invite;
mod retransmit_2xx;
mod server_invite;
mod server_non_invite;
mod timers;

pub use client_invite::ClientInvite;
pub use client_non_invite::ClientNonInvite;
pub use retransmit_2xx::Retransmit2xx;
pub use server_invite::ServerInvite;
pub use server_non_invite::ServerNonInvite;
pub use timers::{Timer, TimerConfig, TimerTable};

/// The messages a transaction builds on its own.
pub trait TransactionMessage: Clone {
    /// The ACK a client INVITE transaction sends for a non-2xx final response
    /// (RFC 3261 §17.1.1.3): Request-URI, Call-ID, From, CSeq number and top Via of the
    /// request, To of the response, method ACK.
    fn ack_for(request: &Self, response: &Self) -> Self;

    /// The 100 (Trying) an INVITE server transaction sends at once (§17.2.1: "MUST
    /// generate a 100 (Trying) response unless it knows that the TU will generate a
    /// provisional or final response within 200 ms").
    fn trying_for(request: &Self) -> Self;
}

/// What a transaction asks its owner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutput<M> {
    /// Hand this message to the transport.
    Transmit(M),
    /// Pass this response up to the transaction user (client transactions).
    Response(M),
    /// The transaction timed out (Timer B, F, or H: no ACK): tell the TU.
    Timeout(Timer),
    /// The transport reported a failure while sending (§17.1.4, §17.2.4).
    TransportError,
    /// The transaction reached "Terminated": its owner may forget it.
    Terminated,
}

/// Whether the transport retransmits for us (TCP, TLS) or not (UDP), §17.1.1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// UDP: the transaction retransmits.
    Unreliable,
    /// TCP/TLS/SCTP: no retransmissions, "wait" timers are zero.
    Reliable,
}

impl Reliability {
    fn is_reliable(self) -> bool {
        self == Reliability::Reliable
    }
}

/// The class of a status code.
fn class(status: u16) -> u16 {
    status / 100
}

#[cfg(test)]
mod tests;
