# Helpers for end-to-end tests of the qtune binary (sourced).  Each check
# prints ok/FAIL; `finish` prints the summary line and sets the exit status.
set -u
QT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
QTUNE=${QTUNE:-$QT_ROOT/${BT:-build-test}/bin/qtune}
# the test data carried in the tree (tests/fixtures/README.md names the sources)
FIXTURES=$QT_ROOT/tests/fixtures
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
_pass=0; _fail=0
ok()   { echo "ok   $1"; _pass=$((_pass + 1)); }
bad()  { echo "FAIL $1"; _fail=$((_fail + 1)); }
# check NAME CMD...: passes when CMD exits 0
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }
# check_exit NAME CODE CMD...: passes when CMD exits with CODE
check_exit() {
  local n=$1 want=$2; shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
  if [ "$rc" = "$want" ]; then ok "$n"; else bad "$n (exit $rc, want $want)"; cat "$TMP/err" | head -5; fi
}
# contains NAME FILE TEXT: passes when FILE contains TEXT
contains() { if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in $2"; head -20 "$2"; fi; }
finish() { echo "$_pass passed, $_fail failed"; [ "$_fail" -eq 0 ]; }
