//! The shipped configurations validate and read as intended.

use gateway::config::{
    Config, EgressStrategy, NumberMatch, SpanDriver, TrunkParams, attempt_order,
};

const EXAMPLE: &str = include_str!("../../deploy/gateway.example.yaml");

fn parse(name: &str, text: &str) -> Config {
    match Config::parse(name, text) {
        Ok(c) => c,
        Err(errors) => {
            let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{name} does not validate:\n{}", shown.join("\n"));
        }
    }
}

#[test]
fn the_embedded_default_validates_and_binds_loopback_only() {
    let c = parse("default.yaml", gateway::config::EMBEDDED_DEFAULT);
    let sip: Vec<String> = c
        .listeners
        .sip
        .iter()
        .map(|l| format!("{}/{}", l.transport.name(), l.address))
        .collect();
    assert_eq!(sip, ["udp/127.0.0.1:5060", "tcp/127.0.0.1:5060"]);
    assert_eq!(c.listeners.h225[0].address.to_string(), "127.0.0.1:1720");
    assert_eq!(c.metrics.listen.to_string(), "127.0.0.1:9464");
    let trunks: Vec<(&str, &str)> = c
        .trunks
        .iter()
        .map(|t| (t.name.as_str(), t.params.kind()))
        .collect();
    assert_eq!(
        trunks,
        [
            ("loopback", "sip"),
            ("tone", "local"),
            ("echo", "local"),
            ("busy", "local"),
            ("h323-loop", "h323")
        ]
    );
    assert_eq!(c.routes.get("default").map(Vec::len), Some(4));
    assert_eq!(c.routes.get("from-h323").map(Vec::len), Some(3));
    assert!(c.radius.is_none());
}

#[test]
fn the_example_validates() {
    let c = parse("gateway.example.yaml", EXAMPLE);
    let kinds: Vec<&str> = c.trunks.iter().map(|t| t.params.kind()).collect();
    assert_eq!(kinds, ["sip", "sip", "sip", "h323", "pri", "ss7", "r2"]);
    assert_eq!(c.spans.len(), 3);
    assert!(matches!(c.spans[2].driver, SpanDriver::Pseudowire(_)));
    assert_eq!(c.listeners.ras.len(), 1);
    assert!(c.radius.as_ref().is_some_and(|r| r.servers.len() == 2));
}

#[test]
fn the_example_keeps_every_digit() {
    let c = parse("gateway.example.yaml", EXAMPLE);
    let TrunkParams::Sip(sip) = &c.trunk("carrier-a").expect("carrier-a").params else {
        panic!("carrier-a is a SIP trunk");
    };
    assert_eq!(
        sip.register.as_ref().map(|r| r.user.as_str()),
        Some("4969123456")
    );
    let international = &c.routes["from-pbx"][1];
    assert_eq!(
        international.matches.called,
        Some(NumberMatch::Prefix(
            gateway::config::DigitString::new("00").expect("digits")
        ))
    );
}

#[test]
fn the_example_routes_as_its_comments_say() {
    let c = parse("gateway.example.yaml", EXAMPLE);
    let table = c.route_table_for("pbx").expect("the PBX has a route table");
    let route = |called: &str| {
        table
            .iter()
            .find(|r| r.matches.matches("pbx", called, Some("201")))
            .map(|r| r.name.as_str())
    };
    assert_eq!(route("112"), Some("emergency"));
    assert_eq!(route("00442071234567"), Some("international"));
    assert_eq!(route("069123456"), Some("national"));
    assert_eq!(route("*31#069123456"), Some("withheld"));

    let international = &table[1];
    let called = international.rewrite.called.as_ref().expect("rewrite");
    assert_eq!(called.apply("00442071234567"), "+442071234567");
    let calling = international.rewrite.calling.as_ref().expect("rewrite");
    assert_eq!(calling.apply("201"), "+4969123201");
    assert_eq!(international.strategy, EgressStrategy::Weighted);
    assert_eq!(
        attempt_order(international.strategy, &international.egress, |_| 3),
        ["carrier-b", "carrier-a", "as5300"]
    );

    let inbound = c.route_table_for("carrier-a").expect("carrier table");
    let ddi = inbound
        .iter()
        .find(|r| r.matches.matches("carrier-a", "+4969123150", None))
        .expect("a DDI rule");
    assert_eq!(ddi.name, "ddi-pri");
    let rewrite = ddi.rewrite.called.as_ref().expect("rewrite");
    assert_eq!(rewrite.apply("+4969123150"), "150");
    let r2 = inbound
        .iter()
        .find(|r| r.matches.matches("carrier-a", "+4969123250", None))
        .expect("the R2 DDI rule");
    assert_eq!(
        r2.rewrite
            .called
            .as_ref()
            .expect("rewrite")
            .apply("+4969123250"),
        "250"
    );
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let c = parse("gateway.example.yaml", EXAMPLE);
    let debug = format!("{c:?}");
    for secret in ["change-me", "radius-secret-1", "radius-secret-2"] {
        assert!(!debug.contains(secret), "{secret} shows in Debug output");
    }
}

#[test]
fn equal_texts_give_equal_configs_for_reload() {
    let a = parse("a.yaml", EXAMPLE);
    assert_eq!(a, parse("b.yaml", EXAMPLE));
    let changed = EXAMPLE.replace("ptime_ms: 20", "ptime_ms: 30");
    let b = parse("b.yaml", &changed);
    assert_ne!(a, b);
    assert_eq!(a.trunks, b.trunks);
    assert_eq!(b.media.ptime_ms, 30);
}
