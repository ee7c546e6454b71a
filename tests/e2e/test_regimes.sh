#!/usr/bin/env bash
# qtune regimes on the real AVAX klines in tests/fixtures: every traded bar
# labeled, a backtest's per-regime returns compound to its total return and
# its trades add up, a study's best runs on the study's own market, a
# ranges file labels exactly its spans, bad input refused by name.
source "$(dirname "$0")/lib.sh"
Q=$QTUNE
$Q data import --catalog "$TMP/avax" --symbol AVAXUSDT "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null
M=(--catalog "$TMP/avax" --symbol AVAXUSDT)
check_exit "regimes of the market" 0 $Q regimes "${M[@]}"
contains "table" "$TMP/out" "regime               bars   share  spells"
contains "first window unlabeled" "$TMP/out" "11520 bars, 11160 labeled"
# from the second day on every traded bar has its 360 bars of history
check_exit "regimes of a backtest" 0 $Q regimes "${M[@]}" --strategy hedge_grid --params grid_step_bps=30 \
  --from 2026-06-28 --json
cp "$TMP/out" "$TMP/r.json"
check_exit "the backtest" 0 $Q backtest --strategy hedge_grid "${M[@]}" --params grid_step_bps=30 \
  --from 2026-06-28 --json
cp "$TMP/out" "$TMP/bt.json"
adds_up() {
  python3 - "$TMP/r.json" "$TMP/bt.json" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1])); bt = json.load(open(sys.argv[2]))["metrics"]
assert r["labeled"] == r["bars"], (r["labeled"], r["bars"])
assert abs(sum(x["share"] for x in r["regimes"]) - 1) < 1e-5
g = math.prod(1 + (x["total_return"] or 0) for x in r["regimes"])
assert abs((g - 1) - bt["total_return"]) < 1e-9, (g - 1, bt["total_return"])
assert sum(x["trades"] for x in r["regimes"]) == bt["trades"], (sum(x["trades"] for x in r["regimes"]), bt["trades"])
assert abs(sum(x["pnl"] for x in r["regimes"]) - bt["total_profit"]) < 1e-6 * max(1, abs(bt["total_profit"]))
PY
}
check "per-regime returns compound to the total, trades and P&L add up" adds_up

DB="sqlite:///$TMP/r.db"
check_exit "a study" 0 $Q optimize --strategy hedge_grid "${M[@]}" --trials 6 --jobs 1 --quiet \
  --constraints none --study-name r1 --storage "$DB" --best-out "$TMP/r1.yaml" --holdout 25%
check_exit "regimes of the study's best" 0 $Q regimes --study-name r1 --storage "$DB"
contains "on the in-sample bars" "$TMP/out" "8640 bars, 8280 labeled"
contains "with its metrics" "$TMP/out" "return   sharpe  trades"

# optimize --regime: the trials are scored on that regime's bars only (the same
# numbers regimes prints for the best's params), and the regime is pinned
check_exit "study on trend-up bars" 0 $Q optimize --strategy hedge_grid "${M[@]}" --trials 8 --jobs 2 \
  --quiet --constraints none --study-name up --storage "$DB" --best-out "$TMP/up.yaml" --regime trend-up
check_exit "its best as JSON" 0 $Q best --study-name up --storage "$DB" --json --best-out "$TMP/up2.yaml"
cp "$TMP/out" "$TMP/up.json"
check_exit "regimes of the best's params" 0 $Q regimes "${M[@]}" --strategy hedge_grid \
  --params-file "$TMP/up.yaml" --json
cp "$TMP/out" "$TMP/upr.json"
scored() {
  python3 - "$TMP/up.json" "$TMP/upr.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["metrics"]
r = {x["regime"]: x for x in json.load(open(sys.argv[2]))["regimes"]}["trend-up"]
assert abs(b["total_return"] - r["total_return"]) < 1e-9, (b["total_return"], r["total_return"])
assert b["trades"] == r["trades"], (b["trades"], r["trades"])
PY
}
check "--regime scores the trend-up bars: the best's numbers = regimes' trend-up row" scored
check_exit "resume with another regime refused" 2 $Q optimize --strategy hedge_grid "${M[@]}" --trials 1 \
  --quiet --constraints none --study-name up --storage "$DB" --best-out "$TMP/up.yaml" --regime range
contains "names the difference" "$TMP/err" "regime: trend-up -> range"
check_exit "unknown regime refused" 2 $Q optimize --strategy hedge_grid "${M[@]}" --trials 1 --quiet \
  --study-name up3 --storage "$DB" --regime sideways
contains "names the flag" "$TMP/err" "--regime 'sideways': use trend-up"
check_exit "validate re-runs on the regime" 0 $Q validate --study-name up --storage "$DB" --boot 100 --json
rerun_regime() {
  python3 - "$TMP/out" "$TMP/up.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))["metrics"]
nb = v["neighbourhood"]["best_sharpe"]
assert abs(nb - b["sharpe"]) < 1e-9 * max(1, abs(nb)), (nb, b["sharpe"])
PY
}
check "the neighbourhood re-runs the best on the regime (its stored Sharpe back)" rerun_regime

cat >"$TMP/ranges.csv" <<'CSV'
from,to,regime
2026-06-28,2026-06-30,trend-up
2026-07-01T00:00:00Z,2026-07-01T12:00:00Z,high-volatility
CSV
check_exit "ranges file" 0 $Q regimes "${M[@]}" --ranges "$TMP/ranges.csv" --json
spans() {
  python3 - "$TMP/out" <<'PY'
import json, sys
r = {x["regime"]: x for x in json.load(open(sys.argv[1]))["regimes"]}
assert r["trend-up"]["bars"] == 2 * 1440 and r["trend-up"]["spells"] == 1, r["trend-up"]
assert r["high-volatility"]["bars"] == 720, r["high-volatility"]
assert r["range"]["bars"] == 0 and r["trend-down"]["bars"] == 0
PY
}
check "ranges label exactly their spans" spans
printf '2026-06-28,2026-06-30,sideways\n' >"$TMP/bad.csv"
check_exit "unknown regime refused" 2 $Q regimes "${M[@]}" --ranges "$TMP/bad.csv"
contains "names file, line and field" "$TMP/err" "bad.csv:1: field 'regime': 'sideways'"
check_exit "bad window refused" 2 $Q regimes "${M[@]}" --window 1
finish
