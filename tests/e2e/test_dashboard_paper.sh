#!/usr/bin/env bash
# qtune dashboard, the paper runs: real `qtune paper` runs into the storage
# (a replay of the AVAXUSDT klines run to its end, one with a hostile name,
# and a stream run that is still running on a file that grows), then the
# dashboard's /paper list and /paper/run pages in Debian's headless Chromium
# (tests/browser/dash_session.js): 401 without the token, no console errors,
# nothing fetched elsewhere, the equity chart drawn, every number on the
# page equal to the storage's (equity, P&L against the start cash, trades,
# bars, the trade, position, order and risk-breach tables), the hostile name
# as text, and
# the open pages following the running run (more bars, a new run).  The same
# on PostgreSQL (QTUNE_PG_URL, from tests/run.sh).
# Screenshots: build-test/dashboard-screens/paper-*.png.
source "$(dirname "$0")/lib.sh"
SHOTS=$QT_ROOT/${BT:-build-test}/dashboard-screens
mkdir -p "$SHOTS"
DRIVER=$QT_ROOT/tests/browser/dash_session.js
PY=/usr/bin/python3
GEN=$QT_ROOT/tests/e2e/paper_klines.py
cd "$TMP"
F=$FIXTURES/binance
C=$TMP/cat
SP=(--strategy sma_cross --params fast=20,slow=60)
"$QTUNE" data import --catalog "$C" --symbol AVAXUSDT "$F/AVAXUSDT-1m-2026-06.csv" \
  "$F/AVAXUSDT-1m-2026-07.csv" >/dev/null 2>&1
evil='<script>alert(1)</script>'
evil_q=$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$evil")

# f2 V / f2s V: V as C's %.2f / %+.2f (Python's formatting rounds the same way)
f2() { $PY -c 'import sys; print("%.2f" % float(sys.argv[1]))' "$1"; }
f2s() { $PY -c 'import sys; print("%+.2f" % float(sys.argv[1]))' "$1"; }
# sq DB SQL: one value from the SQLite file (Python's repr of floats: exact)
sq() { $PY - "$1" "$2" <<'EOF'
import sqlite3, sys
v = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0]
print(v)
EOF
}
# wait_url FILE PID: the URL line the server printed ("" if it died first)
wait_url() {
  local u=
  for _ in $(seq 1 600); do # bounded wait for the first line, not a speed check
    u=$(sed -n 's/^dashboard: //p' "$1")
    [ -n "$u" ] && break
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "$u"
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
same() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: got '$2', want '$3'"; fi; }
# s N 'expr on step r': a field of step N's result in steps.json
s() { node -e 'let v; try { const o=JSON.parse(require("fs").readFileSync(process.argv[3] || "steps.json","utf8"));
  v=(new Function("r","return ("+process.argv[2]+")"))(o.steps[+process.argv[1]]); } catch (e) { v=undefined; }
  console.log(v===undefined ? "(missing)" : typeof v==="object" ? JSON.stringify(v) : v)' "$1" "$2" "${3:-}"; }

# ---- the runs (SQLite) ----
DBF=$TMP/p.db
DB="sqlite:///$DBF"
check_exit "paper replay to its end" 0 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" \
  --feed replay --commit-every 500 --storage "$DB" --name rep --quiet
# (with risk limits, so its page has breaches to list)
check_exit "paper replay with a hostile name" 0 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT \
  "${SP[@]}" --from 2026-07-03 --feed replay --max-daily-loss 0.002 --risk-per-trade 0.5 \
  --storage "$DB" --name "$evil" --quiet
# the stream run: the first 300 klines now, more while the pages are open
$PY "$GEN" "$F/AVAXUSDT-1m-2026-07.csv" 600 all.jsonl
n_first=$(grep -c '"x": true' all.jsonl | awk '{print int($1 / 2)}')
awk -v n="$n_first" '/"x": true/ {c++} {print} c == n {exit}' all.jsonl >grow.jsonl
awk -v n="$n_first" 'c >= n {print} /"x": true/ {c++}' all.jsonl >more.jsonl
"$QTUNE" paper "${SP[@]}" --feed "$TMP/grow.jsonl" --idle-exit 900 --symbol AVAXUSDT \
  --storage "$DB" --name live --quiet >live.out 2>live.err &
LPID=$!
trap 'kill "$LPID" "${DPID:-}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
bars=
for _ in $(seq 1 600); do # bounded wait for the first part's commit, not a speed check
  bars=$(sq "$DBF" "select n_bars from paper_runs where name='live'" 2>/dev/null)
  [ "$bars" = "$n_first" ] && break
  sleep 0.1
done
same "the stream run committed its first bars" "$bars" "$n_first"

# ---- the server ----
"$QTUNE" dashboard --storage "$DB" --port 0 --poll-ms 300 >dash.out 2>dash.err &
DPID=$!
URL=$(wait_url dash.out "$DPID")
BASE=${URL%%/\?token=*}
TOK=${URL##*token=}
for p in /paper /api/paper "/paper/run?name=rep" "/api/paper/run?name=rep"; do
  same "no token: 401 on $p" "$(code "$BASE$p")" 401
  same "bearer token: 200 on $p" "$(code -H "Authorization: Bearer $TOK" "$BASE$p")" 200
done
same "unknown run: 404" "$(code -H "Authorization: Bearer $TOK" "$BASE/paper/run?name=nope")" 404
same "no name: 400" "$(code -H "Authorization: Bearer $TOK" "$BASE/paper/run")" 400
api_state() { curl -s -H "Authorization: Bearer $TOK" "$BASE/api/paper" | node -e 'let s="";
  process.stdin.on("data",d=>s+=d).on("end",()=>{ try { const r=JSON.parse(s).runs.find(x=>x.name===process.argv[1]);
  console.log(r ? r.cells[8] : "absent") } catch (e) { console.log("?") } })' "$1"; }
same "the list: the stream run is running" "$(api_state live)" running
same "the list: the replay is done" "$(api_state rep)" done
same "the escaped name in the list" "$(curl -s -H "Authorization: Bearer $TOK" "$BASE/paper" |
  grep -c '&lt;script&gt;alert(1)&lt;/script&gt;')" 1

# what the storage holds for "rep"
R="(select id from paper_runs where name='rep')"
eq=$(f2 "$(sq "$DBF" "select equity from paper_runs where name='rep'")")
pnl=$(f2s "$(sq "$DBF" "select r.equity - e.equity from paper_runs r join paper_equity e on e.run_id=r.id and e.bar_ms=0 where r.name='rep'")")
ntr=$(sq "$DBF" "select count(*) from paper_trades where run_id=$R")
nbars=$(sq "$DBF" "select n_bars from paper_runs where name='rep'")
nord=$(sq "$DBF" "select count(*) from paper_orders where run_id=$R")
npos=$(sq "$DBF" "select count(*) from paper_positions where run_id=$R")
realized=$(f2 "$(sq "$DBF" "select e.equity + (select sum(pnl) from paper_trades where run_id=$R) from paper_equity e where e.run_id=$R and e.bar_ms=0")")
last_pnl=$(f2 "$(sq "$DBF" "select pnl from paper_trades where run_id=$R order by exit_ms desc, seq desc limit 1")")
check "the replay traded" test "$ntr" -gt 20
ER="(select id from paper_runs where name='$evil')"
nrisk=$(sq "$DBF" "select count(*) from paper_risk where run_id=$ER")
check "the hostile run breached its limits" test "$nrisk" -gt 0
last_risk=$(sq "$DBF" "select max(ts_ms) from paper_risk where run_id=$ER" |
  $PY -c 'import sys, datetime; t = int(sys.stdin.read()); print(datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))')
show_ord=$((nord < 500 ? nord : 500))
cat >more.sh <<EOF
cat "$TMP/more.jsonl" >>"$TMP/grow.jsonl"
EOF
cat >new.sh <<EOF
"$QTUNE" paper --catalog "$C" --symbol AVAXUSDT ${SP[@]} --from 2026-07-04 --feed replay \\
  --storage "$DB" --name late --quiet
EOF
n_all=$(grep -c '"x": true' all.jsonl)
cat >plan.json <<EOF
{"base": "$BASE", "steps": [
 {"visit": "/paper", "fresh": true},
 {"visit": "/paper/run?name=rep", "fresh": true},
 {"visit": "/?token=$TOK"},
 {"visit": "/paper", "shot": "$SHOTS/paper-runs.png", "text": ["qt-n-runs"]},
 {"visit": "/paper/run?name=rep", "shot": "$SHOTS/paper-run.png",
  "text": ["qt-paper-name", "qt-paper-status", "qt-paper-equity", "qt-paper-pnl", "qt-paper-n-trades",
           "qt-paper-n-bars", "qt-paper-trades-note"]},
 {"visit": "/paper/run?name=$evil_q", "shot": "$SHOTS/paper-escaping.png", "text": ["qt-paper-name"]},
 {"visit": "/paper/run?name=live", "text": ["qt-paper-n-bars", "qt-paper-status"]},
 {"run": "bash $TMP/more.sh"},
 {"wait_text": {"id": "qt-paper-n-bars", "value": "$n_all"}, "shot": "$SHOTS/paper-run-live.png"},
 {"visit": "/paper", "text": ["qt-n-runs"]},
 {"run": "bash $TMP/new.sh"},
 {"wait_text": {"id": "qt-n-runs", "value": "4"}, "shot": "$SHOTS/paper-runs-live.png"}
]}
EOF
if node "$DRIVER" plan.json >steps.json 2>steps.err; then ok "browser ran the session"; else bad "browser: $(tail -3 steps.err)"; echo '{"steps":[]}' >steps.json; fi
for i in 0 1; do same "browser without token: 401 ($(s $i r.step.visit))" "$(s $i r.status)" 401; done
for i in 3 4 5 6; do
  same "no console errors ($(s $i r.step.visit))" "$(s $i 'r.console_errors.length+r.page_errors.length')" 0
  same "nothing fetched elsewhere ($(s $i r.step.visit))" "$(s $i r.external_requests.length)" 0
  same "no dialog ($(s $i r.step.visit))" "$(s $i r.dialogs.length)" 0
done
same "list: the three runs" "$(s 3 'r.text["qt-n-runs"]+","+r.rows["qt-paper-runs"]')" "3,3"
same "list: each run links to its page" "$(s 3 'r.links.filter(h => /^\/paper\/run\?name=/.test(h)).length')" 3
same "the index links to the list" "$(s 2 'r.nav.includes("/paper")')" true
same "run page: name" "$(s 4 'r.text["qt-paper-name"]')" rep
same "run page: done" "$(s 4 'r.text["qt-paper-status"]')" done
same "run page: equity = storage" "$(s 4 'r.text["qt-paper-equity"]')" "$eq"
same "run page: P&L = equity - start cash" "$(s 4 'r.text["qt-paper-pnl"]')" "$pnl"
same "run page: trades = storage" "$(s 4 'r.text["qt-paper-n-trades"]+","+r.rows["qt-paper-trades"]')" "$ntr,$ntr"
same "run page: bars = storage" "$(s 4 'r.text["qt-paper-n-bars"]')" "$nbars"
same "run page: orders table" "$(s 4 'r.rows["qt-paper-orders"]')" "$show_ord"
same "run page: positions table" "$(s 4 'r.rows["qt-paper-positions"]')" "$npos"
same "run page: the stored parameter sets (the start set)" \
  "$(s 4 'r.rows["qt-paper-params"]+" "+r.cells["qt-paper-params"][1][2]')" "1 start"
same "run page: the newest trade's P&L" "$(s 4 'r.cells["qt-paper-trades"][1][8]')" "$last_pnl"
same "run page: equity chart drawn" "$(s 4 'r.charts.filter(c => c.svg && c.elements > 10 && c.width > 100 && c.height > 100).length+"/"+r.charts.length')" 1/1
same "run page: both equity series drawn" "$(s 4 'r.echarts["qt-chart-paper-equity"].filter(x => x.points > 1).length')" 2
same "run page: realized equity ends at start cash + the trades' P&L" \
  "$(s 4 'r.echarts["qt-chart-paper-equity"][1].last[1].toFixed(2)')" "$realized"
same "run page: marked equity ends at the stored equity" \
  "$(s 4 'r.echarts["qt-chart-paper-equity"][0].last[1].toFixed(2)')" "$eq"
same "evil name shown as text" "$(s 5 'r.text["qt-paper-name"]')" "$evil"
same "evil page: only its own scripts" "$(s 5 r.scripts)" 3
same "evil page: the risk breaches = storage" "$(s 5 'r.rows["qt-paper-risk"]')" "$((nrisk < 500 ? nrisk : 500))"
same "evil page: the newest breach first" "$(s 5 'r.cells["qt-paper-risk"][1][1]')" "$last_risk"
same "live run page: running" "$(s 6 'r.text["qt-paper-status"]+" "+r.text["qt-paper-n-bars"]')" "running $n_first"
same "the stream run gets more klines" "$(s 7 r.exit)" 0
same "live: the open run page shows the new bars" "$(s 8 r.text)" "$n_all"
LR="(select id from paper_runs where name='live')"
ntr_live=$(sq "$DBF" "select count(*) from paper_trades where run_id=$LR")
nord_live=$(sq "$DBF" "select count(*) from paper_orders where run_id=$LR")
check "live: the run traded after its page opened ($(s 6 'r.rows["qt-paper-trades"]') -> $ntr_live)" \
  test "$(s 6 'r.rows["qt-paper-trades"]')" -lt "$ntr_live"
same "live: the open page's trades table follows the run" "$(s 8 'r.rows["qt-paper-trades"]')" \
  "$((ntr_live < 500 ? ntr_live : 500))"
same "live: the open page's orders table follows the run" "$(s 8 'r.rows["qt-paper-orders"]')" \
  "$((nord_live < 500 ? nord_live : 500))"
same "live: the newest trade first" "$(s 8 'r.cells["qt-paper-trades"][1][1]')" \
  "$(sq "$DBF" "select seq from paper_trades where run_id=$LR order by exit_ms desc, seq desc limit 1")"
same "live: the chart is still drawn" "$(s 8 'r.charts.filter(c => c.svg && c.elements > 10).length')" 1
same "a new run" "$(s 10 r.exit)" 0
same "live: the open list shows it" "$(s 11 'r.text+","+r.rows["qt-paper-runs"]')" "4,4"
kill -TERM "$LPID"
wait "$LPID"
same "the stream run stops on SIGTERM" "$?" 0
same "and is stopped" "$(api_state live)" stopped
kill -TERM "$DPID"
wait "$DPID"
same "SIGTERM stops the dashboard" "$?" 0

# ---- PostgreSQL: a replay there, its page equal to its storage ----
if [ -z "${QTUNE_PG_URL:-}" ]; then
  bad "QTUNE_PG_URL is not set (tests/run.sh starts a server and sets it)"
elif ! psql -q "$QTUNE_PG_URL" -c "CREATE DATABASE qt_dpaper_$$" >/dev/null 2>pg.err; then
  bad "could not create database qt_dpaper_$$: $(cat pg.err)"
else
  PG="${QTUNE_PG_URL%/*}/qt_dpaper_$$"
  trap 'kill "$LPID" "${DPID:-}" "${PGPID:-}" 2>/dev/null; wait 2>/dev/null; psql -q "$QTUNE_PG_URL" -c "DROP DATABASE IF EXISTS qt_dpaper_$$" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
  check_exit "paper replay into PostgreSQL" 0 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT \
    "${SP[@]}" --feed replay --commit-every 500 --storage "$PG" --name pgrep --quiet
  pq() { psql "$PG" -At -c "$1"; }
  PR="(select id from paper_runs where name='pgrep')"
  peq=$(f2 "$(pq "select equity from paper_runs where name='pgrep'")")
  pntr=$(pq "select count(*) from paper_trades where run_id=$PR")
  plast=$(f2 "$(pq "select pnl from paper_trades where run_id=$PR order by exit_ms desc, seq desc limit 1")")
  "$QTUNE" dashboard --storage "$PG" --port 0 --poll-ms 300 >pgdash.out 2>pgdash.err &
  PGPID=$!
  PURL=$(wait_url pgdash.out "$PGPID")
  PBASE=${PURL%%/\?token=*}
  PTOK=${PURL##*token=}
  same "PostgreSQL: no token, 401" "$(code "$PBASE/paper")" 401
  cat >pgplan.json <<EOF
{"base": "$PBASE", "steps": [
 {"visit": "/?token=$PTOK"},
 {"visit": "/paper", "text": ["qt-n-runs"]},
 {"visit": "/paper/run?name=pgrep", "shot": "$SHOTS/paper-run-pg.png",
  "text": ["qt-paper-equity", "qt-paper-n-trades", "qt-paper-status"]}
]}
EOF
  if node "$DRIVER" pgplan.json >pgsteps.json 2>pgsteps.err; then ok "PostgreSQL: browser ran"; else bad "PostgreSQL browser: $(tail -3 pgsteps.err)"; fi
  same "PostgreSQL: no console errors" "$(s 2 'r.console_errors.length+r.page_errors.length' pgsteps.json)" 0
  same "PostgreSQL: the list" "$(s 1 'r.text["qt-n-runs"]' pgsteps.json)" 1
  same "PostgreSQL: equity = storage" "$(s 2 'r.text["qt-paper-equity"]' pgsteps.json)" "$peq"
  same "PostgreSQL: trades = storage" "$(s 2 'r.text["qt-paper-n-trades"]+","+r.rows["qt-paper-trades"]' pgsteps.json)" "$pntr,$pntr"
  same "PostgreSQL: the newest trade's P&L" "$(s 2 'r.cells["qt-paper-trades"][1][8]' pgsteps.json)" "$plast"
  same "PostgreSQL: the stored parameter sets" "$(s 2 'r.rows["qt-paper-params"]' pgsteps.json)" 1
  same "PostgreSQL: equity chart drawn" "$(s 2 'r.charts.filter(c => c.svg && c.elements > 10).length' pgsteps.json)" 1
  kill -TERM "$PGPID"
  wait "$PGPID"
  same "PostgreSQL: SIGTERM stops it" "$?" 0
fi
finish
