#!/usr/bin/env bash
# qtune data import/info end to end: the two AVAXUSDT months (fixtures: June
# 27-30 and July 1-4, 5760 rows each, 11520 minutes) into a fresh catalog, an
# idempotent re-import, a malformed file (exit 2 with FILE:LINE: field),
# --skip-bad, containers and bad catalogs.
source "$(dirname "$0")/lib.sh"
AV="$FIXTURES/binance"
CAT="$TMP/cat"

check_exit "import two months" 0 "$QTUNE" data import --catalog "$CAT" --symbol AVAXUSDT \
  "$AV/AVAXUSDT-1m-2026-07.csv" "$AV/AVAXUSDT-1m-2026-06.csv"
contains "import counts" "$TMP/out" "AVAXUSDT bars: files 2, read 11520, kept 11520, duplicates 0"
contains "import wrote" "$TMP/out" "now 11520 rows (was 0): written"

check_exit "info" 0 "$QTUNE" data info --catalog "$CAT"
contains "info rows" "$TMP/out" "11520"
contains "info range" "$TMP/out" "2026-06-27T00:00:00Z      2026-07-04T23:59:00Z      1m"
check_exit "info json" 0 "$QTUNE" data info --catalog "$CAT" --json
contains "info json rows" "$TMP/out" '"symbol":"AVAXUSDT","kind":"bars","rows":11520'
contains "info json interval" "$TMP/out" '"interval_ms":60000'

before=$(stat -c '%i %Y.%y' "$CAT/AVAXUSDT/bars/data.qtc")
check_exit "re-import" 0 "$QTUNE" data import --catalog "$CAT" --symbol AVAXUSDT "$AV"/AVAXUSDT-1m-2026-0*.csv
contains "re-import unchanged" "$TMP/out" "now 11520 rows (was 11520): unchanged"
contains "re-import duplicates" "$TMP/out" "duplicates 11520"
after=$(stat -c '%i %Y.%y' "$CAT/AVAXUSDT/bars/data.qtc")
check "re-import leaves the file alone" [ "$before" = "$after" ]

# a malformed row: exit 2, FILE:LINE: field message, nothing written
BAD="$TMP/bad.csv"
head -3 "$AV/AVAXUSDT-1m-2026-06.csv" >"$BAD"
echo "1780272180000,8.9740,8.9750,8.9710,1.2.3,6406,1780272239999,57482.0670,318,3502,31423.2190,0" >>"$BAD"
echo "1780272240000,8.9740,8.9750,8.9690,8.97,6406,1780272299999,57482.0670,318,3502,31423.2190" >>"$BAD"
echo "1780272300000,8.9740,8.9750,8.9690,8.97,6406,1780272359999,57482.0670,318,3502,31423.2190,0" >>"$BAD"
check_exit "bad row fails" 2 "$QTUNE" data import --catalog "$TMP/cat2" --symbol X "$BAD"
contains "bad row message" "$TMP/err" "qtune: $BAD:4: field 'close': not a number (\"1.2.3\")"
check "bad import wrote nothing" [ ! -e "$TMP/cat2" ]
check_exit "skip-bad" 0 "$QTUNE" data import --catalog "$TMP/cat2" --symbol X --skip-bad "$BAD"
contains "skip-bad count" "$TMP/out" "read 5, kept 3, duplicates 0, replaced 0, skipped 2"
contains "skip-bad first" "$TMP/out" "first skipped row: $BAD:4: field 'close'"

# containers: gzip and zip of the June file equal the plain one
gzip -c "$AV/AVAXUSDT-1m-2026-06.csv" >"$TMP/june.csv.gz"
(cd "$TMP" && cp "$AV/AVAXUSDT-1m-2026-06.csv" . && zip -q june.zip AVAXUSDT-1m-2026-06.csv)
check_exit "gz+zip into the catalog" 0 "$QTUNE" data import --catalog "$CAT" --symbol AVAXUSDT "$TMP/june.csv.gz" "$TMP/june.zip"
contains "gz+zip unchanged" "$TMP/out" "(was 11520): unchanged"
head -c 100000 "$TMP/june.csv.gz" >"$TMP/cut.csv.gz"
check_exit "truncated gzip" 2 "$QTUNE" data import --catalog "$CAT" --symbol AVAXUSDT "$TMP/cut.csv.gz"
contains "truncated gzip message" "$TMP/err" "cut.csv.gz: corrupt or truncated gzip"
head -c 100000 "$TMP/june.zip" >"$TMP/cut.zip"
check_exit "truncated zip" 2 "$QTUNE" data import --catalog "$CAT" --symbol AVAXUSDT "$TMP/cut.zip"
contains "truncated zip message" "$TMP/err" "cut.zip: not a readable zip archive"
: >"$TMP/empty.csv"
check_exit "empty file" 2 "$QTUNE" data import --catalog "$CAT" --symbol AVAXUSDT "$TMP/empty.csv"
contains "empty message" "$TMP/err" "empty.csv: empty file"

# freqtrade files: generic CSV mapping and funding
check_exit "generic csv" 0 "$QTUNE" data import --catalog "$CAT" --symbol XRPUSDT \
  --columns time=date_ms,open=open,high=high,low=low,close=close,volume=volume "$FIXTURES/freqtrade/XRP_USDT_USDT-5m-futures.csv"
contains "generic csv rows" "$TMP/out" "now 1999 rows"
check_exit "funding mapping" 0 "$QTUNE" data import --catalog "$CAT" --symbol XRPUSDT --kind funding \
  --columns time=date_ms,rate=open "$FIXTURES/freqtrade/XRP_USDT_USDT-8h-funding_rate.csv"
contains "funding rows" "$TMP/out" "XRPUSDT funding now 91 rows"
# --date-format: USDCHF's "1996-03-31 22:00:00" rewritten as "31.03.1996 10:00 PM"
US="$TMP/usdchf_eu.csv"
awk -F, 'NR == 1 { print "when,close"; next } NR <= 2001 {
  split($1, a, /[- :]/); h = a[4] % 12; if (h == 0) h = 12
  printf "%s.%s.%s %d:%s %s,%s\n", a[3], a[2], a[1], h, a[5], (a[4] < 12 ? "AM" : "PM"), $3 }' \
  "$FIXTURES/oracles/USDCHF.csv" >"$US"
check_exit "date format" 0 "$QTUNE" data import --catalog "$CAT" --symbol USDCHF \
  --columns time=when,open=close,high=close,low=close,close=close --date-format "%d.%m.%Y %I:%M %p" "$US"
contains "date format rows" "$TMP/out" "USDCHF bars: files 1, read 2000, kept 2000"
check_exit "date format range" 0 "$QTUNE" data info --catalog "$CAT" --symbol USDCHF
contains "date format first bar" "$TMP/out" "1996-03-31T22:00:00Z"
contains "date format 30m" "$TMP/out" "30m"
check_exit "date format mismatch" 2 "$QTUNE" data import --catalog "$TMP/cat3" --symbol USDCHF \
  --columns time=when,open=close,high=close,low=close,close=close --date-format "%Y-%m-%d %H:%M" "$US"
contains "date format mismatch message" "$TMP/err" "usdchf_eu.csv:2: field 'when': not a date in the format \"%Y-%m-%d %H:%M\" (\"31.03.1996 10:00 PM\")"
check "date format mismatch wrote nothing" [ ! -e "$TMP/cat3" ]
check_exit "date format typo" 2 "$QTUNE" data import --catalog "$TMP/cat3" --symbol USDCHF --date-format "%d.%q" "$US"
contains "date format typo message" "$TMP/err" "unknown directive %q"

check_exit "info symbol" 0 "$QTUNE" data info --catalog "$CAT" --symbol XRPUSDT
contains "info shows funding" "$TMP/out" "funding"
contains "info shows 5m" "$TMP/out" "5m"

# the market loader of backtest/optimize (src/cli/market.c) on this catalog
check_exit "backtest from/to" 0 "$QTUNE" backtest --catalog "$CAT" --symbol AVAXUSDT --strategy sma_cross \
  --params fast=5,slow=20 --json --from 2026-07-01 --to 2026-07-02
contains "backtest from/to bars" "$TMP/out" '"bars": 1440'
contains "backtest from/to first bar" "$TMP/out" '"first_ms": 1782864000000'
# --from: the bars before it are history, so SMA(20) is warm on the first
# traded bar: a cross at 03:01 fills at 03:02 (unwarmed, the first possible
# entry would be 03:21)
check_exit "backtest warm-up" 0 "$QTUNE" backtest --catalog "$CAT" --symbol AVAXUSDT --strategy sma_cross \
  --params fast=5,slow=20 --from 2026-07-01T03:00:00Z --to 2026-07-02 --trades "$TMP/warm.csv"
check "backtest warm-up first entry" [ "$(sed -n 2p "$TMP/warm.csv" | cut -d, -f5)" = "2026-07-01T03:02:00Z" ]
contains "backtest warm-up bars" "$TMP/out" "1260 bars, 2026-07-01T03:00:00Z"
check_exit "backtest orders" 0 "$QTUNE" backtest --catalog "$CAT" --symbol AVAXUSDT --strategy hedge_grid \
  --from 2026-07-01T03:00:00Z --to 2026-07-02 --orders "$TMP/orders.csv" --trades "$TMP/hg.csv"
contains "orders header" "$TMP/orders.csv" "time,ts_ms,action,id,inst,symbol,side,type,leg,qty,price,post_only,reduce_only,expire_ms"
contains "orders first" "$TMP/orders.csv" "2026-07-01T03:00:00Z,1782874800000,submit,1,0,AVAXUSDT,buy,limit,long,"
check "orders: submits >= trades" [ "$(grep -c ',submit,' "$TMP/orders.csv")" -ge "$(($(wc -l <"$TMP/hg.csv") - 1))" ]
check_exit "backtest empty range" 2 "$QTUNE" backtest --catalog "$CAT" --symbol AVAXUSDT --strategy sma_cross \
  --params fast=5,slow=20 --from 2027-01-01
contains "empty range message" "$TMP/err" "--from/--to select no bars (the data has 11520 bars)"
check_exit "backtest unknown symbol" 2 "$QTUNE" backtest --catalog "$CAT" --symbol NOPE --strategy sma_cross \
  --params fast=5,slow=20
contains "unknown symbol message" "$TMP/err" "has no bars for 'NOPE'"
check_exit "backtest bad --from" 2 "$QTUNE" backtest --catalog "$CAT" --symbol AVAXUSDT --strategy sma_cross \
  --params fast=5,slow=20 --from yesterday
contains "bad --from message" "$TMP/err" "--from: not a timestamp"

# not a catalog; usage errors; help
mkdir -p "$TMP/plain" && echo hi >"$TMP/plain/notes.txt"
check_exit "not a catalog" 2 "$QTUNE" data import --catalog "$TMP/plain" --symbol X "$AV/AVAXUSDT-1m-2026-06.csv"
contains "not a catalog message" "$TMP/err" "not a qtune catalog"
check_exit "info missing catalog" 2 "$QTUNE" data info --catalog "$TMP/nope"
check_exit "import without files" 2 "$QTUNE" data import --catalog "$CAT" --symbol X
check_exit "bad format" 2 "$QTUNE" data import --catalog "$CAT" --symbol X --format xls "$BAD"
check_exit "import help" 0 "$QTUNE" data import --help
contains "import help text" "$TMP/out" "--skip-bad"
check_exit "info help" 0 "$QTUNE" data info --help
check_exit "data help" 0 "$QTUNE" data --help
contains "data help lists import" "$TMP/out" "import"
check_exit "unknown subcommand" 2 "$QTUNE" data frobnicate
finish
