//! What the benchmark reads about the process and the machine from `/proc` (through
//! `procfs`; Linux only, `None` elsewhere): the process's CPU time, the kernel's UDP receive
//! buffer drops, the load average.

use std::time::Duration;

/// User + system CPU time consumed by this process so far, all threads together, or `None` when
/// `/proc/self/stat` cannot be read (not Linux). Resolution: one clock tick (10 ms).
pub fn process_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
        let ticks = stat.utime + stat.stime;
        Some(Duration::from_millis(
            ticks * 1_000 / procfs::ticks_per_second(),
        ))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The kernel's system-wide count of UDP datagrams dropped because a socket's receive buffer was
/// full (`RcvbufErrors` in `/proc/net/snmp`), or `None` when unavailable. On a loopback
/// benchmark this is the loss the benchmark did not inject: receivers starved of CPU.
pub fn udp_rcvbuf_errors() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        Some(procfs::net::snmp().ok()?.udp_rcvbuf_errors)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The load average as `/proc/loadavg` shows it (`1.00 0.52 0.30 2/311 4242`), or
/// `unavailable`.
pub fn load_average() -> String {
    #[cfg(target_os = "linux")]
    {
        use procfs::Current as _;
        if let Ok(l) = procfs::LoadAverage::current() {
            return format!(
                "{:.2} {:.2} {:.2} {}/{} {}",
                l.one, l.five, l.fifteen, l.cur, l.max, l.latest_pid
            );
        }
    }
    "unavailable".to_owned()
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
