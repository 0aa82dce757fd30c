# Shared by the shell integration tests (source it after setting T, a
# private temporary directory): numbered steps, and commands whose exit
# code and output are checked.
step=0

# say TEXT: the next numbered step.
say() { step=$((step + 1)); printf '\n--- %d. %s\n' "$step" "$*"; }
fail() { echo "FAIL (step $step): $*" >&2; exit 1; }

# run EXPECTED_RC cmd...: run, show the output, check the exit code.
run() {
  local want=$1; shift
  set +e
  "$@" >"$T/out" 2>&1
  local rc=$?
  set -e
  sed 's/^/    /' "$T/out"
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
}
# has PATTERN: the last output contains it (fixed string).
has() { grep -qF -- "$1" "$T/out" || fail "output lacks: $1"; }
