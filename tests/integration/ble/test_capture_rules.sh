#!/usr/bin/env bash
# The capture rules catch what they claim to:
#   test_capture_rules.sh GEN_CAPTURES CHECK_CAPTURE
# A well-formed capture passes; a capture with one planted violation per
# rule fails; told exactly which violations were planted (.expect), the
# checker finds each of them and nothing else.
set -uo pipefail
gen=$1
check=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/ward-capture.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$gen" "$dir" || { echo "FAIL: generator"; exit 1; }

"$check" "$dir/good.btsnoop" || { echo "FAIL: the well-formed capture was refused"; exit 1; }

if "$check" "$dir/bad.btsnoop" >"$dir/out" 2>&1; then
  cat "$dir/out"
  echo "FAIL: the malformed capture passed"
  exit 1
fi
# Every planted violation is reported by name.
for r in $(sort -u "$dir/bad.want"); do
  grep -q ": $r (" "$dir/out" || { cat "$dir/out"; echo "FAIL: rule $r did not fire"; exit 1; }
done

sort "$dir/bad.want" | uniq -c | awk '{print $2, $1}' >"$dir/bad.btsnoop.expect"
"$check" "$dir/bad.btsnoop" || { echo "FAIL: the violations found are not exactly the planted ones"; exit 1; }
echo "ok: $(sort -u "$dir/bad.want" | grep -vc '^malformed$') rules shown to fire on their planted frames"
