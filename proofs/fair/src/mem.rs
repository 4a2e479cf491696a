//! Memory use of this process: the current resident set (for the memory limit of a run) and its
//! peak (for reports and the comparison with stateright).

/// The resident set size of this process in bytes, if the platform reports it (`memory-stats`:
/// on Linux `/proc/self/statm` times the real page size).
pub(crate) fn rss_bytes() -> Option<u64> {
    memory_stats::memory_stats().map(|m| m.physical_mem as u64)
}

/// The peak resident set size of this process in bytes (`VmHWM` in `/proc/self/status`; Linux
/// only, `None` elsewhere). `memory-stats` reports the current size only, and `getrusage`'s
/// `ru_maxrss` would need `unsafe` or another crate, hence this small parser; unlike
/// `ru_maxrss`, `VmHWM` can be reset (`/proc/self/clear_refs`) to measure one phase of a process.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak RSS counter (`echo 5 > /proc/self/clear_refs`); returns whether it worked
/// (not on other platforms, nor in some containers).
pub(crate) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
