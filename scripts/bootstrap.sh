#!/usr/bin/env bash
# ward dependency bootstrap: idempotent, run as root on Debian 12 (bookworm).
#
#  1. installs the Debian packages the build, the tests and the demo need
#     (BLE peers: BlueZ's controller emulator btvirt, BlueZ's sources for the
#     SMP peer the tests build, tshark to check every capture; nftables and
#     iproute2 for the network segmentation test's namespaces);
#  2. fetches Mbed TLS 3.6 from Debian's *source* package (suite trixie), which
#     apt checks against the signed Sources index;
#  3. builds it three times with ward's own config headers:
#       host      config/mbedtls_host.h      (tools, simulator, tests, fuzzers)
#       boot-min  config/mbedtls_boot_min.h  (Cortex-M4 bootloader)
#       cm-app    config/mbedtls_cm_app.h    (Cortex-M4 application: vault, HSM)
#  4. fetches libcbor (COSE manifests) and http-parser (the OTA client's
#     HTTP/1.1 responses) from their Debian source packages, the same way,
#     and builds each for the host and for the Cortex-M4 (no allocation is
#     used from either on the device: libcbor's streaming decoder and its
#     encoders, http-parser's callbacks).
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
build_flavour() { # name config-file build-type [toolchain] [c-flags]
  local name=$1 cfg=$2 btype=$3 tc=${4:-} cflags=${5:-}
  local prefix=$deps/mbedtls-$name
  # A flavour may select PSA features in config/crypto_config_<name>.h.
  local psa_cfg=$top/config/crypto_config_${name//-/_}.h
  local stamp
  stamp=$( { echo "$ver"; sha256sum "$tarball" | cut -d' ' -f1; cat "$cfg";
             if [ -f "$psa_cfg" ]; then cat "$psa_cfg"; fi
             if [ -n "$tc" ]; then cat "$tc"; fi; echo "$btype $cflags"; } | sha256sum | cut -d' ' -f1)
  if [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$stamp" ]; then
    log "mbedtls-$name is up to date ($prefix)"
    return
  fi
  log "building mbedtls-$name"
  local bdir=$deps/build-$name
  rm -rf "$bdir" "$prefix"
  local args=(-S "$mbedtls_src" -B "$bdir" -G Ninja
              -DCMAKE_BUILD_TYPE="$btype" -DCMAKE_INSTALL_PREFIX="$prefix"
              -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF
              -DMBEDTLS_FATAL_WARNINGS=OFF -DUSE_SHARED_MBEDTLS_LIBRARY=OFF
              -DMBEDTLS_CONFIG_FILE="$cfg"
              -DCMAKE_C_FLAGS="-I$top/config $cflags")
  [ -n "$tc" ] && args+=(-DCMAKE_TOOLCHAIN_FILE="$tc")
  cmake "${args[@]}" >"$deps/build-$name.log" 2>&1 || { tail -n 30 "$deps/build-$name.log"; exit 1; }
  cmake --build "$bdir" -j"$(nproc)" >>"$deps/build-$name.log" 2>&1 || { tail -n 30 "$deps/build-$name.log"; exit 1; }
  cmake --install "$bdir" >>"$deps/build-$name.log" 2>&1
  # Keep the config headers next to the libraries they were built with.
  mkdir -p "$prefix/include/ward-config"
  cp "$top"/config/*.h "$prefix/include/ward-config/"
  echo "$stamp" >"$prefix/.stamp"
  rm -rf "$bdir"
}
build_flavour host "$top/config/mbedtls_host.h" Release "" "-fPIC"
# CMAKE_C_FLAGS replaces the toolchain file's flags: repeat the CPU flags, and
# keep LTO objects so the bootloader can be optimised across Mbed TLS too.
cm_flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -ffunction-sections -fdata-sections -flto -ffat-lto-objects"
build_flavour boot-min "$top/config/mbedtls_boot_min.h" MinSizeRel "$top/cmake/arm-none-eabi.cmake" "$cm_flags"
build_flavour cm-app "$top/config/mbedtls_cm_app.h" MinSizeRel "$top/cmake/arm-none-eabi.cmake" "$cm_flags"

# ---- 4. libcbor and http-parser -------------------------------------------
# build_lib <name> <tarball> <flavour: host|cm> <build command...>: unpack
# once, build into $deps/<name>-<flavour>, cached by a stamp like Mbed TLS.
unpack() { # tarball -> prints the source directory
  local tb=$1 dir
  dir=$src_dir/$(tar -tf "$tb" | head -n1 | cut -d/ -f1)
  [ -d "$dir" ] || tar -xf "$tb" -C "$src_dir"
  echo "$dir"
}
lib_stamp() { # tarball flavour-flags
  { sha256sum "$1" | cut -d' ' -f1; echo "$2"; cat "$top/cmake/arm-none-eabi.cmake"; } | sha256sum | cut -d' ' -f1
}
host_flags="-O2 -fPIC"
cbor_tb=$(fetch_orig libcbor)
cbor_src=$(unpack "$cbor_tb")
build_cbor() { # flavour cflags [toolchain]
  local fl=$1 cflags=$2 tc=${3:-} prefix=$deps/libcbor-$1 st
  st=$(lib_stamp "$cbor_tb" "$cflags $tc")
  if [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$st" ]; then
    log "libcbor-$fl is up to date"; return
  fi
  log "building libcbor-$fl"
  rm -rf "$deps/build-cbor-$fl" "$prefix"
  local args=(-S "$cbor_src" -B "$deps/build-cbor-$fl" -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel
              -DCMAKE_INSTALL_PREFIX="$prefix" -DWITH_EXAMPLES=OFF -DWITH_TESTS=OFF -DSANITIZE=OFF
              -DCBOR_PRETTY_PRINTER=OFF -DCMAKE_C_FLAGS="$cflags")
  [ -n "$tc" ] && args+=(-DCMAKE_TOOLCHAIN_FILE="$tc")
  { cmake "${args[@]}" && cmake --build "$deps/build-cbor-$fl" && cmake --install "$deps/build-cbor-$fl"; } \
    >"$deps/build-cbor-$fl.log" 2>&1 || { tail -n 30 "$deps/build-cbor-$fl.log"; exit 1; }
  # Debian's multiarch layouts may say lib64 or lib/<triplet>: one place.
  [ -f "$prefix/lib/libcbor.a" ] || { mkdir -p "$prefix/lib"; find "$prefix" -name libcbor.a -exec cp {} "$prefix/lib/" \; ; }
  echo "$st" >"$prefix/.stamp"
  rm -rf "$deps/build-cbor-$fl"
}
build_cbor host "$host_flags"
build_cbor cm "$cm_flags" "$top/cmake/arm-none-eabi.cmake"

hp_tb=$(fetch_orig http-parser)
hp_src=$(unpack "$hp_tb")
build_http_parser() { # flavour cc cflags
  local fl=$1 cc=$2 cflags=$3 prefix=$deps/http-parser-$1 st
  st=$(lib_stamp "$hp_tb" "$cc $cflags")
  if [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$st" ]; then
    log "http-parser-$fl is up to date"; return
  fi
  log "building http-parser-$fl"
  rm -rf "$prefix"; mkdir -p "$prefix/lib" "$prefix/include"
  # Strict parsing (no lenient header characters); one file, no allocation.
  # shellcheck disable=SC2086
  "$cc" $cflags -Os -DHTTP_PARSER_STRICT=1 -c "$hp_src/http_parser.c" -o "$prefix/http_parser.o"
  local ar=ar; [ "$fl" = cm ] && ar=arm-none-eabi-ar
  "$ar" rcs "$prefix/lib/libhttp_parser.a" "$prefix/http_parser.o"
  cp "$hp_src/http_parser.h" "$prefix/include/"
  rm -f "$prefix/http_parser.o"
  echo "$st" >"$prefix/.stamp"
}
build_http_parser host cc "$host_flags"
build_http_parser cm arm-none-eabi-gcc "$cm_flags"
log "ok: deps in $deps"
