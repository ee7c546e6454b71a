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
check "metrics in time and per trade return agree with the files" $PY -c '
import csv,json,math,statistics,sys
m=json.load(open(sys.argv[1]))["metrics"]
tr=list(csv.DictReader(open(sys.argv[2]))); eq=list(csv.DictReader(open(sys.argv[3])))
d=[int(r["exit_ms"])-int(r["entry_ms"]) for r in tr]
assert m["max_trade_duration_ms"]==max(d)>=60000, (m["max_trade_duration_ms"], max(d))
assert abs(m["avg_trade_duration_ms"]-sum(d)/len(d))<1e-6*max(d)
ret=[float(r["pnl"])/(abs(float(r["qty"]))*float(r["entry_price"])) for r in tr]
assert abs(m["best_trade_return"]-max(ret))<1e-8 and abs(m["worst_trade_return"]-min(ret))<1e-8
assert abs(m["expectancy_return"]-sum(ret)/len(ret))<1e-8
pl=[float(r["pnl"]) for r in tr]
sqn=math.sqrt(len(pl))*statistics.mean(pl)/statistics.stdev(pl)
assert abs(m["sqn"]-sqn)<1e-6*max(1,abs(sqn)), (m["sqn"], sqn)
peak=max([10000.0]+[float(r["equity"]) for r in eq])
assert abs(m["equity_peak"]-peak)<1e-8*peak and m["equity_final"]==json.load(open(sys.argv[1]))["final_equity"]
assert 0<m["max_drawdown_duration_ms"]<=len(eq)*60000 and m["max_drawdown_duration_ms"]%60000==0
assert m["max_drawdown_duration_ms"]==m["max_drawdown_bars"]*60000  # 1m bars, no gaps
assert m["sharpe_daily"] is not None and m["beta"] is not None and m["alpha"] is not None
' "$TMP/bt.json" "$TMP/tr.csv" "$TMP/eq.csv"
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
assert a["final_equity"]==b["final_equity"] and b["params"]=={"fast":20,"slow":60,"sizing":"signal_close"}' "$TMP/bt.json" "$TMP/out"
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
# ---- one market loader, one params parser, parameter flags (no shared data:
# a synthetic perpetual from `qtune data synth` and a generated spot CSV)
S=$TMP/syn
check_exit "synth market" 0 "$QTUNE" data synth --catalog "$S" --symbol SYN --days 1 --trades-per-min 1
$PY -c '
import math
print("date_ms,open,high,low,close,volume")
for i in range(300):
    c = 100 + 5 * math.sin(i / 15.0)
    print("%d,%.4f,%.4f,%.4f,%.4f,10" % (1767225600000 + i * 60000, c, c + 0.5, c - 0.5, c))
' >"$TMP/spot.csv"
SPOT=(--data "$TMP/spot.csv" --columns time=date_ms,open=open,high=high,low=low,close=close,volume=volume)
# the same params file (YAML as `qtune best` writes it, and JSON) in backtest and check-lookahead
printf '# qtune best parameters\nfast: 5\nslow: 20\n' >"$TMP/same.yaml"
printf '{"fast": 5, "slow": 20.0}\n' >"$TMP/same.json"
for f in same.yaml same.json; do
  check_exit "backtest --params $f" 0 "$QTUNE" backtest --catalog "$S" --symbol SYN --strategy sma_cross \
    --params "$TMP/$f" --json
  contains "backtest read $f" "$TMP/out" '"slow": 20'
  check_exit "check-lookahead --params $f" 0 "$QTUNE" check-lookahead --catalog "$S" --symbol SYN \
    --strategy sma_cross --params "$TMP/$f" --cuts 2
done
printf 'fast: 5\nsizing: fill\nslow: true\n' >"$TMP/badline.yaml"
check_exit "params file error" 2 "$QTUNE" backtest --catalog "$S" --symbol SYN --strategy sma_cross \
  --params "$TMP/badline.yaml"
contains "params file error names file and line" "$TMP/err" "badline.yaml:3: param 'slow': not an integer (\"true\")"
# --cash -5 and fast=true: refused by every command with the one message
for cmd in backtest check-lookahead optimize; do
  extra=(); [ $cmd = optimize ] && extra=(--storage "sqlite:///$TMP/o.db")
  check_exit "$cmd --cash -5" 2 "$QTUNE" $cmd --catalog "$S" --symbol SYN --strategy sma_cross --cash -5 \
    "${extra[@]}"
  contains "$cmd --cash message" "$TMP/err" 'qtune: --cash: must be > 0 ("-5")'
  check_exit "$cmd fast=true" 2 "$QTUNE" $cmd --catalog "$S" --symbol SYN --strategy sma_cross \
    --params fast=true "${extra[@]}"
  contains "$cmd fast=true message" "$TMP/err" "qtune: param 'fast': not an integer (\"true\")"
done
printf 'fast: true\n' >"$TMP/fix.yaml"
check_exit "optimize --space fast: true" 2 "$QTUNE" optimize --catalog "$S" --symbol SYN --strategy sma_cross \
  --space "$TMP/fix.yaml" --storage "sqlite:///$TMP/o.db"
contains "space file: the one message" "$TMP/err" "fix.yaml:1: param 'fast': not an integer (\"true\")"
# the market line: perpetual from the funding series, spot without, warm-up bars
check_exit "perp header" 0 "$QTUNE" backtest --catalog "$S" --symbol SYN --strategy sma_cross \
  --from 2026-01-01T06:00
contains "perp described" "$TMP/out" "SYN, perpetual, funding 3 settlements, 1080 bars 2026-01-01T06:00:00Z"
contains "warm-up described" "$TMP/out" "(360 warm-up bars before)"
check_exit "spot header" 0 "$QTUNE" backtest "${SPOT[@]}" --strategy sma_cross --json
contains "spot described" "$TMP/out" '"market": "spot.csv, spot: no funding series, 300 bars'
check_exit "--to past the data" 0 "$QTUNE" backtest "${SPOT[@]}" --strategy sma_cross --to 2026-02-01
contains "--to warning has the real end" "$TMP/err" \
  "warning: --to 2026-02-01 is past the data: its last bar opens at 2026-01-01T04:59:00Z"
check_exit "optimize header" 0 "$QTUNE" optimize --catalog "$S" --symbol SYN --strategy sma_cross \
  --trials 2 --jobs 1 --constraints none --quiet --storage "sqlite:///$TMP/o.db" --best-out "$TMP/b.yaml"
contains "optimize describes the market" "$TMP/out" "data:     SYN, perpetual, funding 3 settlements, 1440 bars"
check_exit "two symbols: each backtested (docs/symbols.md)" 0 "$QTUNE" backtest --catalog "$S" \
  --symbol SYN,SYN.B --strategy sma_cross
contains "two symbols run" "$TMP/out" "backtest sma_cross on 2 symbols, mean of their metrics"
check_exit "two symbols where one is taken" 2 "$QTUNE" regimes --catalog "$S" --symbol SYN,SYN.B
contains "two symbols refused" "$TMP/err" "--symbol SYN,SYN.B: this command takes one symbol"
check_exit "repeated --symbol" 2 "$QTUNE" backtest --catalog "$S" --symbol SYN --symbol SYN.B --strategy sma_cross
contains "repeated --symbol refused" "$TMP/err" "--symbol given twice"
# auction_market's parameter flags: the same run as --params, shown in the help
check_exit "strategies auction_market" 0 "$QTUNE" strategies auction_market
contains "flag listed" "$TMP/out" "atr_stop_multiplier    float  [0.5, 3]           default 1.5       stop distance in ATRs (flag --atr-stop)"
check_exit "strategies --json flag" 0 "$QTUNE" strategies auction_market --json
contains "json flag" "$TMP/out" '"flag": "allow-balance-trades"'
check_exit "backtest help lists flags" 0 "$QTUNE" backtest --help
contains "help flag" "$TMP/out" "--max-daily-loss X"
check_exit "profile-bars is no flag" 2 "$QTUNE" backtest --catalog "$S" --symbol SYN --strategy auction_market \
  --profile-bars 60
check_exit "backtest flags" 0 "$QTUNE" backtest --catalog "$S" --symbol SYN --strategy auction_market \
  --min-aggression 55 --atr-stop 2.5 --atr-target 4 --risk-per-trade 1 --max-positions 5 \
  --max-daily-loss 6 --allow-balance-trades --params profile_bars=60 --json
cp "$TMP/out" "$TMP/flags.json"
check_exit "backtest same as --params" 0 "$QTUNE" backtest --catalog "$S" --symbol SYN --strategy auction_market \
  --params min_aggression_score=55,atr_stop_multiplier=2.5,atr_target_multiplier=4,risk_per_trade_pct=1,max_positions=5,max_daily_loss_pct=6,allow_balance_trades=true,profile_bars=60 --json
check "flags = params" $PY -c '
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert a["params"]==b["params"] and a["final_equity"]==b["final_equity"], (a["params"], b["params"])
assert a["params"]["allow_balance_trades"] is True and a["params"]["atr_stop_multiplier"]==2.5
' "$TMP/flags.json" "$TMP/out"
check_exit "flag wins over --params" 0 "$QTUNE" backtest --catalog "$S" --symbol SYN --strategy auction_market \
  --params atr_stop_multiplier=1 --atr-stop 2 --json
contains "flag applied" "$TMP/out" '"atr_stop_multiplier": 2'
check_exit "bad flag value" 2 "$QTUNE" backtest --catalog "$S" --symbol SYN --strategy auction_market --atr-stop 9
contains "bad flag value named" "$TMP/err" "--atr-stop: param 'atr_stop_multiplier' = 9 is outside its range [0.5, 3]"
check_exit "optimize flags fix params" 0 "$QTUNE" optimize --catalog "$S" --symbol SYN --strategy auction_market \
  --atr-stop 2.5 --allow-balance-trades --params max_positions=4 --trials 3 --jobs 1 --constraints none \
  --quiet --storage "sqlite:///$TMP/o.db" --best-out "$TMP/am.yaml"
check "optimize trials keep the fixed params" $PY -c '
import sqlite3,json,sys
rows=sqlite3.connect(sys.argv[1]).execute("select t.params_json from trials t join studies s on s.id=t.study_id where s.name=?",("auction_market",)).fetchall()
assert len(rows)==3, rows
for (pj,) in rows:
    p=json.loads(pj)
    assert p["atr_stop_multiplier"]==2.5 and p["allow_balance_trades"] is True and p["max_positions"]==4, p
' "$TMP/o.db"
finish
