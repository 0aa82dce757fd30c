#!/usr/bin/env bash
# Static analysis of ward's own C code: cppcheck and clang-tidy.
# Uses the compile database of a host build (default build/host).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bdir=${1:-build/host}
[ -f "$bdir/compile_commands.json" ] || { echo "lint: no $bdir/compile_commands.json (build first)"; exit 1; }

# Our sources only (no third-party code is in the tree, but be explicit).
mapfile -t files < <(git ls-files 'src/*.c' 'port/posix/*.c' 'tools/*.c' 'fuzz/*.c')

echo "== cppcheck (${#files[@]} files)"
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,style,performance,portability \
  --inline-suppr --suppress=missingIncludeSystem --suppress=unusedFunction \
  --suppress=constParameterCallback --suppress=constParameterPointer --suppress=constVariablePointer \
  -D__GNUC__ -DMBEDTLS_CONFIG_FILE='"mbedtls_host.h"' \
  -I include -I port/posix/include -I tools/ward -I tools/sign -I config \
  "${files[@]}"

echo "== clang-tidy (${#files[@]} files)"
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$bdir" --quiet 2>&1 \
  | grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^$' \
  | tee "$bdir/clang-tidy.log" || true
if grep -qE '(warning|error):' "$bdir/clang-tidy.log"; then
  echo "lint: clang-tidy found problems"
  exit 1
fi
echo "lint: clean"
