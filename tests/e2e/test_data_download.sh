#!/usr/bin/env bash
# End-to-end: `qtune data download` against a loopback HTTP server that
# serves the exchange's dump layout (tests/e2e/dl_server.py): monthly files
# for a whole, ended month and daily files for the rest, each verified
# against its .CHECKSUM; a 500 and a 429 retried, a truncated transfer
# refetched, a published bad checksum failing after the retries (exit 1),
# files the exchange does not have listed as missing; a second run skips
# what it has and imports nothing twice; a fixed checksum is picked up.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
R=$TMP/www
$PY - "$FIXTURES/binance" "$R" <<'PYEOF'
import sys, os, zipfile, hashlib, json, csv, io
src, root = sys.argv[1], sys.argv[2]
def put(rel, name, text):
    d = os.path.join(root, rel); os.makedirs(d, exist_ok=True)
    zp = os.path.join(d, name)
    with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name[:-4] + ".csv", text)
    h = hashlib.sha256(open(zp, "rb").read()).hexdigest()
    open(zp + ".CHECKSUM", "w").write(f"{h}  {name}\n")
lines = open(os.path.join(src, "AVAXUSDT-1m-2026-06.csv")).read().splitlines()
put("data/futures/um/monthly/klines/AVAXUSDT/1m", "AVAXUSDT-1m-2026-06.zip", "\n".join(lines) + "\n")
jl = open(os.path.join(src, "AVAXUSDT-1m-2026-07.csv")).read().splitlines()
head, rows = jl[0], jl[1:]
import datetime
days = {}
for r in rows:
    d = datetime.datetime.utcfromtimestamp(int(r.split(",")[0]) / 1000).strftime("%Y-%m-%d")
    days.setdefault(d, []).append(r)
for d, rs in sorted(days.items()):
    put("data/futures/um/daily/klines/AVAXUSDT/1m", f"AVAXUSDT-1m-{d}.zip", head + "\n" + "\n".join(rs) + "\n")
# a bad published checksum for the last day
last = sorted(days)[-1]
open(os.path.join(root, "data/futures/um/daily/klines/AVAXUSDT/1m", f"AVAXUSDT-1m-{last}.zip.CHECKSUM"), "w").write("0" * 64 + "  x\n")
k = "/data/futures/um/daily/klines/AVAXUSDT/1m/"
json.dump({"/data/futures/um/monthly/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-06.zip": ["500"],
           k + "AVAXUSDT-1m-2026-07-02.zip": ["429"],
           k + "AVAXUSDT-1m-2026-07-03.zip": ["trunc"]}, open(os.path.join(root, "behave.json"), "w"))
print(len(lines) - 1, sum(len(v) for d, v in days.items() if d != last), last)
PYEOF
$PY "$QT_ROOT/tests/e2e/dl_server.py" "$R" "$TMP/port" &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$TMP/port")"
DL=(data download --symbol AVAXUSDT --market um --kinds klines,fundingRate --interval 1m
    --from 2026-06-01 --to 2026-07-05 --catalog "$TMP/cat" --base-url "$URL" --retries 2
    --backoff-ms 10 --min-interval-ms 0)

check_exit "a failing file: exit 1" 1 "$QTUNE" "${DL[@]}"
contains "counts" "$TMP/out" "fetched"
contains "bad checksum listed as failed" "$TMP/out" "failed: AVAXUSDT-1m-2026-07-04.zip"
contains "funding files the exchange lacks are missing" "$TMP/out" "AVAXUSDT-fundingRate-2026-06.zip"
contains "monthly June, daily July: 5 kline files + 2 funding" "$TMP/out" "7 files"
contains "retries counted" "$TMP/out" "retries"
contains "mismatch logged" "$TMP/err" "checksum mismatch"
check "500, 429 and the truncated file were retried" $PY -c '
import sys
log=open(sys.argv[1]).read().split()
for n in ("monthly/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-06.zip","AVAXUSDT-1m-2026-07-02.zip","AVAXUSDT-1m-2026-07-03.zip"):
    c=sum(1 for l in log if l.endswith(n))
    assert c==2,(n,c)
' "$R/requests.log"
"$QTUNE" data info --catalog "$TMP/cat" >"$TMP/info" 2>&1
check "June + 3 July days imported" $PY -c '
import sys,re
t=open(sys.argv[1]).read()
m=re.search(r"AVAXUSDT\s+bars\s+(\d+)",t)
assert m and int(m.group(1))==5760+3*1440,(t)
' "$TMP/info"

# ---- again: what is here is skipped, nothing imported twice
: >"$R/requests.log"
check_exit "second run" 1 "$QTUNE" "${DL[@]}"
contains "nothing fetched again" "$TMP/out" "0 fetched, 4 already here"
contains "no rows twice" "$TMP/out" "0 rows imported"
check "no zip of the cache requested" bash -c "! grep -q '2026-07-02.zip\$' '$R/requests.log'"

# ---- the exchange fixes its checksum: only that file is fetched
$PY - "$R" <<'PYEOF'
import sys, hashlib, os
d = os.path.join(sys.argv[1], "data/futures/um/daily/klines/AVAXUSDT/1m")
z = os.path.join(d, "AVAXUSDT-1m-2026-07-04.zip")
open(z + ".CHECKSUM", "w").write(hashlib.sha256(open(z, "rb").read()).hexdigest() + "  AVAXUSDT-1m-2026-07-04.zip\n")
PYEOF
check_exit "third run: all verified" 0 "$QTUNE" "${DL[@]}"
contains "one fetched" "$TMP/out" "1 fetched, 4 already here"
check_exit "bad market" 2 "$QTUNE" data download --symbol AVAXUSDT --market coin --from 2026-06-01 \
  --to 2026-07-01 --catalog "$TMP/cat"
contains "names it" "$TMP/err" "--market"
check_exit "spot has no funding files" 2 "$QTUNE" data download --symbol AVAXUSDT --market spot \
  --kinds fundingRate --from 2026-06-01 --to 2026-07-01 --catalog "$TMP/cat" --base-url "$URL"
finish
