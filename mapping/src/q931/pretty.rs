//! Human-readable form of a message for logs and debugging, through the registry's
//! pretty-printers (numbers redacted).

use core::fmt;

use super::message::Message;
use super::registry;

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pd=0x{:02x} cr={} ({})",
            self.msg_type,
            self.protocol,
            self.call_ref,
            self.dialect().name
        )?;
        for (codeset, ie) in self.ies_with_codeset() {
            if codeset == 0 || ie.shift().is_some() {
                let name = ie.id().name().unwrap_or("unknown");
                write!(f, "\n  {name} (0x{:02x}): ", ie.octet())?;
                registry::pretty(ie, f)?;
            } else {
                write!(f, "\n  codeset {codeset} 0x{:02x}: ", ie.octet())?;
                registry::pretty_other_codeset(ie, f)?;
            }
        }
        Ok(())
    }
}
