#!/usr/bin/env bash
# qtune data synth / verify / resample end to end: a 3-day synthetic market
# is clean, resamples to 72 hourly bars (also from its trades), a gappy real
# file is reported (exit 1), a non-catalog directory is unusable (exit 2).
. "$(dirname "$0")/lib.sh"

CAT=$TMP/cat
check_exit "synth 3 days" 0 "$QTUNE" data synth --catalog "$CAT" --symbol SYN --days 3 --seed 42
contains "synth summary" "$TMP/out" "SYN: 4320 bars"
contains "synth venue B" "$TMP/out" "SYN.B: 4320 bars"

check_exit "verify synth (all kinds) clean" 0 "$QTUNE" data verify --catalog "$CAT" --symbol SYN
contains "verify lists bars" "$TMP/out" "SYN bars: 4320 rows"
contains "verify lists trades" "$TMP/out" "SYN trades:"
contains "verify lists funding" "$TMP/out" "SYN funding: 9 rows"
contains "verify lists quotes" "$TMP/out" "SYN quotes: 25920 rows"
check_exit "verify venue B clean" 0 "$QTUNE" data verify --catalog "$CAT" --symbol SYN.B --kind bars

# same seed, same bytes; another seed, other bytes
check_exit "synth again" 0 "$QTUNE" data synth --catalog "$TMP/cat2" --symbol SYN --days 3 --seed 42
check_exit "synth other seed" 0 "$QTUNE" data synth --catalog "$TMP/cat3" --symbol SYN --days 3 --seed 43
check "same seed same bytes" cmp -s "$CAT/SYN/trades/data.qtc" "$TMP/cat2/SYN/trades/data.qtc"
check "other seed other bytes" bash -c "! cmp -s '$CAT/SYN/bars/data.qtc' '$TMP/cat3/SYN/bars/data.qtc'"

check_exit "resample to 1h" 0 "$QTUNE" data resample --catalog "$CAT" --symbol SYN --to 1h
contains "72 hourly bars" "$TMP/out" "SYN bars -> SYN_1h: 72 1h bars"
check_exit "verify 1h" 0 "$QTUNE" data verify --catalog "$CAT" --symbol SYN_1h --json
contains "1h rows in JSON" "$TMP/out" '"rows": 72'
contains "1h interval in JSON" "$TMP/out" '"interval_ms": 3600000'

check_exit "bars from trades then 1h" 0 "$QTUNE" data resample --catalog "$CAT" --symbol SYN \
  --from-trades 1m --to 1h --out-symbol SYN_T1h
contains "72 hourly bars from trades" "$TMP/out" "SYN trades -> SYN_T1h: 72 1h bars"
check_exit "bars from trades 1m" 0 "$QTUNE" data resample --catalog "$CAT" --symbol SYN --from-trades 1m
# trades -> 1m bars reproduce the stored bars exactly: the same file bytes
check "trades rebuild the bars" cmp -s "$CAT/SYN/bars/data.qtc" "$CAT/SYN_1m/bars/data.qtc"

check_exit "resample to 90s fails" 2 "$QTUNE" data resample --catalog "$CAT" --symbol SYN --to 90s
contains "not a multiple" "$TMP/err" "not a whole multiple"

# Sparse trades into 5s bars leave empty seconds: gaps in our own catalog.
check_exit "5s bars from trades" 0 "$QTUNE" data resample --catalog "$CAT" --symbol SYN \
  --from-trades 5s --out-symbol SPARSE
check_exit "verify 5s gaps: findings" 1 "$QTUNE" data verify --catalog "$CAT" --symbol SPARSE
contains "gap listed" "$TMP/out" "missing)"
check_exit "5s bars filled: no gaps" 0 "$QTUNE" data resample --catalog "$CAT" --symbol SYN \
  --from-trades 5s --fill-empty --out-symbol FILLED
check_exit "verify filled 5s: clean" 0 "$QTUNE" data verify --catalog "$CAT" --symbol FILLED

# A catalog with gaps: the freqtrade BTC file's first 3000 candles (203 gaps,
# 316 missing minutes, longest step 8 minutes: counted in python over the
# fixture's stamps, see tests/fixtures/README.md).
check_exit "import gappy file" 0 "$QTUNE" data import --catalog "$TMP/gap" --symbol GAPPY \
  "$FIXTURES/freqtrade/UNITTEST_BTC-1m.json"
check_exit "verify gaps: findings" 1 "$QTUNE" data verify --catalog "$TMP/gap" --symbol GAPPY --kind bars
contains "203 gaps" "$TMP/out" " 203  (step longer"
contains "316 missing" "$TMP/out" "316 intervals missing"
check_exit "verify gaps JSON" 1 "$QTUNE" data verify --catalog "$TMP/gap" --symbol GAPPY --json
contains "gap count in JSON" "$TMP/out" '"gap": 203'
check_exit "gap factor 8 (longest step): clean" 0 "$QTUNE" data verify --catalog "$TMP/gap" --symbol GAPPY \
  --gap-factor 8

mkdir -p "$TMP/notcat" && echo hi > "$TMP/notcat/file.txt"
check_exit "verify non-catalog dir" 2 "$QTUNE" data verify --catalog "$TMP/notcat" --symbol X
contains "says why" "$TMP/err" "not a qtune catalog"
check_exit "verify missing symbol" 2 "$QTUNE" data verify --catalog "$CAT" --symbol NOPE
check_exit "verify bad kind" 2 "$QTUNE" data verify --catalog "$CAT" --symbol SYN --kind candles
check_exit "verify help" 0 "$QTUNE" data verify --help
contains "help names options" "$TMP/out" "--gap-factor"
finish
