#!/usr/bin/env bash
# Every strategy that `qtune strategies --json` lists: a default backtest on
# a synthetic market exits 0 and trades at least once, and a 50-trial study
# (--jobs 2, SQLite) completes with all 50 trials stored.
#
# Market: `qtune data synth --days 4 --seed 1` as SYN (venue B as SYN.B).
# With defaults every strategy trades on it (auction_market 2,
# directional_momentum 1, funding_arbitrage 6, grid_trading 6, hedge_grid 84,
# market_maker 579, sma_cross 225, spread_arbitrage 20 trades, counted when
# this was written).  No engine flags: strategies that need hedge mode
# declare it (QT_NEEDS_HEDGE) and backtest/optimize turn it on.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
CAT="$TMP/cat"

check_exit "synth SYN" 0 "$QTUNE" data synth --catalog "$CAT" --symbol SYN --days 4 --seed 1

check_exit "strategies --json" 0 "$QTUNE" strategies --json
# the "name" of each top-level object (params sit one level deeper, indented more)
names=$(sed -n 's/^  [ ]\{0,2\}"name": "\([a-z0-9_]*\)",$/\1/p' "$TMP/out")
n=$(echo "$names" | grep -c .)
if [ "$n" -ge 8 ]; then ok "strategies listed ($n)"; else bad "strategies listed ($n, want >= 8)"; fi

# json_trades FILE: the "trades" count of a backtest --json output
json_trades() { sed -n 's/^ *"trades": \([0-9.]*\),\{0,1\}$/\1/p' "$1" | head -1; }

for s in $names; do
  sym=SYN
  extra=()
  check_exit "$s backtest" 0 "$QTUNE" backtest --strategy "$s" --catalog "$CAT" --symbol "$sym" \
    --json "${extra[@]}"
  t=$(json_trades "$TMP/out")
  t=${t%.*}
  if [ -n "$t" ] && [ "$t" -ge 1 ]; then ok "$s trades ($t)"; else bad "$s trades ('$t')"; fi

  db="sqlite:///$TMP/$s.db"
  check_exit "$s optimize" 0 "$QTUNE" optimize --strategy "$s" --catalog "$CAT" --symbol "$sym" \
    --trials 50 --jobs 2 --seed 1 --storage "$db" --best-out "$TMP/$s.yaml" --quiet
  check_exit "$s studies" 0 "$QTUNE" studies --storage "$db" --json
  done_n=$(sed -n 's/^ *"complete": \([0-9]*\),$/\1/p' "$TMP/out" | head -1)
  failed_n=$(sed -n 's/^ *"fail": \([0-9]*\),$/\1/p' "$TMP/out" | head -1)
  rejected_n=$(sed -n 's/^ *"rejected": \([0-9]*\),*$/\1/p' "$TMP/out" | head -1)
  # params breaking a cross-parameter rule (sma_cross: fast < slow) are rejected trials;
  # no trial fails
  if [ -n "$done_n" ] && [ "$failed_n" = 0 ] && [ -n "$rejected_n" ] && [ "$done_n" -ge 1 ] &&
     [ $((done_n + rejected_n)) = 50 ]; then ok "$s study: 50 trials stored ($done_n complete, $rejected_n rejected)"
  else bad "$s study: complete '$done_n' fail '$failed_n' rejected '$rejected_n'"; fi
done
finish
