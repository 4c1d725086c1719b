#!/usr/bin/env bash
# Slurm end to end, against a real Slurm (Debian's slurm-wlm 22.05) started
# here: munged on its own key and socket, slurmctld and slurmd on free ports
# with a generated slurm.conf (one node with this machine's CPUs and four
# GPU GRES whose "device files" are /dev/null, /dev/zero, /dev/full and
# /dev/urandom: Slurm allocates and binds them like GPUs; the ranks train on
# the CPU).  Nothing is mocked: sbatch, srun --mpi=pmix, scancel and
# scontrol requeue are Slurm's own.
#   1. A 2-point grid (lr 0.01 and 1e6) submitted by slurm/submit-grid as
#      one job array: one point finishes, the other stops with a non-finite
#      loss; `rfm grid collect` shows one FINISHED with its mAP and one
#      FAILED with exit code 3.  Resubmitting runs only the failed point.
#   2. slurm/rfm-train.sbatch with 2 ranks (srun --mpi=pmix): the batch
#      shell receives SIGUSR1 (as --signal=B:USR1@300 sends it before the time
#      limit); the ranks checkpoint, exit 75, the job requeues itself,
#      resumes from that checkpoint and completes: every step ran once.
#   3. The same run preempted by Slurm's scheduler (partition priority,
#      PreemptMode=REQUEUE): SIGTERM, checkpoint within GraceTime, requeue,
#      resume after the urgent job, every step once.
#   4. The same run with one rank killed by SIGKILL: exit 6, requeue,
#      resume from the newest periodic checkpoint, complete.
set -uo pipefail
rfm=$(realpath "$1")
src=$(realpath "$2")
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
for tool in munged mungekey slurmctld slurmd sbatch srun squeue scontrol scancel; do
  command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (scripts/setup installs slurm-wlm and munge)"; exit 1; }
done

work=$(mktemp -d /tmp/rfm-slurm.XXXXXX)
export SLURM_CONF=$work/slurm.conf
cleanup() {
  if [[ -f $work/slurmctld.pid ]]; then
    scancel --quiet --full --user="$(id -un)" 2>/dev/null
    scontrol shutdown >/dev/null 2>&1
    sleep 1
  fi
  for pid in "$work"/slurmctld.pid "$work"/slurmd.pid "$work"/munge/munged.pid; do
    [[ -f $pid ]] && kill -9 "$(cat "$pid")" 2>/dev/null
  done
  if ((failures)); then
    echo "--- slurmctld.log"; tail -20 "$work/log/slurmctld.log" 2>/dev/null
    echo "--- slurmd.log"; tail -20 "$work/log/slurmd.log" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# munged, by hand, on its own key and socket.
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log"
chmod 700 "$work/munge"
mungekey --create --keyfile="$work/munge/munge.key" --force >/dev/null && chmod 600 "$work/munge/munge.key"
munged --force --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed" ||
  { echo "FAIL: munged did not start: $(tail -3 "$work/munge/munged.log")"; exit 1; }

node=$(hostname -s)
cat >"$SLURM_CONF" <<EOF
ClusterName=rfmtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start
# again (default 120 s).
AuthInfo=socket=$work/munge/munge.socket,cred_expire=5
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=20
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=8000 Gres=gpu:4 State=UNKNOWN
# Preemption by partition priority: a job in "urgent" requeues what it needs
# of "debug", after GraceTime (SIGTERM first).
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
PartitionName=debug Nodes=$node Default=YES MaxTime=60 State=UP PriorityTier=1 GraceTime=60
PartitionName=urgent Nodes=$node MaxTime=60 State=UP PriorityTier=2 PreemptMode=OFF
EOF
printf 'Name=gpu File=%s\n' /dev/null /dev/zero /dev/full /dev/urandom >"$work/gres.conf"
slurmctld -i || { fail "slurmctld did not start"; exit 1; }
slurmd || { fail "slurmd did not start"; exit 1; }
idle=""
for _ in $(seq 1 100); do
  idle=$(sinfo -h -o %T 2>/dev/null)
  [[ $idle == idle ]] && break
  sleep 0.2
done
[[ $idle == idle ]] || { fail "the node did not become idle (state '$idle')"; exit 1; }
echo "slurm: $node idle ($(nproc) CPUs, gpu:4)"

# Waits until job $1 has left the queue (every array task ended), at most $2 s.
wait_job() {
  for _ in $(seq 1 $(($2 * 2))); do
    [[ -z $(squeue -h -j "$1" -o %i 2>/dev/null) ]] && return 0
    sleep 0.5
  done
  fail "job $1 still queued after $2 s: $(squeue -j "$1" 2>&1 | tail -2)"
  return 1
}

cd "$work" || exit 1
export RFM_HOME=$src RFM_BIN=$rfm
cat >base.pbtxt <<'EOF'
name: "slurm-test"
model { depth: 18 last_stride: 1 num_parts: 2 part_dim: 16 num_classes: 0 attention: MAM metric_feature: BEFORE_BN }
loss { center_loss: CROSS_CENTER center_weight: 0.5 }
optimizer { lr: 0.01 }
data { source: SYSU_MM01 root: "data/syn" height: 64 width: 32 ids_per_batch: 4 images_per_modality: 2 loader_threads: 1 }
synthetic { layout: SYSU_MM01 train_identities: 8 test_identities: 4 images_per_camera: 2 height: 64 width: 32 seed: 7 }
train { epochs: 2 eval_every_epochs: 1 seed: 1 threads: 1 device: "cpu" }
evaluation { trials: 2 }
metrics { base_port: 0 log_every_steps: 5 }
checkpoint { every_epochs: 1 keep_last: 2 }
EOF
"$rfm" synthesize --config base.pbtxt >/dev/null || { fail "synthesize"; exit 1; }

# 1. The grid as a job array.
mkdir -p grids
cat >grids/lr.pbtxt <<'EOF'
name: "lr"
base_config: "../base.pbtxt"
axis { field: "optimizer.lr" values: ["0.01", "1e6"] }
max_concurrent: 2
EOF
sbatch_args=(--ntasks=1 --cpus-per-task=1 --gpus-per-task=1 --time=10)
out=$("$src/slurm/submit-grid" grids/lr.pbtxt "${sbatch_args[@]}" 2>&1)
echo "$out"
array=$(sed -n 's/.*submitted job array \([0-9]*\) (points 0-1%2).*/\1/p' <<<"$out")
[[ -n $array ]] || fail "submit-grid did not submit points 0-1%2 as one array"
if [[ -n $array ]]; then
  again=$("$src/slurm/submit-grid" grids/lr.pbtxt "${sbatch_args[@]}" 2>&1)
  [[ $again == *"still has jobs in the queue ($array"* ]] || fail "a second submission while queued: $again"
  wait_job "$array" 240
fi
"$rfm" grid collect --grid grids/lr.pbtxt >collect.md 2>collect.err || fail "rfm grid collect: $(cat collect.err)"
cat collect.md
csv=runs/grids/lr/results.csv
echo "--- $csv"; cat "$csv"
# order,point,lr,state,exit_code,map,rank1,minp,eval_step,best_map,best_step,steps,restarts,job,protocol,run_dir
row1=$(sed -n 2p "$csv")
row2=$(sed -n 3p "$csv")
[[ $(head -1 "$csv") == order,point,lr,state,exit_code,map,rank1,minp,eval_step,* ]] || fail "CSV header: $(head -1 "$csv")"
[[ $row1 =~ ^1,lr-0.01,0.01,FINISHED,0,[0-9]+\.[0-9]{2},[0-9.]+,[0-9.]+,10, ]] || fail "the finished point: $row1"
[[ $row1 == *",${array}_0,SYSU-MM01 all-search single-shot,runs/grids/lr/lr-0.01" ]] || fail "the finished point's job: $row1"
[[ $row2 =~ ^2,lr-1e6,1e6,FAILED,3,,,,, ]] || fail "the diverging point shows as failed with exit 3: $row2"
grep -q "2 points, 1 finished, 1 failed" collect.md || fail "the Markdown summary"
[[ $(head -c 8 runs/grids/lr/results.png | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "results.png is not a PNG"
grep -q "non-finite loss" "slurm-rfm-grid-lr-${array}_1.out" || fail "the failed task's log names the non-finite loss"
grep -q "state: FINISHED" runs/grids/lr/lr-0.01/grid_status.pbtxt || fail "status of the finished point"

# Resubmitting skips the finished point.
out=$("$src/slurm/submit-grid" grids/lr.pbtxt "${sbatch_args[@]}" 2>&1)
echo "$out"
array2=$(sed -n 's/.*submitted job array \([0-9]*\) (points 1%2).*/\1/p' <<<"$out")
[[ -n $array2 ]] || fail "the resubmission should run point 1 only"
[[ -n $array2 ]] && wait_job "$array2" 120
"$rfm" grid collect --grid grids/lr.pbtxt >/dev/null 2>&1
grep -q "^1,lr-0.01,0.01,FINISHED,0,.*,${array}_0," "$csv" || fail "the finished point kept its first run: $(sed -n 2p "$csv")"
grep -q "^2,lr-1e6,1e6,FAILED,3,.*,${array2}_1," "$csv" || fail "the failed point ran again: $(sed -n 3p "$csv")"

# 2 and 3: a 2-rank run stopped mid-way: checkpoint, exit 75, requeue, resume.
steps=30
# Submits the run into runs/$1 (further arguments go to rfm train) and waits until it has trained 4 steps; prints the job id.
start_run() {
  local job log=runs/$1/train_log.tsv run=$1
  shift
  job=$(sbatch --parsable --ntasks=2 --ntasks-per-node=2 --cpus-per-task=1 --gpus-per-node=2 --time=10 \
    --output="$work/train-%j.out" "$src/slurm/rfm-train.sbatch" --config base.pbtxt --set train.epochs=6 \
    --set train.eval_every_epochs=0 --set checkpoint.every_epochs=0 --set train.run_dir="runs/$run" "$@")
  [[ -n $job ]] || { fail "sbatch rfm-train.sbatch"; return 1; }
  for _ in $(seq 1 240); do
    [[ -f $log && $(wc -l <"$log") -ge 5 ]] && break
    sleep 0.5
  done
  [[ -f $log && $(wc -l <"$log") -ge 5 ]] || fail "job $job did not start training: $(tail -3 "train-$job.out" 2>&1)"
  echo "$job"
}
# After job $1 (run directory runs/$2) was told to stop (by signal $3 to
# the batch shell, when given): it wrote a checkpoint, requeued, resumed
# there and completed, every step once.
check_requeued_run() {
  local job=$1 run=runs/$2 signal=$3 info stopped resumed
  wait_job "$job" 240
  echo "--- train-$job.out"; cat "train-$job.out"
  info=$(scontrol show job "$job")
  [[ $info == *"JobState=COMPLETED"* ]] || fail "job $job did not complete: $(grep -o 'JobState=[A-Z_]*' <<<"$info")"
  [[ $info == *"Restarts=1"* ]] || fail "job $job should have been requeued once: $(grep -o 'Restarts=[0-9]*' <<<"$info")"
  grep -q "srun --mpi=pmix --ntasks=2" "train-$job.out" || fail "the ranks ran under srun --mpi=pmix"
  if [[ -n $signal ]]; then
    grep -q "rfm-step: $signal: asking the ranks to checkpoint" "train-$job.out" || fail "$signal reached rfm-step"
  fi
  grep -q "checkpoint written; requeueing job $job" "train-$job.out" || fail "exit 75 became a requeue"
  stopped=$(sed -n 's/.*stop requested .*written at step \([0-9]*\).*/\1/p' "train-$job.out" | head -1)
  resumed=$(sed -n 's/^resumed from .* at step \([0-9]*\)$/\1/p' "train-$job.out" | head -1)
  [[ -n $stopped && $stopped -ge 4 && $stopped -lt $steps ]] || fail "a stop checkpoint mid-run (step '$stopped')"
  [[ -n $resumed && $resumed == "$stopped" ]] || fail "resumed at step '$resumed', the stop checkpoint is at '$stopped'"
  cut -f1 "$run/train_log.tsv" | tail -n +2 >steps.txt
  seq 0 $((steps - 1)) >expected.txt
  cmp -s steps.txt expected.txt || fail "$run/train_log.tsv should hold steps 0..$((steps - 1)) once each: $(tr '\n' ' ' <steps.txt)"
  [[ -s $run/checkpoints/last.pt ]] || fail "$run: no final checkpoint"
}

# 2. The time-limit warning: the batch shell gets SIGUSR1, as
# --signal=B:USR1@300 sends it.
job=$(start_run signalled)
if [[ -n $job ]]; then
  scancel --signal=USR1 --batch "$job" || fail "scancel --signal=USR1 --batch $job"
  check_requeued_run "$job" signalled SIGUSR1
fi

# 3. Preemption decided by Slurm: a job in the higher-priority partition
# needs the node's CPUs.  Slurm sends SIGTERM to the ranks themselves (not
# to the batch shell) and gives them GraceTime to checkpoint.
job=$(start_run preempted)
if [[ -n $job ]]; then
  urgent=$(sbatch --parsable --partition=urgent --ntasks=2 --cpus-per-task=1 --output="$work/urgent-%j.out" \
    --wrap "echo urgent ran")
  check_requeued_run "$job" preempted ""
  grep -q "urgent ran" "urgent-$urgent.out" 2>/dev/null || fail "the urgent job did not run"
fi

# 4. A rank killed (SIGKILL: what the OOM killer does; a lost node ends the
# step alike): the supervisor ends the step with exit 6, rfm-step requeues
# the job, and it resumes from its newest periodic checkpoint and completes.
job=$(start_run killed --set checkpoint.every_steps=5)
if [[ -n $job ]]; then
  for _ in $(seq 1 240); do
    [[ -f runs/killed/checkpoints/step-00000005.pt ]] && break
    sleep 0.25
  done
  victim=$(pgrep -f "rfm train .*runs/killed" | sort -n | tail -1)
  [[ -n $victim ]] && kill -9 "$victim"
  wait_job "$job" 240
  echo "--- train-$job.out"; cat "train-$job.out"
  info=$(scontrol show job "$job")
  [[ $info == *"JobState=COMPLETED"* ]] || fail "job $job did not complete: $(grep -o 'JobState=[A-Z_]*' <<<"$info")"
  [[ $info == *"Restarts=1"* ]] || fail "job $job should have been requeued once: $(grep -o 'Restarts=[0-9]*' <<<"$info")"
  grep -q "rfm-step: a rank died or hung (exit [0-9]*); the job resumes from its newest checkpoint; requeueing job $job" \
    "train-$job.out" || fail "the killed rank's step did not become a requeue"
  resumed=$(sed -n 's/^resumed from .* at step \([0-9]*\)$/\1/p' "train-$job.out" | head -1)
  [[ -n $resumed && $resumed -ge 5 ]] || fail "the requeued job did not resume from a checkpoint (step '$resumed')"
  grep -q "Slurm requeue 1" "train-$job.out" || fail "the requeued run's log does not say it is requeue 1"
  [[ -s runs/killed/checkpoints/last.pt ]] || fail "runs/killed: no final checkpoint"
fi

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "slurm: all checks passed"
