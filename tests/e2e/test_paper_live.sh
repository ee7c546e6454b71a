#!/usr/bin/env bash
# `qtune paper --live-params FILE` end to end: a paper market_maker on a
# replay of the AVAXUSDT fixture at 600x (10 bars a second) while its params
# file is edited: a valid set (base_spread_bps 20 -> 60: the quotes' spread
# widens from the bar the runner names), invalid JSON, a value out of range
# (the guide's message), an unknown name, the file deleted (each refused:
# the set in effect stays), then `qtune live revert` while it runs (the
# runner reloads the set before).  Each step waits for the runner's log line
# of the previous one, so the test paces itself on the runner, not a clock.
# Then the same on a stream feed (a FIFO): a reload changes the quotes from
# the bar the runner names on.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
CAT="$TMP/cat"
PY=${PYTHON:-python3}
check_exit "import June" 0 "$QTUNE" data import --catalog "$CAT" --symbol AVAXUSDT \
  "$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv"

P="$TMP/tuning_params.json"
# wait_for TEXT: waits (up to 120 s) for the runner's stderr to hold TEXT
wait_for() {
  local n=0
  until grep -qF -- "$1" "$TMP/perr"; do
    if ! kill -0 "$pid" 2>/dev/null || [ $n -ge 1200 ]; then
      bad "runner logged '$1'"; tail -5 "$TMP/perr"; return 1
    fi
    sleep 0.1; n=$((n + 1))
  done
  ok "runner logged '$1'"
}
put() { printf '%s\n' "$1" >"$P.tmp" && mv "$P.tmp" "$P"; } # an editor's save

put '{"base_spread_bps": 20}'
QTUNE_LOG=info "$QTUNE" paper --strategy market_maker --feed replay --catalog "$CAT" \
  --symbol AVAXUSDT --speed 600x --storage "sqlite:///$TMP/p.db" --name mm1 \
  --live-params "$P" --orders "$TMP/orders.csv" --quiet >"$TMP/pout" 2>"$TMP/perr" &
pid=$!
wait_for "Tuning parameters reloaded successfully"
wait_for "paper: live params v2 in effect"
wait_for "info: ControlVector[db=" # a quote under the first set
put '{"base_spread_bps": 60, "skew_adjustment_factor": 0.8}'
wait_for "Auto-reloaded tuning parameters"
wait_for "paper: live params v3 in effect"
printf '{"base_spread_bps": 90,\n' >"$P" # invalid JSON, written in place
wait_for "Failed to reload config: $P:2:0: invalid JSON"
put '{"skew_adjustment_factor": 3.5}'
wait_for "Invalid parameter: skew_adjustment_factor must be in [0.0, 2.0], got 3.5"
put '{"skew_adjustment_factr": 1.0}'
wait_for "Unknown parameter: skew_adjustment_factr"
rm -f "$P"
wait_for "deleted; keeping the current tuning parameters"
# a few more bars on the set in effect, then the history while it runs
sleep 1
check_exit "history while running" 0 "$QTUNE" live history mm1 --live-params "$P" --json
cp "$TMP/out" hist2.json
check "two sets applied (the refused ones are not)" $PY - hist2.json <<'EOT'
import json, sys
h = json.load(open(sys.argv[1]))
assert [e["source"] for e in h] == ["reload", "watch"], h
assert h[0]["params"]["base_spread_bps"] == 20 and h[1]["params"]["base_spread_bps"] == 60, h
assert h[1]["params"]["skew_adjustment_factor"] == 0.8
assert h[0]["equity"] is not None and h[1]["equity"] is not None
EOT
check_exit "revert while running" 0 "$QTUNE" live revert mm1 --live-params "$P"
wait_for "paper: live params v4 in effect"
sleep 1
kill -TERM $pid
wait $pid
check "runner stopped by SIGTERM with its summary" grep -q "^portfolio" "$TMP/pout"
check "no other set took effect" test "$(grep -c 'paper: live params v' "$TMP/perr")" = 3
check "StateVector lines at info in the paper runner" grep -q "info: StateVector\[S=" "$TMP/perr"
check "ControlVector lines at info in the paper runner" grep -q "info: ControlVector\[db=" "$TMP/perr"
check_exit "history after" 0 "$QTUNE" live history mm1 --live-params "$P"
contains "history: the revert" "$TMP/out" "revert"
contains "history: P&L of the first set" "$TMP/out" "reload "
check_exit "history json" 0 "$QTUNE" live history mm1 --live-params "$P" --json
cp "$TMP/out" hist.json
# the quotes' total spread per bar (bid and ask submitted at one time): the
# median of each stretch between the bars the runner named
check "orders: spread 20 bps, then 60 after v3, 20 again after the revert" \
  $PY - "$TMP/orders.csv" "$TMP/perr" hist.json <<'EOT'
import csv, json, re, sys, statistics
rows = list(csv.DictReader(open(sys.argv[1])))
at = {}
for line in open(sys.argv[2]):
    m = re.search(r"live params v(\d) in effect from the bar of (\S+):", line)
    if m: at[int(m.group(1))] = m.group(2)
assert sorted(at) == [2, 3, 4], at
h = json.load(open(sys.argv[3]))
assert [e["source"] for e in h] == ["reload", "watch", "revert"], h
assert h[2]["params"]["base_spread_bps"] == 20, h[2]
quotes = {}
for r in rows:
    if r["action"] == "submit" and r["type"] == "limit":
        quotes.setdefault(r["time"], {})[r["side"]] = float(r["price"])
seg = {2: [], 3: [], 4: []}
for t, q in quotes.items():
    if "buy" not in q or "sell" not in q: continue
    bps = (q["sell"] - q["buy"]) / ((q["sell"] + q["buy"]) / 2) * 1e4
    v = 4 if t >= at[4] else 3 if t >= at[3] else 2
    seg[v].append(bps)
med = {v: statistics.median(x) for v, x in seg.items() if x}
print("median spread bps by set:", med, "bars:", {v: len(x) for v, x in seg.items()})
assert len(seg[2]) >= 1 and len(seg[3]) >= 3 and len(seg[4]) >= 1, seg
assert 19 <= med[2] < 40 and med[3] >= 59 and 19 <= med[4] < 40, med
EOT

# ---- the background HJB: every second on the last 240 bars; params far
# from the optimum (no skew, liquidating from 10% inventory at the top rate,
# the widest floor) keep the gap above 10%, so the third run's suggestion is
# filed as pending adjustments, and never applied
put '{"skew_adjustment_factor": 0.0, "inventory_urgency_threshold": 0.1, "liquidation_rate_multiplier": 100, "min_spread_base_ratio": 1.0}'
: >"$TMP/perr"
QTUNE_LOG=info "$QTUNE" paper --strategy market_maker --feed replay --catalog "$CAT" \
  --symbol AVAXUSDT --speed 600x --storage "sqlite:///$TMP/h.db" --name hjb1 \
  --live-params "$P" --hjb-every 1s --hjb-trials 8 --propose --quiet >"$TMP/pout" 2>"$TMP/perr" &
pid=$!
wait_for "Background HJB Optimization Complete: Heuristic_Value="
wait_for "(filed as pending adjustments)"
kill -TERM $pid
wait $pid
check "HJB: gap logged in the guide's form" grep -qE \
  "Background HJB Optimization Complete: Heuristic_Value=[0-9.-]+, Optimal_Value=[0-9.-]+, Gap=[0-9.]+%" "$TMP/perr"
check "HJB: the suggestion is not applied" test "$(grep -c 'paper: live params v' "$TMP/perr")" = 1
check_exit "tune review --json" 0 "$QTUNE" tune review --storage "sqlite:///$TMP/h.db" --json
cp "$TMP/out" review.json
check "HJB: pending hjb_gap adjustments of market_maker, from the set in effect" $PY - review.json <<'EOT'
import json, sys
rows = json.load(open(sys.argv[1]))
assert rows, "no pending adjustments"
names = set()
for r in rows:
    assert r["status"] == "pending" and r["metric_trigger"] == "hjb_gap", r
    assert r["reason"].startswith("hjb_gap: run hjb1"), r
    assert r["strategy_name"] == "market_maker" and r["metric_value"] > 10, r
    assert r["new_value"] != r["old_value"], r
    names.add(r["parameter_name"])
old = {r["parameter_name"]: r["old_value"] for r in rows}
want = {"skew_adjustment_factor": 0.0, "inventory_urgency_threshold": 0.1,
        "liquidation_rate_multiplier": 100.0, "min_spread_base_ratio": 1.0}
for k, v in old.items():
    assert k in want and abs(want[k] - v) < 1e-9, (k, v)
assert len(rows) == len(names), "filed once per set in effect"
EOT
check_exit "--propose without --hjb-every refused" 2 "$QTUNE" paper --strategy market_maker \
  --feed replay --catalog "$CAT" --symbol AVAXUSDT --no-storage --propose
check_exit "--hjb-every on another strategy refused" 2 "$QTUNE" paper --strategy sma_cross \
  --feed replay --catalog "$CAT" --symbol AVAXUSDT --no-storage --hjb-every 1s
contains "--hjb-every refusal says why" "$TMP/err" "--hjb-every needs market_maker"

# ---- the same on a stream feed (a FIFO the test writes klines into): a
# reload applies to the bars after the one the runner names, never to the
# bars before (each stream bar extends the engine; nothing is rerun)
$PY "$QT_ROOT/tests/e2e/paper_klines.py" "$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv" 1200 \
  "$TMP/ks.jsonl"
head -n 800 "$TMP/ks.jsonl" >"$TMP/ks1.jsonl"
tail -n +801 "$TMP/ks.jsonl" >"$TMP/ks2.jsonl"
put '{"base_spread_bps": 20}'
mkfifo "$TMP/sfifo"
: >"$TMP/perr"
QTUNE_LOG=info "$QTUNE" paper --strategy market_maker --feed "$TMP/sfifo" --symbol AVAXUSDT \
  --storage "sqlite:///$TMP/s.db" --name mms --live-params "$P" --orders "$TMP/sorders.csv" \
  --quiet >"$TMP/pout" 2>"$TMP/perr" &
pid=$!
exec 3<>"$TMP/sfifo" # read-write: opening does not wait for the runner
# (a runner that is gone leaves the pipe full: the writes give up after 120 s)
timeout 120 cat "$TMP/ks1.jsonl" >&3 || bad "stream: the runner read the first klines"
wait_for "paper: live params v2 in effect"
wait_for "info: ControlVector[db="
sleep 1
put '{"base_spread_bps": 60}'
wait_for "Auto-reloaded tuning parameters"
timeout 120 cat "$TMP/ks2.jsonl" >&3 || bad "stream: the runner read the rest"
wait_for "paper: live params v3 in effect"
exec 3>&- # the only writer closes: the feed ends
wait $pid
check "stream runner ended with its feed (exit 0)" test $? = 0
check "stream: two sets took effect" test "$(grep -c 'paper: live params v' "$TMP/perr")" = 2
check "stream orders: spread 20 bps up to the bar named, 60 from it on" \
  $PY - "$TMP/sorders.csv" "$TMP/perr" <<'EOT'
import csv, re, sys, statistics
at = {}
for line in open(sys.argv[2]):
    m = re.search(r"live params v(\d) in effect from the bar of (\S+):", line)
    if m: at[int(m.group(1))] = m.group(2)
assert sorted(at) == [2, 3], at
quotes = {}
for r in csv.DictReader(open(sys.argv[1])):
    if r["action"] == "submit" and r["type"] == "limit":
        quotes.setdefault(r["time"], {})[r["side"]] = float(r["price"])
seg = {2: [], 3: []}
for t, q in quotes.items():
    if "buy" not in q or "sell" not in q: continue
    bps = (q["sell"] - q["buy"]) / ((q["sell"] + q["buy"]) / 2) * 1e4
    seg[3 if t >= at[3] else 2].append(bps)
med = {v: statistics.median(x) for v, x in seg.items() if x}
print("stream: median spread bps by set:", med, "bars:", {v: len(x) for v, x in seg.items()})
assert len(seg[2]) >= 3 and len(seg[3]) >= 3, seg
assert 19 <= med[2] < 40 and med[3] >= 59, med
assert max(seg[2]) < 59, max(seg[2])  # no bar before the reload got the new spread
EOT
# ---- a stored stream run whose file changed mid-run, killed (kill -9)
# after the change took effect and restarted with the same --name: the sets
# are stored with the bar each took effect at (paper_params), so the rebuild
# applies them there, the resume passes the count check, and the run ends
# equal to an uninterrupted one with the same change at the same bar.  The
# test places the change: it writes the first 400 bars, waits until the
# runner has committed them and reloaded the file, then writes the rest, so
# the new set takes effect at bar 400 in both runs.
$PY - "$TMP/ks.jsonl" "$TMP/kp" <<'EOT'
import json, sys
parts, cut, n = [[], [], []], [400, 550], 0
for line in open(sys.argv[1]):
    parts[0 if n < cut[0] else 1 if n < cut[1] else 2].append(line)
    if json.loads(line)["k"]["x"]: n += 1
for i, p in enumerate(parts): open("%s%d.jsonl" % (sys.argv[2], i), "w").writelines(p)
EOT
# wait_bars DB RUN N: waits (up to 120 s) for RUN's committed bars to reach N
wait_bars() {
  if $PY - "$@" <<'EOT'; then ok "runner committed $3 bars"; else bad "runner committed $3 bars"; fi
import sqlite3, sys, time
for _ in range(1200):
    try:
        r = sqlite3.connect(sys.argv[1]).execute(
            "select n_bars from paper_runs where name = ?", (sys.argv[2],)).fetchone()
        if r and r[0] >= int(sys.argv[3]): sys.exit(0)
    except sqlite3.Error: pass
    time.sleep(0.1)
sys.exit(1)
EOT
}
# live_run NAME DB FIFO OUT: a stored market_maker stream run reading FIFO
live_run() {
  QTUNE_LOG=info "$QTUNE" paper --strategy market_maker --feed "$3" --symbol AVAXUSDT \
    --storage "sqlite:///$2" --name "$1" --live-params "$P" --orders "$4.orders.csv" \
    --trades "$4.trades.csv" --quiet >"$TMP/pout" 2>>"$TMP/perr" &
  pid=$!
}
for run in ref kill; do
  put '{"base_spread_bps": 20}'
  : >"$TMP/perr"
  mkfifo "$TMP/f_$run"
  live_run $run "$TMP/$run.db" "$TMP/f_$run" "$TMP/$run"
  exec 3<>"$TMP/f_$run"
  timeout 120 cat "$TMP/kp0.jsonl" >&3 || bad "$run: the runner read the first bars"
  wait_bars "$TMP/$run.db" $run 400
  put '{"base_spread_bps": 60, "skew_adjustment_factor": 0.8}'
  wait_for "Auto-reloaded tuning parameters"
  timeout 120 cat "$TMP/kp1.jsonl" >&3 || bad "$run: the runner read the next bars"
  wait_for "paper: live params v3 in effect"
  if [ $run = ref ]; then
    timeout 120 cat "$TMP/kp2.jsonl" >&3 || bad "ref: the runner read the rest"
    exec 3>&-
    wait $pid
    check "uninterrupted run ended with its feed (exit 0)" test $? = 0
    continue
  fi
  wait_bars "$TMP/kill.db" kill 550
  kill -9 $pid
  wait $pid 2>/dev/null
  check "runner killed (137)" test $? = 137
  exec 3>&-
  # the restart: the same input from the start (the stored bars come again
  # and are dropped as duplicates), the file still holding the edited set
  live_run kill "$TMP/kill.db" "$TMP/f_kill" "$TMP/kill"
  exec 3<>"$TMP/f_kill"
  timeout 120 cat "$TMP/ks.jsonl" >&3 || bad "restart: the runner read the input"
  exec 3>&-
  wait $pid
  check "restarted run resumed and ended with its feed (exit 0)" test $? = 0
  check "restart: no count mismatch" sh -c "! grep -q 'rebuilt' '$TMP/perr'"
done
same_csv() { if cmp -s "$2" "$3"; then ok "$1"; else bad "$1"; diff "$2" "$3" | head -5; fi; }
same_csv "killed and resumed = uninterrupted: --orders" "$TMP/ref.orders.csv" "$TMP/kill.orders.csv"
same_csv "killed and resumed = uninterrupted: --trades" "$TMP/ref.trades.csv" "$TMP/kill.trades.csv"
check "killed and resumed = uninterrupted: stored orders, trades, outcomes, sets" \
  $PY - "$TMP/ref.db" "$TMP/kill.db" <<'EOT'
import sqlite3, sys
q = ["select symbol, seq, ts_ms, order_id, action, side, type, qty, price from paper_orders order by symbol, seq",
     "select symbol, seq, side, entry_ms, exit_ms, qty, entry_price, exit_price, pnl, fees from paper_trades order by symbol, seq",
     "select symbol, side, signal_time, entry_time, exit_time, entry_price, exit_price, pnl, params_version from signal_outcomes order by symbol, signal_time, exit_time",
     "select seq, bar_ms, at_json, params_json, source from paper_params order by seq"]
a, b = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
for s in q:
    x, y = a.execute(s).fetchall(), b.execute(s).fetchall()
    assert x == y, (s, len(x), len(y), [r for r in zip(x, y) if r[0] != r[1]][:2])
    print(s.split(" from ")[1].split()[0], len(x), "rows equal")
sets = a.execute("select seq, at_json, source from paper_params order by seq").fetchall()
assert [r[2] for r in sets] == ["start", "file", "file"], sets
assert '"AVAXUSDT": 400' in sets[2][1], sets
n = a.execute("select count(*) from paper_orders where ts_ms >= (select bar_ms from paper_params where seq = 2)").fetchone()[0]
assert n > 0, "orders after the change"
EOT
check_exit "live history --storage" 0 "$QTUNE" live history kill --storage "sqlite:///$TMP/kill.db" --json
cp "$TMP/out" shist.json
check "history from the storage: start, then the two sets with their bars" $PY - shist.json <<'EOT'
import json, sys
h = json.load(open(sys.argv[1]))
assert [e["source"] for e in h] == ["start", "file", "file"], h
assert h[1]["at"] == {"AVAXUSDT": 0} and h[2]["at"] == {"AVAXUSDT": 400}, h
assert h[2]["params"]["base_spread_bps"] == 60 and h[2]["current"], h[2]
assert h[2]["bar_ms"] > h[1]["bar_ms"] > 0, h
EOT
check_exit "live history --storage: unknown run" 2 "$QTUNE" live history nope --storage "sqlite:///$TMP/kill.db"
contains "unknown run named" "$TMP/err" "no paper run named 'nope'"
finish
