#!/bin/sh
# Every long option that a tool's --help lists is documented in its man page,
# and the man page documents no option the tool does not list.
# Usage: man_sync.sh MAN_DIR TOOL...
set -u
man_dir=$1; shift
fail=0
opts_help() { "$1" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
# Options of the SYNOPSIS/OPTIONS text; EXAMPLES and SEE ALSO may quote other programs' options.
opts_man() { sed '/^\.SH EXAMPLE/,/^\.SH [^E]/d; /^\.SH SEE ALSO/,$d' "$1" |
             sed 's/\\-/-/g; s/\\f[BIRP]//g' | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
for tool in "$@"; do
    name=$(basename "$tool")
    page="$man_dir/$name.1"
    if [ ! -s "$page" ]; then echo "$name: no man page $page"; fail=1; continue; fi
    h=$(opts_help "$tool") || { echo "$name: --help failed"; fail=1; continue; }
    m=$(opts_man "$page")
    only_help=$(printf '%s\n' "$h" | grep -vxF -e "$(printf '%s\n' "$m")" || true)
    only_man=$(printf '%s\n' "$m" | grep -vxF -e "$(printf '%s\n' "$h")" || true)
    bad=0
    [ -n "$only_help" ] && { echo "$name: in --help but not in $page:" $only_help; bad=1; }
    [ -n "$only_man" ] && { echo "$name: in $page but not in --help:" $only_man; bad=1; }
    "$tool" --version | grep -q "^$name (medsam-tools) " || { echo "$name: bad --version"; bad=1; }
    [ $bad = 0 ] && echo "$name: $(printf '%s\n' "$h" | wc -l) long options, --help and man page agree"
    [ $bad = 0 ] || fail=1
done
exit $fail
