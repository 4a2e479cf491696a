#!/usr/bin/env bash
# Fault injection: applies each tests/faults/*.patch to a scratch copy of the workspace (the
# repository is never touched), runs the conformance test there, and expects it to FAIL with a
# shrunk trace. Prints one line per fault: caught or MISSED, and the shrunk trace's length.
#   tests/faults/run.sh [PATCH...]        (default: every patch)
# Env: CARGO_TARGET_DIR (default /work/targets/conf-faults), PROPTEST_CASES (default 256),
#      SCRATCH (default /tmp/gossip-faults).
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
scratch="${SCRATCH:-/tmp/gossip-faults}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/targets/conf-faults}"
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
  rm -f "$scratch"/tests/tests/*.regressions
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
