#!/usr/bin/env bash
# Users' strategies and the look-ahead check through the binary: the example
# plugin is built with its Makefile and backtested/checked by path, the
# cheating plugin fails check-lookahead (exit 1), every built-in of this
# helper passes it (exit 0), and bad strategies/params are errors (exit 2).
source "$(dirname "$0")/lib.sh"
MINE=$QT_ROOT/examples/mystrategy/libmine.so
CHEAT=$QT_ROOT/examples/cheater/libcheater.so
check "build example plugin" make -s -C "$QT_ROOT/examples/mystrategy"
check "build cheater plugin" make -s -C "$QT_ROOT/examples/cheater"
check_exit "synthetic market" 0 "$QTUNE" data synth --catalog "$TMP/cat" --symbol SYN --days 2 --seed 3
MKT=(--catalog "$TMP/cat" --symbol SYN)

check_exit "help" 0 "$QTUNE" check-lookahead --help
contains "help names the exit codes" "$TMP/out" "1 look-ahead found"

check_exit "auction_market passes" 0 "$QTUNE" check-lookahead --strategy auction_market "${MKT[@]}" --cuts 4 --params profile_bars=600,flow_bars=3
contains "auction_market: verdict" "$TMP/out" "no look-ahead found: strategy 'auction_market', 4 cuts, 13 runs"
check_exit "market_maker passes" 0 "$QTUNE" check-lookahead --strategy market_maker "${MKT[@]}" --cuts 4
check_exit "spread_arbitrage passes" 0 "$QTUNE" check-lookahead --strategy spread_arbitrage "${MKT[@]}" --cuts 4 \
  --param min_spread_bps=5 --param taker_fee_a_bps=0 --param taker_fee_b_bps=0 --param slippage_bps=0
check_exit "plugin passes" 0 "$QTUNE" check-lookahead --strategy "$MINE" "${MKT[@]}"
contains "plugin verdict" "$TMP/out" "no look-ahead found: strategy 'mine', 8 cuts, 25 runs"

check_exit "cheater fails" 1 "$QTUNE" check-lookahead --strategy "$CHEAT" "${MKT[@]}"
contains "cheater: first difference" "$TMP/out" "look-ahead found: strategy 'cheater', data cut at bar 720"

check_exit "cheater fails with engine options" 1 "$QTUNE" check-lookahead --strategy "$CHEAT" "${MKT[@]}" \
  --trade-on-close --hedge-mode --leverage 2 --slippage-bps 1 --cash 5000 --cuts 2 --seed 9

check_exit "cheater fails on a --from/--to range" 1 "$QTUNE" check-lookahead --strategy "$CHEAT" "${MKT[@]}" \
  --from 2026-01-01T12:00 --to 2026-01-02 --cuts 1
contains "range: cut at 25% of its 720 bars" "$TMP/out" "data cut at bar 180 (2026-01-01T15:00:00Z)"

printf 'fast: 8\nslow: 30   # longer\nfraction: 0.25\n' > "$TMP/p.yaml"
check_exit "params file" 0 "$QTUNE" check-lookahead --strategy "$MINE" "${MKT[@]}" --params "$TMP/p.yaml" --cuts 3

check_exit "unknown strategy" 2 "$QTUNE" check-lookahead --strategy nope "${MKT[@]}"
contains "unknown strategy: message" "$TMP/err" "unknown strategy 'nope'"
check_exit "missing plugin" 2 "$QTUNE" check-lookahead --strategy "$TMP/none.so" "${MKT[@]}"
contains "missing plugin: dlerror" "$TMP/err" "cannot load strategy"
check_exit "param out of range" 2 "$QTUNE" check-lookahead --strategy "$MINE" "${MKT[@]}" --param fast=99
contains "param out of range: message" "$TMP/err" "'fast' = 99 is outside its range [2, 50]"
check_exit "unknown param" 2 "$QTUNE" check-lookahead --strategy market_maker "${MKT[@]}" --param profile_bars=600
contains "unknown param: message" "$TMP/err" "has no parameter 'profile_bars'"
check_exit "no strategy" 2 "$QTUNE" check-lookahead "${MKT[@]}"

# Built against installed headers (a copy of include/ elsewhere), by its Makefile.
mkdir -p "$TMP/inst/include" && cp -r "$QT_ROOT/include/qtune" "$TMP/inst/include/"
check "build against installed headers" make -s -C "$QT_ROOT/examples/mystrategy" \
  QTUNE_INC="$TMP/inst/include" OUT="$TMP/libmine2.so"
check_exit "that plugin runs" 0 "$QTUNE" backtest --strategy "$TMP/libmine2.so" "${MKT[@]}"

# The plugin through backtest (a path instead of a built-in name).
check_exit "backtest plugin" 0 "$QTUNE" backtest --strategy "$MINE" "${MKT[@]}"
check_exit "backtest missing plugin" 2 "$QTUNE" backtest --strategy "$TMP/none.so" "${MKT[@]}"
# ... and through optimize: the study is named after the plugin's strategy.
check_exit "optimize plugin" 0 "$QTUNE" optimize --strategy "$MINE" "${MKT[@]}" --trials 4 --jobs 1 \
  --storage "sqlite:///$TMP/o.db"
contains "optimize plugin: 4 trials" "$TMP/out" "ran 4 trials"
contains "optimize plugin: study name" "$TMP/out" "--study-name mine"
check_exit "optimize unknown strategy" 2 "$QTUNE" optimize --strategy nope "${MKT[@]}" --trials 1 \
  --storage "sqlite:///$TMP/o.db"
contains "optimize unknown strategy: message" "$TMP/err" "unknown strategy 'nope'"
finish
