//! Process CPU time (user + system) from `/proc/self/stat` (Linux only).

use std::time::Duration;

/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on every Linux architecture the
/// benchmark runs on).
const USER_HZ: u64 = 100;

/// User + system CPU time consumed by this process so far, all threads together, or `None` when
/// `/proc/self/stat` cannot be read or parsed (not Linux). Resolution: 10 ms.
pub fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 2 (comm) is in parentheses and may contain spaces: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After comm: state is field 3, so utime (field 14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1_000 / USER_HZ))
}

/// The kernel's system-wide count of UDP datagrams dropped because a socket's receive buffer was
/// full (`RcvbufErrors` in `/proc/net/snmp`), or `None` when unavailable. On a loopback
/// benchmark this is the loss the benchmark did not inject: receivers starved of CPU.
pub fn udp_rcvbuf_errors() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (header, values) = (udp.next()?, udp.next()?);
    let i = header
        .split_whitespace()
        .position(|h| h == "RcvbufErrors")?;
    values.split_whitespace().nth(i)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_when_the_process_spins() {
        let Some(before) = process_cpu_time() else {
            return; // not Linux
        };
        // Spin until 30 ms of CPU are counted; on a loaded machine that can take a while of
        // wall time, so give up (and fail) only after 10 s.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        let mut now = before;
        while now < before + Duration::from_millis(30) && start.elapsed() < Duration::from_secs(10)
        {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            now = process_cpu_time().unwrap();
        }
        assert!(
            now >= before + Duration::from_millis(30),
            "{before:?} -> {now:?}"
        );
    }
}
