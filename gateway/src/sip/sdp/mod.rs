//! SDP (RFC 4566/8866) and the offer/answer model (RFC 3264) in codec terms.
