#!/usr/bin/env bash
# Inputs that would cost too much are refused with a message naming the
# limit and how to raise it: a gzip or zip "bomb" (decompressed size), YAML
# nested deeper than 64 levels (libyaml's cost grows with the square of the
# depth: 100,000 levels took 34 s), and YAML that readers would silently
# misread: a key twice in one map, a second document.
source "$(dirname "$0")/lib.sh"
PY=${PYTHON:-python3}
AV="$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv"

# ---- decompressed size: 200,000 rows (7.4 MB) compress to ~0.5 MB
"$PY" - "$TMP" <<'PYEOF'
import gzip, sys, zipfile
d = b'open_time,open,high,low,close,volume\n' + b''.join(
    b'%d,1,1,1,1,1\n' % (1700000000000 + i * 60000) for i in range(200000))
open(sys.argv[1] + '/bomb.csv.gz', 'wb').write(gzip.compress(d, 9))
with zipfile.ZipFile(sys.argv[1] + '/bomb.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('a.csv', d)
PYEOF
for f in bomb.csv.gz bomb.zip; do
  QTUNE_MAX_DECOMPRESSED=1M check_exit "$f over the limit refused" 2 \
    "$QTUNE" data import --catalog "$TMP/c_$f" --symbol X "$TMP/$f"
  contains "$f names the limit" "$TMP/err" "decompresses to more than 1048576 bytes (the limit set by QTUNE_MAX_DECOMPRESSED=1M)"
  check "$f refused wrote nothing" [ ! -e "$TMP/c_$f/X" ]
  check_exit "$f within the default limit" 0 "$QTUNE" data import --catalog "$TMP/c_$f" --symbol X "$TMP/$f"
done

# ---- YAML depth, duplicate keys, several documents (space and config alike)
"$PY" -c "open('$TMP/deep.yaml','w').write('fast: ' + '['*100000 + ']'*100000 + '\n')"
check_exit "deep space refused" 2 "$QTUNE" optimize --strategy sma_cross --data "$AV" \
  --space "$TMP/deep.yaml" --trials 1 --storage "sqlite:///$TMP/s.db"
contains "deep space names the limit" "$TMP/err" "$TMP/deep.yaml:1: nested deeper than 64 levels (QT_YAML_MAX_DEPTH)"
printf 'fast: 5\nslow: 30\nfast: 7\n' >"$TMP/dup.yaml"
check_exit "duplicate space key refused" 2 "$QTUNE" optimize --strategy sma_cross --data "$AV" \
  --space "$TMP/dup.yaml" --trials 1 --storage "sqlite:///$TMP/s.db"
contains "duplicate key named" "$TMP/err" "$TMP/dup.yaml:3: key 'fast' appears twice in one map (first at line 1)"
printf 'strategy: sma_cross\ntrials: 5\ntrials: 7\n' >"$TMP/dupc.yaml"
check_exit "duplicate config key refused" 2 "$QTUNE" optimize --config "$TMP/dupc.yaml" --data "$AV" \
  --storage "sqlite:///$TMP/s.db"
contains "duplicate config key named" "$TMP/err" "$TMP/dupc.yaml:3: key 'trials' appears twice in one map (first at line 2)"
printf 'strategy: sma_cross\n---\ntrials: 3\n' >"$TMP/two.yaml"
check_exit "second document refused" 2 "$QTUNE" optimize --config "$TMP/two.yaml" --data "$AV" \
  --storage "sqlite:///$TMP/s.db"
contains "second document named" "$TMP/err" "$TMP/two.yaml:3: a second YAML document (one document per file)"
# params files (--params-file, what --best-out writes) go through the same loader
printf 'fast: 5\nslow: 30\nfast: 7\n' >"$TMP/dupp.yaml"
check_exit "duplicate params key refused" 2 "$QTUNE" backtest --strategy sma_cross --data "$AV" \
  --params-file "$TMP/dupp.yaml"
contains "duplicate params key named" "$TMP/err" "$TMP/dupp.yaml:3: key 'fast' appears twice in one map (first at line 1)"
printf 'fast: 5\n---\nslow: 30\n' >"$TMP/twop.yaml"
check_exit "second params document refused" 2 "$QTUNE" backtest --strategy sma_cross --data "$AV" \
  --params-file "$TMP/twop.yaml"
contains "second params document named" "$TMP/err" "$TMP/twop.yaml:3: a second YAML document (one document per file)"
check "nothing was stored" [ ! -e "$TMP/s.db" ]
# every other YAML qtune reads goes through the same loader: the auto-tuner's
# config, the gate's thresholds, backtest --config
printf 'window: 7d\nwindow: 3d\n' >"$TMP/tdup.yaml"
check_exit "tuner config: duplicate key refused" 2 "$QTUNE" tune run --dry-run --config "$TMP/tdup.yaml" \
  --storage "sqlite:///$TMP/t.db"
contains "tuner config: file and line" "$TMP/err" "$TMP/tdup.yaml:2: key 'window' appears twice in one map (first at line 1)"
printf 'min_symbols: 1\n---\nmin_symbols: 2\n' >"$TMP/gtwo.yaml"
check_exit "gate thresholds: a second document refused" 2 "$QTUNE" gate --study-name nope \
  --storage "sqlite:///$TMP/t.db" --thresholds "$TMP/gtwo.yaml"
contains "gate thresholds: file and line" "$TMP/err" "$TMP/gtwo.yaml:3: a second YAML document (one document per file)"
"$PY" -c "open('$TMP/bdeep.yaml','w').write('strategy: ' + '['*1000 + ']'*1000 + '\n')"
check_exit "backtest --config: too deep refused" 2 "$QTUNE" backtest --config "$TMP/bdeep.yaml" --data "$AV"
contains "backtest --config: names the limit" "$TMP/err" "$TMP/bdeep.yaml:1: nested deeper than 64 levels"

# ---- an objective command printing 40,000 metrics; --jobs 100000
printf '#!/bin/sh\n%s -c "import json; print(json.dumps({\x27m%%d\x27 %% i: i for i in range(40000)}))"\n' "$PY" >"$TMP/many.sh"
chmod +x "$TMP/many.sh"
printf 'x: {type: float, low: 0, high: 1}\n' >"$TMP/x.yaml"
check_exit "40,000 metrics: the trials fail" 0 "$QTUNE" optimize --objective-cmd "$TMP/many.sh" \
  --space "$TMP/x.yaml" --objective m5 --trials 2 --storage "sqlite:///$TMP/m.db"
contains "40,000 metrics: every trial failed" "$TMP/out" "0 complete, 2 failed"
"$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select error from trials').fetchone()[0])" \
  "$TMP/m.db" >"$TMP/why" 2>&1
contains "the stored reason names the limit" "$TMP/why" "more than 1024 metrics (QT_METRIC_SET_MAX)"
check_exit "--jobs 100000 refused" 2 "$QTUNE" optimize --objective-cmd "$TMP/many.sh" \
  --space "$TMP/x.yaml" --objective m5 --trials 2 --storage "sqlite:///$TMP/j.db" --jobs 100000
contains "--jobs names the limit" "$TMP/err" "--jobs 100000: more than 256 worker threads (QT_RUN_MAX_JOBS)"
check "--jobs refused before any study" [ ! -e "$TMP/j.db" ]
finish
