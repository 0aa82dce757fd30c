#!/usr/bin/env bash
# Every status code in include/ward/ward.h must be documented in docs/errors.md
# with the same number, and vice versa.
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
