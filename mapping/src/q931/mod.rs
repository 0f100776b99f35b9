//! The Q.931 message and information-element codec (ITU-T Q.931 §4), shared by H.225.0 and ISDN PRI.
