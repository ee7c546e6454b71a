#!/usr/bin/env bash
# qtune gate on a hedge_grid study of the real AVAX klines in
# tests/fixtures: every check printed with its numbers, exit 1 on a fail and
# 0 on a pass, the verdict and stage recorded (backtest -> paper), the
# baseline run on the study's own market (the best's own params as the
# baseline give the candidate's numbers back), thresholds from YAML, and bad
# input refused by name.
source "$(dirname "$0")/lib.sh"
Q=$QTUNE
DB="sqlite:///$TMP/g.db"
$Q data import --catalog "$TMP/avax" --symbol AVAXUSDT "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null
check_exit "study with a holdout" 0 $Q optimize --strategy hedge_grid --catalog "$TMP/avax" \
  --symbol AVAXUSDT --trials 40 --jobs 2 --deterministic --quiet --seed 1 --constraints none \
  --study-name g1 --storage "$DB" --best-out "$TMP/g1.yaml" --holdout 25%

# the default thresholds: one symbol fails "stable across symbols"
check_exit "gate with the defaults fails (exit 1)" 1 $Q gate --study-name g1 --storage "$DB"
cp "$TMP/out" "$TMP/g.txt"
contains "baseline named" "$TMP/g.txt" "promotion gate against the baseline defaults (the strategy's default params)"
contains "check 1" "$TMP/g.txt" "profit factor improves without collapsing the trade count"
contains "check 2" "$TMP/g.txt" "Sharpe improves without doubling the drawdown"
contains "check 3" "$TMP/g.txt" "out of sample does not degrade dramatically"
contains "check 4" "$TMP/g.txt" "FAIL  stable across symbols"
contains "check 5" "$TMP/g.txt" "FAIL  no single-symbol dependency"
contains "check 6" "$TMP/g.txt" "drawdown acceptable at the target risk"
contains "verdict" "$TMP/g.txt" "verdict: FAIL"
contains "stage kept" "$TMP/g.txt" "stage: backtest -> backtest"

cat >"$TMP/thr.yaml" <<'Y'
# a single-symbol study, loose ratios (hedge_grid's defaults trade 0.01 AVAX,
# base_qty being units of the base asset, so their drawdown is near 0 and
# any tuned drawdown is thousands of times it)
min_symbols: 1
min_trade_ratio: 0.1
max_dd_ratio: 1000000
min_oos_ratio: 0.05
Y
check_exit "gate passes under looser thresholds (exit 0)" 0 $Q gate --study-name g1 --storage "$DB" \
  --thresholds "$TMP/thr.yaml"
cp "$TMP/out" "$TMP/g2.txt"
contains "verdict pass" "$TMP/g2.txt" "verdict: PASS (6 of 6 checks pass)"
contains "promoted" "$TMP/g2.txt" "stage: backtest -> paper"
check_exit "a second pass keeps paper (paper -> live needs paper outcomes)" 0 $Q gate \
  --study-name g1 --storage "$DB" --thresholds "$TMP/thr.yaml" --json
cp "$TMP/out" "$TMP/g3.json"
recorded() {
  python3 - "$TMP/g.db" "$TMP/g3.json" <<'PY'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("select pass, stage_from, stage_to, report from gate_verdicts order by id").fetchall()
assert [r[:3] for r in rows] == [(0, "backtest", "backtest"), (1, "backtest", "paper"), (1, "paper", "paper")], [r[:3] for r in rows]
rep = json.loads(rows[2][3])
assert rep["pass"] is True and len(rep["checks"]) == 6
assert rep["thresholds"]["min_symbols"] == 1 and rep["thresholds"]["max_drawdown"] == 0.2
j = json.load(open(sys.argv[2]))
assert j["stage_from"] == "paper" and j["stage_to"] == "paper" and j["recorded"] is True
PY
}
check "verdicts and stages recorded with the study" recorded
check_exit "dry run" 1 $Q gate --study-name g1 --storage "$DB" --dry-run
contains "not recorded" "$TMP/out" "(dry run: not recorded)"
check "dry run left no row" test "$(python3 -c "import sqlite3; print(sqlite3.connect('$TMP/g.db').execute('select count(*) from gate_verdicts').fetchone()[0])")" = 3

# the best's own params as the baseline: the candidate's numbers come back, nothing improves
check_exit "baseline = the best's params file" 1 $Q gate --study-name g1 --storage "$DB" \
  --baseline "$TMP/g1.yaml" --thresholds "$TMP/thr.yaml" --json --dry-run
same() {
  python3 - "$TMP/out" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["gate"]
for k in ("sharpe", "profit_factor", "trades", "max_drawdown"):
    a, b = g["candidate"][k], g["baseline_metrics"][k]
    assert abs(a - b) <= 1e-9 * max(1, abs(a)), (k, a, b)
assert not g["checks"][0]["pass"] and not g["checks"][1]["pass"]
PY
}
check "baseline re-run = the stored best" same

# another study as the baseline must have run on the same data
check_exit "study on all the data" 0 $Q optimize --strategy hedge_grid --catalog "$TMP/avax" \
  --symbol AVAXUSDT --trials 4 --jobs 1 --quiet --constraints none --study-name all \
  --storage "$DB" --best-out "$TMP/all.yaml"
check_exit "baseline study on other data refused" 2 $Q gate --study-name g1 --storage "$DB" --baseline all
contains "says which data" "$TMP/err" "baseline study 'all' ran on other data"
printf 'min_symbols: 1\nmax_drawdwn: 0.3\n' >"$TMP/bad.yaml"
check_exit "unknown threshold refused" 2 $Q gate --study-name g1 --storage "$DB" --thresholds "$TMP/bad.yaml"
contains "names file, line and field" "$TMP/err" "bad.yaml:2: field 'max_drawdwn': unknown threshold"
printf 'max_drawdown: lots\n' >"$TMP/bad2.yaml"
check_exit "non-number refused" 2 $Q gate --study-name g1 --storage "$DB" --thresholds "$TMP/bad2.yaml"
contains "names the value" "$TMP/err" "bad2.yaml:1: field 'max_drawdown': not a number >= 0 (\"lots\")"
check_exit "unknown study" 2 $Q gate --study-name nope --storage "$DB"
finish
