#!/usr/bin/env bash
# qtune validate on a hedge_grid study of the real AVAX klines in
# tests/fixtures: the runner stored every complete trial's returns, the
# statistics are printed and carried in --json, the re-runs reproduce the
# stored numbers (the best's neighbourhood starts from the best's own
# Sharpe; a stability run's out-of-sample Sharpe of the study's best equals
# the holdout's), and bad input is refused by name.
source "$(dirname "$0")/lib.sh"
Q=$QTUNE
DB="sqlite:///$TMP/v.db"
$Q data import --catalog "$TMP/avax" --symbol AVAXUSDT "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null
check_exit "study with a holdout" 0 $Q optimize --strategy hedge_grid --catalog "$TMP/avax" \
  --symbol AVAXUSDT --trials 30 --jobs 2 --deterministic --quiet --seed 1 --constraints none \
  --study-name v1 --storage "$DB" --best-out "$TMP/v1.yaml" --holdout 25%

stored() {
  python3 - "$TMP/v.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n_trials = c.execute("select count(*) from trials where state = 'complete'").fetchone()[0]
rows = c.execute("select number, period_ms, n from trial_returns order by number").fetchall()
assert rows[0][0] == -1, rows[0]                       # the buy-and-hold benchmark
assert len(rows) == n_trials + 1, (len(rows), n_trials)  # one series per complete trial
assert len({(p, n) for _, p, n in rows}) == 1, "one period grid"
# 6 days in sample (25% of 8 held out): 1 h periods (4 h would give 36 < 64)
assert rows[0][1] == 3600000 and rows[0][2] == 144, rows[0]
PY
}
check "trial_returns: one series per complete trial and the benchmark" stored

check_exit "validate" 0 $Q validate --study-name v1 --storage "$DB" --boot 300
cp "$TMP/out" "$TMP/v.txt"
contains "header" "$TMP/v.txt" "validate: study v1, best trial"
contains "PSR" "$TMP/v.txt" "PSR (true Sharpe > 0)"
contains "DSR" "$TMP/v.txt" "deflated Sharpe ratio (DSR)"
contains "MinBTL" "$TMP/v.txt" "minimum backtest length"
contains "PBO" "$TMP/v.txt" "probability of backtest overfitting (CSCV, S = 16, 12870 splits)"
contains "logit distribution" "$TMP/v.txt" "logit distribution             [-4,-3)"
contains "degradation" "$TMP/v.txt" "degradation                    OOS Sharpe ="
contains "RC/SPA vs flat" "$TMP/v.txt" "vs flat      best trial"
contains "RC/SPA vs buy-and-hold" "$TMP/v.txt" "vs buy-hold  best trial"
contains "parameter spread" "$TMP/v.txt" "parameter spread of the top 10"
contains "neighbourhood" "$TMP/v.txt" "neighbours keep at least half the best's Sharpe"

check_exit "validate --json --stability-runs 2" 0 $Q validate --study-name v1 --storage "$DB" \
  --boot 300 --json --stability-runs 2 --jobs 2
cp "$TMP/out" "$TMP/v.json"
check_exit "analyze --json" 0 $Q analyze --study-name v1 --storage "$DB" --json
cp "$TMP/out" "$TMP/a.json"
reruns() {
  python3 - "$TMP/v.json" "$TMP/a.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])); a = json.load(open(sys.argv[2]))
best = a["top"][0]
assert v["best_trial"] == best["number"], (v["best_trial"], best["number"])
assert v["trials"] == 30 and v["periods"] == 144, (v["trials"], v["periods"])
assert 0 <= v["pbo"]["pbo"] <= 1 and v["pbo"]["combinations"] == 12870
assert 0 <= v["sharpe"]["dsr"] <= 1 and 0 <= v["sharpe"]["psr"] <= 1
# the neighbourhood re-runs the best first: its stored Sharpe comes back
nb = v["neighbourhood"]
assert abs(nb["best_sharpe"] - best["metrics"]["sharpe"]) < 1e-9 * max(1, abs(nb["best_sharpe"])), nb["best_sharpe"]
assert nb["n"] >= 17, nb["n"]
# the stability runs: the study itself first, its out-of-sample Sharpe that of the holdout
runs = v["stability_runs"]["runs"]
assert [r["study"] for r in runs] == ["v1", "v1/seed1", "v1/seed2"], [r["study"] for r in runs]
h = a["holdout"]["trials"][0]
assert h["number"] == runs[0]["best_trial"]
assert abs(runs[0]["oos_sharpe"] - h["oos"]["sharpe"]) < 1e-9 * max(1, abs(h["oos"]["sharpe"])), (runs[0]["oos_sharpe"], h["oos"]["sharpe"])
assert all(r["oos_sharpe"] is not None for r in runs)
assert len(v["stability_runs"]["params"]) == 19, len(v["stability_runs"]["params"])  # hedge_grid's params
PY
}
check "re-runs reproduce the stored numbers" reruns
check_exit "stability studies stored" 0 $Q studies --storage "$DB"
contains "v1/seed2 stored" "$TMP/out" "v1/seed2"

check_exit "unknown study" 2 $Q validate --study-name nope --storage "$DB"
check_exit "odd --blocks refused" 2 $Q validate --study-name v1 --storage "$DB" --blocks 7
contains "names the flag" "$TMP/err" "--blocks: an even number"
# a study that stored no returns (an external objective's) is refused with the reason
check_exit "command study" 0 $Q optimize --objective-cmd "echo '{\"m\": 1}'" --objective m \
  --space /dev/stdin --trials 3 --jobs 1 --quiet --study-name c1 --storage "$DB" \
  --best-out "$TMP/c1.yaml" <<<"x: {type: float, low: 0, high: 1}"
check_exit "no returns refused" 2 $Q validate --study-name c1 --storage "$DB"
contains "says why" "$TMP/err" "no stored return series"
finish
