//! `egress:` where a routed call goes: failover order and load sharing.
//!
//! ```yaml
//! egress: [carrier-a, carrier-b]          # strategy: failover (the default)
//! strategy: weighted
//! egress:                                 # 3:1 load sharing, then the standby
//!   - {trunk: carrier-a, weight: 3}
//!   - {trunk: carrier-b, weight: 1}
//!   - {trunk: h323-backup, weight: 0}
//! ```
//!
//! - `failover`: the entries are tried in list order. `weight` is not allowed.
//! - `weighted`: each attempt picks one of the entries not tried yet, at random in
//!   proportion to its weight (default 1); entries of weight 0 are standbys, tried in
//!   list order once every weighted entry has failed. At least one weight must be above 0.
//!
//! Either way the next entry is tried only when the attempt failed with one of the
//! rule's `failover_causes`.

use mapping::cause::Q850Cause;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;

/// How the entries of `egress` are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EgressStrategy {
    /// In list order.
    #[default]
    Failover,
    /// At random in proportion to `weight`, then weight-0 standbys in order.
    Weighted,
}

/// One egress trunk: `carrier-a` or `{trunk: carrier-a, weight: 3}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressEntry {
    /// The trunk (`trunks[].name`).
    pub trunk: String,
    /// Load-sharing weight with `strategy: weighted`; absent means 1.
    pub weight: Option<u32>,
}

impl EgressEntry {
    /// The weight, 1 when not given.
    pub fn weight(&self) -> u32 {
        self.weight.unwrap_or(1)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFields {
    trunk: String,
    #[serde(default)]
    weight: Option<u32>,
}

impl<'de> Deserialize<'de> for EgressEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EgressEntry, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EgressEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a trunk name or {trunk: NAME, weight: N}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EgressEntry, E> {
                Ok(EgressEntry {
                    trunk: v.to_owned(),
                    weight: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EgressEntry, A::Error> {
                let f = EntryFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(EgressEntry {
                    trunk: f.trunk,
                    weight: f.weight,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A Q.850 cause value (1-127) on which a call fails over to the next egress entry;
/// written as the number (`34`) or the standard's name (`no-circuit-channel-available`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FailoverCause(pub Q850Cause);

impl<'de> Deserialize<'de> for FailoverCause {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FailoverCause, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FailoverCause;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Q.850 cause value 1-127 or its name")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FailoverCause, E> {
                match u8::try_from(v) {
                    Ok(c @ 1..=127) => Ok(FailoverCause(Q850Cause(c))),
                    _ => Err(E::custom(format!(
                        "{v} is not a Q.850 cause value (1-127); SIP statuses are given as their causes (RFC 3398: 503 is 41 or 34)"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FailoverCause, E> {
                Err(E::custom(format!("{v} is not a Q.850 cause value (1-127)")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FailoverCause, E> {
                Q850Cause::KNOWN
                    .iter()
                    .find(|c| c.name() == Some(v))
                    .map(|c| FailoverCause(*c))
                    .ok_or_else(|| E::custom(format!("`{v}` is not a Q.850 cause name")))
            }
        }
        d.deserialize_any(V)
    }
}

/// The default `failover_causes`: 34 no circuit/channel available, 38 network out of
/// order, 41 temporary failure, 42 switching equipment congestion, 44 requested
/// circuit/channel not available, 47 resource unavailable.
pub fn default_failover_causes() -> Vec<FailoverCause> {
    [34, 38, 41, 42, 44, 47]
        .into_iter()
        .map(|c| FailoverCause(Q850Cause(c)))
        .collect()
}

/// The order in which the entries are tried. `random(n)` returns a number in `0..n`
/// (n > 0); it is only called for `weighted`.
pub fn attempt_order(
    strategy: EgressStrategy,
    entries: &[EgressEntry],
    mut random: impl FnMut(u32) -> u32,
) -> Vec<&str> {
    match strategy {
        EgressStrategy::Failover => entries.iter().map(|e| e.trunk.as_str()).collect(),
        EgressStrategy::Weighted => {
            let mut left: Vec<&EgressEntry> = entries.iter().filter(|e| e.weight() > 0).collect();
            let mut order = Vec::with_capacity(entries.len());
            while !left.is_empty() {
                let total: u32 = left.iter().map(|e| e.weight()).sum();
                let mut r = random(total) % total;
                let pick = left
                    .iter()
                    .position(|e| {
                        if r < e.weight() {
                            true
                        } else {
                            r -= e.weight();
                            false
                        }
                    })
                    .unwrap_or(0);
                order.push(left.remove(pick).trunk.as_str());
            }
            order.extend(
                entries
                    .iter()
                    .filter(|e| e.weight() == 0)
                    .map(|e| e.trunk.as_str()),
            );
            order
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(trunk: &str, weight: Option<u32>) -> EgressEntry {
        EgressEntry {
            trunk: trunk.to_owned(),
            weight,
        }
    }

    #[test]
    fn failover_keeps_list_order() {
        let entries = [e("a", None), e("b", None)];
        assert_eq!(
            attempt_order(EgressStrategy::Failover, &entries, |_| 0),
            ["a", "b"]
        );
    }

    #[test]
    fn weighted_picks_by_weight_then_standbys() {
        let entries = [e("a", Some(3)), e("standby", Some(0)), e("b", Some(1))];
        // r = 0..2 picks a (weight 3), r = 3 picks b.
        assert_eq!(
            attempt_order(EgressStrategy::Weighted, &entries, |_| 0),
            ["a", "b", "standby"]
        );
        assert_eq!(
            attempt_order(EgressStrategy::Weighted, &entries, |n| n - 1),
            ["b", "a", "standby"]
        );
        // Over every draw, a is first 3 times in 4.
        let firsts: Vec<&str> = (0..4)
            .map(|r| attempt_order(EgressStrategy::Weighted, &entries, |_| r)[0])
            .collect();
        assert_eq!(firsts.iter().filter(|t| **t == "a").count(), 3);
    }

    #[test]
    fn causes_by_number_or_name() {
        let v: Vec<FailoverCause> =
            serde_yaml::from_str("[34, no-circuit-channel-available]").unwrap();
        assert_eq!(v[0], v[1]);
        assert!(serde_yaml::from_str::<Vec<FailoverCause>>("[503]").is_err());
        assert!(serde_yaml::from_str::<Vec<FailoverCause>>("[0]").is_err());
    }
}
