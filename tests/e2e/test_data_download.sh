#!/usr/bin/env bash
# qtune data download end to end, against a loopback HTTP server (Python's
# http.server, below) that serves the exchange's path layout from files made
# here out of tests/fixtures: the AVAXUSDT June/July 1m klines (the June file
# as the monthly dump, July 1 and 2 as daily dumps), funding rates and trades
# from the freqtrade fixtures moved to those dates, and book tickers made
# from the kline closes.  The server is told per path how to answer (429
# with Retry-After, 500, a truncated body; byte ranges) and logs every
# request, so the test sees the retries, the refusals, the missing month, a
# truncated file resumed where it stopped, and a second run that downloads
# nothing.
source "$(dirname "$0")/lib.sh"
SRV_PID=
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
ROOT="$TMP/www"
UM="$ROOT/data/futures/um"
RULES="$TMP/rules.json"
LOG="$TMP/requests.log"
mkdir -p "$ROOT"

# ---- the files the server holds ----
python3 - "$FIXTURES" "$UM" "$RULES" <<'EOF'
import csv, hashlib, io, json, os, sys, zipfile
fx, um, rules_path = sys.argv[1:4]
DAY = 86400000
JUL1 = 1782864000000  # 2026-07-01T00:00:00Z
JUN1 = JUL1 - 30 * DAY

def put(rel, csv_name, text, bad_sum=False):
    path = os.path.join(um, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(csv_name, text)
    data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    digest = hashlib.sha256(data + (b"x" if bad_sum else b"")).hexdigest()
    with open(path + ".CHECKSUM", "w") as f:
        f.write("%s  %s\n" % (digest, os.path.basename(path)))

def lines(path):
    with open(path) as f:
        return f.read().splitlines()

# klines: the June file is the monthly dump; July's first two days are dailies
k_jun = lines(os.path.join(fx, "binance/AVAXUSDT-1m-2026-06.csv"))
k_jul = lines(os.path.join(fx, "binance/AVAXUSDT-1m-2026-07.csv"))
head = k_jul[0]
put("monthly/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-06.zip", "AVAXUSDT-1m-2026-06.csv", "\n".join(k_jun) + "\n")
days = {}
for row in k_jul[1:]:
    t = int(row.split(",")[0])
    days.setdefault((t - JUL1) // DAY, []).append(row)
for d in (0, 1):
    name = "AVAXUSDT-1m-2026-07-%02d" % (d + 1)
    put("daily/klines/AVAXUSDT/1m/%s.zip" % name, name + ".csv", "\n".join([head] + days[d]) + "\n")

# spot: July 1's klines as a spot daily dump
spot = os.path.join(os.path.dirname(os.path.dirname(um)), "spot")
name = "AVAXUSDT-1m-2026-07-01"
put(os.path.join(spot, "daily/klines/AVAXUSDT/1m/%s.zip" % name), name + ".csv", "\n".join(days[0]) + "\n")

# July 3: a verified file with a malformed row (its checksum is right)
bad = [head] + days[2]
f = bad[5].split(",")
f[4] = "1.2.3"
bad[5] = ",".join(f)
put("daily/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-07-03.zip", "AVAXUSDT-1m-2026-07-03.csv", "\n".join(bad) + "\n")

# book tickers from the kline closes of July 1 and 2 (June is missing)
for d in (0, 1):
    out = ["update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time"]
    for i, row in enumerate(days[d]):
        f = row.split(",")
        c, t = float(f[4]), int(f[0])
        out.append("%d,%.4f,10,%.4f,12,%d,%d" % (i + 1, c - 0.001, c + 0.001, t, t + 1))
    name = "AVAXUSDT-bookTicker-2026-07-%02d" % (d + 1)
    put("daily/bookTicker/AVAXUSDT/%s.zip" % name, name + ".csv", "\n".join(out) + "\n")

# funding: the freqtrade XRP rates at June's 8-hour marks (July is missing)
fr = list(csv.DictReader(open(os.path.join(fx, "freqtrade/XRP_USDT_USDT-8h-funding_rate.csv"))))
out = ["calc_time,funding_interval_hours,last_funding_rate"]
for i in range(90):
    out.append("%d,8,%s" % (JUN1 + i * 8 * 3600000, fr[i]["open"]))
put("monthly/fundingRate/AVAXUSDT/AVAXUSDT-fundingRate-2026-06.zip", "AVAXUSDT-fundingRate-2026-06.csv", "\n".join(out) + "\n")

# aggTrades: the freqtrade ETH trades moved to June (a bad checksum), July 1
# (served truncated) and July 2 (fine)
tr = list(csv.DictReader(open(os.path.join(fx, "freqtrade/orderflow_public_trades_list.csv"))))
t0 = int(tr[0]["timestamp"])
def agg(day_ms):
    out = ["agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"]
    for r in tr:
        i = int(r["id"])
        out.append("%d,%s,%s,%d,%d,%d,%s" % (i, r["price"], r["amount"], i, i,
                   day_ms + int(r["timestamp"]) - t0, "true" if r["side"] == "sell" else "false"))
    return "\n".join(out) + "\n"
put("monthly/aggTrades/AVAXUSDT/AVAXUSDT-aggTrades-2026-06.zip", "AVAXUSDT-aggTrades-2026-06.csv", agg(JUN1), bad_sum=True)
put("daily/aggTrades/AVAXUSDT/AVAXUSDT-aggTrades-2026-07-01.zip", "AVAXUSDT-aggTrades-2026-07-01.csv", agg(JUL1))
put("daily/aggTrades/AVAXUSDT/AVAXUSDT-aggTrades-2026-07-02.zip", "AVAXUSDT-aggTrades-2026-07-02.csv", agg(JUL1 + DAY))

p = "/data/futures/um/"
json.dump({
    p + "monthly/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-06.zip": ["429", "ok"],
    p + "daily/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-07-01.zip": ["500", "ok"],
    p + "daily/aggTrades/AVAXUSDT/AVAXUSDT-aggTrades-2026-07-01.zip": ["trunc"],
}, open(rules_path, "w"))
EOF

# ---- the server: per path a list of answers (the last one repeats) ----
cat >"$TMP/server.py" <<'EOF'
import http.server, json, os, sys, threading
root, rules_path, log_path, port_path = sys.argv[1:5]
seen = {}
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        path = self.path.split("?")[0]
        with lock:
            rules = json.load(open(rules_path))
            n = seen.get(path, 0)
            seen[path] = n + 1
        plan = rules.get(path, ["ok"])
        how = plan[min(n, len(plan) - 1)]
        file = os.path.join(root, path.lstrip("/"))
        if how == "ok" and not os.path.isfile(file):
            how = "404"
        rng = self.headers.get("Range", "")
        start = int(rng[6:-1]) if rng.startswith("bytes=") and rng.endswith("-") else 0
        with lock, open(log_path, "a") as f:
            f.write("GET %s %s%s\n" % (path, how, " range=%d" % start if rng else ""))
        if how == "429":
            self.answer(429, b"slow down", [("Retry-After", "1")])
        elif how == "500":
            self.answer(500, b"oops")
        elif how == "404":
            self.answer(404, b"no such key")
        else:
            data = open(file, "rb").read()
            whole = len(data)
            if start >= whole and start:
                return self.answer(416, b"", [("Content-Range", "bytes */%d" % whole)])
            data = data[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, whole - 1, whole))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if how == "trunc":  # half the body, then the connection drops
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
            else:
                self.wfile.write(data)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_path + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(port_path + ".tmp", port_path)
s.serve_forever()
EOF
: >"$LOG"
python3 "$TMP/server.py" "$ROOT" "$RULES" "$LOG" "$TMP/port" &
SRV_PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$TMP/port")"
CAT="$TMP/cat"
KL=/data/futures/um/monthly/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-06.zip
gets() { grep -c "^GET $1 " "$LOG"; }  # requests of a path so far

dl() { "$QTUNE" data download --symbol AVAXUSDT --market um --interval 1m \
         --from 2026-06-01 --to 2026-07-03 --rate 200 --retries 2 --backoff-ms 10 "$@"; }

# ---- run 1: every kind; the base URL from the environment ----
QTUNE_DOWNLOAD_BASE_URL=$URL check_exit "first run: some files missing or refused" 1 \
  dl --kinds klines,aggTrades,fundingRate,bookTicker --catalog "$CAT"
cp "$TMP/out" "$TMP/run1"; cp "$TMP/err" "$TMP/run1.err"; [ -n "${SHOW:-}" ] && cat "$TMP/run1" "$TMP/run1.err"
contains "429 retried (Retry-After)" "$TMP/run1.err" "AVAXUSDT-1m-2026-06.zip: HTTP 429 (rate limited): retry 1 of 2 in 1000 ms"
check "429 path asked twice" [ "$(gets "$KL")" = 2 ]
contains "500 retried" "$TMP/run1.err" "AVAXUSDT-1m-2026-07-01.zip: HTTP 500: retry 1 of 2"
contains "monthly klines fetched" "$TMP/run1" "fetched klines AVAXUSDT-1m-2026-06.zip: fetched"
contains "daily klines fetched after a 500" "$TMP/run1" "fetched klines AVAXUSDT-1m-2026-07-01.zip: fetched"
contains "bad checksum refused, named" "$TMP/run1" "refused aggTrades AVAXUSDT-aggTrades-2026-06.zip: sha256 mismatch"
contains "truncated file refused" "$TMP/run1" "refused aggTrades AVAXUSDT-aggTrades-2026-07-01.zip: truncated transfer (12381 of 14150 bytes), after 3 tries"
AT=/data/futures/um/daily/aggTrades/AVAXUSDT/AVAXUSDT-aggTrades-2026-07-01.zip
contains "a retry asks for the rest only" "$LOG" "GET $AT trunc range=7075"
contains "missing funding month reported" "$TMP/run1" "missing fundingRate AVAXUSDT-fundingRate-2026-07.zip: not on the server (HTTP 404)"
contains "missing month (monthly and daily) reported" "$TMP/run1" \
  "missing bookTicker AVAXUSDT-bookTicker-2026-06 (the whole month): not on the server (the monthly file and its 30 daily files: HTTP 404)"
# bars: June 27-30 (5760) + July 1 and 2 (2880)
contains "klines imported" "$TMP/run1" "AVAXUSDT bars: 3 files, 8640 rows read, catalog now 8640 rows (was 0): written"
contains "only the verified trades imported" "$TMP/run1" "AVAXUSDT trades: 1 files, 1000 rows read, catalog now 1000 rows"
contains "funding imported" "$TMP/run1" "AVAXUSDT funding: 1 files, 90 rows read"
contains "quotes imported" "$TMP/run1" "AVAXUSDT quotes: 2 files, 2880 rows read"
contains "summary" "$TMP/run1" "1 missing months"
check "a bad checksum leaves no trace in the cache" \
  [ -z "$(find "$CAT/.download" -name 'AVAXUSDT-aggTrades-2026-06.zip*')" ]
check "a truncated file stays a part file" [ -f "$CAT/.download$AT.part" -a ! -e "$CAT/.download$AT" ]
check "verified file cached with its checksum" [ -f "$CAT/.download$KL" -a -f "$CAT/.download$KL.CHECKSUM" ]
check_exit "info after the download" 0 "$QTUNE" data info --catalog "$CAT"
contains "info: bars range" "$TMP/out" "2026-06-27T00:00:00Z      2026-07-02T23:59:00Z      1m"

# ---- run 2: the same command fetches none of the verified files again ----
before=$(wc -l <"$LOG")
check_exit "second run" 1 dl --base-url "$URL" --kinds klines,aggTrades,fundingRate,bookTicker --catalog "$CAT"
cp "$TMP/out" "$TMP/run2"
contains "second run: cached" "$TMP/run2" "cached  klines AVAXUSDT-1m-2026-06.zip: cached, sha256 verified"
contains "second run: catalog unchanged" "$TMP/run2" "catalog now 8640 rows (was 8640): unchanged"
check "second run asked nothing of the verified files" \
  [ -z "$(tail -n +$((before + 1)) "$LOG" | grep -E 'klines|07-02|fundingRate-2026-06|bookTicker-2026-07')" ]
contains "second run still reports the refused file" "$TMP/run2" "refused aggTrades AVAXUSDT-aggTrades-2026-06.zip"

# ---- run 3: the server repaired: the refused files come now ----
python3 - "$UM" "$RULES" <<'EOF'
import hashlib, json, os, sys
um, rules = sys.argv[1:3]
p = os.path.join(um, "monthly/aggTrades/AVAXUSDT/AVAXUSDT-aggTrades-2026-06.zip")
open(p + ".CHECKSUM", "w").write("%s  %s\n" % (hashlib.sha256(open(p, "rb").read()).hexdigest(), os.path.basename(p)))
json.dump({}, open(rules, "w"))
EOF
check_exit "third run (aggTrades repaired)" 0 dl --base-url "$URL" --kinds aggTrades --catalog "$CAT"
contains "third run fetched the repaired file" "$TMP/out" "fetched aggTrades AVAXUSDT-aggTrades-2026-06.zip"
# run 2 took the truncated file on to byte 13928 (three more halves of what was left)
contains "second run went on with the part file" "$LOG" "GET $AT trunc range=12381"
contains "third run resumed the part file" "$TMP/out" "AVAXUSDT-aggTrades-2026-07-01.zip: fetched 222 bytes (resumed at byte 13928), sha256 verified"
contains "third run: a range request" "$LOG" "GET $AT ok range=13928"
contains "third run: trades written" "$TMP/out" "AVAXUSDT trades: 3 files, 3000 rows read, catalog now 3000 rows (was 1000): written"

# ---- a complete download, then a rerun that makes no request at all ----
check_exit "klines only" 0 dl --base-url "$URL" --kinds klines --catalog "$TMP/cat2" --progress lines
contains "klines only: all fetched" "$TMP/out" "3 files: 3 fetched, 0 cached, 0 missing, 0 refused"
before=$(wc -l <"$LOG")
check_exit "klines only, again" 0 dl --base-url "$URL" --kinds klines --catalog "$TMP/cat2"
contains "again: nothing downloaded" "$TMP/out" "3 files: 0 fetched, 3 cached, 0 missing, 0 refused; 0 missing months, 0 not yet published; 0 requests (0 retries), 0 bytes"
check "again: the server saw no request" [ "$(wc -l <"$LOG")" = "$before" ]

# ---- a cached file that no longer verifies is fetched again ----
printf 'x' >>"$TMP/cat2/.download$KL"
check_exit "corrupted cache refetched" 0 dl --base-url "$URL" --kinds klines --catalog "$TMP/cat2"
contains "corrupted cache: one fetched" "$TMP/out" "3 files: 1 fetched, 2 cached"

# ---- part files that do not fit: another version's bytes, or too long ----
# (a run that finds nothing makes the catalog: only an empty folder may become one)
check_exit "a run that finds nothing" 1 dl --base-url "$URL" --kinds bookTicker --from 2026-07-03 --to 2026-07-04 --catalog "$TMP/cat6"
mkdir -p "$(dirname "$TMP/cat6/.download$KL")" "$TMP/cat6/.download/data/futures/um/daily/klines/AVAXUSDT/1m"
head -c 100 /dev/zero >"$TMP/cat6/.download$KL.part"
head -c 50000 /dev/zero >"$TMP/cat6/.download/data/futures/um/daily/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-07-01.zip.part"
check_exit "stale part files" 0 dl --base-url "$URL" --kinds klines --catalog "$TMP/cat6"
contains "stale part: resumed, mismatch, fetched whole" "$TMP/out" "AVAXUSDT-1m-2026-06.zip: fetched 181118 bytes, sha256 verified"
contains "stale part: asked from byte 100 first" "$LOG" "GET $KL ok range=100"
contains "too long a part: 416, started over" "$TMP/err" "HTTP 416 (range not satisfiable): starting over"
contains "too long a part: fetched whole" "$TMP/out" "AVAXUSDT-1m-2026-07-01.zip: fetched 46110 bytes, sha256 verified"

# ---- a verified file that does not import: FILE:LINE: field ----
check_exit "malformed row in a verified file" 2 dl --base-url "$URL" --kinds klines --from 2026-07-03 --to 2026-07-04 --catalog "$TMP/cat7"
contains "malformed row named" "$TMP/err" "AVAXUSDT-1m-2026-07-03.csv:6: field 'close'"
check_exit "malformed row, --skip-bad" 0 dl --base-url "$URL" --kinds klines --from 2026-07-03 --to 2026-07-04 --catalog "$TMP/cat7" --skip-bad
contains "skip-bad: counted" "$TMP/out" "1439 rows read, catalog now 1439 rows (was 0): written; 1 bad rows skipped, the first: "

# ---- spot, and a progress bar ----
check_exit "spot klines, progress bar" 0 "$QTUNE" data download --base-url "$URL" --symbol AVAXUSDT --market spot \
  --from 2026-07-01 --to 2026-07-02 --catalog "$TMP/spot" --progress bar
contains "spot: the spot path" "$LOG" "GET /data/spot/daily/klines/AVAXUSDT/1m/AVAXUSDT-1m-2026-07-01.zip ok"
contains "spot: imported" "$TMP/out" "AVAXUSDT bars: 1 files, 1440 rows read"
contains "progress bar drawn" "$TMP/err" "[..............................] 1/1 AVAXUSDT-1m-2026-07-01.zip"
check "piped: no bar" [ -z "$(grep -F '[....' "$TMP/run1.err")" ]

# ---- days not over yet are not asked for ----
today=$(date -u +%F); yday=$(date -u -d yesterday +%F); tmrw=$(date -u -d '+2 days' +%F)
check_exit "days not over yet" 1 dl --base-url "$URL" --kinds klines --from "$yday" --to "$tmrw" --catalog "$TMP/c5"
contains "not over yet: said" "$TMP/out" "klines: 2 days from $today on not over yet, so not published: skipped"
contains "not over yet: summary" "$TMP/out" "1 files: 0 fetched, 0 cached, 1 missing, 0 refused; 0 missing months, 2 not yet published"
check "not over yet: never asked" [ -z "$(grep -F "AVAXUSDT-1m-$today" "$LOG")" ]

# ---- bad options ----
check_exit "spot has no funding dumps" 2 dl --base-url "$URL" --market spot --kinds fundingRate --catalog "$TMP/c3"
contains "spot message" "$TMP/err" "the spot market publishes no fundingRate dumps"
check_exit "unknown kind" 2 dl --base-url "$URL" --kinds klines,trades --catalog "$TMP/c3"
contains "unknown kind named" "$TMP/err" "unknown kind 'trades'"
check_exit "bad base url" 2 dl --base-url "ftp://x" --catalog "$TMP/c3"
check_exit "time of day refused" 2 "$QTUNE" data download --symbol X --from 2026-06-01T12:00:00Z --to 2026-07-01 --catalog "$TMP/c3"
check_exit "no server: retries spent, refused" 1 dl --base-url "http://127.0.0.1:1" --kinds fundingRate --catalog "$TMP/c4" --retries 1
contains "no server: named" "$TMP/out" "refused fundingRate AVAXUSDT-fundingRate-2026-06.zip.CHECKSUM:"
finish
