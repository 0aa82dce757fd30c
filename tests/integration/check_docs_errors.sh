#!/usr/bin/env bash
# Every status code in include/ward/ward.h must be documented in docs/errors.md
# with the same number, and vice versa. With the ward binary: the "CLI exit"
# column of docs/errors.md must be the exit code ward gives for the code (as
# `ward explain --json` reports ward_cli_exit_code), and every code that
# docs/cli.md's exit-code table names must sit in the row of that exit code.
#   check_docs_errors.sh [WARD]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
hdr=$(grep -oE 'WARD_(OK|ERR_[A-Z0-9_]+) = -?[0-9]+' "$top/include/ward/ward.h" | sed 's/ = /=/' | sort)
doc=$(grep -oE '^\| -?[0-9]+ \| `WARD_(OK|ERR_[A-Z0-9_]+)`' "$top/docs/errors.md" \
      | sed -E 's/^\| (-?[0-9]+) \| `([A-Z0-9_]+)`/\2=\1/' | sort)
if [ "$hdr" != "$doc" ]; then
  echo "docs/errors.md and include/ward/ward.h disagree:"
  diff <(echo "$hdr") <(echo "$doc") || true
  exit 1
fi
echo "$(echo "$hdr" | wc -l) status codes documented"
[ $# -ge 1 ] || exit 0
ward=$1
bad=0
# errors.md: | code | `NAME` | meaning | exit |
while IFS='|' read -r _ code name _ exit_doc _; do
  code=$(echo "$code" | tr -d ' ') name=$(echo "$name" | tr -d ' `') exit_doc=$(echo "$exit_doc" | tr -d ' ')
  exit_code=$("$ward" explain --json -- "$code" | sed -n 's/.*"exit":\([0-9]*\).*/\1/p')
  if [ "$exit_code" != "$exit_doc" ]; then
    echo "docs/errors.md: $name ($code) exits $exit_doc, ward exits $exit_code"
    bad=$((bad + 1))
  fi
done < <(grep -E '^\| -?[0-9]+ \| `WARD_' "$top/docs/errors.md")
# cli.md: | exit | meaning | `WARD_ERR_A`, `_B`, `WARD_ERR_C` ... | (a leading _ continues the
# last full name's prefix, as `WARD_ERR_IMG_MAGIC`, `_HEADER`).
while IFS='|' read -r _ exit_doc _ codes _; do
  exit_doc=$(echo "$exit_doc" | tr -d ' ')
  [[ "$exit_doc" =~ ^[0-9]+$ ]] || continue
  prefix=''
  for tok in $(echo "$codes" | grep -oE '`[A-Z0-9_*]+`' | tr -d '`'); do
    case "$tok" in
      *'*') continue ;; # a family: WARD_ERR_OTA_*
      _*) name=$prefix$tok ;;
      *) name=$tok; prefix=$(echo "$tok" | sed -E 's/^(WARD_ERR_[A-Z0-9]+)_.*/\1/') ;;
    esac
    exit_code=$("$ward" explain --json -- "$name" 2>/dev/null | sed -n 's/.*"exit":\([0-9]*\).*/\1/p')
    if [ -z "$exit_code" ]; then
      echo "docs/cli.md: exit $exit_doc names $name, which is not a status code"
      bad=$((bad + 1))
    elif [ "$exit_code" != "$exit_doc" ]; then
      echo "docs/cli.md: exit $exit_doc names $name, ward exits $exit_code for it"
      bad=$((bad + 1))
    fi
  done
done < <(sed -n '/^## Exit codes/,/^## /p' "$top/docs/cli.md" | grep -E '^\| [0-9]+ \|')
[ "$bad" = 0 ] || { echo "$bad exit code(s) disagree"; exit 1; }
echo "exit codes: docs/errors.md and docs/cli.md agree with ward"
