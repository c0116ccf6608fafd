#!/bin/sh
# The committed surfel table is what scripts/gen_surface_table.py makes of
# the reference JSON (tests/data/eval/surface_normals.json).
# usage: test_surface_table.sh PYTHON SRC_ROOT
set -u
T=$(mktemp "${TMPDIR:-/tmp}/surface_table.XXXXXX") || exit 1
trap 'rm -f "$T"' EXIT
"$1" "$2/scripts/gen_surface_table.py" "$2/tests/data/eval/surface_normals.json" > "$T" || exit 1
if cmp -s "$T" "$2/src/prep/surface_normals_table.c"; then
    echo "table up to date"
else
    echo "src/prep/surface_normals_table.c differs from the generator's output"
    exit 1
fi
