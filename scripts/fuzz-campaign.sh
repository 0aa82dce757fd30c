#!/usr/bin/env bash
# A long fuzzing campaign, outside the test command (which fuzzes each target
# for 30 s): every libFuzzer target, one after the other, for MINUTES each.
#
#   scripts/fuzz-campaign.sh [MINUTES [TARGET...]]     default: 10, every target
#
# Each target starts from its corpus (fuzz/corpus/<name>) and runs with the
# flags of fuzz/<target>.options (e.g. -max_len). New coverage is kept in
# build/fuzz-campaign/<name>/ (merge it into the corpus with libFuzzer's
# -merge=1 if it is worth keeping); a crash stops the campaign with the
# reproducer's path. The summary goes to bench/results/fuzz-campaign.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
minutes=${1:-10}
shift || true
scripts/bootstrap.sh
cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j "$(nproc)"
# shellcheck source=/dev/null
eval "$(sed -n '/^fuzz_flags()/,/^}/p' scripts/run-tests)"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for bin in build/fuzz/fuzz/fuzz_*; do [ -x "$bin" ] && targets+=("$(basename "$bin")"); done
fi
out=bench/results/fuzz-campaign.txt
mkdir -p bench/results build/fuzz-campaign
{ echo "# scripts/fuzz-campaign.sh $minutes min per target, $(date -u +%Y-%m-%d)"; } >"$out"
for t in "${targets[@]}"; do
  name=${t#fuzz_}
  work=build/fuzz-campaign/$name
  mkdir -p "$work"
  [ -d "fuzz/corpus/$name" ] && cp -rn "fuzz/corpus/$name"/. "$work"/
  echo "== $t: $minutes min $(fuzz_flags "$t")"
  # shellcheck disable=SC2046 # flags are separate words
  if ! "build/fuzz/fuzz/$t" $(fuzz_flags "$t") -max_total_time=$((minutes * 60)) -print_final_stats=1 \
        -artifact_prefix="build/fuzz-campaign/$name-" "$work" >"$work.log" 2>&1; then
    tail -n 40 "$work.log"
    echo "$t: FINDING (see build/fuzz-campaign/$name-*)" | tee -a "$out"
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
  cov=$(grep -oE 'cov: [0-9]+' "$work.log" | tail -n1 | cut -d' ' -f2)
  echo "$t: $execs executions, coverage $cov edges, no finding" | tee -a "$out"
done
