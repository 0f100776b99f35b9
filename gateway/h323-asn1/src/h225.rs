//! H.225.0 (H323-MESSAGES): call signalling user-information and RAS messages.
