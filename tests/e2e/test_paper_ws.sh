#!/usr/bin/env bash
# End-to-end: `qtune paper --feed ws://...`, the websocket client, against a
# loopback websocket server replaying recorded kline messages
# (tests/e2e/ws_server.py): a connection dropped without a close frame, a
# malformed frame (reserved bits set), a message that is not JSON, a repeat
# after the reconnect and ten bars never sent.  The runner reconnects, logs
# the gap with its size, counts the bad message and the duplicate, and
# trades exactly the backtest of the bars it received.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
$PY - "$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv" "$TMP" <<'PYEOF'
import json, sys
src, d = sys.argv[1], sys.argv[2]
lines = open(src).read().splitlines()
head, rows = lines[0], [l.split(",") for l in lines[1:601]]
with open(d + "/ws.jsonl", "w") as f:
    for r in rows:
        k = {"t": int(r[0]), "T": int(r[6]), "s": "AVAXUSDT", "i": "1m", "o": r[1], "c": r[4],
             "h": r[2], "l": r[3], "v": r[5], "n": int(r[8]), "x": True, "q": r[7], "V": r[9], "Q": r[10]}
        f.write(json.dumps({"e": "kline", "E": int(r[6]) + 1, "s": "AVAXUSDT", "k": k}) + "\n")
with open(d + "/got.csv", "w") as f:  # the bars the client receives: all but 350..359
    f.write(head + "\n")
    for i, r in enumerate(rows):
        if not 350 <= i < 360:
            f.write(",".join(r) + "\n")
json.dump([[["send", 0, 300], ["drop"]],
           [["send", 299, 350], ["bad_frame"]],
           [["text", "garbage"], ["send", 360, 600], ["close"]]], open(d + "/plan.json", "w"))
PYEOF
$PY "$QT_ROOT/tests/e2e/ws_server.py" "$TMP/ws.jsonl" "$TMP/plan.json" "$TMP/port" &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
"$QTUNE" data import --catalog "$TMP/cat" --symbol AVAXUSDT "$TMP/got.csv" >/dev/null 2>&1
check_exit "backtest of the received bars" 0 "$QTUNE" backtest --catalog "$TMP/cat" --symbol AVAXUSDT \
  --strategy sma_cross --params fast=20,slow=60 --no-close-at-end --trades "$TMP/bt.csv" --orders "$TMP/bo.csv"
check_exit "paper on the websocket" 0 timeout 60 "$QTUNE" paper --strategy sma_cross --params fast=20,slow=60 \
  --feed "ws://127.0.0.1:$(cat "$TMP/port")/ws/avaxusdt@kline_1m" --symbol AVAXUSDT \
  --storage "sqlite:///$TMP/p.db" --name ws1 --idle-exit 2 --quiet --trades "$TMP/pt.csv" --orders "$TMP/po.csv"
check "trades = the backtest of the received bars" cmp -s "$TMP/bt.csv" "$TMP/pt.csv"
check "orders = the backtest's" cmp -s "$TMP/bo.csv" "$TMP/po.csv"
contains "gap after the reconnect logged with its size" "$TMP/err" "gap after reconnect: 10 bars missing"
contains "drop logged" "$TMP/err" "connection lost"
contains "the bad message counted" "$TMP/out" "1 bad"
contains "the repeat counted" "$TMP/out" "1 duplicates"
check "reconnected at least twice, one gap" $PY -c '
import re,sys
m=re.search(r"websocket: (\d+) reconnects, (\d+) gaps",open(sys.argv[1]).read())
assert m and int(m.group(1))>=2 and int(m.group(2))==1, m and m.groups()' "$TMP/out"
check "bars stored for a resume" $PY -c '
import sqlite3,sys
n=sqlite3.connect(sys.argv[1]).execute("select count(*) from paper_bars").fetchone()[0]
assert n==590,n' "$TMP/p.db"
check_exit "not a websocket URL" 2 "$QTUNE" paper --strategy sma_cross --feed "wss://" --symbol X --no-storage
finish
