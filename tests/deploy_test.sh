#!/usr/bin/env bash
# deploy/: the Prometheus config and alerting rules pass promtool's checks,
# the alerts' unit tests (deploy/prometheus/rfm-alerts.test.yml) pass, the
# Grafana dashboard is valid JSON, and every rfm_* metric the rules and the
# dashboard query is one a real worker serves.
set -uo pipefail
rfm=$1
source_dir=$2
# shellcheck source=process_test_harness.sh
source "$(dirname "$0")/process_test_harness.sh"
deploy="$source_dir/deploy"

promtool check config "$deploy/prometheus/prometheus.yml" >"$work/config.out" 2>&1 ||
  fail "promtool check config: $(cat "$work/config.out")"
promtool check rules "$deploy/prometheus/rfm-alerts.yml" >"$work/rules.out" 2>&1 ||
  fail "promtool check rules: $(cat "$work/rules.out")"
(cd "$deploy/prometheus" && promtool test rules rfm-alerts.test.yml) >"$work/test.out" 2>&1 ||
  fail "promtool test rules: $(cat "$work/test.out")"
python3 -m json.tool "$deploy/grafana/rfm-training.json" >/dev/null 2>"$work/json.out" ||
  fail "dashboard JSON: $(cat "$work/json.out")"

# What a worker serves: one step of a tiny model, /metrics read while it lingers.
"$rfm" train --set data.source=RANDOM_IDENTITIES --set model.depth=18 --set model.num_parts=2 \
  --set model.part_dim=8 --set model.num_classes=4 --set data.height=64 --set data.width=32 \
  --set data.ids_per_batch=2 --set data.images_per_modality=2 --set train.max_steps=1 --set train.threads=1 \
  --set train.eval_every_epochs=0 --set metrics.base_port=0 --set metrics.linger_s=30 \
  --set train.run_dir="$work/run" >"$work/train.log" 2>&1 &
address=""
for _ in $(seq 1 240); do
  address=$(grep -o 'http://[^ ]*/metrics' "$work/train.log" | head -1)
  [[ -n $address && -f $work/run/checkpoints/last.pt ]] && break
  sleep 0.5
done
curl -s -m 5 "$address" >"$work/metrics.txt" || fail "no /metrics at '$address': $(cat "$work/train.log")"
promtool check metrics <"$work/metrics.txt" >"$work/lint.out" 2>&1 || fail "promtool check metrics: $(cat "$work/lint.out")"
served=$(grep -o '^rfm_[a-z_0-9]*' "$work/metrics.txt" | sort -u)
used=$(grep -ho 'rfm_[a-z_0-9]*' "$deploy/prometheus/rfm-alerts.yml" "$deploy/grafana/rfm-training.json" | sort -u)
for name in $used; do
  [[ $name == rfm_gpu_* ]] && continue  # served on CUDA only (rfm_metrics_tests checks them)
  [[ $name == rfm_evaluation_percent ]] && continue  # from the first evaluation on (rfm_metrics_tests checks it)
  grep -qx "$name" <<<"$served" || fail "$name is queried in deploy/ but no worker serves it"
done
finish "deploy test passed ($(wc -w <<<"$used") metric names checked)"
