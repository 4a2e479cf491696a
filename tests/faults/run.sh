#!/usr/bin/env bash
# Fault injection: applies each tests/faults/*.patch to a scratch copy of the workspace (the
# repository is never touched), runs the conformance test there, and expects it to FAIL with a
# shrunk trace. Prints one line per fault: caught or MISSED, and the shrunk trace's length.
#   tests/faults/run.sh [PATCH...]        (default: every patch)
# Env: FAULTS_TARGET_DIR (default: $CARGO_TARGET_DIR/faults, where CARGO_TARGET_DIR defaults
#      to the repository's target), PROPTEST_CASES (default 256), SCRATCH (default
#      /tmp/gossip-faults).
#
# The patched workspace is never built into the caller's target dir: its crates have the same
# names, versions and (path-independent) metadata hashes as the real ones, so cargo would take
# the patched artifacts for fresh ones afterwards (seen: `cargo run` then ran a patched
# replay binary). Instead, the first run seeds its own target dir with a copy of the caller's
# compiled registry dependencies (every gossip-* artifact removed), so only the workspace
# crates are rebuilt.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
scratch="${SCRATCH:-/tmp/gossip-faults}"
main_target="${CARGO_TARGET_DIR:-$root/target}"
case "$main_target" in /*) ;; *) main_target="$root/$main_target" ;; esac
export CARGO_TARGET_DIR="${FAULTS_TARGET_DIR:-$main_target/faults}"
if [ -d "$main_target/release/deps" ] && [ ! -d "$CARGO_TARGET_DIR/release" ]; then
  mkdir -p "$CARGO_TARGET_DIR/release"
  for d in deps build .fingerprint; do
    [ -d "$main_target/release/$d" ] && cp -r "$main_target/release/$d" "$CARGO_TARGET_DIR/release/"
  done
  find "$CARGO_TARGET_DIR/release" -maxdepth 2 -name '*gossip*' -exec rm -rf {} +
fi
export PROPTEST_CASES="${PROPTEST_CASES:-256}"
patches=("$@")
[ ${#patches[@]} -eq 0 ] && patches=("$root"/tests/faults/*.patch)
missed=0
for p in "${patches[@]}"; do
  name="$(basename "$p" .patch)"
  rm -rf "$scratch" && mkdir -p "$scratch"
  # The committed tree (HEAD), so that uncommitted edits elsewhere cannot break the patches.
  git -C "$root" archive HEAD | tar -x -C "$scratch"
  # Start without recorded regressions, so that the fault must be found afresh.
  rm -f "$scratch"/tests/conformance/tests/*.regressions
  if ! patch -s -p1 -d "$scratch" < "$p"; then
    echo "$name: patch does not apply"; missed=$((missed+1)); continue
  fi
  log="$scratch.$name.log"
  start=$(date +%s)
  (cd "$scratch" && cargo test -q --release -p gossip-conformance --test conformance) >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then
    echo "$name: MISSED (the conformance test passed; ${secs}s)"; missed=$((missed+1))
  else
    len=$(grep -o 'trace ([0-9]* steps' "$log" | tail -1 | grep -o '[0-9]*')
    why=$(grep -A1 'Test failed' "$log" | tail -1 | sed 's/^ *//' | cut -c1-110)
    echo "$name: caught, shrunk trace of ${len:-?} steps (${secs}s): $why"
  fi
done
exit $missed
