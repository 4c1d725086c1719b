#!/usr/bin/env bash
# -DRFM_BENCH_ONLY=ON, what bench/gpu/run builds on the GPU machine (which
# has no Boost, prometheus-cpp or GoogleTest): the benchmarks and the
# libraries they link are configured, and the launcher, the tests, the
# metrics exporter and the control plane are not.
#   bench_only_test.sh <source dir> <python with torch> <CMake generator>
set -euo pipefail
src=$1 python=$2 generator=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if ! cmake -S "$src" -B "$dir" -G "$generator" -DRFM_BENCH_ONLY=ON -DRFM_PYTHON="$python" >"$dir/configure.log" 2>&1; then
  tail -20 "$dir/configure.log"
  echo "bench_only_test: configuring with -DRFM_BENCH_ONLY=ON failed" >&2
  exit 1
fi
grep -q "RFM_BENCH_ONLY: the benchmarks and their libraries only" "$dir/configure.log"
targets=$(cmake --build "$dir" --target help | sed -e 's/^\.\.\. //' -e 's/:.*//' | awk '{print $1}' | sort -u)
for t in rfm_step_bench rfm_ltg_bench rfm_matmul_ceiling_bench rfm_collectives_bench rfm_engine rfm_loader; do
  grep -qx "$t" <<<"$targets" || { echo "bench_only_test: target $t missing" >&2; exit 1; }
done
for t in rfm rfm_unit_tests rfm_metrics rfm_control rfm_training_run rfm_evaluation; do
  if grep -qx "$t" <<<"$targets"; then
    echo "bench_only_test: target $t configured, though RFM_BENCH_ONLY leaves it out" >&2
    exit 1
  fi
done
echo "bench_only_test: ok"
