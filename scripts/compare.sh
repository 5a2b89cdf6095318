#!/usr/bin/env bash
# Compares two runs of the benchmark suite: a thin wrapper for
#
#   scripts/bench compare RUN_A RUN_B [--out DIR]
#
# (see scripts/poolbench/compare.py, or --help).  Exit status: 0 compared,
# 1 a run folder is unusable, 2 bad usage, 3 nothing is comparable.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec /usr/bin/python3 "$here/bench" compare "$@"
