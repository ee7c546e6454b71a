#!/usr/bin/env bash
# qtune walk-forward on the real AVAX klines in tests/fixtures: one stored
# study per window, each window's out-of-sample numbers equal a backtest of
# its best on the test span, the stitched equity chains the windows, a
# second run resumes (no trial re-run), other spans under the same name are
# refused, and --warm-start seeds each later window with the previous top.
source "$(dirname "$0")/lib.sh"
Q=$QTUNE
DB="sqlite:///$TMP/wf.db"
$Q data import --catalog "$TMP/avax" --symbol AVAXUSDT "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null
WF=(walk-forward --strategy hedge_grid --catalog "$TMP/avax" --symbol AVAXUSDT --train 2d --test 1d
    --trials 12 --jobs 2 --deterministic --constraints none --storage "$DB")

# 8 days of bars (2026-06-27 .. 2026-07-04): 2d + 1d windows stepping 1d -> 6 windows
check_exit "walk-forward runs" 0 $Q "${WF[@]}"
cp "$TMP/out" "$TMP/wf.txt"
contains "per-window table" "$TMP/wf.txt" "win  train from           test from              best  IS shrp OOS shrp"
contains "six windows" "$TMP/wf.txt" "w06  2026-07-02T00:00:00Z 2026-07-04T00:00:00Z"
contains "efficiency" "$TMP/wf.txt" "walk-forward efficiency (OOS return per day / IS return per day): mean"
contains "drift" "$TMP/wf.txt" "parameter drift across windows"
contains "stitched" "$TMP/wf.txt" "stitched out-of-sample equity 2026-06-29T00:00:00Z .. 2026-07-04T23:59:00Z (8640 bars)"
check_exit "window studies stored" 0 $Q studies --storage "$DB"
contains "study w01" "$TMP/out" "hedge_grid-wf/w01"
contains "study w06" "$TMP/out" "hedge_grid-wf/w06"

check_exit "walk-forward --json (resumed)" 0 $Q "${WF[@]}" --json
cp "$TMP/out" "$TMP/wf.json"
resumed() {
  python3 - "$TMP/wf.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert len(j["windows"]) == 6, len(j["windows"])
assert all(w["trials_run"] == 0 and w["trials"] == 12 for w in j["windows"]), [w["trials_run"] for w in j["windows"]]
PY
}
check "a second run resumes: no trial re-run" resumed
chained() {
  python3 - "$TMP/wf.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
f = j["stitched"]["start_cash"]
for w in j["windows"]:
    f *= 1 + w["oos"]["total_return"]
assert abs(f - j["stitched"]["final_equity"]) < 1e-6 * f, (f, j["stitched"]["final_equity"])
PY
}
check "stitched equity = the windows' test returns chained" chained
# window 2's out-of-sample metrics are a backtest of its best on its test span
P=$(python3 -c "import json; w=json.load(open('$TMP/wf.json'))['windows'][1]; \
print(','.join('%s=%s' % kv for kv in w['params'].items()))")
check_exit "backtest of window 2's best on its test span" 0 $Q backtest --strategy hedge_grid \
  --catalog "$TMP/avax" --symbol AVAXUSDT --params "$P" --from 2026-06-30T00:00:00Z \
  --to 2026-07-01T00:00:00Z --json
cp "$TMP/out" "$TMP/bt.json"
same_oos() {
  python3 - "$TMP/wf.json" "$TMP/bt.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["windows"][1]
bt = json.load(open(sys.argv[2]))["metrics"]
for k in ("sharpe", "total_return", "trades", "max_drawdown"):
    a, b = w["oos"][k], bt[k]
    assert a is not None and abs(a - b) <= 1e-8 * max(1, abs(b)), (k, a, b)
PY
}
check "window OOS = backtest on the test span" same_oos

check_exit "other spans under the same name refused" 2 $Q "${WF[@]}" --train 3d
contains "names the window and the difference" "$TMP/err" "study 'hedge_grid-wf/w01' was run on other settings"
# a refused window 1 starts no other window (they run side by side otherwise):
# "g" holds only w01, of 3 days of data; the whole data under that name is refused
check_exit "one window of 3 days" 0 $Q "${WF[@]}" --study-name g --to 2026-06-30T00:00:00Z
check_exit "the whole data under its name refused" 2 $Q "${WF[@]}" --study-name g
contains "at window 1" "$TMP/err" "study 'g/w01' was run on other settings"
check_exit "studies listed" 0 $Q studies --storage "$DB"
no_w02() { ! grep -q "g/w02" "$TMP/out"; }
check "no study of window 2 was created" no_w02
check_exit "step shorter than test refused" 2 $Q "${WF[@]}" --study-name x --step 12h
contains "overlap named" "$TMP/err" "test spans overlap"
check_exit "too little data refused" 2 $Q "${WF[@]}" --study-name y --train 8d
contains "length named" "$TMP/err" "shorter than one --train + --test"

check_exit "warm start" 0 $Q "${WF[@]}" --study-name warm --warm-start --warm-top 3 --json
cp "$TMP/out" "$TMP/warm.json"
warm() {
  python3 - "$TMP/warm.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
ws = [w["warm_started"] for w in j["windows"]]
assert ws[0] == 0 and all(x == 3 for x in ws[1:]), ws
assert all(w["trials"] == 12 for w in j["windows"])
PY
}
check "warm start: windows 2.. begin with the previous top 3 (budget kept)" warm

# without --warm-start 2 jobs run 2 windows at a time, one runner thread
# each: with --deterministic the same trials as the windows one by one
check_exit "one window at a time (--jobs 1)" 0 $Q "${WF[@]}" --study-name serial --jobs 1 --json
cp "$TMP/out" "$TMP/serial.json"
check_exit "two windows at a time (--jobs 2)" 0 $Q "${WF[@]}" --study-name side --jobs 2 --json
cp "$TMP/out" "$TMP/side.json"
side_by_side() {
  python3 - "$TMP/serial.json" "$TMP/side.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for x, y in zip(a["windows"], b["windows"]):
    assert x["window"] == y["window"] and x["params"] == y["params"], (x["window"], x["params"], y["params"])
    assert x["is"] == y["is"] and x["oos"] == y["oos"], x["window"]
assert len(a["windows"]) == len(b["windows"]) == 6
assert a["stitched"] == b["stitched"] and a["drift"] == b["drift"]
PY
}
check "windows side by side: the same result, in window order" side_by_side

# validate on a window's study: the runner stored its returns
check_exit "validate a window study" 0 $Q validate --study-name hedge_grid-wf/w01 --storage "$DB" --boot 200
contains "DSR line" "$TMP/out" "deflated Sharpe ratio (DSR)"
finish
