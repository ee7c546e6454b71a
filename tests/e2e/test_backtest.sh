#!/usr/bin/env bash
# End-to-end: `qtune strategies` and `qtune backtest` on the real AVAXUSDT
# 1m klines (--data) and on a catalog with the real XRPUSDT 8h marks and
# funding history; trade/equity files cross-checked against the metrics.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv

# ---- qtune strategies
check_exit "strategies lists" 0 "$QTUNE" strategies
contains "strategies has sma_cross" "$TMP/out" "sma_cross"
contains "strategies shows fast range" "$TMP/out" "[2, 200]"
check_exit "strategies --json" 0 "$QTUNE" strategies --json
check "strategies json spec" $PY -c '
import json,sys
a=json.load(open(sys.argv[1]))
s=[x for x in a if x["name"]=="sma_cross"][0]
p={q["name"]:q for q in s["params"]}
assert p["fast"]["type"]=="int" and p["fast"]["lo"]==2 and p["fast"]["hi"]==200 and p["fast"]["default"]==10, p
assert p["slow"]["default"]==30 and p["slow"]["log"] is False and p["slow"]["help"]
assert [x["name"] for x in a]==sorted(x["name"] for x in a)
' "$TMP/out"
check_exit "strategies bad option" 2 "$QTUNE" strategies --nope

# ---- backtest on a file: JSON, trades and equity files agree
check_exit "backtest json" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --params fast=20,slow=60 --json --trades "$TMP/tr.csv" --equity "$TMP/eq.csv"
cp "$TMP/out" "$TMP/bt.json"
check "trades csv sums to total_profit" $PY -c '
import csv,json,sys
j=json.load(open(sys.argv[1])); m=j["metrics"]
rows=list(csv.DictReader(open(sys.argv[2])))
assert len(rows)==m["trades"]>100, (len(rows), m["trades"])
s=sum(float(r["pnl"]) for r in rows)
assert abs(s-m["total_profit"])<1e-4*max(1,abs(s)), (s,m["total_profit"])
assert abs(j["final_equity"]-10000-m["total_profit"])<1e-6
f=sum(float(r["fees"]) for r in rows)
assert abs(f-m["fees_paid"])<1e-4 and f>0
assert all(r["exit_reason"] in ("signal","end_of_data") for r in rows)
assert rows[-1]["exit_reason"]=="end_of_data"
assert all(r["side"] in ("long","short") for r in rows)
# sides alternate: every cross flips the position
assert all(a["side"]!=b["side"] for a,b in zip(rows,rows[1:]))
' "$TMP/bt.json" "$TMP/tr.csv"
check "equity csv one row per bar" $PY -c '
import csv,json,sys
j=json.load(open(sys.argv[1]))
rows=list(csv.DictReader(open(sys.argv[2])))
assert len(rows)==j["bars"]==5760  # the June fixture: June 27-30
assert abs(float(rows[-1]["equity"])-j["final_equity"])<1e-4*j["final_equity"]
assert float(rows[0]["equity"])==10000.0
assert all(int(b["ts_ms"])-int(a["ts_ms"])==60000 for a,b in zip(rows,rows[1:]))
' "$TMP/bt.json" "$TMP/eq.csv"
check "no temp files left" test -z "$(ls "$TMP" | grep '\.tmp\.')"

# defaults, table output, trade-on-close and fees change the result
check_exit "backtest table" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross
contains "table has sharpe" "$TMP/out" "sharpe"
contains "table has params" "$TMP/out" "fast=10 slow=30"
check_exit "trade on close" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --params fast=20,slow=60 --json --trade-on-close
check "trade-on-close differs" $PY -c '
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert a["metrics"]["trades"]==b["metrics"]["trades"]
assert a["final_equity"]!=b["final_equity"]' "$TMP/bt.json" "$TMP/out"
check_exit "zero fees" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --params fast=20,slow=60 --json --fee-bps 0
check "zero fees: no fees, more equity" $PY -c '
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert b["metrics"]["fees_paid"]==0 and b["final_equity"]>a["final_equity"]' "$TMP/bt.json" "$TMP/out"

# --params-file (flat YAML), --params wins over it
printf 'fast: 20\nslow: 60\n' >"$TMP/p.yaml"
check_exit "params file" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --params-file "$TMP/p.yaml" --json
check "params file = params" $PY -c '
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert a["final_equity"]==b["final_equity"] and b["params"]=={"fast":20,"slow":60}' "$TMP/bt.json" "$TMP/out"
check_exit "params override file" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --params-file "$TMP/p.yaml" --params slow=90 --json
contains "override applied" "$TMP/out" '"slow": 90'

# errors
check_exit "unknown param" 2 "$QTUNE" backtest --data "$D" --strategy sma_cross --params fast=5,bogus=1
contains "unknown param lists names" "$TMP/err" "valid: fast, slow"
check_exit "out of range" 2 "$QTUNE" backtest --data "$D" --strategy sma_cross --params fast=500
contains "range named" "$TMP/err" "[2, 200]"
check_exit "fast >= slow" 2 "$QTUNE" backtest --data "$D" --strategy sma_cross --params fast=40,slow=30
contains "fast>=slow message" "$TMP/err" "fast (40) must be less than slow (30)"
check_exit "not a number" 2 "$QTUNE" backtest --data "$D" --strategy sma_cross --params fast=abc
check_exit "unknown strategy" 2 "$QTUNE" backtest --data "$D" --strategy nope
contains "unknown strategy named" "$TMP/err" "nope"
check_exit "missing strategy" 2 "$QTUNE" backtest --data "$D"
check_exit "unknown option" 2 "$QTUNE" backtest --data "$D" --strategy sma_cross --frobnicate
printf 'fast:\n  - 1\n' >"$TMP/bad.yaml"
check_exit "bad params file" 2 "$QTUNE" backtest --data "$D" --strategy sma_cross --params-file "$TMP/bad.yaml"
check_exit "help" 0 "$QTUNE" backtest --help
contains "help lists market options" "$TMP/out" "--catalog"

# ---- a perpetual from a catalog: real XRPUSDT 8h marks and funding
C=$TMP/cat
check_exit "import marks" 0 "$QTUNE" data import --catalog "$C" --symbol XRPUSDT --format csv \
  --columns time=date_ms,open=open,high=high,low=low,close=close,volume=volume \
  "$FIXTURES/freqtrade/XRP_USDT_USDT-8h-mark.csv"
check_exit "import funding" 0 "$QTUNE" data import --catalog "$C" --symbol XRPUSDT --format csv \
  --kind funding --columns time=date_ms,rate=open "$FIXTURES/freqtrade/XRP_USDT_USDT-8h-funding_rate.csv"
check_exit "backtest perp" 0 "$QTUNE" backtest --catalog "$C" --symbol XRPUSDT --strategy sma_cross \
  --params fast=2,slow=5 --json --trades "$TMP/xtr.csv"
cp "$TMP/out" "$TMP/x.json"
check "funding paid = -sum of trade funding" $PY -c '
import csv,json,sys
j=json.load(open(sys.argv[1])); m=j["metrics"]
rows=list(csv.DictReader(open(sys.argv[2])))
assert j["bars"]==91 and len(rows)>3
f=sum(float(r["funding"]) for r in rows)
assert f!=0 and abs(f+m["funding_paid"])<1e-6, (f, m["funding_paid"])
s=sum(float(r["pnl"]) for r in rows)
assert abs(s-m["total_profit"])<1e-6
' "$TMP/x.json" "$TMP/xtr.csv"
check_exit "backtest perp range" 0 "$QTUNE" backtest --catalog "$C" --symbol XRPUSDT --strategy sma_cross \
  --params fast=2,slow=5 --json --from 2021-11-25 --to 2021-12-05
check "range has 30 bars" $PY -c '
import json,sys
j=json.load(open(sys.argv[1])); assert j["bars"]==30, j["bars"]' "$TMP/out"
finish
