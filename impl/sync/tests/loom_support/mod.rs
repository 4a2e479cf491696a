//! Shared by the `loom_*` test binaries: a model runner that counts and prints iterations,
//! a runner that asserts loom catches a broken variant, and a tiny deterministic stand-in for
//! the gossip core (the point of the models is the synchronisation, which is the production
//! `gossip-sync` code; only the core is a stand-in).

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use gossip_sync::Arc;
use gossip_sync::broken::{self, Broken};

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set (CI sets it to 2 too).
const DEFAULT_PREEMPTIONS: usize = 2;

fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        b.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    b
}

/// Writes one line to the real stderr (not captured by the test harness), so that the
/// iteration counts show up in a plain `cargo test` run.
fn report(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// Runs `f` under loom (every interleaving within the preemption bound) and returns the
/// number of executions explored. Panics if any execution fails.
pub fn model<F>(name: &str, f: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let start = Instant::now();
    builder().check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let n = runs.load(Ordering::Relaxed);
    report(&format!(
        "loom model {name}: passed, {n} iterations, {:.2?}",
        start.elapsed()
    ));
    assert!(n > 0, "loom ran no iteration");
    n
}

/// The environment variable that turns a test process into the child of [`expect_caught`].
const CHILD_ENV: &str = "GOSSIP_LOOM_BROKEN_CHILD";
/// The line prefix the child's panic hook prints; the parent looks for it.
const CAUGHT: &str = "LOOM_CAUGHT";

/// Iterations run so far in this process's broken-variant run (read by the panic hook).
static CHILD_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Asserts that loom FAILS on model `f` with `variant` switched on: an assertion in the model
/// or a deadlock (which loom reports as a panic). Returns the number of executions explored
/// up to and including the failing one.
///
/// A failing loom run cannot be caught in-process: after a deadlock report loom panics again
/// while unwinding, which aborts. So the test re-runs its own binary, filtered to exactly
/// `test_name`, with `CHILD_ENV` set; that child runs the model with the variant on, and a
/// panic hook prints `LOOM_CAUGHT iterations=N: <panic message>` at the first panic. The
/// parent requires the child to fail *and* to have printed that line.
pub fn expect_caught<F>(variant: Broken, name: &str, test_name: &str, f: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    let tag = format!("{variant:?}");
    if std::env::var(CHILD_ENV).as_deref() == Ok(tag.as_str()) {
        run_child(variant, f);
        // Only reached if loom found no failure: this test then passes in the child,
        // which the parent reports as "not caught".
        report("LOOM_NOT_CAUGHT");
        return 0;
    }
    let start = Instant::now();
    let out = std::process::Command::new(std::env::current_exe().expect("test binary path"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &tag)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("re-run the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let caught = text.lines().find_map(|l| l.find(CAUGHT).map(|i| &l[i..]));
    assert!(
        !out.status.success() && caught.is_some(),
        "loom did NOT catch the broken variant {variant:?} in model {name} \
         (child status {:?}); child output:\n{text}",
        out.status
    );
    let line = caught.unwrap_or_default();
    let n: usize = line
        .split_once("iterations=")
        .and_then(|(_, r)| r.split(':').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let why = line.split_once(": ").map_or("", |(_, w)| w);
    report(&format!(
        "loom model {name} with broken variant {variant:?}: caught (expected) after {n} \
         iterations, {:.2?}: {why}",
        start.elapsed()
    ));
    assert!(n > 0, "the child ran no iteration");
    n
}

fn run_child<F>(variant: Broken, f: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let default_hook = std::panic::take_hook();
    static FIRST: AtomicBool = AtomicBool::new(true);
    std::panic::set_hook(Box::new(move |info| {
        if !FIRST.swap(false, Ordering::Relaxed) {
            // loom's clean-up after a deadlock report panics again; only the first counts.
            return default_hook(info);
        }
        let msg = info
            .payload_as_str()
            .unwrap_or("(non-string panic payload)")
            .replace('\n', " ");
        report(&format!(
            "\n{CAUGHT} iterations={}: {msg}",
            CHILD_RUNS.load(Ordering::Relaxed)
        ));
        default_hook(info);
    }));
    broken::with(variant, || {
        builder().check(move || {
            CHILD_RUNS.fetch_add(1, Ordering::Relaxed);
            f();
        })
    });
}

/// A published snapshot of the stand-in core: the version counter and, per key, the version
/// of the write that last set it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snap {
    /// Bumped once per applied write or remote delta.
    pub version: u64,
    /// Key → version of its last write.
    pub entries: BTreeMap<&'static str, u64>,
}

/// The stand-in for the sans-io core: a `BTreeMap` with a version counter.
#[derive(Debug, Default)]
pub struct Core {
    state: Snap,
}

impl Core {
    /// A local write: returns its (unique) version.
    pub fn set(&mut self, key: &'static str) -> u64 {
        self.state.version += 1;
        self.state.entries.insert(key, self.state.version);
        self.state.version
    }

    /// A remote delta setting several keys at once (all at one new version).
    pub fn apply_delta(&mut self, keys: &[&'static str]) -> u64 {
        self.state.version += 1;
        for k in keys {
            self.state.entries.insert(k, self.state.version);
        }
        self.state.version
    }

    /// The snapshot to publish (built outside any lock, like the node's).
    pub fn snapshot(&self) -> Arc<Snap> {
        Arc::new(self.state.clone())
    }
}

/// How often each outcome of a model occurred over all its executions: a model whose
/// interesting outcomes never happen proves nothing, so each test checks that every outcome
/// was reached at least once (and reports the counts).
pub struct Outcomes<const N: usize> {
    labels: [&'static str; N],
    counts: [AtomicUsize; N],
}

impl<const N: usize> Outcomes<N> {
    /// Zero counts for the outcomes named `labels`.
    pub const fn new(labels: [&'static str; N]) -> Self {
        Self {
            labels,
            counts: [const { AtomicUsize::new(0) }; N],
        }
    }

    /// Records one occurrence of outcome `i` (a plain std atomic: invisible to loom).
    pub fn hit(&self, i: usize) {
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Asserts that every outcome except those in `never` occurred, and that those in
    /// `never` did not; reports the counts.
    pub fn check(&self, model: &str, never: &[usize]) {
        let counts: Vec<usize> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let summary: Vec<String> = self
            .labels
            .iter()
            .zip(&counts)
            .map(|(l, c)| format!("{l}={c}"))
            .collect();
        report(&format!(
            "loom model {model}: outcomes {}",
            summary.join(", ")
        ));
        for (i, (label, c)) in self.labels.iter().zip(&counts).enumerate() {
            if never.contains(&i) {
                assert_eq!(*c, 0, "model {model}: outcome {label} must never occur");
            } else {
                assert!(
                    *c > 0,
                    "model {model}: outcome {label} never reached (vacuous)"
                );
            }
        }
    }
}
