#!/usr/bin/env bash
# ward dependency bootstrap: idempotent, run as root on Debian 12 (bookworm).
#
#  1. installs the Debian packages the build, the tests and the demo need;
#  2. fetches Mbed TLS 3.6 from Debian's *source* package (suite trixie), which
#     apt checks against the signed Sources index;
#  3. builds it three times with ward's own config headers:
#       host      config/mbedtls_host.h      (tools, simulator, tests, fuzzers)
#       boot-min  config/mbedtls_boot_min.h  (Cortex-M4 bootloader)
#       cm-app    config/mbedtls_cm_app.h    (Cortex-M4 application: vault, HSM)
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
  clang libclang-rt-14-dev llvm cppcheck clang-tidy
  python3 python3-cryptography
  openssl xxd
  mosquitto mosquitto-clients nginx-light
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
tarball=$(ls "$src_dir"/mbedtls_${mbedtls_version}.*.orig.tar.* 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$tarball" ]; then
  list=/etc/apt/sources.list.d/ward-trixie-src.sources
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
  log "fetching the mbedtls source package (checked by apt against the signed index)"
  (cd "$src_dir" && apt-get source --download-only -qq mbedtls 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  tarball=$(ls "$src_dir"/mbedtls_*.orig.tar.* 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$tarball" ] || { log "apt-get source mbedtls gave no tarball"; exit 1; }
fi
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
log "ok: deps in $deps"
