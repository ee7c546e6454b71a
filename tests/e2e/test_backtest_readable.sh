#!/usr/bin/env bash
# qtune backtest as a person reads it (docs/results.md): units in the table,
# the settings in its header, warnings on stderr and under --json warnings,
# --breakdown tables and JSON, and --config with optimize's keys.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv
cd "$TMP"

check_exit "table" 0 "$QTUNE" backtest --strategy hedge_grid --data "$D" --slippage-bps 1
cp "$TMP/out" table.txt; cp "$TMP/err" table.err
contains "money in the quote currency" table.txt "equity_final"
check "... as 10,000.xx USDT" grep -qE "^equity_final +10,000\.[0-9]{2} USDT$" table.txt
check "percentages with %" grep -qE "^win_rate +[0-9]+\.[0-9]{2} %$" table.txt
# the other fractions are percentages too: volatility, the Kelly fraction, the expiry rate
check "volatility in %" grep -qE "^volatility \(per 1m bar, x sqrt\(525600\)\) +[0-9][0-9.e-]* %$" table.txt
check "kelly in %" grep -qE "^kelly +-?[0-9]+\.[0-9]{2} %$" table.txt
check "expiry_rate in %" grep -qE "^expiry_rate +[0-9]+\.[0-9]{2} %$" table.txt
check "durations as time" grep -qE "^max_trade_duration_ms +[0-9]+d [0-9]+h$" table.txt
contains "the annualization named" table.txt "sharpe (per 1m bar, x sqrt(525600))"
contains "daily figures named" table.txt "sharpe_daily (UTC days, x sqrt(365))"
contains "header: costs" table.txt "costs       fees maker 2 bps, taker 5 bps; slippage 1 bps"
contains "header: cash and leverage" table.txt "simulation  cash 10,000.00 USDT; leverage cap 1x"
contains "header: funding" table.txt "funding off (spot: no funding series)"
contains "header: close at end" table.txt "close at end at the last close"
contains "header: the grid's trades as lots" table.txt "trades as lots"
contains "warning: a 4-day window" table.err "warning: the window is 4.0 days (< 30)"
contains "warning: sharpe above 4" table.err "> 4: rarely real"

check_exit "json" 0 "$QTUNE" backtest --strategy hedge_grid --data "$D" --json --breakdown exit,week
cp "$TMP/out" r.json
check "json: warnings, units, plain numbers, breakdowns" $PY - r.json <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
w = d["warnings"]
assert any("the window is 4.0 days" in x for x in w), w
assert d["metric_units"]["win_rate"] == "fraction" and d["metric_units"]["equity_final"] == "money"
assert d["metric_units"]["max_trade_duration_ms"] == "ms"
for k in ("volatility", "kelly", "expiry_rate"):  # fractions: plain numbers, shown as %
    assert d["metric_units"][k] == "fraction", (k, d["metric_units"][k])
    assert isinstance(d["metrics"][k], (int, float)), (k, d["metrics"][k])
assert 0 < d["metrics"]["volatility"] < 100, d["metrics"]["volatility"]
assert isinstance(d["metrics"]["win_rate"], float) and 0 < d["metrics"]["win_rate"] < 1
b = d["breakdown"]
assert sum(r["trades"] for r in b["exit"]) == d["metrics"]["trades"], b["exit"]
assert abs(sum(r["pnl"] for r in b["week"]) - d["metrics"]["total_profit"]) < 1e-9
assert [r["exit"] for r in b["exit"]] == ["take_profit", "stop_loss", "end_of_data"], b["exit"]
assert [r["week"] for r in b["week"]] == ["2026-W26", "2026-W27"], b["week"]
tp = b["exit"][0]
assert tp["wins"] == tp["trades"], tp   # lots: every take-profit wins
EOP
check_exit "breakdown tables" 0 "$QTUNE" backtest --strategy hedge_grid --data "$D" --breakdown side --breakdown day
contains "by side" "$TMP/out" "by side"
check "... long and short rows" grep -qE "^(long|short) +[0-9]+ +[0-9.]+% " "$TMP/out"
contains "by day" "$TMP/out" "2026-06-30"
check_exit "a bad breakdown" 2 "$QTUNE" backtest --strategy hedge_grid --data "$D" --breakdown year
contains "... names the choices" "$TMP/err" "--breakdown: want exit, side, day, week or month (\"year\")"

# no warnings: 45 trades over 4 years of daily bars (weekends are no gaps)
"$QTUNE" backtest --strategy sma_cross --data "$FIXTURES/oracles/ttrc_pandas.csv" --json >q.json 2>q.err
check "no warnings when there is nothing to say" $PY -c "import json; assert json.load(open('q.json'))['warnings'] == []"
check "... and none on stderr" test ! -s q.err
# gaps: the freqtrade candles keep 203 of them
"$QTUNE" backtest --strategy sma_cross --data "$FIXTURES/freqtrade/UNITTEST_BTC-1m.json" >/dev/null 2>g.err
contains "warning: gaps" g.err "203 gaps in the window (316 missing bars"
"$QTUNE" backtest --strategy sma_cross --data "$FIXTURES/freqtrade/XRP_USDT_USDT-5m-futures.csv" \
  --columns "time=date_utc,open=open,high=high,low=low,close=close" >/dev/null 2>p.err
contains "warning: a perpetual without funding" p.err "looks like a perpetual future but has no funding series"

# --config: optimize's keys; the study's own are skipped; the command line wins
cat >cfg.yaml <<EOC
strategy: sma_cross
data: $FIXTURES/oracles/ttrc_pandas.csv
params: {fast: 10, slow: 30, sizing: fill}
cash: 10000
fee_bps: 0
lot_size: 1
close_at_end: open
n_trials: 50
sampler: {name: tpe, seed: 7}
objective: {sharpe: 1}
EOC
check_exit "backtest --config" 0 "$QTUNE" backtest --config cfg.yaml --json
cp "$TMP/out" c.json
contains "... says what it skipped" "$TMP/err" "not used by a backtest: n_trials, sampler, objective"
check_exit "the same by flags" 0 "$QTUNE" backtest --strategy sma_cross --data "$FIXTURES/oracles/ttrc_pandas.csv" \
  --params fast=10,slow=30,sizing=fill --cash 10000 --fee-bps 0 --lot-size 1 --close-at-end open --json
check "config = flags" $PY -c "
import json; a = json.load(open('c.json')); b = json.load(open('$TMP/out'))
assert a['metrics'] == b['metrics'] and abs(a['metrics']['equity_final'] - 8626.76) < 1e-6"
check_exit "the command line wins" 0 "$QTUNE" backtest --config cfg.yaml --cash 20000 --json
check "... cash 20000" $PY -c "import json; assert json.load(open('$TMP/out'))['start_cash'] == 20000"
printf 'strategy: sma_cross\nfee_bsp: 3\n' >bad.yaml
check_exit "an unknown key" 2 "$QTUNE" backtest --config bad.yaml
contains "... file, line, nearest key" "$TMP/err" "bad.yaml:2: key 'fee_bsp': unknown (did you mean 'fee_bps'?)"
printf 'strategy: sma_cross\nparams: {fast: [1, 2]}\n' >deep.yaml
check_exit "a value nested too deep" 2 "$QTUNE" backtest --config deep.yaml
contains "... names the line" "$TMP/err" "deep.yaml:2: 'params': nested too deep"
finish
