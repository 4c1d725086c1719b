#!/usr/bin/env bash
# Real multi-process runs (two MPI ranks on CPU, tiny model, in-memory
# identities): `rfm launch` with `rfm status`; forged heartbeats refused
# and counted; a SIGSTOPped rank and a
# killed rank end the whole job within 60 s, naming the rank; SIGUSR1 makes
# the job checkpoint and exit 75, and the next launch resumes; a rank's own
# error keeps its exit code and is not restarted.
set -uo pipefail
rfm=$1
# shellcheck source=process_test_harness.sh
source "$(dirname "$0")/process_test_harness.sh"
common=(--set data.source=RANDOM_IDENTITIES --set model.depth=18 --set model.num_parts=2 --set model.part_dim=8
        --set model.num_classes=8 --set data.height=64 --set data.width=32 --set data.ids_per_batch=2
        --set data.images_per_modality=2 --set data.random_images_per_identity=4 --set train.epochs=100000
        --set train.steps_per_epoch=10 --set train.threads=1 --set train.eval_every_epochs=0
        --set checkpoint.every_epochs=0 --set distributed.heartbeat_interval_s=0.5
        --set distributed.rank_timeout_s=10)

# shellcheck source=rank_status.sh
source "$(dirname "$0")/rank_status.sh"

# 1. rfm launch; `rfm status` sees both ranks; SIGSTOP rank 1.
"$rfm" launch --np 2 "${common[@]}" --set train.run_dir="$work/stop" >"$work/stop.log" 2>&1 &
launcher=$!
if pid=$(rank1_pid "$work/stop"); then
  "$rfm" status --run-dir "$work/stop" | grep -q "^1 " || fail "status lists no rank 1"
  # Strangers: heartbeats without the job's secret are refused and counted;
  # the job carries on and the targets file holds none of their addresses.
  [[ $(stat -c %a "$work/stop/supervisor.secret") == 600 ]] || fail "supervisor.secret is not mode 600"
  closed=$(python3 "$(dirname "$0")/send_forged_control_messages.py" "$(cat "$work/stop/supervisor.address")")
  [[ $closed == 3 ]] || fail "forged heartbeats: the supervisor closed $closed of 3 connections"
  "$rfm" status --run-dir "$work/stop" | grep -q "running, 2 rank(s), .*, 3 control message(s) refused" ||
    fail "status does not count 3 refused messages: $("$rfm" status --run-dir "$work/stop" | head -1)"
  ! grep -q stranger "$work/stop/prometheus-targets.json" || fail "a refused message reached the targets file"
  [[ $(grep -c "refused a control message from 127.0.0.1" "$work/stop.log") == 1 ]] ||
    fail "the stranger's address is not logged exactly once"
  echo "forged heartbeats: 3 refused and counted; the job runs on"
  kill -STOP "$pid"
  start=$SECONDS
  wait "$launcher"; rc=$?
  elapsed=$((SECONDS - start))
  kill -9 "$pid" 2>/dev/null
  [[ $rc -eq 6 ]] || fail "SIGSTOP: launcher exit $rc, expected 6"
  [[ $elapsed -lt 60 ]] || fail "SIGSTOP: took ${elapsed}s"
  grep -q "rank 1 (.*) sent no heartbeat" "$work/stop.log" || fail "SIGSTOP: rank 1 not named"
  echo "SIGSTOP rank 1: exit $rc after ${elapsed}s: $(grep -m1 'rank 1' "$work/stop.log")"
else
  fail "launch: ranks never reported progress"; cat "$work/stop.log"
fi

# 2. Plain mpirun (rank 0 hosts the supervisor); kill -9 rank 1.
mpirun -np 2 "$rfm" train "${common[@]}" --set train.run_dir="$work/kill" >"$work/kill.log" 2>&1 &
job=$!
if pid=$(rank1_pid "$work/kill"); then
  kill -9 "$pid"
  start=$SECONDS
  wait "$job"; rc=$?
  elapsed=$((SECONDS - start))
  [[ $rc -ne 0 ]] || fail "kill: exit 0"
  [[ $elapsed -lt 60 ]] || fail "kill: took ${elapsed}s"
  grep -Eq "rank 1 .*disconnected|rank 1 with PID" "$work/kill.log" || fail "kill: rank 1 not named"
  echo "kill -9 rank 1: exit $rc after ${elapsed}s: $(grep -m1 -E 'rank 1' "$work/kill.log")"
else
  fail "mpirun: ranks never reported progress"; cat "$work/kill.log"
fi

# 3. SIGUSR1 to the launcher: checkpoint at a step boundary, exit 75; the
# next launch resumes from it and finishes.
"$rfm" launch --np 2 "${common[@]}" --set train.run_dir="$work/preempt" >"$work/preempt.log" 2>&1 &
launcher=$!
if rank1_pid "$work/preempt" >/dev/null; then
  kill -USR1 "$launcher"
  wait "$launcher"; rc=$?
  [[ $rc -eq 75 ]] || { fail "SIGUSR1: exit $rc, expected 75"; tail -5 "$work/preempt.log"; }
  ckpt=$(ls "$work/preempt/checkpoints"/step-*.pt 2>/dev/null | tail -1)
  [[ -n $ckpt ]] || fail "SIGUSR1: no checkpoint"
  step=$(basename "$ckpt" .pt); step=$((10#${step#step-}))
  "$rfm" launch --np 2 "${common[@]}" --set train.run_dir="$work/preempt" --set train.max_steps=$((step + 2)) \
    >"$work/resume.log" 2>&1; rc=$?
  [[ $rc -eq 0 ]] || { fail "resume: exit $rc"; tail -5 "$work/resume.log"; }
  grep -q "resumed from .*step-0*$step.pt at step $step" "$work/resume.log" || fail "resume: did not resume at $step"
  [[ -f $work/preempt/checkpoints/last.pt ]] || fail "resume: no last.pt"
  echo "SIGUSR1: exit 75 with $(basename "$ckpt"); relaunch resumed at step $step and finished"
else
  fail "preempt: ranks never reported progress"; cat "$work/preempt.log"
fi

# 4. A rank's own error under `rfm launch` (a non-finite loss at lr 1e6) keeps
# its exit code (3, not 6 for a rank that disconnected), names the error,
# and is not restarted: it would recur from the same checkpoint.
"$rfm" launch --np 2 --max-restarts 2 "${common[@]}" --set optimizer.lr=1e6 --set train.max_steps=20 \
  --set train.run_dir="$work/nan" >"$work/nan.log" 2>&1; rc=$?
[[ $rc -eq 3 ]] || { fail "non-finite loss under launch: exit $rc, expected 3"; grep "rfm launch" "$work/nan.log"; }
grep -Eq "^rfm launch: rank [01] \(.*\) failed at step [0-9]+ \(exit 3\): step [0-9]+: non-finite loss" "$work/nan.log" ||
  fail "non-finite loss under launch: the rank's own error is not named"
! grep -q "restart 1 of" "$work/nan.log" || fail "non-finite loss under launch: restarted"
echo "non-finite loss under launch: exit $rc, not restarted: $(grep -m1 '^rfm launch: rank' "$work/nan.log" | cut -c1-100)"

finish "distributed faults: all passed"
