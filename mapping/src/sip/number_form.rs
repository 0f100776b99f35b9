//! How digit strings in SIP URIs map to party numbers and back: `+` E.164 numbers, and the
//! national/international dialling prefixes of the network a trunk is in.

use super::name_addr::{Uri, UriScheme};
use crate::number::{Digits, NumberingPlan, PartyNumber, TypeOfNumber};

/// The dialling prefixes of a trunk's network (ITU-T E.164 national and international
/// prefixes), per trunk in the configuration.
///
/// With the default (`"0"`, `"00"`): `+49301234` and `0049301234` are international
/// `49301234`, `0301234` is national `301234`. An empty prefix disables its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberForm {
    /// National (trunk) prefix, e.g. `"0"`.
    pub national_prefix: String,
    /// International prefix, e.g. `"00"` (`"011"` in NANP).
    pub international_prefix: String,
    /// Whether digits with neither prefix are a subscriber number (TON subscriber, plan
    /// ISDN) rather than unknown/unknown.
    pub plain_is_subscriber: bool,
}

impl Default for NumberForm {
    fn default() -> Self {
        NumberForm {
            national_prefix: "0".to_string(),
            international_prefix: "00".to_string(),
            plain_is_subscriber: false,
        }
    }
}

/// RFC 3966 visual separators, dropped from telephone-subscriber numbers.
const VISUAL_SEPARATORS: [char; 4] = ['-', '.', '(', ')'];

impl NumberForm {
    /// A number form with these prefixes.
    pub fn new(national_prefix: &str, international_prefix: &str) -> Self {
        NumberForm {
            national_prefix: national_prefix.to_string(),
            international_prefix: international_prefix.to_string(),
            plain_is_subscriber: false,
        }
    }

    /// Classifies a dialled digit string: `+` -> international/ISDN; the longer of the two
    /// prefixes is tried first; otherwise subscriber/ISDN or unknown/unknown. `None` when
    /// no digits are left or a character is not a digit.
    pub fn classify(&self, text: &str) -> Option<PartyNumber> {
        if let Some(rest) = text.strip_prefix('+') {
            return number(rest, TypeOfNumber::INTERNATIONAL, NumberingPlan::ISDN);
        }
        let mut prefixes = [
            (&self.international_prefix, TypeOfNumber::INTERNATIONAL),
            (&self.national_prefix, TypeOfNumber::NATIONAL),
        ];
        prefixes.sort_by_key(|(p, _)| core::cmp::Reverse(p.len()));
        for (prefix, ton) in prefixes {
            if prefix.is_empty() {
                continue;
            }
            if let Some(rest) = text.strip_prefix(prefix.as_str())
                && !rest.is_empty()
            {
                return number(rest, ton, NumberingPlan::ISDN);
            }
        }
        if self.plain_is_subscriber {
            number(text, TypeOfNumber::SUBSCRIBER, NumberingPlan::ISDN)
        } else {
            number(text, TypeOfNumber::UNKNOWN, NumberingPlan::UNKNOWN)
        }
    }

    /// The dialled form of a number: international `+digits`, national with the national
    /// prefix, anything else as its digits.
    pub fn render(&self, n: &PartyNumber) -> String {
        match n.ton {
            TypeOfNumber::INTERNATIONAL => format!("+{}", n.digits.as_str()),
            TypeOfNumber::NATIONAL => format!("{}{}", self.national_prefix, n.digits.as_str()),
            _ => n.digits.as_str().to_string(),
        }
    }

    /// The party number in a SIP, SIPS or tel URI, or `None` when it holds none.
    ///
    /// - `tel:` and `;user=phone`: the telephone-subscriber, visual separators dropped
    ///   (RFC 3966 §5.1.1); hex digits `A-D` allowed;
    /// - other sip/sips user parts only when they are `+`? followed by `0-9 * #` (many trunks
    ///   omit `user=phone`; a name such as `alice` or `anonymous` is never a number).
    ///
    /// `phone-context` is not applied: a local number stays in its dialled form.
    pub fn number_from_uri(&self, uri: &Uri) -> Option<PartyNumber> {
        let user = uri.user.as_deref()?;
        let phone = match uri.scheme {
            UriScheme::Tel => true,
            UriScheme::Sip | UriScheme::Sips => uri.is_user_phone(),
            UriScheme::Other => return None,
        };
        let text: String = if phone {
            user.chars()
                .filter(|c| !VISUAL_SEPARATORS.contains(c))
                .collect()
        } else {
            user.to_string()
        };
        let body = text.strip_prefix('+').unwrap_or(&text);
        let first_ok = body
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '*' || c == '#');
        let rest_ok = body.chars().all(|c| {
            c.is_ascii_digit() || c == '*' || c == '#' || (phone && "ABCDabcd".contains(c))
        });
        if !(first_ok && rest_ok) {
            return None;
        }
        self.classify(&text)
    }
}

fn number(digits: &str, ton: TypeOfNumber, npi: NumberingPlan) -> Option<PartyNumber> {
    let digits = Digits::new(digits).ok().filter(|d| !d.is_empty())?;
    Some(PartyNumber {
        digits,
        ton,
        npi,
        presentation: None,
        screening: None,
    })
}
