#!/usr/bin/env bash
# Stop signals under real processes (two MPI ranks on CPU, the synthetic
# dataset, Winograd convolutions through oneDNN's sgemm on):
#  1. every thread of each running rank has SIGTERM and SIGUSR1 blocked
#     (/proc/PID/task/*/status), so no handler can interrupt a JIT kernel
#     that moved rsp into the heap (oneDNN #4845; stop_signals.h);
#  2. RUNS runs are sent SIGTERM to both ranks at varied points: every one
#     must stop at a step boundary with exit 75, a loadable checkpoint and
#     no abort, where before the watcher 3 of 6 such runs died of glibc heap
#     corruption (at that rate 10 clean runs by chance are 1 in 1000);
#  3. the last one resumes from its checkpoint and finishes.
# tests/stop_signal_test.sh RFM [RUNS]
set -uo pipefail
rfm=$1
runs=${2:-10}
# shellcheck source=process_test_harness.sh
source "$(dirname "$0")/process_test_harness.sh"
cd "$work" || exit 1
cat >base.pbtxt <<'EOF'
name: "stop-signal-test"
model { depth: 18 last_stride: 1 num_parts: 2 part_dim: 16 num_classes: 0 attention: MAM metric_feature: BEFORE_BN }
loss { center_loss: CROSS_CENTER center_weight: 0.5 }
optimizer { lr: 0.01 }
data { source: SYSU_MM01 root: "data/syn" height: 64 width: 32 ids_per_batch: 4 images_per_modality: 2 loader_threads: 1 }
synthetic { layout: SYSU_MM01 train_identities: 8 test_identities: 4 images_per_camera: 2 height: 64 width: 32 seed: 7 }
train { epochs: 40 eval_every_epochs: 0 seed: 1 threads: 1 device: "cpu" }
cpu_kernels { winograd_min_channels: 64 }
metrics { base_port: 0 log_every_steps: 1 }
checkpoint { every_epochs: 0 keep_last: 2 }
EOF
"$rfm" synthesize --config base.pbtxt >/dev/null || { echo "FAIL: synthesize"; exit 1; }
# The steps a run has logged (train_log.tsv is flushed every step here).
steps_done() { [[ -f $1/train_log.tsv ]] && echo $(($(wc -l <"$1/train_log.tsv") - 1)) || echo 0; }
# Starts a 2-rank run into $1 and waits until it has done $2 steps; sets
# job (mpirun's pid) and ranks (the two rank pids).
start_run() {
  mpirun -np 2 "$rfm" train --config base.pbtxt --set train.run_dir="$1" >"$1.log" 2>&1 &
  job=$!
  for _ in $(seq 1 2400); do  # up to 2 minutes: a sanitizer build starts slowly
    (($(steps_done "$1") >= $2)) && break
    sleep 0.05
  done
  ranks=$(pgrep -P "$job" -f "rfm train")
}

# 1. The mask of every thread of both ranks.
start_run "$work/mask" 2
[[ $(wc -w <<<"$ranks") -eq 2 ]] || fail "mask: expected two rank processes under mpirun, found '$ranks'"
for pid in $ranks; do
  threads=0 watchers=0 before=$failures
  for status in /proc/"$pid"/task/*/status; do
    mask=$(awk '/^SigBlk:/ {print $2}' "$status" 2>/dev/null) || continue
    [[ -n $mask ]] || continue
    # The watcher, in sigwait, shows them unblocked: it alone may take them.
    if [[ $(cat "$(dirname "$status")/comm") == rfm-stop-signal ]]; then
      watchers=$((watchers + 1))
      continue
    fi
    threads=$((threads + 1))
    # SIGUSR1 (10) is bit 9, SIGTERM (15) bit 14.
    (((0x$mask & 0x4200) == 0x4200)) || fail "rank pid $pid thread $(basename "$(dirname "$status")") ($(cat "$(dirname "$status")/comm")) does not block SIGTERM and SIGUSR1 (SigBlk $mask)"
  done
  ((threads >= 3)) || fail "rank pid $pid: only $threads threads seen"
  ((watchers == 1)) || fail "rank pid $pid: $watchers stop-signal watcher threads, expected 1"
  ((failures == before)) && echo "mask: rank pid $pid: SIGTERM and SIGUSR1 blocked in all $threads threads but the watcher's"
done
kill -9 $ranks "$job" 2>/dev/null
wait "$job" 2>/dev/null

# 2. SIGTERM to both ranks after 2, 3, ... steps and a varied delay.
for i in $(seq 1 "$runs"); do
  dir=$work/stop-$i
  start_run "$dir" $((1 + i % 5))
  sleep "0.$((i * 37 % 10))"
  kill -TERM $ranks 2>/dev/null
  wait "$job"; rc=$?
  log=$dir.log
  if grep -Eq "corrupted|free\(\)|double free|malloc\(\)|Segmentation|Aborted|signal [0-9]+|core dumped" "$log"; then
    fail "run $i aborted: $(grep -m1 -oEa ".{0,40}(corrupted|free\(\)|double free|malloc\(\)|Segmentation|Aborted|signal [0-9]+|core dumped).{0,40}" "$log")"
    continue
  fi
  [[ $rc -eq 75 ]] || { fail "run $i: exit $rc, expected 75"; tail -3 "$log"; continue; }
  at=$(sed -n 's/.*stop requested .*written at step \([0-9]*\).*/\1/p' "$log" | head -1)
  [[ -n $at && -s $dir/checkpoints/step-$(printf %08d "$at").pt ]] || { fail "run $i: no checkpoint of the stop"; continue; }
  echo "run $i: SIGTERM to both ranks, stopped at step $at with its checkpoint, exit 75"
done

# 3. The last stopped run resumes where it stopped and finishes.
dir=$work/stop-$runs
if [[ -d $dir/checkpoints ]]; then
  at=$(sed -n 's/.*stop requested .*written at step \([0-9]*\).*/\1/p' "$dir.log" | head -1)
  mpirun -np 2 "$rfm" train --config base.pbtxt --set train.run_dir="$dir" --set train.max_steps=$((at + 3)) \
    >"$dir.resume.log" 2>&1 || fail "resume: exit $?"
  grep -q "resumed from .* at step $at" "$dir.resume.log" || fail "resume: not at step $at: $(tail -2 "$dir.resume.log")"
  [[ -s $dir/checkpoints/last.pt ]] || fail "resume: no last.pt"
  echo "resume: from step $at to $((at + 3))"
fi

finish "stop signals: all passed"
