#!/usr/bin/env bash
# End-to-end: `qtune paper`.  A replay of the catalog gives the backtest's
# trades, orders and equity files byte for byte; so does a stream of the
# exchange's kline messages (with bad messages, duplicates, a conflict and an
# out-of-order kline in it) against the backtest of the same bars; kill -9
# at random points and restarts store exactly what one uninterrupted run
# stores (orders, trades, outcomes: nothing lost, nothing doubled), on
# SQLite and on PostgreSQL; SIGTERM stops cleanly and resumes; risk limits
# log and store their breaches; several symbols give per-symbol and
# portfolio lines; a FIFO feed; bad flags and a mismatched resume fail.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
GEN="$QT_ROOT/tests/e2e/paper_klines.py"
F=$FIXTURES/binance
C=$TMP/cat
SP=(--strategy sma_cross --params fast=20,slow=60)
"$QTUNE" data import --catalog "$C" --symbol AVAXUSDT "$F/AVAXUSDT-1m-2026-06.csv" \
  "$F/AVAXUSDT-1m-2026-07.csv" >/dev/null 2>&1
"$QTUNE" data import --catalog "$C" --symbol AVAXJUL "$F/AVAXUSDT-1m-2026-07.csv" >/dev/null 2>&1

same_files() { # NAME PREFIX_A PREFIX_B
  local n=$1 a=$2 b=$3 f
  for f in tr or eq; do
    if cmp -s "$a.$f.csv" "$b.$f.csv"; then ok "$n: $f identical"; else bad "$n: $f differs"; diff "$a.$f.csv" "$b.$f.csv" | head -5; fi
  done
}
csvs() { echo --trades "$1.tr.csv" --orders "$1.or.csv" --equity "$1.eq.csv"; }

# ---- a replay is the backtest, bit for bit (with warm-up history before --from)
check_exit "backtest" 0 "$QTUNE" backtest --catalog "$C" --symbol AVAXUSDT "${SP[@]}" \
  --from 2026-06-28 $(csvs "$TMP/bt")
check_exit "paper replay" 0 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" \
  --from 2026-06-28 --feed replay --storage "sqlite:///$TMP/r.db" --name rep $(csvs "$TMP/pp")
same_files "replay = backtest" "$TMP/bt" "$TMP/pp"
check "some trades" test "$(wc -l <"$TMP/bt.tr.csv")" -gt 50
contains "summary per symbol" "$TMP/out" "AVAXUSDT"
contains "portfolio line" "$TMP/out" "portfolio"
check "stored as done, orders and outcomes" $PY - "$TMP/r.db" "$TMP/bt.tr.csv" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n_tr = sum(1 for _ in open(sys.argv[2])) - 1
st, = c.execute("select status from paper_runs where name='rep'").fetchone()
assert st == "done", st
assert c.execute("select count(*) from paper_trades").fetchone()[0] == n_tr
assert c.execute("select count(*) from signal_outcomes where source='paper'").fetchone()[0] == n_tr
assert c.execute("select count(*) from paper_orders").fetchone()[0] > n_tr
EOF
check_exit "a done run is not run again" 2 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT \
  "${SP[@]}" --from 2026-06-28 --feed replay --storage "sqlite:///$TMP/r.db" --name rep
contains "says done" "$TMP/err" "done"
check_exit "resume with other params refused" 2 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT \
  --strategy sma_cross --params fast=21,slow=60 --feed replay --storage "sqlite:///$TMP/r.db" --name rep
contains "names the params" "$TMP/err" "params"
check_exit "bad speed" 2 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" --feed replay \
  --speed fast --no-storage
contains "speed message" "$TMP/err" "--speed"

# ---- a stream of websocket messages on stdin = the backtest of the same bars
$PY "$GEN" "$F/AVAXUSDT-1m-2026-06.csv" 1500 "$TMP/k.jsonl" --csv "$TMP/k.csv" --noise
"$QTUNE" data import --catalog "$TMP/cat2" --symbol AVAXUSDT "$TMP/k.csv" >/dev/null 2>&1
check_exit "backtest of the stream's bars" 0 "$QTUNE" backtest --catalog "$TMP/cat2" --symbol AVAXUSDT \
  "${SP[@]}" --no-close-at-end $(csvs "$TMP/bs")
"$QTUNE" paper "${SP[@]}" --feed - --symbol AVAXUSDT --storage "sqlite:///$TMP/s.db" --name s1 \
  $(csvs "$TMP/ps") <"$TMP/k.jsonl" >"$TMP/out" 2>"$TMP/err"
check "stream run exits 0" test $? = 0
same_files "stream = backtest" "$TMP/bs" "$TMP/ps"
contains "bad messages counted" "$TMP/out" "4 bad"
contains "duplicates counted" "$TMP/out" "2 duplicates"
contains "conflict counted" "$TMP/out" "1 conflicts"
contains "out of order counted" "$TMP/out" "1 out of order"
contains "bad message logged with line and reason" "$TMP/err" "stdin:"
contains "bad field named" "$TMP/err" 'field "k.o": not a number ("abc")'
contains "too long named" "$TMP/err" "longer than 65536 bytes"

# ---- a stream in two parts (a restart in between) = one pass
head -n 1000 "$TMP/k.jsonl" >"$TMP/k1.jsonl"
tail -n +1001 "$TMP/k.jsonl" >"$TMP/k2.jsonl"
"$QTUNE" paper "${SP[@]}" --feed - --symbol AVAXUSDT --storage "sqlite:///$TMP/s2.db" --name s2 \
  <"$TMP/k1.jsonl" >/dev/null 2>&1
"$QTUNE" paper "${SP[@]}" --feed - --symbol AVAXUSDT --storage "sqlite:///$TMP/s2.db" --name s2 \
  $(csvs "$TMP/ps2") <"$TMP/k2.jsonl" >/dev/null 2>&1
same_files "stream resumed = backtest" "$TMP/bs" "$TMP/ps2"

# ---- the same through a FIFO
mkfifo "$TMP/fifo"
(cat "$TMP/k.jsonl" >"$TMP/fifo") &
timeout 60 "$QTUNE" paper "${SP[@]}" --feed "$TMP/fifo" --symbol AVAXUSDT --no-storage \
  $(csvs "$TMP/pf") >/dev/null 2>&1
same_files "fifo = backtest" "$TMP/bs" "$TMP/pf"
# ---- and from a file that grows (followed until idle)
head -n 700 "$TMP/k.jsonl" >"$TMP/grow.jsonl"
(sleep 0.5; tail -n +701 "$TMP/k.jsonl" >>"$TMP/grow.jsonl") &
timeout 60 "$QTUNE" paper "${SP[@]}" --feed "$TMP/grow.jsonl" --idle-exit 2 --symbol AVAXUSDT \
  --no-storage $(csvs "$TMP/pg") >/dev/null 2>&1
wait
same_files "growing file = backtest" "$TMP/bs" "$TMP/pg"

# ---- kill -9 at random points, then restarts: the storage holds exactly
# what an uninterrupted run stores
dump() { # DB-or-URL OUT: the stored rows in a canonical text form
  $PY - "$1" "$2" <<'EOF'
import sys
url, out = sys.argv[1], sys.argv[2]
q = ["select symbol, seq, ts_ms, order_id, action, side, type, qty, price from paper_orders order by symbol, seq",
     "select symbol, seq, side, entry_ms, exit_ms, qty, entry_price, exit_price, pnl, fees from paper_trades order by symbol, seq",
     "select symbol, signal_time, side, entry_price, exit_price, pnl from signal_outcomes order by symbol, signal_time",
     "select symbol, qty, cash, equity, last_bar_ms, n_orders, n_trades from paper_positions order by symbol",
     "select status, last_bar_ms, n_bars from paper_runs"]
if url.startswith("postgresql://"):
    import subprocess
    rows = []
    for s in q:
        r = subprocess.run(["psql", url, "-At", "-F", "|", "-c", s], capture_output=True, text=True, check=True)
        rows.append(r.stdout.strip("\n"))
    txt = "\n".join(rows)
else:
    import sqlite3
    c = sqlite3.connect(url)
    txt = "\n".join("\n".join("|".join(repr(v) if isinstance(v, float) else str(v) for v in row)
                              for row in c.execute(s)) for s in q)
open(out, "w").write(txt + "\n")
EOF
}
kill_test() { # TAG URL_BASE: runs the kill loop on one backend
  local tag=$1 ref=$2 url=$3 k pid
  "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" --feed replay --commit-every 1 \
    --storage "$ref" --name k-$tag --quiet $(csvs "$TMP/k0$tag") >/dev/null 2>&1
  # killed until the run is done; each kill lands at a random point
  local kills=0 rc
  for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
    "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" --feed replay --commit-every 1 \
      --storage "$url" --name k-$tag --quiet >/dev/null 2>"$TMP/kerr" &
    pid=$!
    sleep "0.$((RANDOM % 3 + 1))$((RANDOM % 10))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    rc=$?
    [ $rc = 137 ] || break # it ended by itself: done (0) or already done (2)
    kills=$((kills + 1))
  done
  check "$tag: $kills kills landed mid-run (>= 2)" test $kills -ge 2
  if [ $rc = 137 ]; then
    "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" --feed replay --commit-every 1 \
      --storage "$url" --name k-$tag --quiet >/dev/null 2>"$TMP/kerr"
    rc=$?
  fi
  check "$tag: the run finished" test $rc = 0 -o $rc = 2
}
kill_test sqlite "sqlite:///$TMP/kref.db" "sqlite:///$TMP/k.db"
dump "$TMP/kref.db" "$TMP/kref.txt"
dump "$TMP/k.db" "$TMP/k.txt"
if cmp -s "$TMP/kref.txt" "$TMP/k.txt"; then ok "sqlite: killed and resumed = uninterrupted"
else bad "sqlite: killed and resumed differs"; diff "$TMP/kref.txt" "$TMP/k.txt" | head -5; fi
check "sqlite: rows there" test "$(wc -l <"$TMP/k.txt")" -gt 600
if [ -n "${QTUNE_PG_URL:-}" ] && command -v psql >/dev/null; then
  psql "$QTUNE_PG_URL" -q -c "SET client_min_messages = warning; DROP TABLE IF EXISTS paper_runs, paper_orders, paper_trades, paper_positions, paper_open_orders, paper_bars, paper_risk, paper_equity, paper_params, signal_outcomes" >/dev/null 2>&1
  kill_test pg "sqlite:///$TMP/kpgref.db" "$QTUNE_PG_URL"
  dump "$TMP/kpgref.db" "$TMP/kpgref.txt"
  dump "$QTUNE_PG_URL" "$TMP/kpg.txt"
  # the reference is SQLite: compare the numbers, not their text forms
  check "pg: killed and resumed = uninterrupted" $PY - "$TMP/kpgref.txt" "$TMP/kpg.txt" <<'EOF'
import sys
def rows(p):
    out = []
    for line in open(p):
        out.append(tuple(float(x) if x.replace('.','',1).replace('-','',1).replace('e','',1).replace('+','',1).isdigit() else x for x in line.strip().split("|")))
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert len(a) == len(b), (len(a), len(b))
for x, y in zip(a, b):
    assert len(x) == len(y) and all((u == v) if not isinstance(u, float) else abs(u - v) <= 1e-9 * max(1, abs(u)) for u, v in zip(x, y)), (x, y)
EOF
else
  bad "pg: no QTUNE_PG_URL (tests/run.sh starts a server) or no psql"
fi

# ---- SIGTERM: committed, "stopped", and a restart finishes it the same way
"$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" --feed replay --speed 60000x \
  --storage "sqlite:///$TMP/t.db" --name t1 >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
check "SIGTERM exits 0" test $? = 0
contains "SIGTERM message" "$TMP/err" "stopped by signal 15"
check "stopped, partway" $PY -c '
import sqlite3,sys
st,n=sqlite3.connect(sys.argv[1]).execute("select status,n_bars from paper_runs").fetchone()
assert st=="stopped" and 0<n<11520,(st,n)' "$TMP/t.db"
check_exit "resumed after SIGTERM" 0 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" \
  --feed replay --storage "sqlite:///$TMP/t.db" --name t1 $(csvs "$TMP/t")
same_files "SIGTERM + resume = uninterrupted" "$TMP/k0sqlite" "$TMP/t"

# ---- risk limits: breaches logged and stored, entries cut or refused
check_exit "max daily loss" 0 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" \
  --feed replay --max-daily-loss 0.002 --risk-per-trade 0.5 --storage "sqlite:///$TMP/x.db" \
  --name x1 --trades "$TMP/x.tr.csv"
contains "daily loss logged" "$TMP/err" "max_daily_loss"
contains "risk per trade logged" "$TMP/err" "risk_per_trade"
check "breaches stored, fewer and smaller trades" $PY - "$TMP/x.db" "$TMP/x.tr.csv" "$TMP/k0sqlite.tr.csv" <<'EOF'
import sqlite3, sys, csv
c = sqlite3.connect(sys.argv[1])
kinds = dict(c.execute("select kind, count(*) from paper_risk group by kind").fetchall())
assert kinds.get("max_daily_loss", 0) >= 1 and kinds.get("risk_per_trade", 0) >= 1, kinds
lim = list(csv.DictReader(open(sys.argv[2])))
full = list(csv.DictReader(open(sys.argv[3])))
assert len(lim) < len(full), (len(lim), len(full))
q = [k for k in lim[0] if k in ("qty", "quantity")][0]
assert float(lim[0][q]) < 0.6 * float(full[0][q]), (lim[0][q], full[0][q])
EOF
check_exit "max positions over two symbols" 0 "$QTUNE" paper --catalog "$C" --symbol AVAXUSDT,AVAXJUL \
  "${SP[@]}" --feed replay --max-positions 1 --from 2026-07-01 --no-storage
contains "max positions logged" "$TMP/err" "max_positions"
contains "both symbols" "$TMP/out" "AVAXJUL"
contains "portfolio" "$TMP/out" "portfolio"

# ---- the status: updated in place on a terminal, plain lines when piped
script -qfec "$QTUNE paper --catalog $C --symbol AVAXUSDT --strategy sma_cross --params fast=20,slow=60 --feed replay --speed 400000x --no-storage" "$TMP/tty.txt" >/dev/null 2>&1
check "tty: the line is rewritten in place" grep -q $'\033\[K' "$TMP/tty.txt"
contains "tty: shows equity and lag" "$TMP/tty.txt" "lag "
"$QTUNE" paper --catalog "$C" --symbol AVAXUSDT "${SP[@]}" --feed replay --no-storage >/dev/null 2>"$TMP/piped.txt"
check "piped: plain lines, no escapes" bash -c "! grep -q \$'\\033' '$TMP/piped.txt' && grep -q '^equity ' '$TMP/piped.txt'"

finish
