#!/bin/sh
# Tests the benchmark suite itself (scripts/bench and scripts/poolbench/),
# end to end against scripts/mockbench.py instead of the real programs,
# and its statistics, report and compare on fixture runs: every
# scripts/tests/test_*.py, with Python's unittest.
#
#   scripts/test-suite.sh [-k PATTERN]   exit 0 when every test passes
cd "$(dirname "$0")" || exit 1
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m unittest discover \
    -s tests -t . -v "$@"
rc=$?
if [ $rc -eq 0 ]; then
    echo "suite tests: all passed"
else
    echo "suite tests: FAILED (see above)"
fi
exit $rc
