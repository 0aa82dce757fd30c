#!/usr/bin/env bash
# Cross-check ward's image signing and verification against MCUboot's imgtool.
# Manual (not in CTest: CI cannot fetch imgtool). docs/compatibility.md.
#
#   IMGTOOL=/path/to/mcuboot            scripts/imgtool-crosscheck.sh [WARD]
#   IMGTOOL=/path/to/mcuboot/scripts    scripts/imgtool-crosscheck.sh
#   IMGTOOL="imgtool"                   scripts/imgtool-crosscheck.sh
#   IMGTOOL="/usr/bin/python3 -m imgtool.main" IMGTOOL_CWD=/tmp/mcuboot/scripts ...
#
# IMGTOOL is a command, or a directory holding imgtool/ (an mcuboot checkout
# or its scripts/ directory; run as "/usr/bin/python3 -m imgtool.main" there).
# WARD (or the first argument) is the ward binary (default build/host/tools/ward/ward).
#
# Checks, for many option combinations (pad, confirm, test, align 8/16/32,
# max-align, pad-header, erased value, security counter, full public key, ...):
#   * imgtool keygen key -> ward sign -> imgtool verify passes;
#   * imgtool sign -> ward verify passes;
#   * imgtool sign --fix-sig <ward's signature> == ward sign, byte for byte;
#   * imgtool sign (its own random signature) == ward sign apart from the
#     signature TLV;
#   * keys: ward keygen keys load in imgtool and vice versa (same key hash).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ward=${1:-${WARD:-$top/build/host/tools/ward/ward}}
ward=$(cd "$(dirname "$ward")" && pwd)/$(basename "$ward")
py=/usr/bin/python3
mkimage=$top/tests/vectors/mkimage.py

if [ -z "${IMGTOOL:-}" ]; then
  echo "imgtool-crosscheck: set IMGTOOL (an imgtool command or an mcuboot checkout)" >&2
  exit 2
fi
[ -x "$ward" ] || { echo "imgtool-crosscheck: no ward binary at $ward (build first)" >&2; exit 2; }

imgtool_cwd=${IMGTOOL_CWD:-$PWD}
if [ -d "$IMGTOOL" ]; then
  if [ -d "$IMGTOOL/scripts/imgtool" ]; then
    imgtool_cwd=$IMGTOOL/scripts
  elif [ -d "$IMGTOOL/imgtool" ]; then
    imgtool_cwd=$IMGTOOL
  else
    echo "imgtool-crosscheck: $IMGTOOL holds no imgtool/ package" >&2
    exit 2
  fi
  read -r -a imgtool_cmd <<<"$py -m imgtool.main"
else
  read -r -a imgtool_cmd <<<"$IMGTOOL"
fi
imgtool() { (cd "$imgtool_cwd" && "${imgtool_cmd[@]}" "$@"); }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # description command...
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then ok; else bad "$what"; sed 's/^/    /' "$work/out"; fi
}

echo "imgtool: $(imgtool version 2>/dev/null || echo '?') (${imgtool_cmd[*]} in $imgtool_cwd)"
echo "ward:    $("$ward" version)"

# ---- keys, both ways ---------------------------------------------------------
imgtool keygen -t ecdsa-p256 -k "$work/it.pem"
"$ward" keygen -k "$work/wd.pem" >/dev/null
imgtool getpub -k "$work/it.pem" -e pem >"$work/it-pub.pem"
imgtool getpub -k "$work/wd.pem" -e pem >"$work/wd-pub.pem"
for k in it wd; do
  ih=$(imgtool getpubhash -k "$work/$k.pem" -e raw | od -An -tx1 | tr -d ' \n')
  wh=$("$ward" getpub -k "$work/$k.pem" --format hash)
  check "key hash of $k.pem: imgtool $ih, ward $wh" test "$ih" = "$wh"
  check "ward getpub PEM of $k.pem equals imgtool's" \
    cmp <("$ward" getpub -k "$work/$k.pem") "$work/$k-pub.pem"
  check "ward getpub -f c of $k.pem equals imgtool getpub (apart from the banner)" \
    cmp <("$ward" getpub -k "$work/$k.pem" -f c | tail -n +2) <(imgtool getpub -k "$work/$k.pem" | tail -n +2)
done

# ---- the worked example of docs/image-format.md --------------------------------
check "imgtool verify of tests/vectors/example/image.bin" \
  imgtool verify -k "$top/tests/vectors/keys/test-key-1.pem" "$top/tests/vectors/example/image.bin"

# ---- images ------------------------------------------------------------------
head -c 32 /dev/zero >"$work/fw.bin"
head -c 3000 /dev/urandom >>"$work/fw.bin"
head -c 2777 /dev/urandom >"$work/fw-nohdr.bin"

combos=(
  "-S 0x10000"
  "-S 0x10000 --pad"
  "-S 0x10000 --confirm --align 8"
  "-S 0x10000 --test --align 16"
  "-S 0x20000 --confirm --align 32 -s auto"
  "-S 0x10000 --confirm --align 4 --max-align 16"
  "-S 0x10000 --pad --max-align 32 -R 0"
  "-S 0x10000 -H 0x200 --pad-header"
  "-S 0x10000 -H 0x80 --pad-header -R 0 --pad"
  "-S 0x10000 -s auto"
  "-S 0x10000 -s 42"
  "-S 0x10000 -s 0xffffffff --public-key-format full"
  "-S 0x10000 --public-key-format full --confirm --align 8"
  "-S 0x10000 --pad -M 32 --align 2"
  "-S 0x10000 -L 0x20000000"
  "-S 0x10000 --custom-tlv 0xa0 0x01020304 -s 1"
)

sig_b64() { # image -> base64 of its ECDSA_SIG value (read by the independent parser)
  $py -c '
import base64, sys
sys.path.insert(0, sys.argv[1])
import mkimage
print(base64.b64encode(mkimage.signatures(open(sys.argv[2], "rb").read())[0]).decode())' \
    "$top/tests/vectors" "$1"
}

# Some option sets carry counters beyond what a ward device's OTP counter holds
# (-s auto, -s 0xffffffff): ward refuses those unless told the device holds more.
any=(--max-sec-cnt 0xffffffff)

n=0
for key in it wd; do
  for opts in "${combos[@]}"; do
    n=$((n + 1))
    case "$opts" in *-H*) ;; *) opts="-H 32 $opts" ;; esac # imgtool requires -H
    read -r -a o <<<"$opts"
    in=$work/fw.bin
    case "$opts" in *--pad-header*) in=$work/fw-nohdr.bin ;; esac
    ver=1.2.3+$n
    tag="[$key: $opts]"
    w=$work/w$n.bin; i=$work/i$n.bin; f=$work/f$n.bin
    "$ward" sign -k "$work/$key.pem" -v "$ver" "${o[@]}" "${any[@]}" "$in" "$w" >/dev/null
    imgtool sign -k "$work/$key.pem" -v "$ver" "${o[@]}" "$in" "$i" >/dev/null
    # imgtool verify accepts ward's image (with the key pair and the public key)
    check "$tag imgtool verify (key pair) of ward's image" imgtool verify -k "$work/$key.pem" "$w"
    check "$tag imgtool verify (public key) of ward's image" imgtool verify -k "$work/$key-pub.pem" "$w"
    # ward verify accepts imgtool's image (RAM_LOAD images are refused by design: exit 11)
    if [[ "$opts" == *-L* ]]; then
      check "$tag ward verify refuses imgtool's RAM_LOAD image (exit 11)" \
        bash -c '"$0" verify -k "$1" "$2"; test $? -eq 11' "$ward" "$work/$key.pem" "$i"
    else
      check "$tag ward verify of imgtool's image" "$ward" verify "${any[@]}" -k "$work/$key-pub.pem" "$i"
    fi
    # byte for byte with ward's signature given to imgtool
    sig_b64 "$w" >"$work/sig$n.b64"
    imgtool sign --fix-sig "$work/sig$n.b64" --fix-sig-pubkey "$work/$key-pub.pem" \
      -v "$ver" "${o[@]}" "$in" "$f" >/dev/null
    check "$tag imgtool --fix-sig <ward's signature> == ward sign (byte for byte)" cmp "$w" "$f"
    # with its own random signature: equal apart from the signature TLV
    $py "$mkimage" canonical "$w" "$w.canon"
    $py "$mkimage" canonical "$i" "$i.canon"
    check "$tag imgtool sign == ward sign apart from the signature" cmp "$w.canon" "$i.canon"
  done
done

echo "imgtool cross-check: $pass passed, $fail failed ($((n / 2)) option combinations x 2 keys)"
[ "$fail" -eq 0 ]
