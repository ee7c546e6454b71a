#!/usr/bin/env bash
# A run loads only the series its strategy reads (qt_market_series_for):
# on a synthetic market with 1.3 M trades (42 MB) and 864,000 quotes (35 MB)
# a bars-only backtest, optimize and check-lookahead peak at about the RSS of
# the same run on a catalog holding only the bars and funding, and print the
# same results; market_maker, which reads quotes when there are some, loads
# them.  Peaks are compared as ratios between runs of this test, never
# against a fixed size.
. "$(dirname "$0")/lib.sh"

FULL=$TMP/full BO=$TMP/bars_only
"$QTUNE" data synth --catalog "$FULL" --symbol SYN --days 10 --trades-per-min 100 \
  --quote-interval 1s >"$TMP/synth" 2>&1 || { cat "$TMP/synth"; bad "synth"; finish; exit; }
mkdir -p "$BO/SYN" && cp "$FULL/.qtune-catalog" "$BO/" &&
  cp -r "$FULL/SYN/bars" "$FULL/SYN/funding" "$BO/SYN/"
contains "the market has trades and quotes" "$TMP/synth" "trades, 30 funding, 864000 quotes"

# peak_kb OUT CMD...: runs CMD (stdout to OUT) and prints its peak RSS in kB
# (the children's ru_maxrss, python3 being one of the bootstrap packages).
peak_kb() {
  local out=$1; shift
  python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1)' \
    "$out" "$@"
}
# ratio_le NAME A B MAX: passes when A / B <= MAX (both > 0)
ratio_le() {
  if awk -v a="$2" -v b="$3" -v m="$4" 'BEGIN { exit !(a > 0 && b > 0 && a / b <= m) }'; then
    ok "$1 ($2 kB / $3 kB)"
  else bad "$1 ($2 kB / $3 kB, want ratio <= $4)"; fi
}
ratio_ge() {
  if awk -v a="$2" -v b="$3" -v m="$4" 'BEGIN { exit !(a > 0 && b > 0 && a / b >= m) }'; then
    ok "$1 ($2 kB / $3 kB)"
  else bad "$1 ($2 kB / $3 kB, want ratio >= $4)"; fi
}

mk=(--catalog "$FULL" --symbol SYN) mb=(--catalog "$BO" --symbol SYN)
a=$(peak_kb "$TMP/bt_full" "$QTUNE" backtest --strategy sma_cross "${mk[@]}" --json)
b=$(peak_kb "$TMP/bt_bo" "$QTUNE" backtest --strategy sma_cross "${mb[@]}" --json)
ratio_le "backtest sma_cross: peak RSS as without trades and quotes" "$a" "$b" 1.2
check "backtest sma_cross: the same result" cmp -s "$TMP/bt_full" "$TMP/bt_bo"
contains "backtest sma_cross: it ran" "$TMP/bt_full" '"trades"'

a=$(peak_kb "$TMP/la_full" "$QTUNE" check-lookahead --strategy sma_cross "${mk[@]}")
b=$(peak_kb "$TMP/la_bo" "$QTUNE" check-lookahead --strategy sma_cross "${mb[@]}")
ratio_le "check-lookahead sma_cross: peak RSS as without trades and quotes" "$a" "$b" 1.2
check "check-lookahead sma_cross: the same verdict" cmp -s "$TMP/la_full" "$TMP/la_bo"

opt=(optimize --strategy sma_cross --trials 3 --seed 1 --jobs 1 --study-name s)
a=$(peak_kb "$TMP/o_full" "$QTUNE" "${opt[@]}" "${mk[@]}" --storage "sqlite:///$TMP/full.db")
b=$(peak_kb "$TMP/o_bo" "$QTUNE" "${opt[@]}" "${mb[@]}" --storage "sqlite:///$TMP/bo.db")
ratio_le "optimize sma_cross: peak RSS as without trades and quotes" "$a" "$b" 1.2
contains "optimize sma_cross: it ran" "$TMP/o_full" "ran 3 trials"

# market_maker reads the last quote when there is one: its quotes are loaded
a=$(peak_kb "$TMP/mm_full" "$QTUNE" backtest --strategy market_maker "${mk[@]}" --json)
b=$(peak_kb "$TMP/mm_bo" "$QTUNE" backtest --strategy market_maker "${mb[@]}" --json)
ratio_ge "backtest market_maker: its quotes are loaded" "$a" "$b" 1.3
finish
