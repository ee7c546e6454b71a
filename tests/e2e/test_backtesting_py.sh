#!/usr/bin/env bash
# backtesting.py's conventions (docs/migrating.md): its SmaCross example run
# the way backtesting.py runs it (cash 10,000, whole shares, all-in sized at
# the fill price, finalize_trades closing at the last bar's open, buy-and-hold
# from its first trading bar) on a pandas-written daily CSV whose first
# column is the unnamed date index.  The expected trades and equity come from
# tests/e2e/bt_reference.py, an independent restatement of backtesting.py's
# rules in Python (backtesting.py itself is not installable here).
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
DATA=$FIXTURES/oracles/ttrc_pandas.csv
cd "$TMP"

check "the fixture is pandas' layout (empty first header)" test "$(head -c 1 "$DATA")" = ","

# compare REF.json TRADES.csv EQUITY.csv RESULT.json: trades (side, qty,
# entry/exit time and price exactly, P&L to 1e-6), every equity point (to
# 1e-9 relative), the final equity and buy-and-hold
compare() {
  $PY - "$@" <<'EOF'
import csv, json, sys
ref = json.load(open(sys.argv[1]))
got = list(csv.DictReader(open(sys.argv[2])))
eq = [float(r["equity"]) for r in csv.DictReader(open(sys.argv[3]))]
res = json.load(open(sys.argv[4]))
bad = []
if ref["near_ties"] or ref["signal_on_last_bar"] or ref["open_at_end"]:
    bad.append("fixture unsuitable: %r" % ({k: ref[k] for k in ("near_ties", "signal_on_last_bar", "open_at_end")},))
if len(got) != len(ref["trades"]):
    bad.append("%d trades, reference %d" % (len(got), len(ref["trades"])))
for k, (g, r) in enumerate(zip(got, ref["trades"])):
    mine = (g["side"], float(g["qty"]), int(g["entry_ms"]), int(g["exit_ms"]),
            float(g["entry_price"]), float(g["exit_price"]))
    theirs = (r["side"], float(r["qty"]), r["entry_ms"], r["exit_ms"], r["entry_price"], r["exit_price"])
    if mine != theirs or abs(float(g["pnl"]) - r["pnl"]) > 1e-6:
        bad.append("trade %d: qtune %r pnl %s, reference %r pnl %r" % (k + 1, mine, g["pnl"], theirs, r["pnl"]))
        break
if len(eq) != len(ref["equity"]):
    bad.append("%d equity points, reference %d" % (len(eq), len(ref["equity"])))
else:
    for k, (a, b) in enumerate(zip(eq, ref["equity"])):
        if abs(a - b) > 1e-9 * abs(b):
            bad.append("equity[%d] = %r, reference %r" % (k, a, b))
            break
m = res["metrics"]
if abs(m["equity_final"] - ref["equity_final"]) > 1e-6:
    bad.append("equity_final %r, reference %r" % (m["equity_final"], ref["equity_final"]))
if abs(m["buy_hold_return"] - ref["buy_hold_return"]) > 1e-12:
    bad.append("buy_hold_return %r, reference %r" % (m["buy_hold_return"], ref["buy_hold_return"]))
print("; ".join(bad) if bad else "%d trades, final equity %.2f, buy and hold %.4f: equal"
      % (len(got), m["equity_final"], m["buy_hold_return"]))
sys.exit(1 if bad else 0)
EOF
}

BT=(backtest --strategy sma_cross --data "$DATA" --params fast=10,slow=30,sizing=fill
    --cash 10000 --lot-size 1 --close-at-end open --buy-hold-from warmup --json)

# 1. no commission (the issue's case), 2. backtesting.py README's commission=.002
for c in "0 0" "0.002 20"; do
  set -- $c
  $PY "$QT_ROOT/tests/e2e/bt_reference.py" "$DATA" 10000 "$1" 10 30 >"ref$2.json" || bad "reference script ($1)"
  "$QTUNE" "${BT[@]}" --fee-bps "$2" --trades "t$2.csv" --equity "e$2.csv" >"r$2.json" 2>"err$2" ||
    { bad "qtune backtest (fee $2 bps)"; cat "err$2"; }
  check "trades and equity equal backtesting.py's rules (commission $1)" \
    compare "ref$2.json" "t$2.csv" "e$2.csv" "r$2.json"
done

# the conventions are what makes them equal: sized at the signal bar's close
# (qtune's default), or closed at the last close, the trades differ
"$QTUNE" backtest --strategy sma_cross --data "$DATA" --cash 10000 --lot-size 1 --fee-bps 0 \
  --close-at-end open --buy-hold-from warmup --json --trades t_close.csv --equity e_close.csv >r_close.json 2>/dev/null
differs() { ! compare "$@" >"$TMP/why"; }
check "sizing at the signal close differs" differs ref0.json t_close.csv e_close.csv r_close.json
contains "... from a quantity on" "$TMP/why" "trade "
"$QTUNE" backtest --strategy sma_cross --data "$DATA" --params sizing=fill --cash 10000 --lot-size 1 \
  --fee-bps 0 --buy-hold-from warmup --json --trades t_end.csv --equity e_end.csv >r_end.json 2>/dev/null
check "closing at the last close differs" differs ref0.json t_end.csv e_end.csv r_end.json
last_open=$(tail -n 1 "$DATA" | cut -d, -f2)
check "the last trade exits at the last bar's open ($last_open)" \
  test "$(tail -n 1 t0.csv | cut -d, -f11)" = "$last_open"
contains "its reason is end_of_data" t0.csv "end_of_data"
"$QTUNE" backtest --strategy sma_cross --data "$DATA" --fee-bps 0 --json >r_first.json 2>/dev/null
check "buy-and-hold from the first bar by default" $PY -c "
import json, pandas as pd
c = pd.read_csv('$DATA', index_col=0)['Close'].values
assert abs(json.load(open('r_first.json'))['metrics']['buy_hold_return'] - (c[-1] / c[0] - 1)) < 1e-12"

# bad input
check_exit "--close-at-end refuses other words" 2 "$QTUNE" "${BT[@]}" --close-at-end later
contains "... naming the flag" "$TMP/err" "--close-at-end: want close, open or none"
check_exit "--buy-hold-from refuses other words" 2 "$QTUNE" "${BT[@]}" --buy-hold-from middle
printf ',Open,High,Low,Close\n2020-01-01,1,1,1,1\nnotadate,1,1,1,1\n' >bad.csv
check_exit "an unnamed first column that is not dates" 2 "$QTUNE" backtest --strategy sma_cross --data bad.csv
contains "... names file, line and field" "$TMP/err" "bad.csv:3: field 'time (unnamed first column)': not a timestamp"
finish
