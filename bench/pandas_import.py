#!/usr/bin/env python3
"""Reads a Binance kline CSV with pandas.read_csv (C engine) and prints one
JSON line with rows/s, for bench_import's comparison.  Usage: FILE"""
import json
import sys
import time

import pandas as pd

path = sys.argv[1]
cols = ["open_time", "open", "high", "low", "close", "volume", "close_time",
        "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore"]
best = None
for _ in range(2):
    t0 = time.perf_counter()
    df = pd.read_csv(path, header=0, names=cols, engine="c")
    dt = time.perf_counter() - t0
    best = dt if best is None or dt < best else best
print(json.dumps({"bench": "import_kline_pandas", "rows": int(len(df)),
                  "seconds": round(best, 4), "rows_per_s": round(len(df) / best),
                  "pandas": pd.__version__}))
