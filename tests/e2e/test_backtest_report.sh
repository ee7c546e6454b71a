#!/usr/bin/env bash
# qtune backtest --report end to end: sma_cross on the real AVAXUSDT 1m
# klines written as the HTML report, every bar drawn and down-sampled, and a
# 1,000,800-bar synthetic market (695 days of 1m bars) whose report must
# still open: each page in Debian's headless Chromium
# (tests/browser/inspect_page.js) with no console errors, nothing fetched,
# the three charts painted, the numbers equal to `backtest --json` and the
# trades CSV, and the down-sampling announced.  Screenshots:
# build-test/backtest-report-screens/.
source "$(dirname "$0")/lib.sh"
SHOTS=$QT_ROOT/${BT:-build-test}/backtest-report-screens
mkdir -p "$SHOTS"
INSPECT=$QT_ROOT/tests/browser/inspect_page.js
D=$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv
cd "$TMP"
jget() { node -e 'let v; try { const o=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  v=(new Function("o","return ("+process.argv[2]+")"))(o); } catch (e) { v=undefined; }
  console.log(v===undefined ? "(missing)" : typeof v==="object" ? JSON.stringify(v) : v)' "$1" "$2"; }
same() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: got '$2', want '$3'"; fi; }
# page FILE SHOT OUT.json: inspects the page (and says so when the browser fails)
page() {
  if node "$INSPECT" "$1" --screenshot "$2" --text qt-sampling-note,qt-n-bars,qt-n-trades,qt-final-equity,qt-trades-note,qt-trades-rows >"$3" 2>"$3.err"; then
    ok "browser opened $1"
  else
    bad "browser on $1: $(tail -3 "$3.err")"; echo '{}' >"$3"
  fi
}
# the three charts painted (canvas: thousands of pixels each), no errors, offline
charts_ok() {
  same "$2: no console errors" "$(jget "$1" 'o.console_errors.length+o.page_errors.length')" 0
  same "$2: nothing fetched" "$(jget "$1" o.external_requests.length)" 0
  same "$2: charts painted" "$(jget "$1" 'o.charts.filter(c => c.canvas && c.painted > 2000 && c.width > 100 && c.height > 100).map(c => c.id).join(",")')" \
    "qt-chart-price,qt-chart-equity,qt-chart-drawdown"
}

# ---- errors ----
check_exit "bad --report-max-bars" 2 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --report r.html --report-max-bars -3
contains "names the flag" "$TMP/err" "--report-max-bars: must be >= 0 (got -3)"
check "no file for a refused report" test ! -e r.html

# ---- the real klines: every bar drawn ----
check_exit "backtest json + trades" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --params fast=20,slow=60 --json --trades tr.csv
cp "$TMP/out" bt.json
n_bars=$(jget bt.json o.bars)
n_trades=$(($(wc -l <tr.csv) - 1))
final=$(jget bt.json 'o.final_equity.toFixed(2)')
check_exit "backtest --report, every bar" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --params fast=20,slow=60 --report all.html --report-max-bars 0
contains "console: the guide's summary" "$TMP/out" "summary: Sharpe "
contains "console: where the report is" "$TMP/out" "report: all.html (all $n_bars bars drawn)"
if grep -qiE '<script[^>]+src=|<link[^>]+href=' all.html; then bad "external script or link"; else ok "self-contained"; fi
page all.html "$SHOTS/backtest.png" all.json
charts_ok all.json "every bar"
same "bars = backtest --json" "$(jget all.json 'o.text["qt-n-bars"]')" "$n_bars"
same "trades = trades CSV" "$(jget all.json 'o.text["qt-n-trades"]')" "$n_trades"
same "trade rows: the first page of 100" "$(jget all.json 'o.rows["qt-trades"]')" "$((n_trades < 100 ? n_trades : 100))"
same "the pager counts every trade" "$(jget all.json 'o.text["qt-trades-rows"]')" "rows 1-$((n_trades < 100 ? n_trades : 100)) of $n_trades"
same "final equity = backtest --json" "$(jget all.json 'o.text["qt-final-equity"]')" "$final"
same "says every bar is drawn" "$(jget all.json 'o.text["qt-sampling-note"]')" "Every one of the $n_bars bars is drawn."
same "long + short rows" "$(jget all.json 'o.rows["qt-by-side"]')" 2
contains "the strategy's SMA lines over the price" all.html '"lines":[{"name":"sma(20)","data":[null,'
contains "both of them" all.html '{"name":"sma(60)","data":[null,'


# ---- the same run down-sampled (default 1000 candles: 6 bars per candle) ----
check_exit "backtest --report, default" 0 "$QTUNE" backtest --data "$D" --strategy sma_cross \
  --params fast=20,slow=60 --report dec.html
page dec.html "$SHOTS/backtest-downsampled.png" dec.json
charts_ok dec.json "down-sampled"
same "down-sampling announced" "$(jget dec.json '/^Down-sampled for display: '"$n_bars"' bars drawn as \d+ candles \(6 bars each/.test(o.text["qt-sampling-note"])')" true
same "the tables keep every trade" "$(jget dec.json 'o.text["qt-trades-rows"]')" "rows 1-$((n_trades < 100 ? n_trades : 100)) of $n_trades"

# ---- 1,000,800 bars ----
check_exit "synthesize 695 days of 1m bars" 0 "$QTUNE" data synth --catalog cat --symbol SYN \
  --days 695 --trades-per-min 1 --quote-interval 1d
check_exit "backtest --report on 1M bars" 0 "$QTUNE" backtest --catalog cat --symbol SYN \
  --strategy sma_cross --report big.html
contains "console: down-sampled" "$TMP/out" "report: big.html (1000800 bars down-sampled for display: 1001 per candle)"
size=$(stat -c %s big.html)
if [ "$size" -lt 5000000 ]; then ok "1M-bar page stays small ($size bytes)"; else bad "1M-bar page is $size bytes"; fi
page big.html "$SHOTS/backtest-1m.png" big.json
same "1M-bar page ready" "$(jget big.json o.ready)" true
charts_ok big.json "1M bars"
same "1M: bars shown as candles" "$(jget big.json '/^Down-sampled for display: 1000800 bars drawn as 1000 candles \(1001 bars each/.test(o.text["qt-sampling-note"])')" true
same "1M: equity as 2000 LTTB points" "$(jget big.json '/equity and drawdown as 2000 points each \(Largest-Triangle-Three-Buckets/.test(o.text["qt-sampling-note"])')" true
same "1M: trade table capped and says so" "$(jget big.json 'o.rows["qt-trades"]+" "+o.text["qt-trades-rows"]+" "+/^The first 1000 of \d+ trades/.test(o.text["qt-trades-note"])')" "100 rows 1-100 of 1000 true"
finish
