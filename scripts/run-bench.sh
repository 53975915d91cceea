#!/bin/sh
# Runs each benchmark program and prints its markdown; the machine goes first.
echo "# polyrec benchmarks, $(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for b in "$@"; do
    echo
    "$b" || echo "(benchmark $b failed with status $?)"
done
