#!/usr/bin/env bash
# ward dependency bootstrap: idempotent, run as root on Debian 12 (bookworm).
#
#  1. installs the Debian packages the build, the tests and the demo need
#     (BLE peers: BlueZ's controller emulator btvirt, BlueZ's sources for the
#     SMP peer the tests build, tshark to check every capture; nftables and
#     iproute2 for the network segmentation test's namespaces; libcjson for
#     the device profile, chromium and python3-jsonschema for the audit
#     report's tests);
#  2. fetches Mbed TLS 3.6 from Debian's *source* package (suite trixie), which
#     apt checks against the signed Sources index;
#  3. builds it with ward's own config headers:
#       host      config/mbedtls_host.h      (tools, simulator, tests, fuzzers)
#       boot-min  config/mbedtls_boot_min.h  (Cortex-M bootloader), per CPU
#       cm-app    config/mbedtls_cm_app.h    (Cortex-M application: vault, HSM),
#                                            per CPU of the boards with a vault
#     The CPUs are those of the board files, port/cortex-m/boards/*.board;
#  4. fetches libcbor (COSE manifests) and http-parser (the OTA client's
#     HTTP/1.1 responses) from their Debian source packages, the same way,
#     and builds each for the host and for the Cortex-M CPUs that get cm-app
#     (no allocation is used from either on the device: libcbor's streaming
#     decoder and its encoders, http-parser's callbacks).
#
# Results are cached in $WARD_DEPS_DIR (default ~/.cache/ward). A stamp holds
# the hash of the source tarball, the config headers and the compiler flags,
# so a second run neither refetches nor rebuilds anything.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deps=${WARD_DEPS_DIR:-$HOME/.cache/ward}
mbedtls_version=3.6
log() { printf '[bootstrap] %s\n' "$*" >&2; }

# ---- 1. Debian packages -----------------------------------------------------
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi
  qemu-system-arm
  libcmocka-dev
  libqrencode-dev
  clang libclang-rt-14-dev llvm cppcheck clang-tidy
  python3 python3-cryptography python3-paho-mqtt
  openssl xxd
  mosquitto mosquitto-clients nginx-light curl
  ruby-cose python3-cbor2
  bluez-test-tools bluez-source tshark
  softhsm2 p11-kit libp11-kit-dev
  nftables iproute2
  libcjson-dev chromium python3-jsonschema
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "need root to install: ${missing[*]}"; exit 1; }
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# mosquitto and nginx are started by the tests themselves, never as services.
for svc in mosquitto nginx; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

# ---- 2. Mbed TLS source, from Debian's signed source index --------------------
src_dir=$deps/src
mkdir -p "$src_dir"
add_deb_src() {
  local list=/etc/apt/sources.list.d/ward-trixie-src.sources
  if [ ! -f "$list" ]; then
    [ "$(id -u)" = 0 ] || { log "need root to add the deb-src entry"; exit 1; }
    # Take the URI from the machine's existing Debian entry.
    uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1 | awk '{print $2}')
    [ -n "$uri" ] || uri=$(grep -hE '^deb .*debian' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')
    [ -n "$uri" ] || uri=http://deb.debian.org/debian
    log "adding deb-src trixie from $uri"
    cat >"$list" <<EOT
Types: deb-src
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
    apt-get update -qq
  fi
}
listed_sha256() { # package file-name
  apt-cache showsrc "$1" 2>/dev/null | awk '/^Checksums-Sha256:/{f=1; next} /^[^ ]/{f=0} f {print $1, $3}' \
    | awk -v n="$2" '$2 == n {print $1; exit}'
}
# fetch_orig <source package>: print the path of its upstream tarball, fetched
# by apt and checked against the SHA-256 that the signed Sources index lists
# (apt also fetches Debian's packaging, which ward does not use; a mirror
# that lacks that part does not stop us once the tarball itself is proven).
fetch_orig() {
  local pkg=$1 tb
  tb=$(ls "$src_dir"/${pkg}_*.orig.tar.* 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$tb" ]; then
    add_deb_src
    log "fetching the $pkg source package"
    (cd "$src_dir" && apt-get source --download-only -qq "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
    tb=$(ls "$src_dir"/${pkg}_*.orig.tar.* 2>/dev/null | sort -V | tail -n1 || true)
    [ -n "$tb" ] || { log "apt-get source $pkg gave no tarball"; exit 1; }
  fi
  local want got
  want=$(listed_sha256 "$pkg" "$(basename "$tb")")
  if [ -z "$want" ]; then # a cached tarball on a machine whose index is older
    add_deb_src
    apt-get update -qq
    want=$(listed_sha256 "$pkg" "$(basename "$tb")")
  fi
  got=$(sha256sum "$tb" | cut -d' ' -f1)
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    log "$(basename "$tb"): SHA-256 $got is not the one Debian's signed Sources index lists (${want:-none})"
    rm -f "$tb"
    exit 1
  fi
  echo "$tb"
}
tarball=$(fetch_orig mbedtls)
ver=$(basename "$tarball" | sed -E 's/^mbedtls_([0-9.]+)\.orig.*/\1/')
case "$ver" in
  ${mbedtls_version}.*) ;;
  *) log "expected mbedtls ${mbedtls_version}.x, got $ver"; exit 1 ;;
esac
mbedtls_src=$src_dir/mbedtls-$ver
if [ ! -f "$mbedtls_src/CMakeLists.txt" ]; then
  log "unpacking mbedtls $ver"
  tar -xf "$tarball" -C "$src_dir"
fi

# ---- 3. build the flavours -----------------------------------------------
# install_prefix <staging> <prefix>: put a finished build in place in one
# rename, so that a build running meanwhile sees the old tree or the new one.
install_prefix() {
  rm -rf "$2.old"
  if [ -d "$2" ]; then mv "$2" "$2.old"; fi
  mv "$1" "$2"
  rm -rf "$2.old"
}
build_flavour() { # flavour dir-name config-file build-type [toolchain] [c-flags] [cpu-flags]
  local flavour=$1 name=$2 cfg=$3 btype=$4 tc=${5:-} cflags=${6:-} cpu=${7:-}
  local prefix=$deps/$name
  # A flavour may select PSA features in config/crypto_config_<flavour>.h.
  local psa_cfg=$top/config/crypto_config_${flavour//-/_}.h
  local stamp
  stamp=$( { echo "$ver"; sha256sum "$tarball" | cut -d' ' -f1; cat "$cfg";
             if [ -f "$psa_cfg" ]; then cat "$psa_cfg"; fi
             if [ -n "$tc" ]; then cat "$tc"; fi; echo "$btype $cflags"; } | sha256sum | cut -d' ' -f1)
  if [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$stamp" ]; then
    log "$name is up to date ($prefix)"
    return
  fi
  log "building $name"
  local bdir=$deps/build-$name stage=$prefix.new
  rm -rf "$bdir" "$stage"
  local args=(-S "$mbedtls_src" -B "$bdir" -G Ninja
              -DCMAKE_BUILD_TYPE="$btype" -DCMAKE_INSTALL_PREFIX="$stage"
              -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF
              -DMBEDTLS_FATAL_WARNINGS=OFF -DUSE_SHARED_MBEDTLS_LIBRARY=OFF
              -DMBEDTLS_CONFIG_FILE="$cfg"
              -DCMAKE_C_FLAGS="-I$top/config $cflags")
  [ -n "$tc" ] && args+=(-DCMAKE_TOOLCHAIN_FILE="$tc")
  cmake "${args[@]}" >"$deps/build-$name.log" 2>&1 || { tail -n 30 "$deps/build-$name.log"; exit 1; }
  cmake --build "$bdir" -j"$(nproc)" >>"$deps/build-$name.log" 2>&1 || { tail -n 30 "$deps/build-$name.log"; exit 1; }
  cmake --install "$bdir" >>"$deps/build-$name.log" 2>&1
  # Keep the config headers next to the libraries they were built with, and
  # p256-m's header: the bootloader calls its verify directly.
  mkdir -p "$stage/include/ward-config" "$stage/include/p256-m"
  cp "$top"/config/*.h "$stage/include/ward-config/"
  cp "$mbedtls_src/3rdparty/p256-m/p256-m/p256-m.h" "$stage/include/p256-m/"
  # The CPU flags, which the Cortex-M build compares with its board's.
  if [ -n "$cpu" ]; then echo "$cpu" >"$stage/.cpu-flags"; fi
  echo "$stamp" >"$stage/.stamp"
  install_prefix "$stage" "$prefix"
  rm -rf "$bdir"
}
build_flavour host mbedtls-host "$top/config/mbedtls_host.h" Release "" "-fPIC"

# The boards' CPUs (port/cortex-m/boards/*.board). Code for one CPU faults
# on another (p256-m takes UMAAL where the core has the DSP extension, which
# the Cortex-M3 lacks), so the MCU libraries are built once per CPU, in
# <name>-<tag>: the tag and the flags are derived as cmake/board.cmake does
# (-mcpu, -mthumb, -mfpu unless none, -mfloat-abi), and the Cortex-M build
# checks .cpu-flags against its board. The application's libraries (cm-app,
# libcbor, http-parser) only for the CPUs of boards with a vault area.
board_val() { # file key: the value of KEY=VALUE
  sed -n "s/^$2=\([^ 	#]*\).*/\1/p" "$1" | head -n 1
}
declare -A cpu_flags=() cpu_apps=()
for b in "$top"/port/cortex-m/boards/*.board; do
  cpu=$(board_val "$b" CPU) fpu=$(board_val "$b" FPU) abi=$(board_val "$b" FLOAT_ABI)
  [ -n "$cpu" ] && [ -n "$fpu" ] && [ -n "$abi" ] || { log "$b: CPU, FPU and FLOAT_ABI are required"; exit 1; }
  flags="-mcpu=$cpu -mthumb" tag=$cpu
  if [ "$fpu" != none ]; then flags="$flags -mfpu=$fpu"; tag=$tag-$fpu; fi
  flags="$flags -mfloat-abi=$abi"
  if [ "$abi" != soft ]; then tag=$tag-$abi; fi
  cpu_flags[$tag]=$flags
  vs=$(board_val "$b" VAULT_SIZE)
  if [ -n "$vs" ] && ! [[ "$vs" =~ ^(0x)?0+[KM]?$ ]]; then cpu_apps[$tag]=1; fi
done
# CMAKE_C_FLAGS replaces the toolchain file's flags: give the section flags
# too, and keep LTO objects so the bootloader is optimised across Mbed TLS.
cm_extra="-ffunction-sections -fdata-sections -flto -ffat-lto-objects"
for tag in $(printf '%s\n' "${!cpu_flags[@]}" | sort); do
  build_flavour boot-min "mbedtls-boot-min-$tag" "$top/config/mbedtls_boot_min.h" MinSizeRel \
    "$top/cmake/arm-none-eabi.cmake" "${cpu_flags[$tag]} $cm_extra" "${cpu_flags[$tag]}"
  if [ -n "${cpu_apps[$tag]:-}" ]; then
    build_flavour cm-app "mbedtls-cm-app-$tag" "$top/config/mbedtls_cm_app.h" MinSizeRel \
      "$top/cmake/arm-none-eabi.cmake" "${cpu_flags[$tag]} $cm_extra" "${cpu_flags[$tag]}"
  fi
done

# ---- 4. libcbor and http-parser -------------------------------------------
# build_lib <name> <tarball> <flavour: host|cm> <build command...>: unpack
# once, build into $deps/<name>-<flavour>, cached by a stamp like Mbed TLS.
unpack() { # tarball -> prints the source directory
  local tb=$1 dir
  dir=$src_dir/$(tar -tf "$tb" | head -n1 | cut -d/ -f1)
  [ -d "$dir" ] || tar -xf "$tb" -C "$src_dir"
  echo "$dir"
}
lib_stamp() { # tarball flags [toolchain]
  { sha256sum "$1" | cut -d' ' -f1; echo "$2"; if [ -n "${3:-}" ]; then cat "$3"; fi; } \
    | sha256sum | cut -d' ' -f1
}
host_flags="-O2 -fPIC"
cbor_tb=$(fetch_orig libcbor)
cbor_src=$(unpack "$cbor_tb")
build_cbor() { # name cflags [toolchain]
  local fl=$1 cflags=$2 tc=${3:-} prefix=$deps/libcbor-$1 st
  st=$(lib_stamp "$cbor_tb" "$cflags" "$tc")
  if [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$st" ]; then
    log "libcbor-$fl is up to date"; return
  fi
  log "building libcbor-$fl"
  local stage=$prefix.new
  rm -rf "$deps/build-cbor-$fl" "$stage"
  local args=(-S "$cbor_src" -B "$deps/build-cbor-$fl" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel
              -DCMAKE_INSTALL_PREFIX="$stage" -DWITH_EXAMPLES=OFF -DWITH_TESTS=OFF -DSANITIZE=OFF
              -DCBOR_PRETTY_PRINTER=OFF -DCMAKE_C_FLAGS="$cflags")
  [ -n "$tc" ] && args+=(-DCMAKE_TOOLCHAIN_FILE="$tc")
  { cmake "${args[@]}" && cmake --build "$deps/build-cbor-$fl" && cmake --install "$deps/build-cbor-$fl"; } \
    >"$deps/build-cbor-$fl.log" 2>&1 || { tail -n 30 "$deps/build-cbor-$fl.log"; exit 1; }
  # Debian's multiarch layouts may say lib64 or lib/<triplet>: one place.
  [ -f "$stage/lib/libcbor.a" ] || { mkdir -p "$stage/lib"; find "$stage" -name libcbor.a -exec cp {} "$stage/lib/" \; ; }
  echo "$st" >"$stage/.stamp"
  install_prefix "$stage" "$prefix"
  rm -rf "$deps/build-cbor-$fl"
}
build_cbor host "$host_flags"

hp_tb=$(fetch_orig http-parser)
hp_src=$(unpack "$hp_tb")
build_http_parser() { # name cc cflags
  local fl=$1 cc=$2 cflags=$3 prefix=$deps/http-parser-$1 st
  st=$(lib_stamp "$hp_tb" "$cc $cflags")
  if [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$st" ]; then
    log "http-parser-$fl is up to date"; return
  fi
  log "building http-parser-$fl"
  local stage=$prefix.new
  rm -rf "$stage"; mkdir -p "$stage/lib" "$stage/include"
  # Strict parsing (no lenient header characters); one file, no allocation.
  # shellcheck disable=SC2086
  "$cc" $cflags -Os -DHTTP_PARSER_STRICT=1 -c "$hp_src/http_parser.c" -o "$stage/http_parser.o"
  local ar=ar; [ "$cc" = arm-none-eabi-gcc ] && ar=arm-none-eabi-ar
  "$ar" rcs "$stage/lib/libhttp_parser.a" "$stage/http_parser.o"
  cp "$hp_src/http_parser.h" "$stage/include/"
  rm -f "$stage/http_parser.o"
  echo "$st" >"$stage/.stamp"
  install_prefix "$stage" "$prefix"
}
build_http_parser host cc "$host_flags"
for tag in "${!cpu_apps[@]}"; do
  build_cbor "cm-$tag" "${cpu_flags[$tag]} $cm_extra" "$top/cmake/arm-none-eabi.cmake"
  build_http_parser "cm-$tag" arm-none-eabi-gcc "${cpu_flags[$tag]} $cm_extra"
done
log "ok: deps in $deps"
