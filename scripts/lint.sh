#!/usr/bin/env bash
# Static analysis of ward's own C code: cppcheck and clang-tidy.
#   scripts/lint.sh [HOST_BUILD_DIR [CORTEX_M_BUILD_DIR]]
# clang-tidy uses each build's compile database (default build/host and
# build/mps2-an386; the Cortex-M pass is skipped if that build is absent).
# Tests get cppcheck only: clang's analyzer does not know that a failed
# cmocka assertion never returns, and reports paths that cannot happen.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bdir=${1:-build/host}
cmdir=${2:-build/mps2-an386}
[ -f "$bdir/compile_commands.json" ] || { echo "lint: no $bdir/compile_commands.json (build first)"; exit 1; }

mapfile -t host_files < <(git ls-files 'src/*.c' 'port/common/*.c' 'port/posix/*.c' 'tools/*.c' 'fuzz/*.c')
mapfile -t cm_files < <(git ls-files 'port/cortex-m/*.c')
mapfile -t test_files < <(git ls-files 'tests/*.c')

cppcheck_run() { # extra args... -- files...
  cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,style,performance,portability \
    --inline-suppr --suppress=missingIncludeSystem --suppress=unusedFunction \
    --suppress=constParameterCallback --suppress=constParameterPointer --suppress=constVariablePointer \
    -D__GNUC__ -I include -I port/common/include -I port/posix/include -I port/cortex-m/include -I port/cortex-m/src \
    -I tools/ward -I tools/sign -I tools/repo -I tools/keys -I tools/factory -I tools/label -I tools/fleet -I tools/board -I tools/audit -I tools/hostio -I tools/attack \
    -I "$cmdir/board" -I config -I tests "$@"
}

echo "== cppcheck: core, ports, tools, fuzz (${#host_files[@]} + ${#cm_files[@]} files)"
cppcheck_run "${host_files[@]}" "${cm_files[@]}"
echo "== cppcheck: tests (${#test_files[@]} files)"
# Test macros assign inside assertion arguments on purpose.
cppcheck_run --suppress=redundantAssignment "${test_files[@]}"

tidy() { # build-dir log extra-args... -- files on stdin
  local b=$1 log=$2; shift 2
  xargs -P "$(nproc)" -n 1 clang-tidy -p "$b" --quiet "$@" 2>&1 \
    | grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^$' \
    | tee "$log" || true
  ! grep -qE '(warning|error):' "$log"
}

echo "== clang-tidy: host (${#host_files[@]} files)"
printf '%s\n' "${host_files[@]}" | tidy "$bdir" "$bdir/clang-tidy.log" \
  || { echo "lint: clang-tidy found problems"; exit 1; }
if [ -f "$cmdir/compile_commands.json" ]; then
  # The files this board's build compiles (a board without a vault builds
  # no vault program): scripts/lint.sh build/host build/<board> for any board.
  mapfile -t cm_files < <(for f in "${cm_files[@]}"; do
    grep -qF "\"$top/$f\"" "$cmdir/compile_commands.json" && echo "$f"; done)
  echo "== clang-tidy: cortex-m, $(basename "$cmdir") (${#cm_files[@]} files)"
  printf '%s\n' "${cm_files[@]}" | tidy "$cmdir" "$cmdir/clang-tidy.log" \
    --extra-arg=--target=arm-none-eabi --extra-arg=-isystem/usr/lib/arm-none-eabi/include \
    --extra-arg=-Wno-ignored-optimization-argument --extra-arg=-Wno-unused-command-line-argument \
    || { echo "lint: clang-tidy found problems"; exit 1; }
else
  echo "== clang-tidy: cortex-m skipped (no $cmdir)"
fi
echo "lint: clean"
