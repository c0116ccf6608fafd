#!/bin/bash
# scripts/medsam-slurm against a real single-node Slurm: munged, slurmctld and
# slurmd started here with every file in a temp folder, array jobs over a copy
# of data-samples, the outputs compared with a plain local run.
# Usage: test_slurm.sh DATA_SAMPLES_DIR PYTHON BUILD_ROOT MEDSAM_SLURM
# Skips (77) only when not root or when the Slurm/munge programs are missing.
set -u
src=$1 py=$2 build=$3 mslurm=$4
here=$(cd "$(dirname "$0")" && pwd)
check="$py $here/pipecheck.py"
tools=$build/src/tools
WAIT=120     # seconds: node idle, each job's tasks done

[ "$(id -u)" = 0 ] || { echo "not root: skip"; exit 77; }
for p in munged slurmctld slurmd sbatch sinfo squeue scontrol; do
    command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$p" >/dev/null \
        || { echo "$p not installed (apt-get install slurm-wlm munge): skip"; exit 77; }
done
export PATH=$PATH:/usr/sbin:/sbin

T=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-slurm.XXXXXX") || exit 1
chmod 755 "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
stop() { # pidfile
    local p
    [ -s "$1" ] || return 0
    p=$(cat "$1")
    kill -TERM "$p" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
}
cleanup() {
    local rc=$?
    if [ $rc != 0 ] && [ $rc != 77 ]; then
        for f in "$T"/log/*.log "$T"/work/*.log; do
            [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
        done
    fi
    # Jobs still there (a failed or timed-out wait): cancel them while the
    # daemons are up, so that no task outlives the test.
    if [ -s "$T/run/slurmctld.pid" ] && [ -n "$(squeue -h 2>/dev/null)" ]; then
        scancel --full --user=root 2>/dev/null
        for _ in $(seq 30); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
    fi
    stop "$T/run/slurmd.pid"
    stop "$T/run/slurmctld.pid"
    stop "$T/run/munged.pid"
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

mkdir -p "$T"/{etc,run,log,state,spool,munge,sock} && chmod 700 "$T/munge" && chmod 755 "$T/sock" || fail "mkdir"

# Two free TCP ports (the kernel picks them; nothing else of ours binds them).
read -r ctld_port slurmd_port < <("$py" -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])') || fail "no free ports"

# munge
dd if=/dev/urandom of="$T/munge/key" bs=1024 count=1 status=none && chmod 400 "$T/munge/key" \
    || fail "munge key"
munged --key-file="$T/munge/key" --socket="$T/sock/munge.sock" --pid-file="$T/run/munged.pid" \
    --log-file="$T/log/munged.log" --seed-file="$T/munge/seed" >"$T/log/munged.out" 2>&1 \
    || { cat "$T/log/munged.out"; fail "munged did not start"; }

# slurm.conf: one node (this host, by its loopback address) and one partition.
node=$(hostname -s)
cpus=$(nproc)
cat >"$T/etc/slurm.conf" <<CONF
ClusterName=medsamtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$T/sock/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/etc/slurm.conf

slurmctld -c -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 || { cat "$T/log/slurmctld.out"; fail "slurmctld"; }
slurmd -f "$SLURM_CONF" -N "$node" >"$T/log/slurmd.out" 2>&1 || { cat "$T/log/slurmd.out"; fail "slurmd"; }

state=
for i in $(seq $((WAIT * 2))); do
    state=$(sinfo -h -n "$node" -o %t 2>/dev/null)
    [ "$state" = idle ] && break
    sleep 0.5
done
[ "$state" = idle ] || fail "node not idle after $WAIT s (state '$state')"
echo "slurm up: node $node idle, ports $ctld_port/$slurmd_port"

# ---------------------------------------------------------------- the data
# data-samples with a few more cases (copies under other names), so that every
# array task has work: 3 CT, 2 MR, 3 2D cases.
W=$T/work
mkdir -p "$W" && cd "$W" || fail "work folder"
for d in CT MR 2D; do cp -R "$src/$d" "$W/$d" || fail "copy $d"; done
for c in a_stent z_stent; do
    cp CT/images/stent_half_0000.nii.gz "CT/images/${c}_0000.nii.gz" &&
    cp CT/labels/stent_half.nii.gz "CT/labels/$c.nii.gz" || fail "copy CT"
done
cp MR/images/kmeans_0000.nii.gz MR/images/b_kmeans_0000.nii.gz &&
    cp MR/labels/kmeans.nii.gz MR/labels/b_kmeans.nii.gz || fail "copy MR"
for c in brain2 brain3; do
    cp 2D/images/brainpd.png "2D/images/$c.png" && cp 2D/labels/brainpd.png "2D/labels/$c.png" \
        || fail "copy 2D"
done
# Predictions for medsam-eval: the 2D ground truths themselves, plus a shifted one.
mkdir -p ref/npz segs gts || fail "mkdir"
"$tools/medsam-pre-grey-rgb" -q --img-dir 2D/images --gt-dir 2D/labels --out-dir gts \
    --modality Grey --anatomy Brain || fail "2D ground truth"
"$py" - gts segs <<'PY' || fail "predictions"
import os, sys
import numpy as np
g, s = sys.argv[1:]
for i, f in enumerate(sorted(os.listdir(g))):
    gts = np.load(os.path.join(g, f))["gts"]
    np.savez_compressed(os.path.join(s, f), segs=np.roll(gts, 3 * i, axis=1))
PY

# The same steps as a plain local run and as Slurm array jobs.
steps() { # prefix; prints one command per line as: N|command args
    local o=$1
    echo "3|$tools/medsam-pre-ct --img-dir CT/images --gt-dir CT/labels --out-dir $o/npz --modality CT --anatomy Stent"
    echo "2|$tools/medsam-pre-ct --img-dir MR/images --gt-dir MR/labels --out-dir $o/npz --modality MR --anatomy Brain"
    echo "3|$tools/medsam-pre-grey-rgb --img-dir 2D/images --gt-dir 2D/labels --out-dir $o/npz --modality Grey --anatomy Brain"
    echo "4|$tools/medsam-npz2npy $o/npz -o $o/npy"
    echo "2|$tools/medsam-eval --seg-dir segs --gt-dir gts -o $o/metrics-{K}.csv"
}
while IFS='|' read -r n c; do
    c=${c//\{K\}/all}
    $c >>local.log 2>&1 || fail "local run: $c"
done < <(steps ref)

mkdir -p slurm logs
while IFS='|' read -r n c; do
    # shellcheck disable=SC2086 # the command line is ours, without spaces in words
    timeout $WAIT "$mslurm" --array-size "$n" --log-dir logs --wait -- $c >>submit.log 2>&1 \
        || fail "array job (-n $n) of: $c (exit $?)"
    name=$(basename "${c%% *}")
    logs=$(ls logs/"$name"-*.log 2>/dev/null | wc -l)
    echo "array job of $name: $n tasks, $logs task logs"
done < <(steps slurm)
cat submit.log

# Every task ran its own part: 3 CT cases over 3 tasks, 3 2D cases over 3 tasks.
for f in logs/medsam-pre-grey-rgb-*.log; do
    grep -q '1 cases: 1 written' "$f" || { cat "$f"; fail "$f: not one case per task"; }
done
[ "$(ls logs/medsam-pre-grey-rgb-*.log | wc -l)" = 3 ] || fail "not 3 task logs for medsam-pre-grey-rgb"
[ "$(ls logs/medsam-pre-ct-*.log | wc -l)" = 5 ] || fail "not 5 task logs for medsam-pre-ct"

# Outputs: npz by content, npy byte for byte; metrics rows the same.
"$py" - ref slurm <<'PY' || fail "metrics differ"
import sys
def rows(d, names):
    out = []
    for n in names:
        lines = open(f"{d}/{n}").read().splitlines()
        assert lines[0].startswith("case,"), lines[:1]
        out += lines[1:]
    return sorted(out)
a = rows(sys.argv[1], ["metrics-all.csv"])
b = rows(sys.argv[2], ["metrics-0.csv", "metrics-1.csv"])
assert len(a) == 3 and a == b, (a, b)
print("metrics: 3 rows, the same")
PY
rm -f ref/metrics-*.csv slurm/metrics-*.csv
$check complete slurm --no-temps || fail "incomplete outputs"
$check same slurm ref || fail "Slurm outputs differ from the local run"
echo "slurm: ok"
