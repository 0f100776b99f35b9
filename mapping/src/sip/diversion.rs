//! The Diversion header (RFC 5806) <-> redirection history (Q.931 Redirecting number,
//! ISUP redirection information).
//!
//! RFC 5806 §4: each diversion is a name-addr with `reason`, `counter`, `privacy`
//! parameters; the top-most value is the most recent diversion, as
//! [`Setup::redirection`](crate::model::Setup) lists them. The reason tokens of §4 are
//! the names of [`RedirectionReason`]; the tokens without a Q.931 value (`unavailable`,
//! `time-of-day`, `do-not-disturb`, `away`) become `unknown`. Lenient: a value that does
//! not parse, or names no number, is skipped.

use super::name_addr::NameAddr;
use super::name_addr::Uri;
use super::number_form::NumberForm;
use crate::model::{Redirection, RedirectionReason};
use crate::number::Presentation;

/// The redirections of an INVITE's Diversion header values (each may hold several,
/// comma-separated), most recent first.
pub fn diversion_to_redirection(values: &[&str], form: &NumberForm) -> Vec<Redirection> {
    let mut out = Vec::new();
    for v in values {
        for na in NameAddr::parse_list(v) {
            let Some(mut from) = Uri::parse(&na.uri).and_then(|u| form.number_from_uri(&u)) else {
                continue;
            };
            let token = na.param("reason").flatten().unwrap_or("unknown");
            let reason = RedirectionReason::KNOWN
                .iter()
                .copied()
                .find(|r| {
                    r.name()
                        .is_some_and(|n| n.eq_ignore_ascii_case(token.trim_matches('"')))
                })
                .unwrap_or(RedirectionReason::UNKNOWN);
            let count = na
                .param("counter")
                .flatten()
                .and_then(|c| c.parse::<u8>().ok());
            // §4: privacy=full or name hides the diverting party.
            if let Some(p) = na.param("privacy").flatten()
                && (p.eq_ignore_ascii_case("full") || p.eq_ignore_ascii_case("name"))
            {
                from.presentation = Some(Presentation::RESTRICTED);
            }
            out.push(Redirection {
                from,
                reason,
                count,
            });
        }
    }
    out
}

/// One Diversion value for a redirection: `<sip:NUMBER@DOMAIN;user=phone>;reason=...;
/// counter=N`, with `privacy=full` when the redirecting number is restricted.
pub fn redirection_to_diversion(r: &Redirection, domain: &str, form: &NumberForm) -> String {
    let number = form.render(&r.from).replace('#', "%23");
    let reason = r.reason.name().unwrap_or("unknown");
    let mut v = format!("<sip:{number}@{domain};user=phone>;reason={reason}");
    v.push_str(&format!(";counter={}", r.count.unwrap_or(1).max(1)));
    if r.from.is_restricted() {
        v.push_str(";privacy=full");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5806_examples_and_round_trip() {
        let form = NumberForm::default();
        let rs = diversion_to_redirection(
            &[
                "<sip:+4930123@gw.example;user=phone>;reason=user-busy;counter=1, \
                 \"Office\" <sip:4000@pbx.example>;reason=unconditional;counter=2;privacy=full",
                "<tel:5000>;reason=away",
                "not a name-addr at all <",
            ],
            &form,
        );
        assert_eq!(rs.len(), 3, "{rs:?}");
        assert_eq!(rs[0].from.digits.as_str(), "4930123");
        assert_eq!(rs[0].reason, RedirectionReason::BUSY);
        assert_eq!(rs[0].count, Some(1));
        assert!(!rs[0].from.is_restricted());
        assert_eq!(rs[1].reason, RedirectionReason::UNCONDITIONAL);
        assert!(rs[1].from.is_restricted());
        assert_eq!(
            rs[2].reason,
            RedirectionReason::UNKNOWN,
            "away has no Q.931 value"
        );

        let v = redirection_to_diversion(&rs[1], "gw.test", &form);
        assert_eq!(
            v,
            "<sip:4000@gw.test;user=phone>;reason=unconditional;counter=2;privacy=full"
        );
        let back = diversion_to_redirection(&[&v], &form);
        assert_eq!(back, vec![rs[1].clone()]);
    }

    #[test]
    fn garbage_is_skipped_without_panic() {
        let form = NumberForm::default();
        for v in ["", ";;;", "<>", "<sip:@>", ",,,", "<sip:1@h>;counter=999"] {
            let _ = diversion_to_redirection(&[v], &form);
        }
    }
}
