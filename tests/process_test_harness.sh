# Sourced by the test scripts that start rfm processes: a work folder that
# is removed on exit with every background job killed (a failed check must
# not leave ranks running), Open MPI allowed to run as root and to put two
# ranks on however few cores there are, and fail/finish to count failures.
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# finish MESSAGE: exit 1 with the failure count if any check failed,
# otherwise print MESSAGE.
finish() {
  if ((failures)); then
    echo "$failures failure(s)"
    exit 1
  fi
  echo "$1"
}
