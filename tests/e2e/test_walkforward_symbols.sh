#!/usr/bin/env bash
# qtune walk-forward --symbol A,B,C on a synthetic 3-symbol catalog built
# here (qtune data synth): every window's study runs each trial on each
# symbol, its best is tested on each symbol's test span (the numbers equal a
# one-symbol backtest there), "oos" is the aggregate of the symbols', the
# in-sample numbers equal a --symbol A,B,C backtest of the train span, the
# stitched curves chain per symbol and as the equal-cash portfolio, a second
# run resumes, and another --aggregate under the same name is refused.
source "$(dirname "$0")/lib.sh"
Q=$QTUNE
DB="sqlite:///$TMP/wfs.db"
for s in AAA:1 BBB:2 CCC:3; do
  $Q data synth --catalog "$TMP/cat" --symbol "${s%%:*}" --days 5 --seed "${s##*:}" \
    --trades-per-min 1 --quote-interval 1m >/dev/null || echo "synth ${s%%:*} failed"
done
WF=(walk-forward --strategy sma_cross --catalog "$TMP/cat" --symbol AAA,BBB,CCC --train 2d
    --test 1d --trials 8 --jobs 2 --deterministic --constraints none --storage "$DB")

# 5 days (2026-01-01 .. 2026-01-05): 2d + 1d windows stepping 1d -> 3 windows
check_exit "walk-forward over 3 symbols" 0 $Q "${WF[@]}" --json
cp "$TMP/out" "$TMP/wf.json"
shape() {
  python3 - "$TMP/wf.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
syms = ["AAA", "BBB", "CCC"]
assert j["symbols"] == syms and j["aggregate"] == "mean", (j.get("symbols"), j.get("aggregate"))
assert len(j["windows"]) == 3, len(j["windows"])
for w in j["windows"]:
    assert w["trials"] == 8 and w["trials_run"] == 8, w
    assert sorted(w["oos_by_symbol"]) == syms and sorted(w["is_by_symbol"]) == syms, w
    for k in ("sharpe", "total_return", "max_drawdown", "trades"):
        v = [w["oos_by_symbol"][s][k] for s in syms]
        assert abs(w["oos"][k] - sum(v) / 3) <= 1e-9 * max(1, abs(w["oos"][k])), (k, w["oos"][k], v)
assert sorted(j["stitched_by_symbol"]) == syms
assert j["stitched"]["portfolio"] == "equal cash shares"
PY
}
check "per-symbol OOS metrics, their mean as the window's OOS" shape
chained() {
  python3 - "$TMP/wf.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
cash = j["stitched"]["start_cash"]
for s, st in j["stitched_by_symbol"].items():
    f = cash
    for w in j["windows"]:
        f *= 1 + w["oos_by_symbol"][s]["total_return"]
    assert abs(f - st["final_equity"]) < 1e-6 * f, (s, f, st["final_equity"])
# the portfolio: equal cash shares at each test span's start, so each
# window returns the mean of the symbols' returns
f = cash
for w in j["windows"]:
    f *= 1 + sum(v["total_return"] for v in w["oos_by_symbol"].values()) / 3
assert abs(f - j["stitched"]["final_equity"]) < 1e-6 * f, (f, j["stitched"]["final_equity"])
assert j["stitched"]["bars"] == 3 * 1440, j["stitched"]["bars"]
PY
}
check "stitched: each symbol's windows chained, and the equal-cash portfolio" chained

# window 2's best: on BBB alone over its test span, and on all three over its train span
P=$(python3 -c "import json; w=json.load(open('$TMP/wf.json'))['windows'][1]; \
print(','.join('%s=%s' % kv for kv in w['params'].items()))")
check_exit "backtest of window 2's best on BBB's test span" 0 $Q backtest --strategy sma_cross \
  --catalog "$TMP/cat" --symbol BBB --params "$P" --from 2026-01-04T00:00:00Z \
  --to 2026-01-05T00:00:00Z --json
cp "$TMP/out" "$TMP/bt_oos.json"
check_exit "backtest of window 2's best on the 3 symbols' train span" 0 $Q backtest \
  --strategy sma_cross --catalog "$TMP/cat" --symbol AAA,BBB,CCC --params "$P" \
  --from 2026-01-02T00:00:00Z --to 2026-01-04T00:00:00Z --json
cp "$TMP/out" "$TMP/bt_is.json"
same() {
  python3 - "$TMP/wf.json" "$TMP/bt_oos.json" "$TMP/bt_is.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["windows"][1]
oos = json.load(open(sys.argv[2]))["metrics"]
ism = json.load(open(sys.argv[3]))["metrics"]
for k in ("sharpe", "total_return", "trades", "max_drawdown"):
    a, b = w["oos_by_symbol"]["BBB"][k], oos[k]
    assert a is not None and abs(a - b) <= 1e-8 * max(1, abs(b)), ("oos", k, a, b)
    a, b = w["is"][k], ism[k]
    assert a is not None and abs(a - b) <= 1e-8 * max(1, abs(b)), ("is", k, a, b)
    a, b = w["is_by_symbol"]["CCC"][k], ism["by_symbol"]["CCC"][k]
    assert a is not None and abs(a - b) <= 1e-8 * max(1, abs(b)), ("is CCC", k, a, b)
PY
}
check "window OOS per symbol = backtest there; IS = the 3-symbol backtest of the train span" same

check_exit "table (resumed)" 0 $Q "${WF[@]}"
cp "$TMP/out" "$TMP/wf.txt"
contains "header names the symbols" "$TMP/wf.txt" "sma_cross on AAA,BBB,CCC (mean of the symbols' metrics)"
contains "a per-symbol row" "$TMP/wf.txt" "       CCC   "
contains "per-symbol stitched" "$TMP/wf.txt" "stitched out-of-sample equity per symbol"
contains "portfolio stitched" "$TMP/wf.txt" "stitched out-of-sample equity of the portfolio (equal cash shares) 2026-01-03T00:00:00Z .. 2026-01-05T23:59:00Z (4320 bars)"
check_exit "resumed --json" 0 $Q "${WF[@]}" --json
cp "$TMP/out" "$TMP/wf2.json"
resumed() {
  python3 - "$TMP/wf.json" "$TMP/wf2.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert all(w["trials_run"] == 0 for w in b["windows"]), [w["trials_run"] for w in b["windows"]]
assert a["stitched"] == b["stitched"], (a["stitched"], b["stitched"])
PY
}
check "a second run resumes: no trial re-run, the same stitched result" resumed
check_exit "window studies stored" 0 $Q studies --storage "$DB"
contains "study w03" "$TMP/out" "sma_cross-wf/w03"

check_exit "another --aggregate under the same name refused" 2 $Q "${WF[@]}" --aggregate min
contains "names the difference" "$TMP/err" "was run on other settings"
check_exit "--aggregate min" 0 $Q "${WF[@]}" --aggregate min --study-name worst --json
cp "$TMP/out" "$TMP/min.json"
worst() {
  python3 - "$TMP/min.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["aggregate"] == "min"
for w in j["windows"]:
    by = w["oos_by_symbol"].values()
    assert w["oos"]["sharpe"] == min(v["sharpe"] for v in by), w
    assert w["oos"]["max_drawdown"] == max(v["max_drawdown"] for v in by), w
PY
}
check "--aggregate min: the worst symbol (largest drawdown)" worst
check_exit "--aggregate without several symbols refused" 2 $Q walk-forward --strategy sma_cross \
  --catalog "$TMP/cat" --symbol AAA --aggregate mean --train 2d --test 1d --storage "$DB"
contains "says why" "$TMP/err" "--aggregate needs --symbol A,B"
check_exit "a missing symbol named" 2 $Q walk-forward --strategy sma_cross --catalog "$TMP/cat" \
  --symbol AAA,ZZZ --train 2d --test 1d --storage "$DB"
contains "names it" "$TMP/err" "ZZZ"
if [ -n "${QTUNE_PG_URL:-}" ]; then
  # the same windows side by side on PostgreSQL: the same trials (--deterministic), a resume
  PG=(--storage "$QTUNE_PG_URL" --study-name "wfs$$")
  check_exit "walk-forward over 3 symbols on PostgreSQL" 0 $Q "${WF[@]}" "${PG[@]}" --json
  cp "$TMP/out" "$TMP/pg.json"
  check_exit "resumed on PostgreSQL" 0 $Q "${WF[@]}" "${PG[@]}" --json
  cp "$TMP/out" "$TMP/pg2.json"
  same_pg() {
    python3 - "$TMP/wf.json" "$TMP/pg.json" "$TMP/pg2.json" <<'PY'
import json, sys
a, b, c = (json.load(open(p)) for p in sys.argv[1:4])
assert a["stitched"] == b["stitched"] == c["stitched"], (a["stitched"], b["stitched"])
assert all(w["trials_run"] == 0 for w in c["windows"])
PY
  }
  check "PostgreSQL: the SQLite run's result, then a resume" same_pg
fi
finish
