#!/usr/bin/env bash
# One source of truth: the audit's catalogue (tools/audit/items.c).
#  1. docs/audit.md's item table and docs/threat-model.md section 4 are what
#     `ward audit --catalogue [--threat-model]` prints, byte for byte;
#  2. docs/device-profile.md's example is what `ward profile` prints;
#  3. every test an item names exists: a CTest test of this build, and for
#     "test: function", a function of that name in tests/.
#   check_audit_docs.sh WARD BUILD_DIR
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
ward=$1 build=$2
bad=0
between() { sed -n "/<!-- $2:begin -->/,/<!-- $2:end -->/p" "$1" | sed '1d;$d'; }
if ! diff <(between "$top/docs/audit.md" catalogue) <("$ward" audit --catalogue); then
  echo "docs/audit.md's item table differs from ward audit --catalogue (regenerate it)"
  bad=$((bad + 1))
fi
if ! diff <(between "$top/docs/threat-model.md" threat-model) <("$ward" audit --catalogue --threat-model); then
  echo "docs/threat-model.md section 4 differs from ward audit --catalogue --threat-model"
  bad=$((bad + 1))
fi
# docs/device-profile.md's example is what `ward profile` prints (as JSON values)
if ! "$ward" profile | /usr/bin/python3 -c '
import json, re, sys
doc = open(sys.argv[1]).read()
m = re.search(r"<!-- profile-example -->\s*```json\n(.*?)```", doc, re.S)
sys.exit(0 if m and json.loads(m.group(1)) == json.load(sys.stdin) else 1)' "$top/docs/device-profile.md"; then
  echo "docs/device-profile.md's example is not what ward profile prints"
  bad=$((bad + 1))
fi
tests=$(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: //p')
names=0
while IFS= read -r t; do
  names=$((names + 1))
  name=${t%%:*}
  if ! grep -qx "$name" <<<"$tests"; then
    echo "the catalogue names test $name, which ctest does not know"
    bad=$((bad + 1))
  fi
  if [[ $t == *:* ]]; then
    fn=${t#*: }
    if ! grep -rqE "(void|def) $fn\(" "$top/tests"; then
      echo "the catalogue names $name: $fn, and no such function is in tests/"
      bad=$((bad + 1))
    fi
  fi
done < <("$ward" audit --catalogue | awk -F'|' 'NR > 2 { print $(NF - 1) }' | grep -oE '`[^`]+`' | tr -d '`' | sort -u)
echo "$names tests named by the catalogue; $bad problem(s)"
[ "$bad" = 0 ]
