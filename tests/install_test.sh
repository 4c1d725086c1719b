#!/usr/bin/env bash
# `cmake --install` as a cluster module or a container uses it: the build
# installed to a fresh prefix; the installed rfm runs from anywhere with an
# empty environment (its run path finds LibTorch, NCCL and CUDA's runtime,
# and none of it points into the build tree); the configs, the Slurm
# scripts, the Python files and the monitoring files are there; and the
# installed slurm/rfm-step, given RFM_HOME=PREFIX/share/rfm-cluster, runs the
# installed rfm (srun is a stand-in that prints its command).
# tests/install_test.sh BUILD_DIR SOURCE_DIR PYTHON
set -u
build=$(realpath "$1")
source_dir=$(realpath "$2")
python=$3
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=check_command.sh
source "$here/check_command.sh"
prefix=$work/prefix
share=$prefix/share/rfm-cluster

check "cmake --install" 0 "Installing: $prefix/bin/rfm" -- cmake --install "$build" --prefix "$prefix"
check "rfm version, empty environment, another folder" 0 "^LibTorch 2\." -- \
  bash -c "cd / && env -i PATH=/usr/bin:/bin '$prefix/bin/rfm' version"
check "no library missing" 1 "" -- bash -c "env -i PATH=/usr/bin:/bin ldd '$prefix/bin/rfm' | grep 'not found'"
check "run path outside the build tree" 0 "RUNPATH" -- bash -c \
  "readelf -d '$prefix/bin/rfm' | grep -E 'R(UN)?PATH' | grep -v '$build'"
check "the installed configs" 0 "name: \"rfm-sysu-mm01\"|^name:" -- \
  "$prefix/bin/rfm" check-config --config "$share/configs/sysu_mm01.pbtxt"
for f in $(cd "$source_dir" && git ls-files configs slurm python deploy/grafana deploy/prometheus 2>/dev/null ||
             find configs slurm python deploy/grafana deploy/prometheus -type f); do
  if [[ -f $share/$f ]]; then
    passes=$((passes + 1))
    if [[ -x $source_dir/$f && ! -x $share/$f ]]; then
      echo "FAIL: $share/$f: installed without its execute bit"
      failures=$((failures + 1))
    fi
  else
    echo "FAIL: $f: not installed under $share"
    failures=$((failures + 1))
  fi
done
check "export_onnx.py runs from the installed tree" 0 "usage: export_onnx.py" -- \
  "$python" "$share/python/export_onnx.py" --help

mkdir -p "$work/fakebin"
printf '#!/bin/sh\necho "srun $*"\n' >"$work/fakebin/srun"
chmod +x "$work/fakebin/srun"
check "rfm-step finds the installed rfm" 0 "srun --mpi=pmix --ntasks=2 $share/../../bin/rfm train --config c.pbtxt" -- \
  env -u RFM_BIN -u RFM_CONTAINER PATH="$work/fakebin:/usr/bin:/bin" SLURM_JOB_ID=7 SLURM_NTASKS=2 \
  RFM_HOME="$share" "$share/slurm/rfm-step" --config c.pbtxt

echo "install: $passes passed, $failures failed"
((failures == 0))
