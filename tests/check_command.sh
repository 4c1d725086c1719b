# Sourced by the command-line tests: `check NAME EXPECTED_RC PATTERN --
# command...` runs the command and counts a pass when it exits with
# EXPECTED_RC and its output (stdout and stderr) matches the extended
# regular expression PATTERN; otherwise it prints the output's tail and
# counts a failure.  The caller reads $passes and $failures.
passes=0
failures=0

check() {
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
