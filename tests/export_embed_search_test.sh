#!/usr/bin/env bash
# Weights out, and any images in, as a user meets them: a small model is
# trained on the synthetic SYSU-MM01 (MAM, cross-centre), exported as
# safetensors and as .pth, and `rfm embed` embeds a folder of PNG images
# (colour and grey, one in a subfolder).  PyTorch (python/rfm_model.py, with
# the torch the project is built with, RFM_PYTHON) loads each export and must compute the same
# features to 1e-4 (tests/export/check_features.py), and so must onnxruntime run on the ONNX
# model python/export_onnx.py writes.  `rfm search` finds
# each query image itself first.  Bad input is refused in one line naming
# the file: an empty folder, an unreadable image, a file that is not an rfm
# checkpoint, a checkpoint of another architecture, a bad --format.
# tests/export_embed_search_test.sh RFM
set -u
rfm=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
python=${RFM_PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=check_command.sh
source "$here/check_command.sh"
cd "$work" || exit 1
cat >base.pbtxt <<'PBTXT'
name: "export"
model { depth: 18 last_stride: 1 num_parts: 2 part_dim: 16 num_classes: 0 attention: MAM metric_feature: BEFORE_BN }
loss { center_loss: CROSS_CENTER center_weight: 3 }
data { source: SYSU_MM01 root: "data/syn" height: 64 width: 32 ids_per_batch: 4 images_per_modality: 2 loader_threads: 1 }
synthetic { layout: SYSU_MM01 train_identities: 8 test_identities: 4 images_per_camera: 2 height: 64 width: 32 seed: 7 }
train { epochs: 1 steps_per_epoch: 6 eval_every_epochs: 0 seed: 3 threads: 1 device: "cpu" run_dir: "run" }
evaluation { flip_average: true }
metrics { enabled: false }
PBTXT
"$rfm" synthesize --config base.pbtxt >/dev/null || { echo "FAIL: synthesize"; exit 1; }
check "train" 0 "done: 6 steps" -- "$rfm" train --config base.pbtxt
ckpt=run/checkpoints/last.pt
"$python" "$here/export/make_images.py" images 64 32 || { echo "FAIL: make_images.py"; exit 1; }

check "export safetensors" 0 "wrote model.safetensors: [0-9]+ tensors" -- \
  "$rfm" export --checkpoint "$ckpt" --format safetensors --out model.safetensors
check "export pth" 0 "wrote out/model.pth and out/model.pth.json" -- \
  "$rfm" export --checkpoint "$ckpt" --format pth --out out/model.pth
check "embed a folder" 0 "wrote 6 x 32 features \(3 embedded as infrared, 3 as visible\) to feats" -- \
  "$rfm" embed --checkpoint "$ckpt" --images images --out feats
check "ONNX export" 0 "wrote model.onnx: images uint8 \[N, 3, 64, 32\] \+ modality int64 \[N\] -> embedding float32 \[N, 32\]" -- \
  "$python" "$here/../python/export_onnx.py" model.safetensors model.onnx
check "PyTorch's and onnxruntime's features equal ours" 0 "model.onnx: 6 images, 32-d" -- \
  "$python" "$here/export/check_features.py" feats images model.safetensors out/model.pth model.onnx
# Itself first, at a distance of float rounding (a batch of 2 takes other
# convolution tiles than the embedding's batch of 6).
check "search finds the query itself first" 0 "^ +1  0\.000[0-9]  more/grey-5\.png$" -- \
  "$rfm" search --features feats --query images/more/grey-5.png --query images/colour-0.png --top-k 3
check "search: the second query too" 0 "^ +1  0\.000[0-9]  colour-0\.png$" -- \
  "$rfm" search --features feats --query images/more/grey-5.png --query images/colour-0.png --top-k 3
[[ -s feats/search.png ]] && passes=$((passes + 1)) || { echo "FAIL: no feats/search.png"; failures=$((failures + 1)); }
check "embed a manifest" 0 "wrote 2 x 32 features \(1 embedded as infrared, 1 as visible\)" -- bash -c \
  "printf 'images/colour-0.png\t1\t1\tinfrared\ttest\nimages/colour-2.png\t2\t1\tvisible\ttest\n' >m.tsv &&
   '$rfm' embed --checkpoint '$ckpt' --images m.tsv --out feats-m"

mkdir -p empty
check "empty folder" 4 "^rfm: empty: no images \(.jpg, .jpeg, .png, .bmp\) in this folder or below$" -- \
  "$rfm" embed --checkpoint "$ckpt" --images empty --out x
"$python" "$here/export/make_images.py" bad 64 32 --corrupt
check "unreadable image" 4 "bad/broken.png" -- "$rfm" embed --checkpoint "$ckpt" --images bad --out x
check "not an rfm checkpoint" 5 "model.safetensors: " -- "$rfm" embed --checkpoint model.safetensors --images images --out x
"$rfm" train --config base.pbtxt --set model.depth=34 --set train.max_steps=1 --set train.run_dir=run34 >/dev/null 2>&1
check "another architecture" 5 "run34/checkpoints/last.pt: another architecture than the one feats was embedded with" -- \
  "$rfm" search --features feats --query images/colour-0.png --checkpoint run34/checkpoints/last.pt
check "bad format" 2 "--format must be safetensors or pth, got 'onnx' \(for ONNX, run python/export_onnx.py on the safetensors file\)$" -- \
  "$rfm" export --checkpoint "$ckpt" --format onnx --out m.onnx
check "bad modality" 2 "--modality must be auto, visible or infrared, got 'thermal'" -- \
  "$rfm" embed --checkpoint "$ckpt" --images images --out x --modality thermal

echo "export, embed and search: $passes passed, $failures failed"
((failures == 0))
