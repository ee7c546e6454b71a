#!/usr/bin/env bash
# Live tuning end to end: `qtune hjb` on the AVAXUSDT fixture (fitted model,
# both values, the gap, the suggestion written as a live params file that
# a backtest takes), its refusals (a value out of range with the guide's
# message, a window too short); `qtune live history` and `qtune live revert`
# on a history in the documented JSON-lines format; market_maker's
# StateVector/ControlVector lines at debug only; the example profiles as
# backtest params files.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
CAT="$TMP/cat"
check_exit "import June" 0 "$QTUNE" data import --catalog "$CAT" --symbol AVAXUSDT \
  "$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv"

# ---- hjb ----
check_exit "hjb" 0 "$QTUNE" hjb --catalog "$CAT" --symbol AVAXUSDT \
  --params-file "$QT_ROOT/examples/market_maker/conservative.json" --trials 32 --suggest-out sug.json
contains "hjb: fitted model" "$TMP/out" "fitted model (5760 bars of 60 s): sigma="
contains "hjb: the guide's line" "$TMP/out" "Background HJB Optimization Complete: Heuristic_Value="
contains "hjb: gap" "$TMP/out" "Gap="
contains "hjb: suggestion" "$TMP/out" "suggested params (32 trials, tpe)"
contains "hjb: current value shown" "$TMP/out" "skew_adjustment_factor                      0.8 ->"
check "hjb wrote the suggestion" test -s sug.json
check_exit "suggestion is a backtest params file" 0 "$QTUNE" backtest --strategy market_maker \
  --catalog "$CAT" --symbol AVAXUSDT --params-file sug.json --json
check_exit "hjb --json" 0 "$QTUNE" hjb --catalog "$CAT" --symbol AVAXUSDT --trials 8 --json
cp "$TMP/out" hjb.json
check "hjb json: optimum >= heuristic, gap >= 0, suggestion >= heuristic" python3 - hjb.json <<'EOT'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["optimal_value"] >= r["heuristic_value"], r
assert r["gap_pct"] >= 0
assert r["suggested_value"] >= r["heuristic_value"]
assert r["model"]["sigma"] > 0 and r["model"]["A"] > 0 and r["model"]["k"] > 0
assert r["grid"]["q_max"] == 12 and r["trials"] == 8
EOT
printf '{\n  "skew_adjustment_factor": 3.5\n}\n' >bad.json
check_exit "hjb: out of range refused" 2 "$QTUNE" hjb --catalog "$CAT" --symbol AVAXUSDT \
  --params-file bad.json
contains "hjb: the guide's message" "$TMP/err" \
  "bad.json:2: Invalid parameter: skew_adjustment_factor must be in [0.0, 2.0], got 3.5"
check_exit "hjb: too short a window" 2 "$QTUNE" hjb --catalog "$CAT" --symbol AVAXUSDT \
  --from 2026-06-28T00:00:00Z --to 2026-06-28T00:10:00Z
contains "hjb: short window named" "$TMP/err" "at least 30 are needed"

# the trades stored beside the bars (a synthetic market has them, with quotes)
check_exit "synth SYN" 0 "$QTUNE" data synth --catalog "$CAT" --symbol SYN --days 1 --seed 1
check_exit "hjb --fit trades" 0 "$QTUNE" hjb --catalog "$CAT" --symbol SYN --fit trades --trials 8
contains "hjb: fitted to trades" "$TMP/out" "trades): sigma="
contains "hjb: trades fit line" "$TMP/out" "Background HJB Optimization Complete:"
check_exit "hjb --fit trades without trades" 2 "$QTUNE" hjb --catalog "$CAT" --symbol AVAXUSDT \
  --fit trades
contains "hjb: no trades named" "$TMP/err" "AVAXUSDT has no trades stored"
check_exit "hjb --fit bogus" 2 "$QTUNE" hjb --catalog "$CAT" --symbol SYN --fit ticks
contains "hjb: --fit values" "$TMP/err" "--fit must be bars or trades"

# ---- live history / revert ----
P="$TMP/tuning_params.json"
printf '{"skew_adjustment_factor": 0.9}\n' >"$P"
cat >"$P.history.jsonl" <<'EOT'
{"ts_ms":1782518400000,"time":"2026-06-27T00:00:00Z","run":"paper1","strategy":"market_maker","source":"reload","equity":10000.0,"params":{"skew_adjustment_factor":0.5,"inventory_urgency_threshold":0.7}}
{"ts_ms":1782522000000,"time":"2026-06-27T01:00:00Z","run":"other","strategy":"market_maker","source":"reload","equity":500.0,"params":{"skew_adjustment_factor":1.5}}
{"ts_ms":1782525600000,"time":"2026-06-27T02:00:00Z","run":"paper1","strategy":"market_maker","source":"watch","equity":10012.5,"params":{"skew_adjustment_factor":0.9,"inventory_urgency_threshold":0.7}}
EOT
check_exit "live history" 0 "$QTUNE" live history paper1 --live-params "$P"
contains "history: first set with its P&L" "$TMP/out" "+12.50"
contains "history: the current set" "$TMP/out" "(current)"
check "history: the other run is apart" bash -c "! grep -q '1.5' '$TMP/out'"
check_exit "live history --json" 0 "$QTUNE" live history paper1 --live-params "$P" --json
check "history json" python3 -c "
import json,sys; h=json.load(open('$TMP/out')); assert len(h)==2 and h[0]['pnl']==12.5 and h[1]['current']"
check_exit "live revert" 0 "$QTUNE" live revert paper1 --live-params "$P"
contains "revert says what" "$TMP/out" "reverted"
check "revert wrote the previous set" python3 -c "
import json; p=json.load(open('$P')); assert p['skew_adjustment_factor']==0.5 and p['base_spread_bps']==20, p"
check_exit "history after revert" 0 "$QTUNE" live history paper1 --live-params "$P"
contains "history: revert recorded" "$TMP/out" "revert"
check_exit "revert: unknown run" 2 "$QTUNE" live revert nobody --live-params "$P"
contains "revert: nothing to revert to" "$TMP/err" "nothing to revert to"
check_exit "history: no history" 2 "$QTUNE" live history paper1 --live-params "$TMP/none.json"
echo 'not json' >>"$P.history.jsonl"
check_exit "history: a damaged line" 2 "$QTUNE" live history paper1 --live-params "$P"
contains "history: line named" "$TMP/err" "tuning_params.json.history.jsonl:5:"

# ---- market_maker's vector lines, the example profiles ----
QTUNE_LOG=debug "$QTUNE" backtest --strategy market_maker --catalog "$CAT" --symbol AVAXUSDT \
  --from 2026-06-30T23:00:00Z >"$TMP/out" 2>"$TMP/err"
contains "debug: StateVector" "$TMP/err" "StateVector[S="
contains "debug: ControlVector" "$TMP/err" "ControlVector[db="
QTUNE_LOG=info "$QTUNE" backtest --strategy market_maker --catalog "$CAT" --symbol AVAXUSDT \
  --from 2026-06-30T23:00:00Z >"$TMP/out" 2>"$TMP/err"
check "info: no vector lines in a backtest" bash -c "! grep -q 'StateVector' '$TMP/err'"
for f in conservative aggressive high_frequency; do
  check_exit "example $f backtests" 0 "$QTUNE" backtest --strategy market_maker --catalog "$CAT" \
    --symbol AVAXUSDT --params-file "$QT_ROOT/examples/market_maker/$f.json"
done
# ---- live check / watch: a file edited while it is watched ----
# wait_for FILE TEXT: until FILE has TEXT (a bound against a hang, not a timing check)
wait_for() { for _ in $(seq 300); do grep -qF -- "$2" "$1" && return 0; sleep 0.1; done; return 1; }
W="$TMP/w/tuning_params.json"
mkdir -p "$TMP/w"
cp "$QT_ROOT/examples/market_maker/aggressive.json" "$W"
check_exit "live check: valid" 0 "$QTUNE" live check "$W"
contains "live check says valid" "$TMP/out" "valid for market_maker"
printf '{\n  "skew_adjustment_factor": 3.5\n}\n' >"$TMP/w/bad.json"
check_exit "live check: out of range" 2 "$QTUNE" live check "$TMP/w/bad.json"
contains "live check: the guide's message" "$TMP/err" \
  "Invalid parameter: skew_adjustment_factor must be in [0.0, 2.0], got 3.5"
printf '{\n  "skew_adjustment_factr": 0.5\n}\n' >"$TMP/w/bad.json"
check_exit "live check: unknown name" 2 "$QTUNE" live check "$TMP/w/bad.json"
contains "live check: unknown named with its line" "$TMP/err" "bad.json:2: Unknown parameter: skew_adjustment_factr"

"$QTUNE" live watch "$W" --run w1 >"$TMP/w.out" 2>"$TMP/w.err" &
wpid=$!
check "watch started" wait_for "$TMP/w.err" "watching $W (inotify)"
contains "watch: initial load" "$TMP/w.err" "Tuning parameters reloaded successfully"
printf '{"skew_adjustment_factor": 0.75}\n' >"$W"                  # in place
check "watch: edit applied" wait_for "$TMP/w.out" "version 3: skew_adjustment_factor=0.75"
contains "watch: auto-reloaded" "$TMP/w.err" "Auto-reloaded tuning parameters"
printf '{"skew_adjustment_factor": 0.8,}\n' >"$W.new" && mv "$W.new" "$W"   # rename over
check "watch: invalid JSON logged" wait_for "$TMP/w.err" "Failed to reload config: $W:1:"
contains "watch: invalid JSON named" "$TMP/w.err" "invalid JSON"
printf '{"skew_adjustment_factor": 3.5}\n' >"$W.new" && mv "$W.new" "$W"
check "watch: out of range logged" wait_for "$TMP/w.err" \
  "Failed to reload config: $W:1: Invalid parameter: skew_adjustment_factor must be in [0.0, 2.0], got 3.5"
rm -f "$W"
check "watch: deletion logged" wait_for "$TMP/w.err" "deleted; keeping the current tuning parameters"
printf '{"skew_adjustment_factor": 0.6}\n' >"$W"
check "watch: recreated file applied" wait_for "$TMP/w.out" "version 4: skew_adjustment_factor=0.6"
kill -TERM $wpid
wait $wpid
check "watch: SIGTERM stops it cleanly" [ $? = 0 ]
check "watch: the failures applied nothing" bash -c "! grep -q 'skew_adjustment_factor=3.5\|skew_adjustment_factor=0.8 ' '$TMP/w.out'"
check_exit "watch: history of w1" 0 "$QTUNE" live history w1 --live-params "$W"
check "watch: three sets recorded (load, edit, recreate)" [ "$(grep -c '^[0-9]' "$TMP/out")" = 3 ]
contains "watch: sources" "$TMP/out" "watch"
finish
