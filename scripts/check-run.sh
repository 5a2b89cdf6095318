#!/usr/bin/env bash
# Checks that a run folder of the benchmark suite is complete, and, used on
# the reference (results/reference, or --reference), that it was made from
# a clean commit.  The checks live in scripts/poolbench/check_run.py (see
# there, or --help).
#
#   scripts/check-run.sh [--reference] [RUN_DIR]    (default: results/latest)
#
# Exit status: 0 complete, 1 something is missing (each problem listed),
# 2 bad usage.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m poolbench.check_run "$@"
