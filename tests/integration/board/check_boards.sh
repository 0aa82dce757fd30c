#!/usr/bin/env bash
# Every board file is read alike by the build (cmake/board.cmake: ENV_DIR,
# one NAME.env per board) and by ward (ward board show NAME --env), and ward
# knows every board of the tree.
# And both refuse a board whose layout the bootloader would refuse.
#   check_boards.sh WARD ENV_DIR [CMAKE]
set -euo pipefail
ward=$1 envs=$2 cmake=${3:-cmake}
top=$(cd "$(dirname "$0")/../../.." && pwd)
n=0
for f in "$top"/port/cortex-m/boards/*.board; do
  name=$(basename "$f" .board)
  [ -f "$envs/$name.env" ] || { echo "check_boards: no $envs/$name.env (reconfigure the host build)"; exit 1; }
  # The build's file names its source (FILE=) and starts with a comment.
  if ! diff -u <(grep -v -e '^#' -e '^FILE=' "$envs/$name.env") <("$ward" board show "$name" --env); then
    echo "check_boards: cmake/board.cmake and ward read $name differently"
    exit 1
  fi
  # And by path, the same.
  diff -u <("$ward" board show "$name" --env) <("$ward" board show "$f" --env) >/dev/null ||
    { echo "check_boards: $name by name and by path differ"; exit 1; }
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "check_boards: no board files"; exit 1; }
[ "$("$ward" board list | wc -l)" = "$n" ] || { echo "check_boards: ward board list does not list the $n boards"; exit 1; }
# Layouts the bootloader refuses (ward_boot_layout_check, entry_sane): both
# readers refuse them, for the reason given.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'cmake_minimum_required(VERSION 3.20)\ninclude("%s/cmake/board.cmake")\nward_board_load("${F}" X)\n' \
  "$top" >"$tmp/load.cmake"
bad() { # NAME FROM-BOARD SED-EXPR WHY
  sed "$3" "$top/port/cortex-m/boards/$2.board" >"$tmp/$1.board"
  if out=$("$ward" board show "$tmp/$1.board" 2>&1); then
    echo "check_boards: ward accepted $1 ($4)"; exit 1
  fi
  grep -q "$4" <<<"$out" || { echo "check_boards: ward refused $1 without '$4': $out"; exit 1; }
  if out=$(timeout 60 "$cmake" -DF="$tmp/$1.board" -P "$tmp/load.cmake" 2>&1); then
    echo "check_boards: cmake/board.cmake accepted $1 ($4)"; exit 1
  fi
  grep -q "$4" <<<"$(tr '\n' ' ' <<<"$out" | tr -s ' ')" ||
    { echo "check_boards: cmake/board.cmake refused $1 without '$4': $out"; exit 1; }
}
# 128-byte pages (an STM32L0's) for the journal: 8 records each.
bad small-journal mps2-an386 's/^FLASH_SECTORS=.*/FLASH_SECTORS=225x4K,32x128,30x4K/' \
  "hold 8 and 8 records"
# The emulation 256 bytes off VTOR_ALIGN (512).
bad unaligned-emu netduinoplus2 's/^EMU_ADDR=.*/EMU_ADDR=0x20008100/' "not a multiple of VTOR_ALIGN"
# A one-sector vault (ward_vault_format refuses it).
bad one-sector-vault mps2-an386 's/^VAULT_SIZE=.*/VAULT_SIZE=4K/' "VAULT area is 1 sector"
# netduinoplus2's vault place declared: its 64 KiB sector is not kept whole.
bad emulated-vault netduinoplus2 '$a VAULT_OFF=0xC000\nVAULT_SIZE=80K\nHSM_ADDR=0x40000000' \
  "larger than EMU_WINDOW"
# A count mistyped (1048576 sectors of 4 KiB): refused at once, not a
# configure that walks a million sectors for hours.
bad huge-count mps2-an386 's/^FLASH_SECTORS=.*/FLASH_SECTORS=1048576x4K/' "at most 8192 sectors"
# 16,384 sectors of 64 bytes (1 MiB): within 4 GiB, still too many to walk.
bad many-sectors mps2-an386 's/^FLASH_SECTORS=.*/FLASH_SECTORS=16384x64/' "at most 8192 sectors"
# The boot state on the bootloader's own sector (nothing write-protected).
bad state-on-boot mps2-an386 's/^PROTECT_END=.*/PROTECT_END=0/; s/^STATE_OFF=.*/STATE_OFF=0x0/' \
  "overlaps the bootloader"
# An emulation whose secondary keeps less in RAM than the primary runs in
# place (16 KiB primary sectors kept whole, 32 KiB secondary ones by their
# first 23 KiB and last 1 KiB): both readers hold images to 0x5c00.
sed -e 's/^FLASH_SECTORS=.*/FLASH_SECTORS=7x16K,2x32K,1x64K/' -e 's/^PRIMARY_OFF=.*/PRIMARY_OFF=0xC000/' \
    -e 's/^SECONDARY_OFF=.*/SECONDARY_OFF=0x1C000/' -e 's/^SLOT_SIZE=.*/SLOT_SIZE=64K/' \
    -e 's/^SCRATCH_OFF=.*/SCRATCH_OFF=0x2C000/' -e 's/^SCRATCH_SIZE=.*/SCRATCH_SIZE=64K/' \
    "$top/port/cortex-m/boards/netduinoplus2.board" >"$tmp/emu-secondary.board"
printf 'message(STATUS "IMAGE_MAX=${X_IMAGE_MAX}")\n' >>"$tmp/load.cmake"
cm_max=$("$cmake" -DF="$tmp/emu-secondary.board" -P "$tmp/load.cmake" 2>&1 | sed -n 's/^-- IMAGE_MAX=//p')
ward_max=$("$ward" board show "$tmp/emu-secondary.board" --env | sed -n 's/^IMAGE_MAX=//p')
[ "$cm_max" = 23552 ] && [ "$ward_max" = 0x5c00 ] ||
  { echo "check_boards: emu-secondary: IMAGE_MAX $cm_max (cmake) and $ward_max (ward), expected 0x5c00"; exit 1; }
echo "check_boards: $n boards read alike by cmake/board.cmake and ward"
