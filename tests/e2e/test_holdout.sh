#!/usr/bin/env bash
# optimize --holdout / --test-from: the study searches only the bars before
# the split, its top N are tested after it (the same numbers a backtest from
# the split gives), the result is stored and shown again by analyze, and
# analyze --compare-with puts two studies under one normalization.  On a
# synthetic market and on the real AVAX klines in tests/fixtures.
source "$(dirname "$0")/lib.sh"
Q=$QTUNE
DB="sqlite:///$TMP/q.db"
CAT=$TMP/cat
$Q data synth --catalog "$CAT" --symbol SYN --days 3 --seed 5 >/dev/null

# 3 days = 4320 bars; 25% held out = 1080, split at 2026-01-03T06:00:00Z
check_exit "holdout study runs" 0 $Q optimize --strategy sma_cross --catalog "$CAT" --symbol SYN \
  --trials 24 --seed 1 --jobs 1 --quiet --constraints none --study-name h1 --storage "$DB" \
  --best-out "$TMP/h1.yaml" --holdout 25% --holdout-top 5
cp "$TMP/out" "$TMP/h1.txt"
contains "split shown" "$TMP/h1.txt" \
  "in sample 2026-01-01T00:00:00Z .. 2026-01-03T05:59:00Z (3240 bars), out of sample 2026-01-03T06:00:00Z .. 2026-01-03T23:59:00Z (1080 bars)"
contains "metric table" "$TMP/h1.txt" "metric              in sample          out       change"
contains "top N table" "$TMP/h1.txt" "top 5 in and out of sample"
contains "rank correlation" "$TMP/h1.txt" "in/out rank correlation (Spearman) of the top 5:"
contains "verdict" "$TMP/h1.txt" "verdict: "
# the study pinned only the in-sample bars: its data ends before the split
contains "study data ends at the split" "$TMP/h1.txt" "3240 bars 2026-01-01T00:00:00Z .. 2026-01-03T05:59:00Z"

# stored: analyze prints it again, and --json carries it
check_exit "analyze" 0 $Q analyze --study-name h1 --storage "$DB" --top-n 3
contains "analyze shows the holdout" "$TMP/out" "in/out rank correlation (Spearman) of the top 5:"
check_exit "analyze --json" 0 $Q analyze --study-name h1 --storage "$DB" --json
cp "$TMP/out" "$TMP/h1.json"
# the best's out-of-sample metrics are a backtest from the split (earlier bars warm up),
# its in-sample metrics a backtest up to it
P=$(python3 -c "import json; print(','.join('%s=%s' % kv for kv in \
  json.load(open('$TMP/h1.json'))['top'][0]['params'].items()))")
check_exit "backtest from the split" 0 $Q backtest --strategy sma_cross --catalog "$CAT" --symbol SYN \
  --params "$P" --from 2026-01-03T06:00:00Z --json
cp "$TMP/out" "$TMP/bt_oos.json"
check_exit "backtest up to the split" 0 $Q backtest --strategy sma_cross --catalog "$CAT" --symbol SYN \
  --params "$P" --to 2026-01-03T06:00:00Z --json
cp "$TMP/out" "$TMP/bt_is.json"
same() {
  python3 - "$TMP/h1.json" "$TMP/bt_oos.json" "$TMP/bt_is.json" <<'EOF'
import json, sys
h = json.load(open(sys.argv[1]))
t = h["holdout"]["trials"][0]
assert t["number"] == h["top"][0]["number"], (t["number"], h["top"][0]["number"])
for side, path in (("oos", sys.argv[2]), ("is", sys.argv[3])):
    bt = json.load(open(path))["metrics"]
    for k in ("sharpe", "total_profit", "trades", "max_drawdown"):
        a, b = t[side][k], bt[k]
        assert abs(a - b) <= 1e-8 * max(1, abs(b)), (side, k, a, b)
EOF
}
check "out of sample = backtest from the split, in sample = backtest before it" same

# a resume with another split is refused (the pinned data differs)
check_exit "resume with another split refused" 2 $Q optimize --strategy sma_cross --catalog "$CAT" \
  --symbol SYN --trials 2 --quiet --constraints none --study-name h1 --storage "$DB" \
  --best-out "$TMP/h1.yaml" --holdout 50%
contains "refusal names the data" "$TMP/err" "to:"

# --test-from: a time split
check_exit "test-from" 0 $Q optimize --strategy sma_cross --catalog "$CAT" --symbol SYN \
  --trials 12 --seed 2 --jobs 1 --quiet --constraints none --study-name h2 --storage "$DB" \
  --best-out "$TMP/h2.yaml" --test-from 2026-01-03
contains "test-from split" "$TMP/out" "out of sample 2026-01-03T00:00:00Z .. 2026-01-03T23:59:00Z (1440 bars)"

# bad uses name the option and why
check_exit "holdout 25 refused" 2 $Q optimize --strategy sma_cross --catalog "$CAT" --symbol SYN \
  --trials 2 --study-name bad1 --storage "$DB" --holdout 25
contains "holdout 25 message" "$TMP/err" "--holdout '25': the share held out must be in (0, 1)"
check_exit "both refused" 2 $Q optimize --strategy sma_cross --catalog "$CAT" --symbol SYN \
  --trials 2 --study-name bad2 --storage "$DB" --holdout 25% --test-from 2026-01-02
contains "both message" "$TMP/err" "give --holdout or --test-from, not both"
check_exit "test-from past the data refused" 2 $Q optimize --strategy sma_cross --catalog "$CAT" \
  --symbol SYN --trials 2 --study-name bad3 --storage "$DB" --test-from 2027-01-01
contains "past the data message" "$TMP/err" "0 out of sample"
echo "x: {type: int, low: 1, high: 2}" >"$TMP/space.yaml"
check_exit "holdout needs a strategy" 2 $Q optimize --objective-cmd "echo {}" --objective value \
  --space "$TMP/space.yaml" --trials 2 --study-name bad4 --storage "$DB" --holdout 25%
contains "strategy message" "$TMP/err" "--holdout needs --strategy"
check_exit "holdout-top alone refused" 2 $Q optimize --strategy sma_cross --catalog "$CAT" \
  --symbol SYN --trials 2 --study-name bad5 --storage "$DB" --holdout-top 3
check_exit "no study left by a refused set-up" 2 $Q analyze --study-name bad3 --storage "$DB"

# two studies under one normalization
check_exit "compare-with" 0 $Q analyze --study-name h1 --compare-with h2 --storage "$DB"
cp "$TMP/out" "$TMP/cmp.txt"
contains "compare header" "$TMP/cmp.txt" "comparing h1 and h2: score (maximize) under one normalization"
contains "compare joint score" "$TMP/cmp.txt" "joint score"
contains "compare out of sample" "$TMP/cmp.txt" "sharpe (out)"
contains "compare params" "$TMP/cmp.txt" "params of h2: {"
check_exit "compare-with other objective refused" 2 $Q analyze --study-name h1 --compare-with nosuch \
  --storage "$DB"

# the real AVAX klines (June 27 - July 4): a hedge grid tuned on the first 75%
$Q data import --catalog "$TMP/avax" --symbol AVAXUSDT "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null
check_exit "AVAX holdout" 0 $Q optimize --strategy hedge_grid --catalog "$TMP/avax" --symbol AVAXUSDT \
  --trials 16 --seed 7 --jobs 1 --quiet --study-name avax --storage "$DB" --best-out "$TMP/avax.yaml" \
  --holdout 25%
cp "$TMP/out" "$TMP/avax.txt"
# 11520 bars: 2880 held out, split at July 3 00:00
contains "AVAX split" "$TMP/avax.txt" \
  "in sample 2026-06-27T00:00:00Z .. 2026-07-02T23:59:00Z (8640 bars), out of sample 2026-07-03T00:00:00Z .. 2026-07-04T23:59:00Z (2880 bars)"
contains "AVAX rank correlation" "$TMP/avax.txt" "in/out rank correlation (Spearman) of the top 10:"
contains "AVAX verdict" "$TMP/avax.txt" "verdict: "
finish
