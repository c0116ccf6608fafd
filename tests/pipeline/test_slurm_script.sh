#!/bin/bash
# scripts/medsam-slurm without a cluster: options, the job script it writes
# (run here once per array task) and what it hands to sbatch (a fake one).
# Usage: test_slurm_script.sh DATA_SAMPLES_DIR PYTHON BUILD_ROOT MEDSAM_SLURM
set -u
src=$1 py=$2 build=$3 mslurm=$4
here=$(cd "$(dirname "$0")" && pwd)
check="$py $here/pipecheck.py"
tools=$build/src/tools
T=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-slurmscript.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$T" || exit 1

# Options.
"$mslurm" --help | grep -q '^Usage: medsam-slurm' || fail "--help"
"$mslurm" --version | grep -q '^medsam-slurm (medsam-tools) ' || fail "--version"
for bad in "" "-n 0 -- true" "-n x -- true" "--bogus -- true" "true" "-- no-such-command-x" \
           "-- $tools/medsam-npz2npy --shard 0/2 a -o b" "-J a/b -- true" "-n"; do
    # shellcheck disable=SC2086
    "$mslurm" $bad >/dev/null 2>err.txt; rc=$?
    [ $rc = 2 ] || fail "'$bad': exit $rc, not 2"
    grep -q '^medsam-slurm: ' err.txt || fail "'$bad': no message"
done

# Three 2D cases; the array's tasks, run here one after the other, must make
# what one plain run makes.
mkdir -p img lab || exit 1
for c in a b c; do
    cp "$src/2D/images/brainpd.png" "img/$c.png" && cp "$src/2D/labels/brainpd.png" "lab/$c.png" || exit 1
done
"$tools/medsam-pre-grey-rgb" -q --img-dir img --gt-dir lab --out-dir ref/npz || fail "local run"
"$tools/medsam-npz2npy" -q ref/npz -o ref/npy || fail "local npy"
"$mslurm" -n 3 -p short --dry-run -- "$tools/medsam-pre-grey-rgb" -q --img-dir img --gt-dir lab \
    --out-dir "arr/npz" >dry.txt || fail "--dry-run"
grep -q -- '--array=0-2 ' dry.txt && grep -q -- '--partition=short' dry.txt \
    && grep -q -- "--chdir=$T" dry.txt || { cat dry.txt; fail "sbatch options"; }
sed '/^# submit with:/,$d' dry.txt >job.sh
for k in 0 1 2; do
    SLURM_ARRAY_TASK_ID=$k bash job.sh 2>"task$k.log" || fail "task $k"
    [ "$(ls arr/npz | wc -l)" = $((k + 1)) ] || fail "task $k did not write exactly one case"
done
bash job.sh 2>/dev/null && fail "the job script ran outside an array task"
# {K} and {N} in arguments; a folder name with a space survives the quoting.
mkdir -p "arr/n p y" || exit 1
"$mslurm" -n 2 --dry-run -- "$tools/medsam-npz2npy" -q arr/npz -o "arr/n p y/{K}of{N}" \
    | sed '/^# submit with:/,$d' >job2.sh || fail "--dry-run 2"
for k in 0 1; do SLURM_ARRAY_TASK_ID=$k bash job2.sh || fail "npy task $k"; done
[ -d "arr/n p y/0of2/imgs" ] && [ -d "arr/n p y/1of2/imgs" ] || fail "{K}/{N} not substituted"
mkdir -p arr/npy/imgs arr/npy/gts
for k in 0 1; do cp "arr/n p y/${k}of2/imgs/"* arr/npy/imgs/ && cp "arr/n p y/${k}of2/gts/"* arr/npy/gts/; done
rm -rf "arr/n p y"
$check same arr ref || fail "array tasks differ from the plain run"

# Submission through a fake sbatch: arguments, the script on stdin, exit status.
mkdir -p bin && cat >bin/sbatch <<'SB'
#!/bin/sh
printf '%s\n' "$@" >"$FAKE_DIR/args"
cat >"$FAKE_DIR/stdin"
echo "Submitted batch job 42"
exit "${FAKE_RC:-0}"
SB
chmod +x bin/sbatch
export FAKE_DIR=$T
PATH=$T/bin:$PATH "$mslurm" -n 5 --max-parallel 2 -c 2 --time 10 --mem 1G --wait \
    --sbatch-arg=--qos=low --log-dir logs -- "$tools/medsam-npz2npy" ref/npz -o x >out.txt \
    || fail "submission"
grep -q 'Submitted batch job 42' out.txt || fail "sbatch output not passed on"
for a in --array=0-4%2 --cpus-per-task=2 --time=10 --mem=1G --wait --qos=low \
         "--output=$T/logs/medsam-npz2npy-%A_%a.log" --job-name=medsam-npz2npy; do
    grep -qx -- "$a" args || { cat args; fail "sbatch did not get $a"; }
done
grep -q '^N=5$' stdin && grep -q -- '--shard "$K/$N"' stdin || { cat stdin; fail "job script"; }
[ -d logs ] || fail "log folder not created"
FAKE_RC=1 PATH=$T/bin:$PATH "$mslurm" -- "$tools/medsam-npz2npy" ref/npz -o x >/dev/null 2>&1 \
    && fail "a failed sbatch was not an error"
echo "slurm script: ok"
