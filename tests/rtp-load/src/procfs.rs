//! CPU time and resident memory of a process, from /proc (Linux).

/// One sample of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcFigures {
    /// User + system CPU seconds since it started (all threads, also those gone).
    pub cpu_s: f64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
}

/// Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on Linux).
const USER_HZ: f64 = 100.0;

/// `pid`'s figures; zeros when it is gone.
pub fn figures(pid: u32) -> ProcFigures {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    ProcFigures {
        cpu_s: cpu_from_stat(&stat),
        rss_kib: rss_from_status(&status),
    }
}

/// This process's CPU seconds.
pub fn self_cpu() -> f64 {
    cpu_from_stat(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

/// utime + stime (fields 14 and 15; the command name in field 2 may hold spaces and
/// parentheses, so fields are counted after the last ')').
fn cpu_from_stat(stat: &str) -> f64 {
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / USER_HZ
}

fn rss_from_status(status: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_status() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert!((cpu_from_stat(stat) - 3.0).abs() < 1e-9);
        assert_eq!(rss_from_status("Name:\tx\nVmRSS:\t  1234 kB\n"), 1234);
        let me = figures(std::process::id());
        assert!(me.rss_kib > 0);
    }
}
