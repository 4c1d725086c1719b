#!/usr/bin/env bash
# Restart after a failure and resume at another world size, with real
# processes (two MPI ranks on CPU, tiny ResNet-18):
#  1. `rfm launch --np 2 --max-restarts 1`: rank 1 is killed with SIGKILL
#     mid-run; the supervisor names it, the launcher starts the job again,
#     it resumes from the newest checkpoint and finishes, its final weights
#     are bit-identical to an uninterrupted run's (`rfm inspect`'s digest),
#     and the restart shows in the log and in Prometheus (rfm_job_restarts);
#  2. a run checkpointed by 2 ranks resumes on 1, and one checkpointed by 1
#     resumes on 2 (the synthetic dataset through the sampler and loader,
#     LTG on, float64, sync BN): every step's losses equal one process's
#     uninterrupted run, so training went on over the same global batches.
# tests/restart_resume_test.sh RFM
set -uo pipefail
rfm=$1
# shellcheck source=process_test_harness.sh
source "$(dirname "$0")/process_test_harness.sh"
# shellcheck source=rank_status.sh
source "$(dirname "$0")/rank_status.sh"
digest() { "$rfm" inspect --checkpoint "$1" | awk '$1 == "weights_digest:" {print $2}'; }

# 1. Restart after SIGKILL of a rank.
common=(--set data.source=RANDOM_IDENTITIES --set model.depth=18 --set model.num_parts=2 --set model.part_dim=8
        --set model.num_classes=8 --set data.height=64 --set data.width=32 --set data.ids_per_batch=2
        --set data.images_per_modality=2 --set data.random_images_per_identity=4 --set train.epochs=4
        --set train.steps_per_epoch=10 --set train.threads=1 --set train.eval_every_epochs=0
        --set checkpoint.every_epochs=0 --set checkpoint.every_steps=5 --set distributed.heartbeat_interval_s=0.5
        --set distributed.rank_timeout_s=10 --set metrics.base_port=0)
"$rfm" launch --np 2 "${common[@]}" --set train.run_dir="$work/straight" >"$work/straight.log" 2>&1 ||
  fail "uninterrupted run: exit $?: $(tail -3 "$work/straight.log")"
# Its output is a file: plain lines, not a progress bar's redraws (mpirun
# hands the ranks a pseudo-terminal; the launcher tells them the truth).
grep -q $'\e\[K' "$work/straight.log" && fail "a progress bar's escape codes in a log file"
grep -q "^step 40/40 epoch" "$work/straight.log" || fail "no plain step lines in the log: $(tail -3 "$work/straight.log")"
"$rfm" launch --np 2 --max-restarts 1 "${common[@]}" --set metrics.linger_s=20 --set train.run_dir="$work/restart" \
  >"$work/restart.log" 2>&1 &
launcher=$!
if pid=$(rank1_pid "$work/restart" 12); then
  kill -9 "$pid"
  # The second attempt's rank 0 serves its metrics for 20 s after the end.
  address=""
  for _ in $(seq 1 600); do
    if grep -q "^done:" "$work/restart.log"; then
      address=$(grep -o "^rfm: rank 0: metrics at http://[^ ]*" "$work/restart.log" | tail -1 | sed 's/^.*metrics at //')
      break
    fi
    sleep 0.2
  done
  scrape=$(curl -s --max-time 5 "$address" 2>/dev/null)
  wait "$launcher"; rc=$?
  [[ $rc -eq 0 ]] || fail "restart: exit $rc, expected 0: $(tail -3 "$work/restart.log")"
  grep -q "rank 1 .*; terminating the job" "$work/restart.log" || fail "restart: the supervisor did not name rank 1"
  grep -q "restart 1 of 1: the workers resume from the newest checkpoint" "$work/restart.log" ||
    fail "restart: the launcher did not restart the job"
  grep -q "restart 1 of the job" "$work/restart.log" || fail "restart: the workers' log does not say restart 1"
  at=$(sed -n 's/^resumed from .*step-0*\([0-9]*\)\.pt at step \([0-9]*\)$/\2/p' "$work/restart.log" | tail -1)
  [[ -n $at && $at -ge 10 ]] || fail "restart: did not resume from a checkpoint at step >= 10 (got '$at')"
  grep -Eq '^rfm_job_restarts\{.*rank="0".*\} 1$' <<<"$scrape" ||
    fail "restart: rfm_job_restarts is not 1 at $address: $(grep rfm_job_restarts <<<"$scrape")"
  a=$(digest "$work/straight/checkpoints/last.pt") b=$(digest "$work/restart/checkpoints/last.pt")
  [[ -n $a && $a == "$b" ]] || fail "restart: final weights $b differ from the uninterrupted run's $a"
  echo "restart: rank 1 killed, job restarted and resumed at step $at; final weights digest $b, as uninterrupted"
else
  fail "restart: ranks never reached step 12"; cat "$work/restart.log"
fi

# 2. Resume at another world size.
cd "$work" || exit 1
cat >base.pbtxt <<'EOF'
name: "world-size-resume"
model { depth: 18 last_stride: 1 num_parts: 2 part_dim: 16 num_classes: 0 attention: MAM metric_feature: BEFORE_BN }
loss { center_loss: CROSS_CENTER center_weight: 3 }
data { source: SYSU_MM01 root: "data/syn" height: 64 width: 32 ids_per_batch: 4 images_per_modality: 2 loader_threads: 1 }
synthetic { layout: SYSU_MM01 train_identities: 8 test_identities: 4 images_per_camera: 2 height: 64 width: 32 seed: 7 }
train { epochs: 100 max_steps: 16 eval_every_epochs: 0 seed: 3 threads: 1 device: "cpu" precision: FP64 }
metrics { enabled: false }
distributed { sync_batchnorm: true }
checkpoint { every_epochs: 0 every_steps: 0 }
EOF
"$rfm" synthesize --config base.pbtxt >/dev/null || fail "synthesize"
# One rank (plain) or two (mpirun) training RUN to step STOP.
train_to() {  # RANKS RUN STOP
  local launch=()
  (($1 > 1)) && launch=(mpirun -np "$1")
  "${launch[@]}" "$rfm" train --config base.pbtxt --set train.run_dir="$2" --set train.max_steps="$3" \
    >>"$2.log" 2>&1 || fail "$2: $1 rank(s) to step $3: exit $?: $(tail -2 "$2.log")"
}
# Every logged step's loss terms of run $1 within 1e-5 of run $2's.
same_losses() {
  awk -F'\t' 'FNR == 1 {next} NR == FNR {ref[$1] = $4 " " $5 " " $6 " " $7 " " $8; next}
    { n++; split(ref[$1], r, " "); split($4 " " $5 " " $6 " " $7 " " $8, o, " ")
      if (!($1 in ref)) {print "step " $1 " missing"; bad++; next}
      for (i = 1; i <= 5; i++) { d = o[i] - r[i]; if (d < 0) d = -d; s = r[i] < 0 ? -r[i] : r[i]
        if (d > 1e-5 * (s > 1 ? s : 1)) {print "step " $1 " term " i ": " o[i] " vs " r[i]; bad++} } }
    END {if (n != 16) {print n " steps logged, expected 16"; bad++} exit bad > 0}' "$2/train_log.tsv" "$1/train_log.tsv"
}
train_to 1 one 16
train_to 2 two-one 8
train_to 1 two-one 16
train_to 1 one-two 8
train_to 2 one-two 16
for run in two-one one-two; do
  grep -q "resumed from .* at step 8" "$run.log" || fail "$run: did not resume at step 8"
  if diff=$(same_losses "$run" one); then
    echo "world size: $run resumed at step 8; every step's losses as one process's uninterrupted run"
  else
    fail "world size: $run's losses differ from one process's: $diff"
  fi
done

finish "restart and resume: all passed"
