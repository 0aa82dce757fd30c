#!/usr/bin/env bash
# Every board file is read alike by the build (cmake/board.cmake: ENV_DIR,
# one NAME.env per board) and by ward (ward board show NAME --env), and ward
# knows every board of the tree.
#   check_boards.sh WARD ENV_DIR
set -euo pipefail
ward=$1 envs=$2
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
echo "check_boards: $n boards read alike by cmake/board.cmake and ward"
