#!/usr/bin/env bash
# End-to-end: `qtune campaign`.  The report's 27-combination spread_arbitrage
# grid on a synthetic two-venue market, stored in tuning_results on SQLite
# and on PostgreSQL (--require-db) with the Markdown report in the report's
# shape; random sampling; the JSON fallback when the database is down (and
# the failure with --require-db); the acceptance checks in the exit status;
# a stream feed read once for all campaigns; bad flags.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
"$QTUNE" data synth --catalog "$TMP/syn" --symbol SYN --days 2 --seed 3 >/dev/null 2>&1
G=(--strategy spread_arbitrage --grid min_spread_bps=20,30,40 --grid slippage_bps=3,5,10
   --grid max_position_usd=800,1000,1200 --feed replay --catalog "$TMP/syn" --symbol SYN)

check_rows() { # NAME URL SESSION N: the stored rows of a session, with the report's columns
  $PY - "$2" "$3" "$4" <<'PYEOF'
import sys, json, subprocess
url, session, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cols = ("run_id, session_id, created_at, param_set, total_pnl, total_trades, total_entries,"
        " total_exits, winning_trades, losing_trades, winrate, avg_pnl_per_trade, campaign_id,"
        " duration_seconds, test_mode, symbols")
q = f"select {cols} from tuning_results where session_id = '{session}' order by campaign_id"
if url.startswith("postgresql://"):
    out = subprocess.run(["psql", url, "-At", "-F", "\t", "-c", q], capture_output=True, text=True, check=True).stdout
    rows = [l.split("\t") for l in out.strip().split("\n") if l]
    t = subprocess.run(["psql", url, "-At", "-c", "select data_type from information_schema.columns where table_name='tuning_results' and column_name='param_set'"], capture_output=True, text=True, check=True).stdout.strip()
    assert t == "jsonb", t
else:
    import sqlite3
    rows = [[str(v) for v in r] for r in sqlite3.connect(url[len("sqlite:///"):]).execute(q)]
assert len(rows) == n, (len(rows), n)
seen = set()
for r in rows:
    p = json.loads(r[3])
    seen.add(json.dumps(p, sort_keys=True))
    assert int(r[5]) == int(r[7]) and int(r[8]) + int(r[9]) <= int(r[5]), r
    assert 0 <= float(r[10]) <= 1 and r[15] == "SYN" and r[14] in ("1", "True", "t"), r
assert len(seen) == n
PYEOF
}

# ---- the 27 combinations on SQLite, with the report
check_exit "campaign 27 on sqlite" 0 "$QTUNE" campaign "${G[@]}" --duration 120s \
  --storage "sqlite:///$TMP/c.db" --require-db --session s27 --report "$TMP/r.md" --jobs 2
contains "27 ran" "$TMP/out" "27 campaigns, 27 ran, stored in tuning_results"
contains "acceptance printed" "$TMP/out" "acceptance: at least 3 campaigns ran: yes (27)"
contains "report acceptance" "$TMP/out" "acceptance: report written: yes"
check "rows stored" check_rows x "sqlite:///$TMP/c.db" s27 27
for h in "## Configuration" "## Top 10 by pnl" "## Per-parameter analysis" "### min_spread_bps" \
         "### slippage_bps" "### max_position_usd" "## Limitations" "fewer than 30 trades" \
         "at most 120 s each" "| rank | campaign | PnL | win rate | trades |"; do
  contains "report: $h" "$TMP/r.md" "$h"
done
check "top table sorted by pnl" $PY - "$TMP/r.md" <<'PYEOF'
import sys
lines = [l for l in open(sys.argv[1]).read().split("## Top")[1].split("##")[0].split("\n") if l[:3] in [f"| {d}" for d in "0123456789"]]
pnl = [float(l.split("|")[3]) for l in lines]
assert len(pnl) == 10 and pnl == sorted(pnl, reverse=True), pnl
PYEOF
check "per-parameter means: 3 values each, 9 campaigns per value" $PY - "$TMP/r.md" <<'PYEOF'
import sys
t = open(sys.argv[1]).read().split("### min_spread_bps")[1].split("###")[0]
rows = [l for l in t.split("\n") if l.startswith("| ") and l[2].isdigit()]
assert len(rows) == 3 and all(r.split("|")[2].strip() == "9" for r in rows), rows
PYEOF

# ---- the same on PostgreSQL (param_set JSONB)
if [ -n "${QTUNE_PG_URL:-}" ] && command -v psql >/dev/null; then
  psql "$QTUNE_PG_URL" -q -c "SET client_min_messages = warning; DROP TABLE IF EXISTS tuning_results" >/dev/null 2>&1
  check_exit "campaign 27 on postgresql" 0 "$QTUNE" campaign "${G[@]}" --duration 120s \
    --storage "$QTUNE_PG_URL" --require-db --session pg27 --report "$TMP/pg.md"
  check "pg rows stored" check_rows x "$QTUNE_PG_URL" pg27 27
else
  bad "no QTUNE_PG_URL (tests/run.sh starts a server) or no psql"
fi

# ---- random samples
check_exit "random mode" 0 "$QTUNE" campaign "${G[@]}" --mode random --samples 4 --seed 9 \
  --storage "sqlite:///$TMP/c.db" --session rnd
check "4 distinct samples stored" check_rows x "sqlite:///$TMP/c.db" rnd 4

# ---- the database is down: --require-db fails, else the JSON fallback
DOWN="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
check_exit "require-db fails" 2 "$QTUNE" campaign "${G[@]}" --storage "$DOWN" --require-db --session d1
check "no JSON written then" test ! -e "$TMP/d1.json"
(cd "$TMP" && "$QTUNE" campaign "${G[@]}" --storage "$DOWN" --session d2 >out2 2>err2)
check "fallback exits 0" test $? = 0
contains "fallback warns" "$TMP/err2" "storage unavailable"
check "fallback JSON has 27 results" $PY -c '
import json,sys
a=json.load(open(sys.argv[1]))
assert len(a)==27 and all(x["ok"] for x in a) and a[0]["session_id"]=="d2", len(a)
assert set(a[0]) >= {"run_id","param_set","total_pnl","winrate","campaign_id","duration_seconds","test_mode","symbols"}
' "$TMP/tuning_results-d2.json"
check_exit "json-out beside the db" 0 "$QTUNE" campaign "${G[@]}" --storage "sqlite:///$TMP/c.db" \
  --session j1 --json-out "$TMP/j1.json"
check "json-out written" test -s "$TMP/j1.json"

# ---- acceptance: fewer than 3 campaigns is exit 1
check_exit "2 campaigns fail acceptance" 1 "$QTUNE" campaign --strategy spread_arbitrage \
  --grid min_spread_bps=20,30 --feed replay --catalog "$TMP/syn" --symbol SYN \
  --storage "sqlite:///$TMP/c.db" --session two
contains "says why" "$TMP/out" "acceptance: at least 3 campaigns ran: NO (2)"

# ---- a stream feed: one reader, every campaign; test_mode 0
$PY "$QT_ROOT/tests/e2e/paper_klines.py" "$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv" 600 "$TMP/k.jsonl"
check_exit "stream campaign" 0 "$QTUNE" campaign --strategy sma_cross --grid fast=5,10,20 \
  --grid slow=30,60 --feed - --symbol AVAXUSDT --storage "sqlite:///$TMP/c.db" --session st \
  --report "$TMP/st.md" <"$TMP/k.jsonl"
check "stream rows: 6, live mode" $PY -c '
import sqlite3,sys
r=sqlite3.connect(sys.argv[1]).execute("select test_mode, total_trades from tuning_results where session_id=\"st\"").fetchall()
assert len(r)==6 and all(m==0 for m,_ in r) and sum(t for _,t in r)>0, r' "$TMP/c.db"

# ---- bad flags
check_exit "unknown grid param" 2 "$QTUNE" campaign --strategy spread_arbitrage --grid nope=1,2 \
  --feed replay --catalog "$TMP/syn" --symbol SYN
contains "names it" "$TMP/err" "no parameter 'nope'"
check_exit "grid value out of range" 2 "$QTUNE" campaign --strategy spread_arbitrage \
  --grid min_spread_bps=20,500 --feed replay --catalog "$TMP/syn" --symbol SYN
contains "names the grid" "$TMP/err" "--grid min_spread_bps"
check_exit "bad rank metric" 2 "$QTUNE" campaign "${G[@]}" --rank-by sharpe --storage "sqlite:///$TMP/c.db" --session bad
contains "lists metrics" "$TMP/err" "pnl, winrate, trades, avg_pnl"
finish
