# Sourced by the multi-process test scripts: waits on a running job through
# `rfm status`.  Needs $rfm.

# Waits (up to 2 minutes) until both ranks report a step >= ${2:-1}; prints
# rank 1's pid.
rank1_pid() {
  local dir=$1 min_step=${2:-1}
  for _ in $(seq 1 240); do
    local out
    out=$("$rfm" status --run-dir "$dir" 2>/dev/null) || { sleep 0.5; continue; }
    local pid step
    read -r pid step < <(awk '$1 == "1" && $2 != "-" {print $3, $4}' <<<"$out")
    local step0
    step0=$(awk '$1 == "0" {print $4}' <<<"$out")
    if [[ -n ${pid:-} && ${step:-0} -ge $min_step && ${step0:-0} -ge $min_step ]]; then
      echo "$pid"
      return 0
    fi
    sleep 0.5
  done
  return 1
}
