#!/usr/bin/env python3
"""Writes Binance kline websocket messages (one JSON per line) for the first
N rows of a Binance kline CSV, the way the exchange sends them: a few
updates of the open kline (x false) before the closed one (x true).  With
--noise it also inserts bad messages (not JSON, an unknown event, a bad
field, a line longer than the 64 KiB limit), a subscription reply, an exact
duplicate, a conflicting repeat and an out-of-order kline.  Also writes the
same N rows as CSV (--csv) for the backtest to compare with.
usage: paper_klines.py CSV N OUT.jsonl [--csv OUT.csv] [--noise] [--from K]"""
import json, sys

src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]
noise = "--noise" in args
csv_out = args[args.index("--csv") + 1] if "--csv" in args else None
start = int(args[args.index("--from") + 1]) if "--from" in args else 0
rows = [l.rstrip("\n").split(",") for l in open(src)][1:]
head = open(src).readline()
rows = rows[:n]

def msg(r, closed, sym="AVAXUSDT"):
    k = {"t": int(r[0]), "T": int(r[6]), "s": sym, "i": "1m", "f": 1, "L": 2,
         "o": r[1], "c": r[4], "h": r[2], "l": r[3], "v": r[5], "n": int(r[8]),
         "x": closed, "q": r[7], "V": r[9], "Q": r[10], "B": "0"}
    return json.dumps({"e": "kline", "E": int(r[6]) + 1, "s": sym, "k": k})

with open(out, "w") as f:
    if noise:
        f.write('{"result": null, "id": 1}\n')
    for i, r in enumerate(rows):
        if i < start:
            continue
        if noise and i == 250:
            continue                                      # sent late, after 252
        if i % 3 == 0:
            part = list(r)
            part[4] = r[1]
            part[2] = max(r[1], r[2], key=float)
            f.write(msg(part, False) + "\n")
        f.write(msg(r, True) + "\n")
        if noise and i == 100:
            f.write("this is not json\n")
            f.write('{"e": "depthUpdate", "s": "AVAXUSDT"}\n')
            bad = json.loads(msg(r, True)); bad["k"]["o"] = "abc"
            f.write(json.dumps(bad) + "\n")
            f.write('{"e": "kline", "s": "AVAXUSDT", "k": "' + "x" * 70000 + '"}\n')
        if noise and i == 200:
            f.write(msg(r, True) + "\n")                  # exact duplicate
            c = list(r); c[4] = str(float(r[4]) * 1.01); c[2] = str(max(float(r[2]), float(c[4])))
            f.write(msg(c, True) + "\n")                  # same time, other values
            f.write(msg(rows[150], True) + "\n")          # an old, already seen time
        if noise and i == 252:
            f.write(msg(rows[250], True) + "\n")          # out of order: dropped
        if noise and i == 300:
            f.write(json.dumps({"stream": "avaxusdt@aggTrade", "data": {
                "e": "aggTrade", "E": int(r[6]), "s": "AVAXUSDT", "a": 5, "p": r[4], "q": "3",
                "f": 1, "l": 2, "T": int(r[6]), "m": True, "M": True}}) + "\n")
            f.write(json.dumps({"u": 400900217, "s": "AVAXUSDT", "b": r[3], "B": "31.2",
                                "a": r[2], "A": "40.66"}) + "\n")
if csv_out:
    with open(csv_out, "w") as f:
        f.write(head)
        for i, r in enumerate(rows):
            if not (noise and i == 250):                  # the late one was dropped
                f.write(",".join(r) + "\n")
