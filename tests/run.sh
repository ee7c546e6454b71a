#!/usr/bin/env bash
# Runs every test program (build-test/tests/*/test_*) and every end-to-end
# script (tests/e2e/test_*.sh), each in its own process, and sums their
# "N passed, N failed" lines into one closing line.
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0; broken=()
run_one() {
  local name=$1; shift
  local out rc line p f
  out=$("$@" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out" | tail -n 30
    echo "BROKEN $name (exit $rc, no summary line)"
    fail=$((fail + 1)); broken+=("$name"); return
  fi
  p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$f" != 0 ] || [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | grep -vE '^ok  ' | tail -n 60
    [ "$f" = 0 ] && { fail=$((fail + 1)); echo "BROKEN $name (exit $rc)"; }
    broken+=("$name")
  fi
  echo "$name: $line"
}
# A private PostgreSQL server on loopback for the storage tests, unless the
# caller names one; it is stopped and removed when the run ends.
if [ -z "${QTUNE_PG_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/qtune-pg.XXXXXX) && chmod 755 "$pgdir"
  pgport=$((55000 + RANDOM % 2000))
  if QTUNE_PG_URL=$(scripts/pg-test-server start "$pgdir/data" "$pgport"); then
    export QTUNE_PG_URL
    trap 'scripts/pg-test-server stop "$pgdir/data"; rm -rf "$pgdir"' EXIT
  else
    echo "tests: could not start PostgreSQL; its tests will fail" >&2
  fi
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
BT=${BT:-build-test}
for t in "$BT"/tests/*/test_*; do
  [ -x "$t" ] || continue
  run_one "${t#"$BT"/}" "$t"
done
for t in tests/e2e/test_*.sh; do
  [ -f "$t" ] || continue
  run_one "$t" bash "$t"
done
[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
