#!/usr/bin/env bash
# Bad market data is refused, not traded: impossible values at import
# (FILE:LINE: field, or skipped and counted with --skip-bad), one epoch unit
# per file (--time-unit), verify's spikes and absurd prices, backtest and
# optimize refusing a catalog written dirty by hand (unless --allow-dirty),
# and two concurrent imports into one symbol keeping every row.
source "$(dirname "$0")/lib.sh"
PY=${PYTHON:-python3}
AV="$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv"

# ---- import: a zero close, a 1e308 high, a negative volume
G="$TMP/good.csv"; head -3 "$AV" >"$G"
BAD="$TMP/zero.csv"
{ head -3 "$AV"
  echo "1780272180000,8.9740,8.9750,8.9690,0,6406,1780272239999,57482.0670,318,3502,31423.2190,0"
  echo "1780272240000,8.9740,1e308,8.9690,8.97,6406,1780272299999,57482.0670,318,3502,31423.2190,0"
  echo "1780272300000,8.9740,8.9750,8.9690,8.97,-5,1780272359999,57482.0670,318,3502,31423.2190,0"
} >"$BAD"
check_exit "zero close refused" 2 "$QTUNE" data import --catalog "$TMP/c1" --symbol X "$BAD"
contains "zero close named" "$TMP/err" "$BAD:4: field 'close': not positive (0)"
check "refused import wrote nothing" [ ! -e "$TMP/c1" ]
check_exit "skip-bad skips impossible rows" 0 "$QTUNE" data import --catalog "$TMP/c1" --symbol X --skip-bad "$BAD"
contains "skip-bad counts them" "$TMP/out" "read 5, kept 2, duplicates 0, replaced 0, skipped 3"
contains "skip-bad names the first" "$TMP/out" "first skipped row: $BAD:4: field 'close': not positive (0)"

# ---- one epoch unit per file; --time-unit; impossible ISO dates
U="$TMP/units.csv"
printf 'time,open,high,low,close\n1780272000,1,1,1,1\n1780272060,1,1,1,1\n' >"$U"
check_exit "seconds by magnitude" 0 "$QTUNE" data import --catalog "$TMP/c2" --symbol S "$U"
check_exit "info seconds" 0 "$QTUNE" data info --catalog "$TMP/c2" --json
contains "seconds read as seconds" "$TMP/out" '"rows":2,"first":"2026-06-01T00:00:00Z"'
check_exit "--time-unit ms" 0 "$QTUNE" data import --catalog "$TMP/c2" --symbol M --time-unit ms "$U"
check_exit "info ms" 0 "$QTUNE" data info --catalog "$TMP/c2" --symbol M
contains "ms as told" "$TMP/out" "1970-01-21T"
check_exit "--time-unit bad" 2 "$QTUNE" data import --catalog "$TMP/c2" --symbol M --time-unit days "$U"
contains "--time-unit names the units" "$TMP/err" "--time-unit: unknown unit 'days' (s, ms, us, ns, auto)"
printf 'time,open,high,low,close\n1996-02-29,1,1,1,1\n1996-02-30,1,1,1,1\n' >"$TMP/iso.csv"
check_exit "1996-02-30 refused" 2 "$QTUNE" data import --catalog "$TMP/c2" --symbol I "$TMP/iso.csv"
contains "1996-02-30 named" "$TMP/err" "iso.csv:3: field 'time': not a timestamp (\"1996-02-30\")"

# ---- a catalog written dirty by hand (the importer would refuse it): patch
# one cell of a stored series and fix the file's checksums (docs/data.md)
cat >"$TMP/dirty.py" <<'PYEOF'
import struct, sys
P1, P2, M = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, (1 << 64) - 1
def rotl(x, r): return ((x << r) | (x >> (64 - r))) & M
def lane_hash(b):
    a = [(P1 + P2) & M, P2, 0, (-P1) & M]
    for i in range(0, len(b), 32):
        w = struct.unpack_from('<4Q', b, i)
        a = [(rotl((a[k] + w[k] * P2) & M, 31) * P1) & M for k in range(4)]
    x = (rotl(a[0], 1) + rotl(a[1], 7) + rotl(a[2], 12) + rotl(a[3], 18)) & M
    x ^= len(b); x ^= x >> 33; x = (x * P2) & M; x ^= x >> 29; x = (x * P1) & M; x ^= x >> 32
    return x
def fnv(b):
    h = 1469598103934665603
    for c in b: h = ((h ^ c) * 1099511628211) & M
    return h
path, col, row, fmt, val = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
d = bytearray(open(path, 'rb').read())
off = struct.unpack_from('<Q', d, 80 + 8 * col)[0] + 8 * row
struct.pack_into('<' + fmt, d, off, float(val) if fmt == 'd' else int(val))
struct.pack_into('<Q', d, 72, lane_hash(bytes(d[192:])))
struct.pack_into('<Q', d, 184, fnv(bytes(d[:184])))
open(path, 'wb').write(d)
PYEOF
CAT="$TMP/cat"
check_exit "synth" 0 "$QTUNE" data synth --catalog "$CAT" --symbol SYN --days 2 --seed 3
check_exit "clean backtest" 0 "$QTUNE" backtest --catalog "$CAT" --symbol SYN --strategy sma_cross
F="$CAT/SYN/bars/data.qtc"
cp "$F" "$TMP/clean.qtc"
$PY "$TMP/dirty.py" "$F" 4 1234 d nan   # close of bar 1234
check_exit "dirty catalog still loads (checksums fixed)" 0 "$QTUNE" data info --catalog "$CAT" --symbol SYN
check_exit "NaN close: backtest refuses" 2 "$QTUNE" backtest --catalog "$CAT" --symbol SYN --strategy sma_cross
contains "NaN close named" "$TMP/err" "SYN bar 1234 (2026-01-01T20:34:00Z): close is NaN"
contains "says how to override" "$TMP/err" "--allow-dirty"
check_exit "NaN close: optimize refuses" 2 "$QTUNE" optimize --strategy sma_cross --catalog "$CAT" \
  --symbol SYN --trials 2 --seed 1 --study-name dirty --storage "sqlite:///$TMP/s.db" --quiet
contains "optimize names the bar" "$TMP/err" "SYN bar 1234 (2026-01-01T20:34:00Z): close is NaN"
check_exit "--allow-dirty runs" 0 "$QTUNE" backtest --catalog "$CAT" --symbol SYN --strategy sma_cross --allow-dirty
contains "--allow-dirty warns" "$TMP/err" "warning: SYN: 1 bad bars used (--allow-dirty)"
cp "$TMP/clean.qtc" "$F"
$PY "$TMP/dirty.py" "$F" 0 100 q 0      # open time of bar 100 back to 1970: unsorted
check_exit "unsorted times: backtest refuses" 2 "$QTUNE" backtest --catalog "$CAT" --symbol SYN --strategy sma_cross
contains "unsorted named" "$TMP/err" "SYN bar 100 (1970-01-01T00:00:00Z): time not after the previous bar's (2026-01-01T01:39:00Z)"
cp "$TMP/clean.qtc" "$F"
$PY "$TMP/dirty.py" "$F" 2 700 d 1e308  # high of bar 700
check_exit "verify 1e308 high" 1 "$QTUNE" data verify --catalog "$CAT" --symbol SYN --kind bars
contains "1e308 high is bad_price" "$TMP/out" "row 700 2026-01-01T11:40:00Z bad_price"
cp "$TMP/clean.qtc" "$F"
c=$($PY - "$F" <<'PYEOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
o = struct.unpack_from('<Q', d, 80 + 8 * 4)[0]
print(struct.unpack_from('<d', d, o + 8 * 900)[0])
PYEOF
)
$PY "$TMP/dirty.py" "$F" 2 900 d "$($PY -c "print($c * 1.5)")"  # a 50% wick on bar 900
check_exit "verify spike" 1 "$QTUNE" data verify --catalog "$CAT" --symbol SYN --kind bars
contains "spike listed" "$TMP/out" "row 900 2026-01-01T15:00:00Z spike"

# ---- two imports into one symbol at once: both halves survive
$PY - "$TMP" <<'PYEOF'
import sys
t0 = 1767225600000
for k in (0, 1):
    with open('%s/half%d.csv' % (sys.argv[1], k), 'w') as f:
        f.write('time,open,high,low,close,volume\n')
        for i in range(k * 60000, (k + 1) * 60000):
            f.write('%d,100,101,99,100.5,1\n' % (t0 + i * 60000))
PYEOF
for round in 1 2 3; do
  "$QTUNE" data import --catalog "$TMP/cc" --symbol R$round "$TMP/half0.csv" >"$TMP/a.out" 2>&1 &
  pa=$!
  "$QTUNE" data import --catalog "$TMP/cc" --symbol R$round "$TMP/half1.csv" >"$TMP/b.out" 2>&1 &
  pb=$!
  wait $pa; ra=$?; wait $pb; rb=$?
  check "concurrent imports $round exit 0" [ "$ra" = 0 ] && [ "$rb" = 0 ]
  check_exit "info $round" 0 "$QTUNE" data info --catalog "$TMP/cc" --symbol R$round --json
  contains "concurrent imports $round keep every row" "$TMP/out" '"rows":120000'
done
# a killed import's temp file is removed by the next writer of the series
echo "half a file" >"$TMP/cc/R1/bars/data.qtc.tmp.999999"
check_exit "import after a crash" 0 "$QTUNE" data import --catalog "$TMP/cc" --symbol R1 "$TMP/half0.csv"
check "stale temp file removed" [ ! -e "$TMP/cc/R1/bars/data.qtc.tmp.999999" ]
finish
