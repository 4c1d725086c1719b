#!/usr/bin/env bash
# The `rfm` command as a user meets it.  usage: cli_test.sh RFM SOURCE_DIR
set -u
rfm=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

check() {  # check NAME EXPECTED_RC PATTERN -- command...
  local name=$1 want_rc=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -eq $want_rc ]] && grep -qE -- "$pattern" <<<"$out"; then
    passes=$((passes + 1))
  else
    echo "FAIL $name: rc=$rc (want $want_rc), output:"
    echo "$out" | tail -5
    failures=$((failures + 1))
  fi
}

check "unknown command" 2 "unknown command 'fly'" -- "$rfm" fly
check "missing config file" 2 "^/nope.pbtxt: cannot open the configuration file$" -- "$rfm" train --config /nope.pbtxt
printf 'model {\n  depth: 50\n  colour: 1\n}\n' >"$work/bad.pbtxt"
check "unknown field" 2 "bad.pbtxt:3:[0-9]+: .*colour" -- "$rfm" check-config --config "$work/bad.pbtxt"
check "out of range" 2 "invalid config: ltg.probability = 2: allowed range \[0, 1\]" -- "$rfm" check-config --set ltg.probability=2
check "bad override" 2 "--set model.bar: 'rfm.config.ModelConfig' has no field 'bar'" -- "$rfm" check-config --set model.bar=1
check "effective config" 0 "beta_a: 0.5" -- "$rfm" check-config --config "$src/configs/demo_cpu.pbtxt"
check "missing weights" 1 "rfm: /nope/r50.pth: cannot open the weights file" -- \
  "$rfm" train --config "$src/configs/demo_cpu.pbtxt" --set model.pretrained=/nope/r50.pth --set train.run_dir="$work/run0"
check "dataset not built" 2 "data.source = SYSU_MM01" -- \
  "$rfm" train --config "$src/configs/demo_cpu.pbtxt" --set data.source=SYSU_MM01 --set data.root=/x --set train.run_dir="$work/run0"
check "train" 0 "done: 3 steps" -- "$rfm" train --config "$src/configs/demo_cpu.pbtxt" --set train.max_steps=3 \
  --set train.run_dir="$work/run"
[[ -s $work/run/config.pbtxt && $(wc -l <"$work/run/train_log.tsv") -eq 4 ]] && passes=$((passes + 1)) ||
  { echo "FAIL run directory"; failures=$((failures + 1)); }
check "preview" 0 "wrote .*grid.png" -- "$rfm" ltg-preview --out "$work/grid.png" --count 4 --set data.height=128 --set data.width=64 --set model.num_parts=4
[[ $(head -c 8 "$work/grid.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] && passes=$((passes + 1)) ||
  { echo "FAIL preview is not a PNG"; failures=$((failures + 1)); }
check "preview needs --out" 2 "ltg-preview needs --out" -- "$rfm" ltg-preview

echo "cli: $passes passed, $failures failed"
[[ $failures -eq 0 ]]
