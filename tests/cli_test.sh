#!/usr/bin/env bash
# The `rfm` command as a user meets it.  usage: cli_test.sh RFM SOURCE_DIR
set -u
rfm=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=check_command.sh
source "$(dirname "$0")/check_command.sh"

check "unknown command" 2 "unknown command 'fly'" -- "$rfm" fly
check "version: the commit" 0 "^rfm [0-9a-f]{12}" -- "$rfm" version
check "version: LibTorch, MPI, GPUs" 0 "LibTorch [0-9]+\.[0-9]+\.[0-9]+.*MPI [A-Za-z].*GPU " -- bash -c "'$rfm' version | tr '\n' ' '"
check "grid needs an action" 2 "grid needs one action" -- "$rfm" grid --grid x.pbtxt
check "grid unknown action" 2 "unknown action 'run'" -- "$rfm" grid run --grid "$src/configs/grids/demo_center_weight.pbtxt"
check "grid file missing" 2 "nope.pbtxt: cannot open the grid file" -- "$rfm" grid expand --grid "$work/nope.pbtxt"
check "grid point invalid" 2 "g.pbtxt: point epochs-0: .*train.epochs" -- bash -c \
  "printf 'name: \"g\" base_config: \"$src/configs/demo_cpu.pbtxt\" axis { field: \"train.epochs\" values: [\"0\"] }' >'$work/g.pbtxt' && '$rfm' grid expand --grid '$work/g.pbtxt'"
check "rfm-step outside Slurm" 2 "rfm-step: not inside a Slurm job" -- env -u SLURM_JOB_ID "$src/slurm/rfm-step" --config x
check "missing config file" 2 "^/nope.pbtxt: cannot open the configuration file$" -- "$rfm" train --config /nope.pbtxt
printf 'model {\n  depth: 50\n  colour: 1\n}\n' >"$work/bad.pbtxt"
check "unknown field" 2 "bad.pbtxt:3:[0-9]+: .*colour" -- "$rfm" check-config --config "$work/bad.pbtxt"
check "out of range" 2 "invalid config: ltg.probability = 2: allowed range \[0, 1\]" -- "$rfm" check-config --set ltg.probability=2
check "bad override" 2 "--set model.bar: 'rfm.config.ModelConfig' has no field 'bar'" -- "$rfm" check-config --set model.bar=1
check "effective config" 0 "beta_a: 0.5" -- "$rfm" check-config --config "$src/configs/demo_cpu.pbtxt"
random="$src/configs/random_identities_cpu.pbtxt"
check "missing weights" 1 "rfm: /nope/r50.pth: cannot open the weights file" -- \
  "$rfm" train --config "$random" --set model.pretrained=/nope/r50.pth --set train.run_dir="$work/run0"
check "no dataset" 4 "rfm: SYSU-MM01: /x: dataset root is not a directory" -- \
  "$rfm" train --config "$random" --set data.source=SYSU_MM01 --set data.root=/x --set model.num_classes=0 \
  --set train.run_dir="$work/run0"
check "num_classes 0 without a dataset" 2 "model.num_classes = 0: allowed range" -- \
  "$rfm" check-config --config "$random" --set model.num_classes=0
check "train" 0 "done: 3 steps" -- "$rfm" train --config "$random" --set train.max_steps=3 \
  --set train.run_dir="$work/run"
check "supervisor without its secret" 2 "RFM_SUPERVISOR is set but RFM_JOB_SECRET is not" -- \
  env RFM_SUPERVISOR=127.0.0.1:9 "$rfm" train --config "$random" --set train.max_steps=1 --set train.run_dir="$work/run1"
check "status without a job" 1 "run-none/supervisor.address: no supervisor address" -- \
  "$rfm" status --run-dir "$work/run-none"
mkdir -p "$work/run-old" && echo 127.0.0.1:9 >"$work/run-old/supervisor.address"
check "status without the secret" 2 "run-old/supervisor.secret: cannot read the job's secret" -- \
  "$rfm" status --run-dir "$work/run-old"
check "bad control address" 2 "distributed.control_address = \"node7\": must be an IPv4 or IPv6 address" -- \
  "$rfm" check-config --set distributed.control_address=node7
[[ -s $work/run/config.pbtxt && $(wc -l <"$work/run/train_log.tsv") -eq 4 ]] && passes=$((passes + 1)) ||
  { echo "FAIL run directory"; failures=$((failures + 1)); }
check "preview" 0 "wrote .*grid.png" -- "$rfm" ltg-preview --out "$work/grid.png" --count 4 --set data.height=128 --set data.width=64 --set model.num_parts=4
[[ $(head -c 8 "$work/grid.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] && passes=$((passes + 1)) ||
  { echo "FAIL preview is not a PNG"; failures=$((failures + 1)); }
check "preview needs --out" 2 "ltg-preview needs --out" -- "$rfm" ltg-preview

# The data path of the main job: synthesize, validate, pack, train.
demo="$src/configs/demo_cpu.pbtxt"
data=(--set data.root="$work/syn" --set data.pack="$work/syn.pack" --set synthetic.train_identities=12
      --set synthetic.test_identities=4 --set synthetic.images_per_camera=2)
check "synthesize" 0 "wrote synthetic SYSU_MM01 dataset in .*/syn: 16 identities" -- "$rfm" synthesize --config "$demo" "${data[@]}"
check "synthesize again" 0 "found synthetic SYSU_MM01 dataset" -- "$rfm" synthesize --config "$demo" "${data[@]}"
check "validate" 0 "SYSU-MM01 is valid" -- "$rfm" validate --config "$demo" "${data[@]}"
check "pack" 0 "packed [0-9]+ images of SYSU-MM01 at 128x64" -- "$rfm" pack --config "$demo" "${data[@]}"
check "train on the pack" 0 "done: 2 steps" -- "$rfm" train --config "$demo" "${data[@]}" --set train.max_steps=2 \
  --set train.run_dir="$work/syn-run"
grep -q "num_classes: 12" "$work/syn-run/config.pbtxt" && passes=$((passes + 1)) ||
  { echo "FAIL num_classes from the dataset"; failures=$((failures + 1)); }
check "wrong num_classes" 2 "model.num_classes = 7: SYSU-MM01 has 12 training identities" -- \
  "$rfm" train --config "$demo" "${data[@]}" --set model.num_classes=7 --set train.max_steps=1 --set train.run_dir="$work/r2"
check "stale pack" 4 "syn.pack: stale pack: built at 128x64, the configuration asks for 256x128" -- \
  "$rfm" train --config "$demo" "${data[@]}" --set data.height=256 --set data.width=128 --set train.max_steps=1 \
  --set train.run_dir="$work/r3"
printf 'RFMPACK1garbage' >"$work/bad.pack"
check "corrupt pack" 4 "bad.pack: .*rebuild it with .rfm pack." -- \
  "$rfm" train --config "$demo" "${data[@]}" --set data.pack="$work/bad.pack" --set train.max_steps=1 --set train.run_dir="$work/r4"
ckpt="$work/syn-run/checkpoints/last.pt"
check "evaluate a checkpoint" 0 "\| SYSU-MM01 all-search single-shot \| 2 \|" -- \
  "$rfm" evaluate --checkpoint "$ckpt" --set evaluation.trials=2 --out "$work/eval" --export-features "$work/feat"
for f in report.json report.md cmc.png rank_list_sysu-mm01-indoor-search-single-shot.png; do
  [[ -s "$work/eval/$f" ]] && passes=$((passes + 1)) || { echo "FAIL evaluate wrote no $f"; failures=$((failures + 1)); }
done
# Features as another codebase would hand them over: numpy float64 in
# Fortran order, no paths, no features.pbtxt.  Same numbers.
if "${RFM_PYTHON:-python3}" -c "import numpy" 2>/dev/null; then
  "${RFM_PYTHON:-python3}" - "$work/feat" "$work/foreign" <<'PY'
import os, shutil, sys
import numpy as np
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
for role in ("query", "gallery"):
    x = np.load(os.path.join(src, role + ".npy"))
    labels = np.loadtxt(os.path.join(src, role + "_labels.txt"), dtype=np.int64, ndmin=2)
    assert x.dtype == np.float32 and x.shape[0] == labels.shape[0], (x.dtype, x.shape, labels.shape)
    np.save(os.path.join(dst, role + ".npy"), np.asfortranarray(x.astype(np.float64)))
    shutil.copy(os.path.join(src, role + "_labels.txt"), dst)
PY
  check "evaluate foreign features" 0 "SYSU-MM01 protocol" -- "$rfm" evaluate-features --features "$work/foreign" \
    --dataset sysu-mm01 --set evaluation.trials=2 --out "$work/eval-foreign"
  if diff <(grep "^| SYSU" "$work/eval/report.md") <(grep "^| SYSU" "$work/eval-foreign/report.md") >/dev/null; then
    passes=$((passes + 1))
  else
    echo "FAIL foreign features give other numbers"; failures=$((failures + 1))
  fi
fi
check "features without a dataset name" 1 "foreign: no features.pbtxt names the dataset" -- \
  "$rfm" evaluate-features --features "$work/foreign" --out "$work/eval-x"
head -c 100 "$work/feat/query.npy" >"$work/short.npy" && mkdir -p "$work/cut" && cp "$work"/feat/* "$work/cut/" &&
  mv "$work/short.npy" "$work/cut/query.npy"
check "truncated features" 5 "cut/query.npy: not a readable .npy matrix" -- \
  "$rfm" evaluate-features --features "$work/cut" --out "$work/eval-x"
head -c 5000 "$ckpt" >"$work/cut.pt"
# A device this machine lacks is the configuration's error, as in training, not CUDA's.
if ! nvidia-smi -L >/dev/null 2>&1; then
  check "evaluate on a GPU this machine lacks" 2 "^train.device = \"cuda\": rank 0 \(local rank 0\) sees no CUDA device$" -- \
    "$rfm" evaluate --checkpoint "$ckpt" --set train.device=cuda --out "$work/eval-cuda"
fi
check "truncated checkpoint" 5 "cut.pt: unreadable checkpoint" -- "$rfm" evaluate --checkpoint "$work/cut.pt"
check "inspect a checkpoint" 0 "^weights_digest: [0-9a-f]{16}$" -- "$rfm" inspect --checkpoint "$ckpt"
cp "$ckpt" "$work/copy.pt"
check "a copy's digest is the original's" 0 "^$("$rfm" inspect --checkpoint "$ckpt" | tail -1)$" -- \
  "$rfm" inspect --checkpoint "$work/copy.pt"
check "inspect a truncated checkpoint" 5 "cut.pt: unreadable checkpoint" -- "$rfm" inspect --checkpoint "$work/cut.pt"
check "inspect needs one checkpoint" 2 "inspect needs one --checkpoint FILE" -- "$rfm" inspect
check "max-restarts without resume" 2 "--max-restarts needs checkpoint.resume" -- \
  "$rfm" launch --np 2 --max-restarts 1 --set checkpoint.resume=false
check "evaluate random identities" 2 "data.source = RANDOM_IDENTITIES: evaluation needs SYSU_MM01, REGDB or LLCM" -- \
  "$rfm" evaluate --config "$random"
img=$(ls "$work"/syn/cam1/*/0001.jpg | head -1)
check "preview of dataset images" 0 "wrote .*jpg-grid.png \(1 inputs" -- "$rfm" ltg-preview --config "$demo" --out "$work/jpg-grid.png" "$img"
rm -rf "$work/syn/cam4"
printf 'garbage' >"$img"
check "validate a broken tree" 4 "cam4: missing camera folder" -- "$rfm" validate --config "$demo" "${data[@]}"
mkdir "$work/syn/cam4"
check "validate a corrupt image" 4 "$img: not a JPEG, PNG or BMP image" -- "$rfm" validate --config "$demo" "${data[@]}"
check "skip corrupt images" 0 "1 corrupt skipped" -- "$rfm" validate --config "$demo" "${data[@]}" --set data.corrupt_images=SKIP

echo "cli: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
