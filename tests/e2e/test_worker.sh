#!/usr/bin/env bash
# `qtune worker` joins a study by name: what it runs on comes from the
# study's record, trial numbers continue without gaps or repeats, and a
# machine whose catalog holds other bars is refused with the difference.
source "$(dirname "$0")/lib.sh"
J="$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv"
cd "$TMP" || exit 1
"$QTUNE" data import --catalog cat --symbol AVAXUSDT "$J" >/dev/null
S=sqlite:///w.db
check_exit "study made by optimize" 0 "$QTUNE" optimize --strategy sma_cross --catalog cat \
  --symbol AVAXUSDT --from 2026-06-28 --to 2026-06-30T12:00 --fee-bps 3 --slippage-bps 1 \
  --constraints none --trials 4 --study-name w1 --storage "$S" --quiet
check_exit "a worker joins with the name only" 0 "$QTUNE" worker --study-name w1 --storage "$S" --trials 6 --jobs 2 --quiet
contains "it resumed the study" "$TMP/out" "w1"
check_exit "two workers at once" 0 bash -c "'$QTUNE' worker --study-name w1 --storage $S --trials 5 --quiet & '$QTUNE' worker --study-name w1 --storage $S --trials 5 --quiet; wait"
python3 - "$TMP/w.db" >"$TMP/nums" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
nums = [r[0] for r in c.execute("select number from trials order by number")]
print(len(nums), len(set(nums)), nums == list(range(len(nums))))
PY
contains "20 trials numbered 0..19, none twice" "$TMP/nums" "20 20 True"
# another machine's catalog: same symbol, one bar changed
mkdir -p m2
awk -F, 'BEGIN{OFS=","} NR==3000{$2=$5} {print}' "$J" >m2/j.csv
"$QTUNE" data import --catalog m2/cat --symbol AVAXUSDT m2/j.csv >/dev/null
check_exit "other bars refused" 2 "$QTUNE" worker --study-name w1 --storage "$S" --catalog m2/cat --trials 2 --quiet
contains "the difference is named" "$TMP/err" "data: 5040 rows"
check "the path is not a difference" bash -c "! grep -q 'catalog:' '$TMP/err'"
mkdir -p m3 && cp -r cat m3/
check_exit "the same bars elsewhere join" 0 "$QTUNE" worker --study-name w1 --storage "$S" --catalog m3/cat --trials 2 --quiet
check_exit "unknown study" 2 "$QTUNE" worker --study-name nope --storage "$S"
contains "unknown study named" "$TMP/err" "nope"
check_exit "no name" 2 "$QTUNE" worker --storage "$S"
contains "name required" "$TMP/err" "--study-name is required"
finish
