#!/usr/bin/env bash
# One source of truth: the attack catalogue (tools/attack/catalogue.c).
#  1. docs/attack.md's attack table and docs/threat-model.md section 6 are
#     what `ward attack --catalogue` prints, byte for byte;
#  2. every test an attack names is a CTest test of this build;
#  3. every checklist item an attack names is one of `ward audit`'s.
#   check_attack_docs.sh WARD BUILD_DIR
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
ward=$1 build=$2
bad=0
between() { sed -n "/<!-- $2:begin -->/,/<!-- $2:end -->/p" "$1" | sed '1d;$d'; }
if ! diff <(between "$top/docs/attack.md" catalogue) <("$ward" attack --catalogue); then
  echo "docs/attack.md's attack table differs from ward attack --catalogue (regenerate it)"
  bad=$((bad + 1))
fi
if ! diff <(between "$top/docs/threat-model.md" attacks) <("$ward" attack --catalogue); then
  echo "docs/threat-model.md section 6 differs from ward attack --catalogue"
  bad=$((bad + 1))
fi
tests=$(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: //p')
items=$("$ward" audit --catalogue | awk -F'|' 'NR > 2 { print $2 }' | grep -oE '`[^`]+`' | tr -d '`')
n=0
while IFS= read -r t; do
  n=$((n + 1))
  if ! grep -qx "$t" <<<"$tests"; then
    echo "the attack catalogue names test $t, which ctest does not know"
    bad=$((bad + 1))
  fi
done < <("$ward" attack --catalogue | awk -F'|' 'NR > 2 { print $(NF - 1) }' | grep -oE '`[^`]+`' | tr -d '`' | sort -u)
m=0
while IFS= read -r i; do
  m=$((m + 1))
  if ! grep -qx "$i" <<<"$items"; then
    echo "the attack catalogue names checklist item $i, which ward audit does not know"
    bad=$((bad + 1))
  fi
done < <("$ward" attack --catalogue | awk -F'|' 'NR > 2 { print $(NF - 2) }' | grep -oE '`[^`]+`' | tr -d '`' | sort -u)
echo "$n tests and $m checklist items named by the attack catalogue; $bad problem(s)"
[ "$bad" = 0 ]
