#!/bin/bash
# The full mutation run over gossip-core's protocol modules (docs/verification.md, "Mutation
# testing"), in two stages:
#   1. every mutant of the scope (.cargo/mutants.toml), with gossip-core's tests minus the four
#      slowest (three big-cluster tests and the codec round-trip, ~13 of the suite's ~17 s);
#   2. every survivor of stage 1 again, by exact name, with the WHOLE suite.
# A mutant caught in stage 1 is caught by the whole suite (a failing subset fails the whole), so
# the result is the whole suite's, at a third of the cost. Timeouts of stage 1 are kept.
#
# Usage: tests/mutants/run.sh OUT_DIR        (from the repository root; takes 1.5-3 hours)
# It runs in a temporary git worktree of HEAD (cargo-mutants --in-place edits the sources), with
# CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-OUT_DIR/target}. Results: OUT_DIR/stage1, OUT_DIR/stage2,
# and the summary printed by tests/mutants/summary.py. MUTANTS_ARGS (optional) narrows the scope
# for a quick try with a name filter, e.g. MUTANTS_ARGS="--re RateLimiter" (23 mutants: cargo-mutants
# 27.1 also keeps four `footprint` field mutants with any --re; --file adds to the configured
# files instead of narrowing them).
set -euo pipefail
read -r -a narrow <<< "${MUTANTS_ARGS:-}"
out=$(realpath -m "${1:?usage: tests/mutants/run.sh OUT_DIR}")
root=$(git rev-parse --show-toplevel)
mkdir -p "$out"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$out/target}
tree="$out/tree"
[ -d "$tree" ] || git -C "$root" worktree add -q --detach "$tree" HEAD
cd "$tree"
cargo mutants --list "${narrow[@]}" > "$out/list.txt"
echo "$(wc -l < "$out/list.txt") mutants in scope; stage 1 ($(date -u +%FT%TZ))"
cargo mutants "${narrow[@]}" --in-place --baseline skip --timeout 60 --build-timeout 900 \
  -o "$out/stage1" -- -- \
  --skip thirty_digests_wide --skip with_rotating_partial_digests_running_nodes \
  --skip at_three_hundred_nodes --skip the_computed_size_is_the_encoded_size || true
missed="$out/stage1/mutants.out/missed.txt"
if [ -s "$missed" ]; then
  echo "stage 2: $(wc -l < "$missed") survivors with the whole suite ($(date -u +%FT%TZ))"
  args=()
  while IFS= read -r m; do
    args+=(--re "^$(python3 -c 'import re,sys; print(re.escape(sys.argv[1]))' "$m")\$")
  done < "$missed"
  cargo mutants --in-place --baseline skip --timeout 120 --build-timeout 900 -o "$out/stage2" \
    "${args[@]}" || true
fi
cd "$root"
git worktree remove --force "$tree"
python3 "$root/tests/mutants/summary.py" "$out"
