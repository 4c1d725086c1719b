#!/usr/bin/env bash
# TensorBoard event files as a user gets them: a one-process run on a small
# synthetic SYSU-MM01 with an evaluation each epoch, stopped at step 4 and
# resumed to step 8; tests/tensorboard/check_events.py reads the files with
# a reader written from TensorFlow's published formats and checks the CRCs,
# every step's scalars against train_log.tsv, every evaluation against
# eval_log.tsv, and the resume's session start; then TensorBoard's own loader
# (tests/tensorboard/check_with_tensorboard.py) must read every scalar as the logs say.
# tests/tensorboard_test.sh RFM
set -uo pipefail
rfm=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
cat >base.pbtxt <<'PBTXT'
name: "tensorboard"
model { depth: 18 last_stride: 1 num_parts: 2 part_dim: 16 num_classes: 0 attention: MAM metric_feature: BEFORE_BN }
loss { center_loss: CROSS_CENTER center_weight: 3 }
data { source: SYSU_MM01 root: "data/syn" height: 64 width: 32 ids_per_batch: 4 images_per_modality: 2 loader_threads: 1 }
synthetic { layout: SYSU_MM01 train_identities: 8 test_identities: 4 images_per_camera: 2 height: 64 width: 32 seed: 7 }
train { epochs: 4 steps_per_epoch: 2 eval_every_epochs: 1 seed: 3 threads: 1 device: "cpu" run_dir: "run" }
metrics { enabled: false }
checkpoint { every_epochs: 1 }
evaluation { trials: 2 }
PBTXT
"$rfm" synthesize --config base.pbtxt >/dev/null || { echo "FAIL: synthesize"; exit 1; }
"$rfm" train --config base.pbtxt --set train.max_steps=4 >first.log 2>&1 || { echo "FAIL: first run: $(tail -3 first.log)"; exit 1; }
sleep 1  # the resumed run's file is named by the second it starts in
"$rfm" train --config base.pbtxt >second.log 2>&1 || { echo "FAIL: resumed run: $(tail -3 second.log)"; exit 1; }
grep -q "resumed from .* at step 4" second.log || { echo "FAIL: the second run did not resume at step 4"; exit 1; }
python=${RFM_PYTHON:-python3}
"$python" "$here/tensorboard/check_events.py" run 4 || exit 1
# TensorBoard's own loader, on the same files: 4 identities x (2 + 2) images a step.
"$python" "$here/tensorboard/check_with_tensorboard.py" run 16
