#!/usr/bin/env bash
# The layer order of docs/ARCHITECTURE.md holds for the sources, and the
# check does catch what it is for: an include from a lower layer to a
# higher one, and a C++ folder without a layer.
set -euo pipefail
src=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$src/scripts/check-include-layers" "$src") || fail "the sources break the layer order:"$'\n'"$out"

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/docs" "$tree/dataset" "$tree/trainer/run" "$tree/unlisted"
cp "$src/docs/ARCHITECTURE.md" "$tree/docs/"
printf '#include "trainer/engine/trainer.h"\n#include "dataset/image_codec.h"\n' >"$tree/trainer/run/fine.cpp"
printf '#include "dataset/image_codec.h"\n#include <vector>\n' >"$tree/dataset/fine.cpp"
"$src/scripts/check-include-layers" "$tree" >/dev/null || fail "downward includes were refused"

printf '// a comment\n#include "trainer/engine/trainer.h"\n' >"$tree/dataset/upward.cpp"
set +e
out=$("$src/scripts/check-include-layers" "$tree")
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "an upward include passed (exit $rc)"
[[ $out == *"dataset/upward.cpp:2: includes trainer/engine/trainer.h (trainer/engine, layer 6) from dataset (layer 1)"* ]] ||
  fail "the upward include is not named: $out"

rm "$tree/dataset/upward.cpp"
mkdir -p "$tree/sampler"
printf '#include "plot/line_chart.h"\n' >"$tree/sampler/sideways.cpp"
"$src/scripts/check-include-layers" "$tree" >/dev/null && fail "an include within one layer (sampler to plot) passed"
rm "$tree/sampler/sideways.cpp"
printf 'int unlisted;\n' >"$tree/unlisted/a.cpp"
set +e
out=$("$src/scripts/check-include-layers" "$tree")
rc=$?
set -e
[[ $rc -eq 1 && $out == *"unlisted/a.cpp: its folder has no layer"* ]] || fail "a folder without a layer passed: $out"
echo "include layers: ok"
