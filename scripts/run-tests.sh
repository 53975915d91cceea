#!/bin/sh
# Runs test programs, echoes their output, and sums their closing lines
# "N passed, N failed, N skipped". A program that crashes or exits non-zero
# without such a line counts as one failure. Usage: run-tests.sh SUITE BIN...
# Writes the totals to build/.counts-SUITE for the closing line of `make test`.
suite=$1; shift
pass=0; fail=0; skip=0
tmp=$(mktemp)
for t in "$@"; do
    echo "== $t"
    "$t" >"$tmp" 2>&1
    rc=$?
    cat "$tmp"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
        s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
        pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail=$((fail + 1)); echo "FAIL $t exited $rc"; fi
    else
        fail=$((fail + 1)); echo "FAIL $t exited $rc without a summary line"
    fi
done
rm -f "$tmp"
mkdir -p build
echo "$pass $fail $skip" >"build/.counts-$suite"
echo "$suite: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
