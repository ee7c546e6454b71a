#!/usr/bin/env bash
# `qtune data import` streams (docs/data-loading.md): a generated kline CSV of
# 1,100,000 rows, more than one sorted run (QT_IMPORT_RUN_ROWS = 1,048,576),
# so it goes through the temp runs and the sorted merge: the counts, the
# catalog's rows and interval, an overlapping second file merged with the
# stored rows (replaced and duplicate counts), the unchanged re-import, the
# same catalog bytes from the same rows imported as two halves in the other
# order, a catalog in folders that do not exist yet, and no temp folder left
# behind.  (tests/data/test_import_stream.c compares with the in-memory path.)
source "$(dirname "$0")/lib.sh"
PY=${PYTHON:-python3}
"$PY" - "$TMP" <<'PYEOF'
import sys
t0 = 1767225600000
def line(i, c):
    t = t0 + i * 60000
    return '%d,%g,%g,%g,%g,10,%d,1000,5,6,500,0\n' % (t, c, c + 1, c - 1, c, t + 59999)
with open(sys.argv[1] + '/big.csv', 'w') as f:
    f.writelines(line(i, 100 + (i % 997) / 10) for i in range(1100000))
# the last 1,000 minutes again, 400 of them with new closes, and 1,000 more
with open(sys.argv[1] + '/more.csv', 'w') as f:
    f.writelines(line(i, 100 + (i % 997) / 10 + (1 if i % 5 < 2 else 0)) for i in range(1099000, 1101000))
# the same rows in two halves of under one run each
with open(sys.argv[1] + '/half1.csv', 'w') as f:
    f.writelines(line(i, 100 + (i % 997) / 10) for i in range(550000))
with open(sys.argv[1] + '/half2.csv', 'w') as f:
    f.writelines(line(i, 100 + (i % 997) / 10) for i in range(550000, 1100000))
PYEOF
C="$TMP/cat"
check_exit "import 1.1 M rows" 0 "$QTUNE" data import --catalog "$C" --symbol BIG "$TMP/big.csv"
contains "counts" "$TMP/out" "BIG bars: files 1, read 1100000, kept 1100000, duplicates 0, replaced 0, skipped 0"
contains "written" "$TMP/out" "now 1100000 rows (was 0): written"
check_exit "merge an overlapping file" 0 "$QTUNE" data import --catalog "$C" --symbol BIG "$TMP/more.csv"
contains "merge counts" "$TMP/out" "read 2000, kept 2000, duplicates 600, replaced 400, skipped 0"
contains "merge rows" "$TMP/out" "now 1101000 rows (was 1100000): written"
check_exit "re-import unchanged" 0 "$QTUNE" data import --catalog "$C" --symbol BIG "$TMP/more.csv"
contains "unchanged" "$TMP/out" "now 1101000 rows (was 1101000): unchanged"
check_exit "info" 0 "$QTUNE" data info --catalog "$C" --json
contains "info rows and interval" "$TMP/out" '"rows":1101000'
contains "info interval" "$TMP/out" '"interval_ms":60000'
check "no temp folder left" [ -z "$(find "$TMP" -maxdepth 2 -name '.qtune-import.*')" ]

# a catalog whose folders do not exist yet: the runs go to $TMPDIR, the folders are made
check_exit "import into new nested folders" 0 env TMPDIR="$TMP" "$QTUNE" data import \
  --catalog "$TMP/x/y/cat" --symbol BIG "$TMP/more.csv"
contains "nested import written" "$TMP/out" "now 2000 rows (was 0): written"
check "nested: no temp folder left" [ -z "$(find "$TMP" -maxdepth 3 -name '.qtune-import.*')" ]

M="$TMP/mem"
check_exit "second half first" 0 "$QTUNE" data import --catalog "$M" --symbol BIG "$TMP/half2.csv"
check_exit "then the first half" 0 "$QTUNE" data import --catalog "$M" --symbol BIG "$TMP/half1.csv"
check_exit "then the overlapping file" 0 "$QTUNE" data import --catalog "$M" --symbol BIG "$TMP/more.csv"
check "one file or two halves: the same catalog bytes" \
  cmp -s "$C/BIG/bars/data.qtc" "$M/BIG/bars/data.qtc"
finish
