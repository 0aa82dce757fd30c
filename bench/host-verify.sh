#!/usr/bin/env bash
# Host verification speed: `ward verify` vs `imgtool verify` on the same
# signed image (256 KiB payload), in one run, as a ratio.
#
#   IMGTOOL=/path/to/mcuboot bench/host-verify.sh [WARD]
#   IMGTOOL="/usr/bin/python3 -m imgtool.main" IMGTOOL_CWD=/tmp/mcuboot/scripts bench/host-verify.sh
#
# IMGTOOL is given as for scripts/imgtool-crosscheck.sh. Two measures:
#   1. instructions executed (valgrind --tool=callgrind, one run each): stable
#      on a noisy machine;
#   2. wall-clock time, ROUNDS runs of each, interleaved, medians.
# Each is also taken for the bare start-up (`version`) of both tools, so the
# cost of starting Python and importing imgtool can be told apart from the
# verification itself. Prints the figures and writes bench/results/host-verify.txt.
# Not part of any test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ward=${1:-${WARD:-$top/build/host/tools/ward/ward}}
ward=$(cd "$(dirname "$ward")" && pwd)/$(basename "$ward")
rounds=${ROUNDS:-15}
out=$top/bench/results/host-verify.txt

if [ -z "${IMGTOOL:-}" ]; then
  echo "host-verify: IMGTOOL is not set: skipping (needs MCUboot's imgtool; see the header of this script)"
  exit 0
fi
[ -x "$ward" ] || { echo "host-verify: no ward binary at $ward (build first)" >&2; exit 2; }

imgtool_cwd=${IMGTOOL_CWD:-$PWD}
if [ -d "$IMGTOOL" ]; then
  if [ -d "$IMGTOOL/scripts/imgtool" ]; then imgtool_cwd=$IMGTOOL/scripts; else imgtool_cwd=$IMGTOOL; fi
  read -r -a imgtool_cmd <<<"/usr/bin/python3 -m imgtool.main"
else
  read -r -a imgtool_cmd <<<"$IMGTOOL"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" # nothing the tools write lands in the tree
head -c 32 /dev/zero >"$work/fw.bin"
head -c 262144 /dev/urandom >>"$work/fw.bin"
"$ward" keygen -k "$work/key.pem" >/dev/null
"$ward" getpub -k "$work/key.pem" >"$work/pub.pem"
"$ward" sign -k "$work/key.pem" -v 1.0.0 -H 32 -S 0x80000 -s 1 "$work/fw.bin" "$work/img.bin" >/dev/null
img_size=$(stat -c %s "$work/img.bin")

run_ward() { "$ward" verify -k "$work/pub.pem" "$work/img.bin" >/dev/null; }
run_imgtool() { (cd "$imgtool_cwd" && "${imgtool_cmd[@]}" verify -k "$work/pub.pem" "$work/img.bin" >/dev/null); }
start_ward() { "$ward" version >/dev/null; }
start_imgtool() { (cd "$imgtool_cwd" && "${imgtool_cmd[@]}" version >/dev/null); }

# Both must accept the image before anything is timed.
run_ward
run_imgtool

# ---- 1. instruction counts -----------------------------------------------------
ir() { # command... -> instructions executed (main process)
  local f=$work/cg.out
  valgrind --tool=callgrind --callgrind-out-file="$f" "$@" >/dev/null 2>"$work/cg.log"
  sed -n 's/^==[0-9]*== Collected : //p' "$work/cg.log"
}
have_valgrind=0
if command -v valgrind >/dev/null 2>&1; then
  have_valgrind=1
  ir_ward=$(ir "$ward" verify -k "$work/pub.pem" "$work/img.bin")
  ir_ward0=$(ir "$ward" version)
  ir_imgtool=$(cd "$imgtool_cwd" && ir "${imgtool_cmd[@]}" verify -k "$work/pub.pem" "$work/img.bin")
  ir_imgtool0=$(cd "$imgtool_cwd" && ir "${imgtool_cmd[@]}" version)
fi

# ---- 2. wall clock, interleaved --------------------------------------------------
ms() { # function -> elapsed milliseconds (3 decimals)
  local t0 t1
  t0=$(date +%s%N); "$1"; t1=$(date +%s%N)
  awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e6 }'
}
declare -a tw ti tw0 ti0
for ((r = 0; r < rounds; r++)); do
  tw+=("$(ms run_ward)"); ti+=("$(ms run_imgtool)")
  tw0+=("$(ms start_ward)"); ti0+=("$(ms start_imgtool)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
m_w=$(median "${tw[@]}"); m_i=$(median "${ti[@]}")
m_w0=$(median "${tw0[@]}"); m_i0=$(median "${ti0[@]}")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "n/a" }'; }
net() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = 0; printf "%.3f", d }'; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
{
  echo "# ward verify vs imgtool verify, host ($(date -u +%Y-%m-%d))"
  echo "# bench/host-verify.sh; image: 256 KiB payload + header + TLVs = $img_size bytes, ECDSA-P256/SHA-256"
  echo "# host: $(uname -m), ${cpu:-unknown CPU}, $(nproc) CPUs"
  echo "# ward $("$ward" version | awk '{print $2}') (Mbed TLS 3.6, build dir $(basename "${ward%/tools/ward/ward}")); imgtool $( (cd "$imgtool_cwd" && "${imgtool_cmd[@]}" version) 2>/dev/null) on $(/usr/bin/python3 --version 2>&1)"
  if [ "$have_valgrind" = 1 ]; then
    echo
    echo "instructions (callgrind, 1 run)   ward          imgtool       imgtool/ward"
    printf 'verify (whole command)            %-13s %-13s %s\n' "$ir_ward" "$ir_imgtool" "$(ratio "$ir_imgtool" "$ir_ward")"
    printf 'start-up only (version)           %-13s %-13s\n' "$ir_ward0" "$ir_imgtool0"
    printf 'verify minus start-up             %-13s %-13s %s\n' "$((ir_ward - ir_ward0))" \
      "$((ir_imgtool - ir_imgtool0))" "$(ratio "$((ir_imgtool - ir_imgtool0))" "$((ir_ward - ir_ward0))")"
  fi
  echo
  echo "wall clock, median of $rounds interleaved runs (ms)   ward      imgtool    imgtool/ward"
  printf 'verify (whole command)                            %-9s %-10s %s\n' "$m_w" "$m_i" "$(ratio "$m_i" "$m_w")"
  printf 'start-up only (version)                           %-9s %-10s\n' "$m_w0" "$m_i0"
  printf 'verify minus start-up                             %-9s %-10s %s\n' "$(net "$m_w" "$m_w0")" \
    "$(net "$m_i" "$m_i0")" "$(ratio "$(net "$m_i" "$m_i0")" "$(net "$m_w" "$m_w0")")"
} | tee "$out"
echo "(written to ${out#"$top"/})"
