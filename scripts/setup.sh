#!/usr/bin/env bash
# Installs every Debian package poolbench needs, and nothing it already has.
#
#   scripts/setup.sh            what the build, the tests and the suite need
#   scripts/setup.sh --browser  that, and Chromium for the browser test of
#                               report.html (a few hundred megabytes that
#                               neither the build nor the suite needs)
#   scripts/setup.sh --check    only say what is missing (exit 1 if anything
#                               is); goes with --browser too
#
# It is safe to run again and again: when everything is there it prints one
# line and touches nothing, which is why README.md puts it in front of both
# of its commands.
set -eu

check=0 browser=0
for arg in "$@"; do
    case $arg in
    --check) check=1 ;;
    --browser) browser=1 ;;
    *) echo "usage: scripts/setup.sh [--check] [--browser]" >&2; exit 2 ;;
    esac
done

# Debian package -> a file or command that proves it is installed.  We test
# for the file rather than asking dpkg so that a tool installed another way
# (say, a newer hyperfine in /usr/local/bin) also counts.
packages=(
    "gcc:command:gcc"
    "make:command:make"
    "pkg-config:command:pkg-config"
    "check:pkgconfig:check"
    "libglib2.0-dev:pkgconfig:glib-2.0"
    "hyperfine:command:hyperfine"
    "gnuplot-nox:command:gnuplot"
    "python3:file:/usr/bin/python3"
    "python3-numpy:python:numpy"
    "valgrind:command:valgrind"
    "procps:command:ps"
    "file:command:file"
    "help2man:command:help2man"
    "openmpi-bin:command:mpirun"
    "libopenmpi-dev:command:mpicc"
    "iproute2:command:ip"
)
# The browser test of report.html (scripts/tests/test_html.py) skips
# without it; .ci/run asks for it.
if [ $browser = 1 ]; then
    packages+=("chromium:command:chromium")
fi

missing=()
for entry in "${packages[@]}"; do
    IFS=: read -r pkg kind what <<<"$entry"
    case $kind in
    command) command -v "$what" >/dev/null 2>&1 && continue ;;
    file) [ -e "$what" ] && continue ;;
    pkgconfig)
        command -v pkg-config >/dev/null 2>&1 &&
            pkg-config --exists "$what" && continue ;;
    python)
        [ -x /usr/bin/python3 ] &&
            /usr/bin/python3 -c "import $what" 2>/dev/null && continue ;;
    esac
    missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    exit 0
fi

if [ $check = 1 ]; then
    echo "setup: missing: ${missing[*]}"
    exit 1
fi

echo "setup: installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=
    command -v sudo >/dev/null 2>&1 && SUDO=sudo
    if [ -z "$SUDO" ]; then
        echo "setup: not root and no sudo; as root, run:" >&2
        echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
