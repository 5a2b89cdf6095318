#!/usr/bin/env bash
# Checks what a user of the library meets outside the test suite:
#
#  1. the build: a second `make` has nothing to do (`make -q` says so);
#  2. the README's link line works as written, on examples/readme.c;
#  3. examples/ builds and runs against the build tree (make examples);
#  4. `make install DESTDIR=...` installs the library, the headers,
#     poolbench.pc, the programs as poolbench-NAME and their man pages, and
#     examples/ builds again from that copy alone, through
#     `pkg-config --cflags --libs poolbench`, with the same output;
#  5. `make uninstall` removes every file install made;
#  6. no link in a tracked Markdown file leaves the repository.
#
#   scripts/check-install.sh          with build/ (O=DIR: build under DIR)
#
# Everything it makes goes into one mktemp folder, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
BUILD=$O/release
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/poolbench-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }

# 1. A second make does nothing.
make -s O="$O" all
make -q O="$O" all || fail "a second make would rebuild: $(make -n O="$O" |
    head -3)"
echo "check-install: make -q: up to date"

# 2. README.md: "cc -Ipools prog.c build/release/libpools.a -pthread".
grep -q 'cc -Ipools prog.c build/release/libpools.a -pthread' README.md ||
    fail "README.md no longer shows the link line this checks"
$CC -std=c11 -Wall -Werror -Ipools examples/readme.c "$BUILD/libpools.a" \
    -pthread -o "$tmp/readme-asis"
[ "$("$tmp/readme-asis")" = "square(5) = 25" ] ||
    fail "the README's example does not print square(5) = 25"

# 3. The examples, built against the build tree by make.
make -s O="$O" examples
examples=()
for src in examples/*.c; do
    examples+=("$(basename "$src" .c)")
done
[ ${#examples[@]} -ge 5 ] || fail "fewer than 5 examples in examples/"
for e in "${examples[@]}"; do
    "$BUILD/examples/$e" >"$tmp/$e.tree" || fail "examples/$e failed"
done

# 4. Install into a staging folder and build the examples from it alone.
dest=$tmp/dest
make -s O="$O" install DESTDIR="$dest" PREFIX=/usr/local >/dev/null
for f in lib/libpools.a include/poolbench/threadpool.h \
         include/poolbench/procpool.h lib/pkgconfig/poolbench.pc \
         bin/poolbench-primes bin/poolbench-images; do
    [ -e "$dest/usr/local/$f" ] || fail "make install made no $f"
done
if command -v help2man >/dev/null; then
    for p in "$dest"/usr/local/bin/poolbench-*; do
        page=$dest/usr/local/share/man/man1/$(basename "$p").1
        [ -s "$page" ] || fail "no man page $page"
        grep -q '^\.SH' "$page" || fail "$page is not a man page"
    done
fi
"$dest/usr/local/bin/poolbench-primes" --version | grep -q '(poolbench)' ||
    fail "poolbench-primes --version"
# PKG_CONFIG_SYSROOT_DIR puts the staging folder in front of the paths the
# .pc file names (/usr/local/...), as for a cross-compiled sysroot.
export PKG_CONFIG_PATH=$dest/usr/local/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs poolbench)
case $flags in
*"$dest"/usr/local/include/poolbench*) ;;
*) fail "pkg-config --cflags does not point into the install: $flags" ;;
esac
for e in "${examples[@]}"; do
    # shellcheck disable=SC2086  # the flags are words
    $CC -std=c11 -Wall -Werror "examples/$e.c" $flags -o "$tmp/$e" ||
        fail "examples/$e.c does not build against the installed copy"
    "$tmp/$e" >"$tmp/$e.installed" || fail "installed examples/$e failed"
    # as_completed prints in finishing order: only its lines must agree.
    cmp -s <(sort "$tmp/$e.tree") <(sort "$tmp/$e.installed") ||
        fail "examples/$e prints differently when built from the install"
done
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
echo "check-install: ${#examples[@]} examples built and run against the" \
     "build tree and the installed copy"

# 5. Uninstall leaves no file behind.
make -s O="$O" uninstall DESTDIR="$dest" PREFIX=/usr/local
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "check-install: make uninstall removed everything"

# 6. No link in a tracked Markdown file leaves the repository: no mention
# of ../shared, and every relative link target resolves inside the tree.
root=$(pwd -P)
bad=0
while IFS= read -r md; do
    if grep -n '\.\./shared' "$md" >/dev/null; then
        echo "check-install: $md mentions ../shared:" \
             "$(grep -n '\.\./shared' "$md" | head -1)" >&2
        bad=1
    fi
    dir=$(dirname "$md")
    while IFS= read -r target; do
        target=${target%%#*}
        case $target in
        ''|http://*|https://*|mailto:*) continue ;;
        /*) echo "check-install: $md: absolute link $target" >&2
            bad=1; continue ;;
        esac
        resolved=$(realpath -m "$dir/$target")
        case $resolved in
        "$root"|"$root"/*) ;;
        *) echo "check-install: $md: link leaves the repository:" \
                "$target" >&2
           bad=1 ;;
        esac
    done < <(grep -o '\]([^)]*)' "$md" | sed 's/^](//; s/)$//; s/ .*//')
done < <(git ls-files '*.md')
[ $bad -eq 0 ] || fail "links leave the repository"
echo "check-install: no Markdown link leaves the repository"
