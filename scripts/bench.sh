#!/bin/sh
# The benchmark suite is scripts/bench (Python, scripts/poolbench/); this
# name is kept for old habits and old notes.
exec /usr/bin/python3 "$(dirname "$0")/bench" "$@"
