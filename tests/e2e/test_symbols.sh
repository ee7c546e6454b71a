#!/usr/bin/env bash
# optimize --symbol A,B,C: the AVAX klines imported as AAA and BBB (the same
# data under two names) and CCC (prices scaled by awk, so its results
# differ); every trial runs on each symbol, the per-symbol metrics are
# stored under "by_symbol", the aggregate is the mean (median, min) of
# them, the spread and leave-one-out numbers are right, the optimize output
# shows them, the gate's symbol checks read them, the study's pin refuses a
# resume with another aggregate, and bad input is refused by name.
source "$(dirname "$0")/lib.sh"
Q=$QTUNE
DB="sqlite:///$TMP/s.db"
C="$TMP/cat"
for s in AAA BBB; do
  $Q data import --catalog "$C" --symbol $s "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null
done
for f in "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv; do
  # x2, with an intraday ramp of up to +7%: a different market for the same strategy
  awk -F, 'BEGIN{OFS=","} NR==1 && $2 !~ /^[0-9.]+$/ {print; next}
    {s=2*(1+(NR%1440)/20000); $2*=s; $3*=s; $4*=s; $5*=s; print}' "$f" >"$TMP/$(basename "$f")"
done
$Q data import --catalog "$C" --symbol CCC "$TMP"/AVAXUSDT-1m-2026-0*.csv >/dev/null

run() { # NAME AGG [extra...]
  local n=$1 agg=$2; shift 2
  $Q optimize --strategy sma_cross --catalog "$C" --symbol AAA,BBB,CCC --aggregate "$agg" \
    --trials 12 --jobs 2 --deterministic --quiet --seed 3 --constraints none \
    --study-name "$n" --storage "$DB" --best-out "$TMP/$n.yaml" "$@"
}
check_exit "a study over three symbols" 0 run mean mean
cp "$TMP/out" "$TMP/mean.txt"
contains "header names the symbols" "$TMP/mean.txt" "3 symbols (mean of their metrics)"
contains "per-symbol table" "$TMP/mean.txt" "per symbol        sharpe"
contains "spread line" "$TMP/mean.txt" "spread: Sharpe"
check_exit "median" 0 run median median
check_exit "min" 0 run min min

stored() { # every complete trial: aggregate = f(by_symbol), spread and leave-one-out
  python3 - "$TMP/s.db" <<'PY'
import json, sqlite3, statistics, sys
c = sqlite3.connect(sys.argv[1])
low = {"max_drawdown", "volatility", "fees_paid"}
agg = {"mean": lambda v, k: sum(v) / len(v), "median": lambda v, k: statistics.median(v),
       "min": lambda v, k: max(v) if k in low else min(v)}
n = 0
for name, js in c.execute("select s.name, t.metrics_json from trials t join studies s on "
                          "s.id = t.study_id where t.state = 'complete'"):
    m = json.loads(js); bs = m["by_symbol"]
    assert sorted(bs) == ["AAA", "BBB", "CCC"], sorted(bs)
    assert bs["AAA"] == bs["BBB"], "the same data gave different metrics"
    for k in ("sharpe", "total_return", "max_drawdown", "trades", "fees_paid"):
        v = [bs[s][k] for s in ("AAA", "BBB", "CCC")]
        assert abs(m[k] - agg[name](v, k)) <= 1e-9 * max(1, abs(m[k])), (name, k, m[k], v)
    sh = [bs[s]["sharpe"] for s in ("AAA", "BBB", "CCC")]
    assert m["symbols"] == 3 and m["symbol_sharpe_min"] == min(sh) and m["symbol_sharpe_max"] == max(sh)
    assert abs(m["symbol_sharpe_sd"] - statistics.stdev(sh)) < 1e-9 * max(1, statistics.stdev(sh))
    for i, s in enumerate(("AAA", "BBB", "CCC")):
        rest = sh[:i] + sh[i + 1:]
        want = agg[name](rest, "sharpe")
        assert abs(bs[s]["loo_sharpe"] - want) < 1e-9 * max(1, abs(want)), (s, bs[s]["loo_sharpe"], want)
    pr = [bs[s]["total_profit"] for s in ("AAA", "BBB", "CCC")]
    share = m["symbol_best_profit_share"]
    assert (share is None) if sum(pr) <= 0 else abs(share - max(pr) / sum(pr)) < 1e-9, (share, pr)
    n += 1
assert n >= 20, n
# CCC is another market: its results differ from AAA's in some trial
assert any(json.loads(js)["by_symbol"]["CCC"]["sharpe"] != json.loads(js)["by_symbol"]["AAA"]["sharpe"]
           for (js,) in c.execute("select metrics_json from trials where state = 'complete'"))
PY
}
check "stored per-symbol metrics, aggregates, spread and leave-one-out" stored

check_exit "analyze shows the per-symbol table again" 0 $Q analyze --study-name mean --storage "$DB"
contains "analyze table" "$TMP/out" "per symbol        sharpe"

# the one-symbol study of AAA equals the AAA column of the three-symbol one
check_exit "the same params on AAA alone" 0 $Q backtest --strategy sma_cross --catalog "$C" \
  --symbol AAA --params "$TMP/mean.yaml" --json
one_sym() {
  python3 - "$TMP/out" "$TMP/s.db" <<'PY'
import json, sqlite3, sys
bt = json.load(open(sys.argv[1]))
bt = bt.get("metrics", bt)
c = sqlite3.connect(sys.argv[2])
rows = c.execute("select t.metrics_json, t.score from trials t join studies s on s.id = t.study_id "
                 "where s.name = 'mean' and t.state = 'complete'").fetchall()
m = json.loads(max(rows, key=lambda r: r[1])[0])["by_symbol"]["AAA"]
for k in ("sharpe", "total_return", "trades"):
    assert abs(bt[k] - m[k]) <= 1e-6 * max(1, abs(m[k])), (k, bt[k], m[k])
PY
}
check "per-symbol metrics equal a one-symbol backtest" one_sym

# backtest --symbol A,B,C: the same run as the study's trial of those params
check_exit "backtest on three symbols" 0 $Q backtest --strategy sma_cross --catalog "$C" \
  --symbol AAA,BBB,CCC --params "$TMP/mean.yaml" --json
cp "$TMP/out" "$TMP/bt3.json"
bt3() {
  python3 - "$TMP/bt3.json" "$TMP/s.db" <<'PY'
import json, sqlite3, sys
bt = json.load(open(sys.argv[1]))["metrics"]
c = sqlite3.connect(sys.argv[2])
rows = c.execute("select t.metrics_json, t.score from trials t join studies s on s.id = t.study_id "
                 "where s.name = 'mean' and t.state = 'complete'").fetchall()
m = json.loads(max(rows, key=lambda r: r[1])[0])
for k in ("sharpe", "total_return", "trades", "symbol_sharpe_sd"):
    assert abs(bt[k] - m[k]) <= 1e-9 * max(1, abs(m[k])), (k, bt[k], m[k])
assert bt["by_symbol"]["CCC"]["sharpe"] == m["by_symbol"]["CCC"]["sharpe"]
PY
}
check "backtest on three symbols = the study's best trial" bt3
check_exit "backtest table" 0 $Q backtest --strategy sma_cross --catalog "$C" --symbol AAA,CCC \
  --aggregate median --params "$TMP/mean.yaml"
contains "backtest header" "$TMP/out" "backtest sma_cross on 2 symbols, median of their metrics"
contains "backtest per-symbol rows" "$TMP/out" "    CCC "

# the gate reads them: the defaults, and thresholds the study meets
check_exit "gate runs the baseline on the three symbols" 1 $Q gate --study-name mean --storage "$DB" --dry-run
cp "$TMP/out" "$TMP/g.txt"
contains "stable check is real" "$TMP/g.txt" "3 symbols, Sharpe AAA"
contains "dependency check is real" "$TMP/g.txt" "Sharpe without AAA"
cat >"$TMP/thr.yaml" <<'Y'
max_symbol_share: 1000
Y
check_exit "gate with a loose share threshold" 1 $Q gate --study-name mean --storage "$DB" \
  --dry-run --thresholds "$TMP/thr.yaml"
contains "threshold shown" "$TMP/out" "(need <= 1e+03"
cat >"$TMP/thr2.yaml" <<'Y'
min_symbol_sharpe: 1000
Y
check_exit "gate with a strict symbol threshold" 1 $Q gate --study-name mean --storage "$DB" \
  --dry-run --thresholds "$TMP/thr2.yaml"
contains "stable fails" "$TMP/out" "FAIL  stable across symbols"
contains "dependency fails" "$TMP/out" "FAIL  no single-symbol dependency"

# refused: another aggregate on resume, --aggregate alone, a missing symbol, two-instrument strategies
check_exit "resume with another aggregate" 2 run mean median
contains "aggregate pinned" "$TMP/err" "aggregate"
check_exit "--aggregate needs several symbols" 2 $Q optimize --strategy sma_cross --catalog "$C" \
  --symbol AAA --aggregate min --trials 2 --storage "$DB" --best-out "$TMP/x.yaml"
contains "named" "$TMP/err" "--aggregate needs --symbol A,B"
check_exit "bad aggregate" 2 run bad mode
contains "bad aggregate named" "$TMP/err" "--aggregate: want mean, median or min"
check_exit "missing symbol" 2 $Q optimize --strategy sma_cross --catalog "$C" --symbol AAA,ZZZ \
  --trials 2 --storage "$DB" --best-out "$TMP/x.yaml"
contains "missing symbol named" "$TMP/err" "no bars for 'ZZZ'"
check_exit "two-instrument strategy" 2 $Q optimize --strategy spread_arbitrage --catalog "$C" \
  --symbol AAA,BBB --trials 2 --storage "$DB" --best-out "$TMP/x.yaml"
contains "two instruments named" "$TMP/err" "trades two instruments"

# PostgreSQL stores the nested per-symbol metrics the same way
if [ -n "${QTUNE_PG_URL:-}" ]; then
  check_exit "a study over two symbols on PostgreSQL" 0 $Q optimize --strategy sma_cross \
    --catalog "$C" --symbol AAA,CCC --trials 4 --jobs 1 --deterministic --quiet --seed 3 \
    --constraints none --study-name "sym$$" --storage "$QTUNE_PG_URL" --best-out "$TMP/pg.yaml"
  check_exit "analyze on PostgreSQL" 0 $Q analyze --study-name "sym$$" --storage "$QTUNE_PG_URL"
  contains "per-symbol rows back from PostgreSQL" "$TMP/out" "    CCC "
fi
finish
