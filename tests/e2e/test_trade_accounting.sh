#!/usr/bin/env bash
# --trade-accounting lots|average on hedge_grid over real AVAX minutes: the
# same account (final equity, summed trade P&L), trades read as lots by
# default for the grid (each take-profit closes the lot of its own entry, so
# none shows a loss), at the average price on request (some do).
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv
cd "$TMP"
for a in default lots average; do
  flag=(); [ "$a" = default ] || flag=(--trade-accounting "$a")
  check_exit "hedge_grid $a" 0 "$QTUNE" backtest --strategy hedge_grid --data "$D" "${flag[@]}" \
    --trades "t_$a.csv" --json
  cp "$TMP/out" "r_$a.json"
done
# stats FILE.csv RESULT.json: trades, take-profits, losing take-profits, sum of P&L, final equity
stats() {
  $PY - "$1" "$2" <<'EOP'
import csv, json, sys
t = list(csv.DictReader(open(sys.argv[1])))
m = json.load(open(sys.argv[2]))["metrics"]
tp = [x for x in t if x["exit_reason"] == "take_profit"]
print(len(t), len(tp), sum(float(x["pnl"]) < 0 for x in tp), "%.6f" % sum(float(x["pnl"]) for x in t),
      "%.6f" % m["equity_final"], "%.6f" % (m["equity_final"] - 10000))
EOP
}
read -r n_l tp_l bad_l sum_l eq_l prof_l <<<"$(stats t_lots.csv r_lots.json)"
read -r n_a tp_a bad_a sum_a eq_a prof_a <<<"$(stats t_average.csv r_average.json)"
echo "lots: $n_l trades, $bad_l of $tp_l take-profits losing; average: $n_a trades, $bad_a of $tp_a losing"
check "lots is the grid's default" cmp -s t_default.csv t_lots.csv
check "the same account: final equity" test "$eq_l" = "$eq_a"
check "the trades sum to the profit (lots)" test "$sum_l" = "$prof_l"
check "the trades sum to the profit (average)" test "$sum_a" = "$prof_a"
check "the same take-profit exits" test "$tp_l" = "$tp_a"
check "no take-profit lot shows a loss" test "$bad_l" = 0
check "at the average price some do" test "$bad_a" -gt 0
check "lots split exits into more trades" test "$n_l" -gt "$n_a"
"$QTUNE" backtest --strategy sma_cross --data "$D" --trades s_auto.csv >/dev/null 2>&1
"$QTUNE" backtest --strategy sma_cross --data "$D" --trade-accounting average --trades s_avg.csv >/dev/null 2>&1
check "average is the default of the others" cmp -s s_auto.csv s_avg.csv
check_exit "another word is refused" 2 "$QTUNE" backtest --strategy hedge_grid --data "$D" --trade-accounting fifo
contains "... naming the flag and the words" "$TMP/err" "--trade-accounting: want lots, average or auto"
finish
