#!/usr/bin/env bash
# qtune stress on the real AVAX klines in tests/fixtures: the base row is
# the plain backtest, the cost scenarios equal backtests with those costs,
# the crash lands where it is put, exit 0 when every risk limit holds and 1
# (naming the limit) when one fails, bad options refused.
source "$(dirname "$0")/lib.sh"
Q=$QTUNE
$Q data import --catalog "$TMP/avax" --symbol AVAXUSDT "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null
M=(--catalog "$TMP/avax" --symbol AVAXUSDT)
check_exit "stress hedge_grid" 0 $Q stress --strategy hedge_grid "${M[@]}" --params grid_step_bps=30 \
  --crash-at 2026-07-02T12:00:00Z
cp "$TMP/out" "$TMP/s.txt"
for sc in base flash_crash fees_x slippage_x spread fills_late gaps; do
  contains "row $sc" "$TMP/s.txt" "$sc "
done
contains "crash where put" "$TMP/s.txt" "flash_crash: -20% over 5 bars from 2026-07-02T12:00:00Z, back over 60 bars"
contains "position cap shown" "$TMP/s.txt" "holds  maximum position (max_position_pct)"
contains "verdict" "$TMP/s.txt" "verdict: every risk limit holds in every scenario"

check_exit "stress --json" 0 $Q stress --strategy hedge_grid "${M[@]}" --params grid_step_bps=30 \
  --crash-at 2026-07-02T12:00:00Z --json
cp "$TMP/out" "$TMP/s.json"
bt() { # NAME ARGS...: a backtest's metrics as JSON in $TMP/NAME.json
  local n=$1; shift
  $Q backtest --strategy hedge_grid "${M[@]}" --params grid_step_bps=30 --json "$@" >"$TMP/$n.json"
}
check "backtest base" bt base
check "backtest fees x3" bt fees --maker-bps 6 --taker-bps 15
check "backtest slippage 5 bps" bt slip --slippage-bps 5
check "backtest spread 20 bps (10 bps more on market fills)" bt spread --slippage-bps 10
check "backtest with fills one bar late" bt late --fill-delay-bars 1
same() {
  python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
sc = {s["scenario"]: s["metrics"] for s in json.load(open(d + "/s.json"))["scenarios"]}
for name, f in (("base", "base"), ("fees_x", "fees"), ("slippage_x", "slip"), ("spread", "spread"),
                ("fills_late", "late")):
    bt = json.load(open("%s/%s.json" % (d, f)))["metrics"]
    for k in ("sharpe", "total_return", "max_drawdown", "trades", "fees_paid"):
        a, b = sc[name][k], bt[k]
        assert abs(a - b) <= 1e-9 * max(1, abs(b)), (name, k, a, b)
# the crash costs the strategy and is visible in the drawdown
assert sc["flash_crash"]["max_drawdown"] > sc["base"]["max_drawdown"], (sc["flash_crash"], sc["base"])
# a late fill is another run: its numbers differ from the base
assert sc["fills_late"]["total_return"] != sc["base"]["total_return"], (sc["fills_late"], sc["base"])
PY
}
check "scenarios = backtests with those settings" same

# auction_market's daily loss stop at its tightest under a 40% crash: named where it fails
check_exit "a failing limit exits 1" 1 $Q stress --strategy auction_market "${M[@]}" --crash-pct 40 \
  --max-daily-loss 0.5
contains "names the limit and the day" "$TMP/out" "FAILS  daily loss stop (max_daily_loss_pct)   worst UTC day"
contains "failing verdict" "$TMP/out" "verdict: a risk limit fails under stress (named above)"

check_exit "crash outside the data refused" 2 $Q stress --strategy hedge_grid "${M[@]}" --crash-at 2027-01-01
contains "says why" "$TMP/err" "outside the traded bars"
check_exit "bad crash size refused" 2 $Q stress --strategy hedge_grid "${M[@]}" --crash-pct 120
contains "names the flag" "$TMP/err" "--crash-pct: out of range"
check_exit "bad --late-bars refused" 2 $Q stress --strategy hedge_grid "${M[@]}" --late-bars 1.5
contains "names --late-bars" "$TMP/err" "--late-bars: out of range"
check_exit "bad --fill-delay-bars refused" 2 $Q backtest --strategy hedge_grid "${M[@]}" --fill-delay-bars x
contains "names --fill-delay-bars" "$TMP/err" "--fill-delay-bars: want a whole number of bars"
check_exit "unknown option" 2 $Q stress --strategy hedge_grid "${M[@]}" --crash 5
finish
