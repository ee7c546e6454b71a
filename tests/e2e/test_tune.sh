#!/usr/bin/env bash
# qtune outcomes / tune end to end: outcomes that match the design's example
# give its report line for line; a review/approve/revert/apply/effective
# session with its exit codes; bad rows named by file, line and field;
# backtest --record-outcomes; evidence from the fixture catalog; the webhook
# as a loopback server received it; the daemon's start-up run and SIGTERM.
# On SQLite and, when QTUNE_PG_URL is set (tests/run.sh), on PostgreSQL.
source "$(dirname "$0")/lib.sh"
NOW=2026-07-08T01:00:00Z
BASE=1783386000000 # 2026-07-07T01:00:00Z in ms: the outcomes lie in the last day
export QTUNE_TELEGRAM_TOKEN= QTUNE_WEBHOOK_URL= QTUNE_TUNE_CONFIG=

# strategy n wins win_pnl loss_pnl last_loss_pnl: signal_time as epoch ms,
# entry_time as ISO text (the importers' time forms)
rows() {
  awk -v s="$1" -v n="$2" -v w="$3" -v wp="$4" -v lp="$5" -v last="$6" -v base="$BASE" -v off="$7" '
    BEGIN { for (k = 0; k < n; k++) {
      t = base + (off + k) * 60000; sec = (off + k) * 60
      iso = sprintf("2026-07-07T%02d:%02d:00Z", 1 + int(sec / 3600), int(sec % 3600 / 60))
      pnl = k < w ? wp : (k == n - 1 ? last : lp)
      printf "%s,BTCUSDT,%.0f,long,%s,100,,,%s,%s,closed\n", s, t, iso, pnl, (pnl > 0 ? 0.5 : -0.5)
    } }'
}
{
  echo "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,pnl_pct,status"
  rows directional_momentum 25 7 10 -12 -11.20 0 # 28.0% WR, -$145.20
  rows grid_trading 12 7 15 -3 -3.50 100          # 58.3% WR, +$89.50
  rows funding_arbitrage 3 2 25 0 -7.90 200       # 66.7% WR, +$42.10
} >"$TMP/outcomes.csv"
# the first two outcomes again, as JSON (same keys, so nothing new)
cat >"$TMP/outcomes.json" <<JSON
[
  {"strategy": "directional_momentum", "symbol": "BTCUSDT", "signal_time": $BASE, "side": "long",
   "entry_time": "2026-07-07T01:00:00Z", "entry_price": 100, "pnl": 10, "pnl_pct": 0.5,
   "status": "closed"},
  {"strategy": "directional_momentum", "symbol": "BTCUSDT", "signal_time": $((BASE + 60000)),
   "side": "long", "entry_time": "2026-07-07 01:01:00", "entry_price": 100, "pnl": 10,
   "pnl_pct": 0.5, "status": "closed"}
]
JSON
cat >"$TMP/expected.txt" <<'TXT'
=== Strategy Auto-Tuner Report ===

directional_momentum:
  [ADJUST] min_score: 50 -> 55
    Reason: Win rate 28.0% below threshold 30.0%
    Context: 25 signals, 28.0% WR, -$145.20 total PnL

grid_trading:
  [OK] No adjustments needed
    Context: 12 signals, 58.3% WR, +$89.50 total PnL

funding_arbitrage:
  [ADJUST] min_funding_rate: 0.01 -> 0.009
    Reason: Only 3 signals with 66.7% win rate - loosening filters
    Context: 3 signals, 66.7% WR, +$42.10 total PnL

2 adjustments logged as PENDING
TXT

json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1"; }

session() {
  local url=$1 tag=$2 T=(--storage "$1")
  check_exit "$tag import csv" 0 "$QTUNE" outcomes import "$TMP/outcomes.csv" "${T[@]}"
  contains "$tag import counts" "$TMP/out" "40 outcomes read, 40 added, 0 already stored"
  check_exit "$tag import again" 0 "$QTUNE" outcomes import "$TMP/outcomes.csv" "${T[@]}"
  contains "$tag import again adds nothing" "$TMP/out" "40 outcomes read, 0 added, 40 already stored"
  check_exit "$tag import json" 0 "$QTUNE" outcomes import "$TMP/outcomes.json" "${T[@]}" --json
  contains "$tag json form is the same outcomes" "$TMP/out" '"added": 0, "already_stored": 2'
  check_exit "$tag tune run" 0 "$QTUNE" tune run --now "$NOW" --no-notify "${T[@]}"
  if diff -u "$TMP/expected.txt" "$TMP/out" >"$TMP/diff"; then ok "$tag report line for line"
  else bad "$tag report line for line"; cat "$TMP/diff"; fi
  check_exit "$tag review" 0 "$QTUNE" tune review "${T[@]}"
  contains "$tag review newest first" "$TMP/out" "#2 funding_arbitrage min_funding_rate: 0.01 -> 0.009  [pending]"
  contains "$tag review context" "$TMP/out" "Context: 25 signals, 28.0% WR, -\$145.20 total PnL"
  contains "$tag review evidence" "$TMP/out" "Evidence: no backtest: no market data catalog configured"
  check_exit "$tag review json" 0 "$QTUNE" tune review --json "${T[@]}"
  check "$tag review json parses" json_ok "$TMP/out"
  contains "$tag review json columns" "$TMP/out" '"metric_trigger": "win_rate_low"'
  check_exit "$tag approve without reviewer" 2 "$QTUNE" tune approve 1 "${T[@]}"
  check_exit "$tag approve" 0 "$QTUNE" tune approve 1 --reviewer alice "${T[@]}"
  contains "$tag approve says" "$TMP/out" "adjustment 1 approved by alice"
  check_exit "$tag approve twice is refused" 1 "$QTUNE" tune approve 1 --reviewer bob "${T[@]}"
  contains "$tag refusal names the state" "$TMP/err" "adjustment 1 is approved, not pending: cannot approve it"
  check_exit "$tag revert" 0 "$QTUNE" tune revert 2 --reviewer bob --json "${T[@]}"
  contains "$tag revert json" "$TMP/out" '"reviewed_by": "bob"'
  check_exit "$tag revert unknown" 2 "$QTUNE" tune revert 99 --reviewer bob "${T[@]}"
  check_exit "$tag apply" 0 "$QTUNE" tune apply "${T[@]}"
  contains "$tag apply count" "$TMP/out" "1 approved adjustment applied"
  check_exit "$tag apply again: nothing" 0 "$QTUNE" tune apply --json "${T[@]}"
  contains "$tag apply json" "$TMP/out" '{"applied": 0}'
  check_exit "$tag effective" 0 "$QTUNE" tune effective directional_momentum -o "$TMP/eff_$tag.yaml" "${T[@]}"
  contains "$tag effective applied value" "$TMP/eff_$tag.yaml" "min_score: 55"
  contains "$tag effective defaults" "$TMP/eff_$tag.yaml" "expiry_hours: 8"
  check_exit "$tag effective json" 0 "$QTUNE" tune effective funding_arbitrage --json "${T[@]}"
  check "$tag effective json parses" json_ok "$TMP/out"
  contains "$tag reverted one is not effective" "$TMP/out" '"min_funding_rate": 0.0001'
  check_exit "$tag history" 0 "$QTUNE" tune history "${T[@]}"
  contains "$tag history applied" "$TMP/out" "#1 directional_momentum min_score: 50 -> 55  [applied]"
  contains "$tag history reverted" "$TMP/out" "Reviewed: reverted by bob"
  check_exit "$tag history json" 0 "$QTUNE" tune history --json "${T[@]}"
  check "$tag history json parses" json_ok "$TMP/out"
  # the next run: funding_arbitrage's reverted change cools down
  check_exit "$tag second run" 0 "$QTUNE" tune run --now 2026-07-08T02:00:00Z --no-notify --json "${T[@]}"
  check "$tag run json parses" json_ok "$TMP/out"
  contains "$tag cooldown after revert" "$TMP/out" "a reverted few_signals change cools down until"
}

session "sqlite:///$TMP/t.db" sqlite
if [ -n "${QTUNE_PG_URL:-}" ]; then
  pgdb=qtune_e2e_tune_$$
  if psql -q "$QTUNE_PG_URL" -c "CREATE DATABASE $pgdb" >/dev/null 2>&1; then
    session "${QTUNE_PG_URL%/*}/$pgdb" pg
    psql -q "$QTUNE_PG_URL" -c "DROP DATABASE $pgdb" >/dev/null 2>&1
  else
    bad "could not create database $pgdb on $QTUNE_PG_URL"
  fi
else
  bad "QTUNE_PG_URL is not set (tests/run.sh starts a server)"
fi

# ---- run options: --strategy, --dry-run, --window, --auto-apply
O=(--storage "sqlite:///$TMP/opt.db")
"$QTUNE" outcomes import "$TMP/outcomes.csv" "${O[@]}" >/dev/null
check_exit "dry run" 0 "$QTUNE" tune run --dry-run --strategy directional_momentum --now "$NOW" "${O[@]}"
contains "dry run: one strategy" "$TMP/out" "1 adjustment proposed (dry run: nothing logged)"
if grep -q "grid_trading" "$TMP/out"; then bad "--strategy filters"; else ok "--strategy filters"; fi
check_exit "dry run stored nothing" 0 "$QTUNE" tune history --json "${O[@]}"
contains "dry run stored nothing: empty" "$TMP/out" "[]"
check_exit "short window" 0 "$QTUNE" tune run --window 1h --dry-run --now "$NOW" "${O[@]}"
contains "1h window: no outcomes in it" "$TMP/out" "0 adjustments proposed"
check_exit "auto apply" 0 "$QTUNE" tune run --auto-apply --no-notify --now "$NOW" "${O[@]}"
contains "auto apply line" "$TMP/out" "2 adjustments applied (auto_apply)"
check_exit "auto applied: effective" 0 "$QTUNE" tune effective funding_arbitrage "${O[@]}"
contains "auto applied value" "$TMP/out" "min_funding_rate: 9e-05"

# ---- bad rows: file, line, field; nothing stored
B=(--storage "sqlite:///$TMP/bad.db")
{ head -3 "$TMP/outcomes.csv"; echo "grid_trading,BTCUSDT,$BASE,up,,,,,1,1,closed"; } >"$TMP/bad.csv"
check_exit "bad side" 2 "$QTUNE" outcomes import "$TMP/bad.csv" "${B[@]}"
contains "bad side named" "$TMP/err" "bad.csv:4: field 'side': expected long or short (\"up\")"
{ head -1 "$TMP/outcomes.csv"; echo "grid_trading,BTCUSDT,yesterday,long,,,,,1,1,closed"; } >"$TMP/bad2.csv"
check_exit "bad time" 2 "$QTUNE" outcomes import "$TMP/bad2.csv" "${B[@]}"
contains "bad time named" "$TMP/err" "bad2.csv:2: field 'signal_time': not a time"
printf '[\n {"strategy": "a", "symbol": "X", "signal_time": 1, "side": "long",\n  "pnl": 1, "pnl_pct": 1, "status": "closed"},\n {"strategy": "a", "symbol": "X", "signal_time": 2, "side": "long",\n  "pnl": "lots", "pnl_pct": 1, "status": "closed"}\n]\n' >"$TMP/bad.json"
check_exit "bad json pnl" 2 "$QTUNE" outcomes import "$TMP/bad.json" "${B[@]}"
contains "bad json named" "$TMP/err" "bad.json:4: field 'pnl': not a number (\"lots\")"
echo "strategy,symbol" >"$TMP/bad3.csv"
check_exit "missing columns" 2 "$QTUNE" outcomes import "$TMP/bad3.csv" "${B[@]}"
contains "missing column named" "$TMP/err" "bad3.csv:1: no column 'signal_time'"
check_exit "nothing stored" 0 "$QTUNE" outcomes list --json "${B[@]}"
contains "nothing stored: empty list" "$TMP/out" "[]"

# ---- backtest --record-outcomes, and evidence from the fixture catalog
C=$TMP/cat
"$QTUNE" data import --catalog "$C" --symbol AVAXUSDT "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null 2>&1
E=(--storage "sqlite:///$TMP/ev.db")
# the effective params file is one a backtest (and paper trading) loads
check_exit "effective params load" 0 "$QTUNE" backtest --strategy directional_momentum \
  --catalog "$C" --symbol AVAXUSDT --params-file "$TMP/eff_sqlite.yaml" --json
contains "effective params used" "$TMP/out" '"min_score": 55.0'
check_exit "backtest records outcomes" 0 "$QTUNE" backtest --strategy directional_momentum \
  --catalog "$C" --symbol AVAXUSDT --record-outcomes "${E[@]}"
contains "recorded" "$TMP/err" "qtune: recorded 4 outcomes of directional_momentum"
check_exit "backtest again" 0 "$QTUNE" backtest --strategy directional_momentum \
  --catalog "$C" --symbol AVAXUSDT --record-outcomes "${E[@]}"
contains "re-recording adds nothing" "$TMP/err" ": 0 new"
check_exit "outcomes list" 0 "$QTUNE" outcomes list --strategy directional_momentum "${E[@]}"
contains "a backtest outcome" "$TMP/out" "directional_momentum AVAXUSDT long expired"
{
  head -1 "$TMP/outcomes.csv"
  for k in 0 1 2 3 4 5 6 7 8 9; do
    p=-3; [ $k -lt 2 ] && p=5
    echo "directional_momentum,AVAXUSDT,2026-07-0$((1 + k % 4))T0$k:00:00Z,long,,,,,$p,-0.4,closed"
  done
} >"$TMP/ev.csv"
"$QTUNE" outcomes import "$TMP/ev.csv" "${E[@]}" >/dev/null
check_exit "run with evidence" 0 "$QTUNE" tune run --catalog "$C" --now 2026-07-05T00:00:00Z --no-notify "${E[@]}"
contains "evidence in the report" "$TMP/out" "Evidence: backtest, last 7 days: win rate"
check_exit "review with evidence" 0 "$QTUNE" tune review --json "${E[@]}"
contains "evidence stored" "$TMP/out" '"proposed": {'

# ---- the webhook, as a loopback server receives it
serve() { # PORTFILE BODYFILE STATUS
  python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(s):
        b = s.rfile.read(int(s.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as f: f.write(s.path.encode() + b"\n" + b + b"\n")
        s.send_response(int(sys.argv[3])); s.send_header("Content-Length", "0"); s.end_headers()
    def log_message(s, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(srv.server_port))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()' "$@" &
  SERVER=$!
  for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.1; done
}
serve "$TMP/port" "$TMP/body" 200
printf 'notify:\n  webhook: http://127.0.0.1:%s/hook\n  backoff: 0\n' "$(cat "$TMP/port")" >"$TMP/tuner.yaml"
W=(--storage "sqlite:///$TMP/w.db" --config "$TMP/tuner.yaml")
"$QTUNE" outcomes import "$TMP/outcomes.csv" --storage "sqlite:///$TMP/w.db" >/dev/null
check_exit "run notifies" 0 "$QTUNE" tune run --now "$NOW" "${W[@]}"
kill "$SERVER"; wait "$SERVER" 2>/dev/null
contains "webhook path" "$TMP/body" "/hook"
contains "webhook body" "$TMP/body" '{"event":"tune_run","summary":"qtune auto-tuner: 2 adjustments pending review\n#1 directional_momentum min_score: 50 -> 55 (Win rate 28.0% below threshold 30.0%)\n#2 funding_arbitrage min_funding_rate: 0.01 -> 0.009 (Only 3 signals with 66.7% win rate - loosening filters)"'
echo "--- the notification as the loopback server received it:"; head -c 400 "$TMP/body"; echo
# a failing webhook: bounded retries, exit 1, the adjustments stay
serve "$TMP/port2" "$TMP/body2" 500
printf 'notify:\n  webhook: http://127.0.0.1:%s/hook\n  backoff: 0\n  attempts: 2\n' "$(cat "$TMP/port2")" >"$TMP/tuner2.yaml"
W2=(--storage "sqlite:///$TMP/w2.db" --config "$TMP/tuner2.yaml")
"$QTUNE" outcomes import "$TMP/outcomes.csv" --storage "sqlite:///$TMP/w2.db" >/dev/null
check_exit "failed notification exits 1" 1 "$QTUNE" tune run --now "$NOW" "${W2[@]}"
kill "$SERVER"; wait "$SERVER" 2>/dev/null
contains "failure says stored" "$TMP/err" "webhook notification failed after 2 tries: HTTP status 500 (the adjustments are stored)"
if [ "$(grep -c '^/hook$' "$TMP/body2")" = 2 ]; then ok "two tries, no more"; else bad "tries: $(grep -c '^/hook$' "$TMP/body2")"; fi
check_exit "adjustments kept" 0 "$QTUNE" tune review "${W2[@]}"
contains "adjustments kept: listed" "$TMP/out" "[pending]"

# ---- the daemon: a missed run at start-up, once; SIGTERM stops it
D=(--storage "sqlite:///$TMP/d.db")
"$QTUNE" outcomes import "$TMP/outcomes.csv" "${D[@]}" >/dev/null
daemon() { # LOG: starts it, waits for its "next run" line
  QTUNE_LOG=info "$QTUNE" tune daemon --at 01:00 "${D[@]}" >"$1.out" 2>"$1.err" &
  DPID=$!
  for _ in $(seq 300); do grep -q "next run at" "$1.err" && break; sleep 0.1; done
}
daemon "$TMP/d1"
contains "daemon ran at start-up" "$TMP/d1.out" "=== Strategy Auto-Tuner Report ==="
kill -TERM "$DPID"; wait "$DPID"; rc=$?
if [ $rc = 0 ]; then ok "SIGTERM: clean exit"; else bad "SIGTERM: exit $rc"; fi
contains "daemon says stopped" "$TMP/d1.err" "tune daemon: stopped"
daemon "$TMP/d2"
kill -TERM "$DPID"; wait "$DPID"
if [ ! -s "$TMP/d2.out" ]; then ok "restart: no second run"; else bad "restart ran again"; head -3 "$TMP/d2.out"; fi
contains "restart knows the next slot" "$TMP/d2.err" "next run at"
check_exit "bad --at" 2 "$QTUNE" tune daemon --at 1am "${D[@]}"
finish
