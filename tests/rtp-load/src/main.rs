//! rtp-load: drives an RTP relay with paced G.711 calls (or a flood) and reports loss,
//! added latency, packets per second, and the relay's CPU and memory.
//!
//! ```text
//! # a gatewayd that routes 7... from 127.0.0.1:5090 back to 127.0.0.1:5092:
//! rtp-load --print-config --gatewayd 127.0.0.1:5060 > gw.yaml && gatewayd run --config gw.yaml &
//! rtp-load --gatewayd 127.0.0.1:5060 --calls 500 --duration 20 --pid $(pgrep -n gatewayd)
//! rtp-load --gatewayd 127.0.0.1:5060 --calls 20 --flood --duration 5 --pid ...
//! # any other relay: one line per call, `A_ADDR B_ADDR [A_LOCAL B_LOCAL]`
//! rtp-load --pairs pairs.txt --duration 20 --pid $(pgrep -n rtpengine)
//! # the tool's own floor: no relay at all
//! rtp-load --direct 500 --duration 20
//! ```

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use rtp_load::{MediaParams, SetupParams, SipAgent};

#[derive(Debug, Parser)]
#[command(
    name = "rtp-load",
    about = "Load tool for RTP relays (G.711, 20 ms, both ways)"
)]
struct Args {
    /// Set calls up through this gatewayd's SIP/UDP address (as both caller and callee).
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["pairs", "direct"])]
    gatewayd: Option<SocketAddr>,
    /// Relay address pairs from a file: `A_ADDR B_ADDR [A_LOCAL B_LOCAL]` per line.
    #[arg(long, value_name = "FILE", conflicts_with = "direct")]
    pairs: Option<std::path::PathBuf>,
    /// No relay: N calls whose sides send straight to each other (the tool's floor).
    #[arg(long, value_name = "N")]
    direct: Option<usize>,
    /// Calls to set up (gatewayd mode).
    #[arg(long, default_value_t = 100)]
    calls: usize,
    /// Call attempts per second during setup.
    #[arg(long, default_value_t = 200.0)]
    cps: f64,
    /// The caller's (UAC's) SIP address; the gateway's ingress trunk names it.
    #[arg(long, default_value = "127.0.0.1:5090")]
    uac: SocketAddr,
    /// The callee's (UAS's) SIP address; the gateway's egress trunk names it.
    #[arg(long, default_value = "127.0.0.1:5092")]
    uas: SocketAddr,
    /// Called numbers are this prefix and the call's index.
    #[arg(long, default_value = "7")]
    prefix: String,
    /// Address the media sockets bind to (pairs and direct modes).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of sending before the measurement starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Send as fast as possible on every stream instead of every 20 ms.
    #[arg(long)]
    flood: bool,
    /// Sender threads (one is enough for ~50 000 packets/s on a loaded 2-core box).
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// One socket for every caller and one for every callee (gatewayd and direct modes):
    /// the relay still has its own per call; the tool costs much less per packet.
    #[arg(long)]
    shared_sockets: bool,
    /// The relay's process id: its CPU seconds and RSS are read from /proc.
    #[arg(long)]
    pid: Option<u32>,
    /// Print a gatewayd configuration for --gatewayd, --uac, --uas, --prefix and exit.
    #[arg(long)]
    print_config: bool,
    /// With --print-config: the gateway's RTP port range.
    #[arg(long, default_value = "20000-29999")]
    rtp_range: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let media = MediaParams {
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        flood: args.flood,
        senders: args.senders,
        relay_pid: args.pid,
        ..MediaParams::default()
    };
    let result = if let Some(gw) = args.gatewayd {
        if args.print_config {
            let metrics = SocketAddr::new(gw.ip(), 9464);
            print!(
                "{}",
                rtp_load::gatewayd_config(
                    gw,
                    metrics,
                    args.uac,
                    args.uas,
                    &args.prefix,
                    &args.rtp_range
                )
            );
            return ExitCode::SUCCESS;
        }
        SipAgent::bind(args.uac, args.uas, gw, &args.prefix).and_then(|mut agent| {
            if args.shared_sockets {
                agent.share_media_sockets()?;
            }
            let setup = SetupParams {
                calls: args.calls,
                cps: args.cps,
                ..SetupParams::default()
            };
            rtp_load::run_gatewayd(&mut agent, &setup, &media)
        })
    } else if let Some(file) = &args.pairs {
        std::fs::read_to_string(file)
            .and_then(|text| rtp_load::read_pairs(&text, args.bind))
            .and_then(|pairs| rtp_load::run_pairs(pairs, &media))
    } else if let Some(n) = args.direct {
        rtp_load::media::direct_pairs(args.bind, n, args.shared_sockets)
            .and_then(|p| rtp_load::run_pairs(p, &media))
    } else {
        eprintln!("rtp-load: give --gatewayd ADDR, --pairs FILE or --direct N (see --help)");
        return ExitCode::from(2);
    };
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rtp-load: {e}");
            ExitCode::FAILURE
        }
    }
}
