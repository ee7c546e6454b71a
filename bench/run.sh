#!/usr/bin/env bash
# Runs every benchmark (build/bench/*, and bench/*.py comparisons they call)
# and prints one JSON array of their results on stdout; progress on stderr.
# BENCH_OUT=FILE also writes it to FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
echo "[" >"$out"
first=1
for b in build/bench/*; do
  [ -x "$b" ] || continue
  echo "bench: $(basename "$b")" >&2
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    if [ $first = 1 ]; then first=0; else echo "," >>"$out"; fi
    printf '  %s' "$line" >>"$out"
  done < <("$b")
done
printf '\n]\n' >>"$out"
cat "$out"
[ -n "${BENCH_OUT:-}" ] && cp "$out" "$BENCH_OUT"
rm -f "$out"
