//! Choosing this run's **generation** (protocol.md §1: strictly greater than every earlier run).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The file, inside the data directory, that holds the last generation used.
pub const GENERATION_FILE: &str = "generation";

/// Where a generation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerationSource {
    /// The persisted counter in the data directory (or the wall clock, if that was larger).
    DataDir,
    /// The wall clock in milliseconds since the Unix epoch (no data directory given).
    WallClock,
}

/// Errors reading or writing the persisted generation counter.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    /// The data directory or the counter file could not be read or written.
    #[error("generation counter in {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The counter file exists but does not hold a decimal `u64`.
    #[error("generation counter in {path} is corrupt: {content:?}")]
    Corrupt {
        /// The counter file.
        path: PathBuf,
        /// What it held (truncated to 64 bytes).
        content: String,
    },
}

/// The wall clock in milliseconds since the Unix epoch (at least 1).
pub fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        .max(1)
}

/// Picks the generation for this run.
///
/// * With a data directory: `max(stored + 1, wall_clock_ms)`, persisted (write to a temporary
///   file, fsync it, rename it over the counter, fsync the directory) *before* it is returned,
///   so no run can start with a generation that a crash could make the next run reuse. The
///   counter makes it strictly increasing even if the wall clock steps backwards; taking the
///   maximum with the clock keeps it above earlier runs if the directory is lost or wiped.
/// * Without: the wall clock in milliseconds. This is unique only if restarts are more than
///   a millisecond apart and the clock never steps backwards by more than the downtime.
pub fn choose_generation(
    data_dir: Option<&Path>,
) -> Result<(u64, GenerationSource), GenerationError> {
    let now = wall_clock_ms();
    let Some(dir) = data_dir else {
        return Ok((now, GenerationSource::WallClock));
    };
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerationError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(GENERATION_FILE);
    let stored = match fs::read_to_string(&path) {
        Ok(s) => Some(
            s.trim()
                .parse::<u64>()
                .map_err(|_| GenerationError::Corrupt {
                    path: path.clone(),
                    content: s.chars().take(64).collect(),
                })?,
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(&path)(e)),
    };
    let next = match stored {
        Some(s) => s.saturating_add(1).max(now),
        None => now,
    };
    let tmp = dir.join(format!("{GENERATION_FILE}.tmp"));
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        writeln!(f, "{next}").map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    // Make the rename itself durable.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    Ok((next, GenerationSource::DataDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persisted_generation_strictly_increases_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let (g1, s1) = choose_generation(Some(dir.path())).unwrap();
        let (g2, _) = choose_generation(Some(dir.path())).unwrap();
        let (g3, _) = choose_generation(Some(dir.path())).unwrap();
        assert_eq!(s1, GenerationSource::DataDir);
        assert!(g1 < g2 && g2 < g3);
        let stored = fs::read_to_string(dir.path().join(GENERATION_FILE)).unwrap();
        assert_eq!(stored.trim().parse::<u64>().unwrap(), g3);
    }

    #[test]
    fn a_counter_ahead_of_the_clock_still_increases_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let ahead = wall_clock_ms() + 1_000_000;
        fs::write(dir.path().join(GENERATION_FILE), format!("{ahead}\n")).unwrap();
        assert_eq!(choose_generation(Some(dir.path())).unwrap().0, ahead + 1);
    }

    #[test]
    fn a_corrupt_counter_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(GENERATION_FILE), "banana").unwrap();
        assert!(matches!(
            choose_generation(Some(dir.path())),
            Err(GenerationError::Corrupt { .. })
        ));
    }

    #[test]
    fn without_a_data_dir_the_generation_is_the_wall_clock() {
        let before = wall_clock_ms();
        let (g, s) = choose_generation(None).unwrap();
        assert_eq!(s, GenerationSource::WallClock);
        assert!(g >= before);
    }
}
