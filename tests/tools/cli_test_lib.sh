# Shared by the CLI test scripts (sourced): a scratch folder $T removed on
# exit, counters, and the checks.  The script sets TOOL (the executable
# under test) before sourcing, and ends with cli_test_end.
# shellcheck shell=sh
T=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$TOOL").XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fails=0
n=0

ok() {   # ok NAME STATUS: a check that passed when STATUS is 0
    n=$((n + 1))
    if [ "$2" -ne 0 ]; then
        echo "FAIL: $1"
        fails=$((fails + 1))
    fi
}

# run EXPECTED-EXIT ARGS...: runs $TOOL; stdout in $T/out, stderr in $T/err
run() {
    want=$1
    shift
    "$TOOL" "$@" >"$T/out" 2>"$T/err"
    got=$?
    n=$((n + 1))
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $(basename "$TOOL") $*: exit $got, expected $want"
        sed 's/^/  stderr: /' "$T/err"
        fails=$((fails + 1))
    fi
}

one_line() {   # one_line NAME SUBSTRING: stderr is exactly one line holding SUBSTRING
    [ "$(wc -l < "$T/err")" -eq 1 ] && grep -qF -- "$2" "$T/err"
    st=$?
    [ $st -eq 0 ] || sed 's/^/  stderr: /' "$T/err"
    ok "$1" $st
}

no_output() {  # no_output NAME DIR: DIR is empty or absent (no output, no temp file)
    [ -z "$(ls -A "$2" 2>/dev/null)" ]; ok "$1: nothing written" $?
}

cli_test_end() {   # the closing line and the exit status
    echo "$n checks, $fails failed"
    [ "$fails" -eq 0 ]
}
