#!/usr/bin/env bash
# Data honesty end to end: a resampled symbol keeps its trades, funding and
# quotes byte for byte; compact dates (--from 20260701) and freqtrade's
# --timerange select bars instead of being read as 1970 epochs.
. "$(dirname "$0")/lib.sh"

CAT=$TMP/cat
check_exit "synth 3 days from 2026-06-30" 0 "$QTUNE" data synth --catalog "$CAT" --symbol SYN \
  --days 3 --start 2026-06-30 --seed 7

# 1. resample keeps the series that are not bars
check_exit "resample to 1h" 0 "$QTUNE" data resample --catalog "$CAT" --symbol SYN --to 1h
contains "says what it copied" "$TMP/out" "copied to SYN_1h: 68097 trades, 9 funding, 25920 quotes"
check_exit "info" 0 "$QTUNE" data info --catalog "$CAT" --symbol SYN_1h
contains "1h funding listed" "$TMP/out" "SYN_1h           funding           9"
contains "1h quotes listed" "$TMP/out" "SYN_1h           quotes        25920"
for k in trades funding quotes; do
  check "$k identical after resample" cmp -s "$CAT/SYN/$k/data.qtc" "$CAT/SYN_1h/$k/data.qtc"
done
# venue B has bars and quotes only: no funding appears from nowhere
check_exit "resample venue B" 0 "$QTUNE" data resample --catalog "$CAT" --symbol SYN.B --to 1h
contains "B: quotes only" "$TMP/out" "copied to SYN.B_1h: 0 trades, 0 funding, 25920 quotes"
check "B has no funding" test ! -e "$CAT/SYN.B_1h/funding"
# the resampled symbol backtests as a perp: funding is settled
check_exit "backtest 1h symbol" 0 "$QTUNE" backtest --catalog "$CAT" --symbol SYN_1h \
  --strategy sma_cross --params fast=3,slow=8
check "1h backtest pays funding" bash -c "grep -E '^funding_paid' '$TMP/out' | grep -vqE ' 0$'"

# 2. compact dates and --timerange
check_exit "backtest --from 20260701" 0 "$QTUNE" backtest --catalog "$CAT" --symbol SYN \
  --strategy sma_cross --from 20260701
contains "from 2026-07-01: 2 days" "$TMP/out" "2880 bars, 2026-07-01T00:00:00Z .. 2026-07-02T23:59:00Z"
check_exit "backtest --from 20260701T1200 --to 20260702" 0 "$QTUNE" backtest --catalog "$CAT" \
  --symbol SYN --strategy sma_cross --from 20260701T1200 --to 20260702
contains "half a day" "$TMP/out" "720 bars, 2026-07-01T12:00:00Z .. 2026-07-01T23:59:00Z"
check_exit "--timerange START-END" 0 "$QTUNE" backtest --catalog "$CAT" --symbol SYN \
  --strategy sma_cross --timerange 20260701-20260702
contains "one day" "$TMP/out" "1440 bars, 2026-07-01T00:00:00Z .. 2026-07-01T23:59:00Z"
check_exit "--timerange START-" 0 "$QTUNE" backtest --catalog "$CAT" --symbol SYN \
  --strategy sma_cross --timerange 20260702-
contains "open end" "$TMP/out" "1440 bars, 2026-07-02T00:00:00Z .. 2026-07-02T23:59:00Z"
check_exit "--timerange -END" 0 "$QTUNE" backtest --catalog "$CAT" --symbol SYN \
  --strategy sma_cross --timerange -20260701
contains "open start" "$TMP/out" "1440 bars, 2026-06-30T00:00:00Z .. 2026-06-30T23:59:00Z"
check_exit "--timerange epochs" 0 "$QTUNE" backtest --catalog "$CAT" --symbol SYN \
  --strategy sma_cross --timerange 1782864000-1782950400
contains "epoch halves" "$TMP/out" "1440 bars, 2026-07-01T00:00:00Z .. 2026-07-01T23:59:00Z"
check_exit "--timerange reversed" 2 "$QTUNE" backtest --catalog "$CAT" --symbol SYN \
  --strategy sma_cross --timerange 20260702-20260701
contains "reversed says why" "$TMP/err" "--timerange: time range \"20260702-20260701\": the start is not before the end"
check_exit "--from 20261301" 2 "$QTUNE" backtest --catalog "$CAT" --symbol SYN \
  --strategy sma_cross --from 20261301
contains "bad date says why" "$TMP/err" "--from"
contains "bad date names the rule" "$TMP/err" "8 digits are a date YYYYMMDD"
finish
