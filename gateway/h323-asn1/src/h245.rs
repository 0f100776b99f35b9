//! H.245 (MULTIMEDIA-SYSTEM-CONTROL): the control protocol messages.
