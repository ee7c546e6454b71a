#!/usr/bin/env bash
# qtune optimize: metric names checked before any trial (did-you-mean, exit
# 2), the tuning guide's config file run as written, strict constraints
# scored -inf with their reason (SQLite and, when the suite runs one,
# PostgreSQL), --search listed|all with the grid, and the sampler list taken
# from the registry.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
DB="sqlite:///$TMP/q.db"
check_exit "synth market" 0 "$QTUNE" data synth --catalog cat --symbol SYN --days 3
M=(--catalog cat --symbol SYN --storage "$DB" --quiet)

# names, before any trial: each fails with exit 2 and stores nothing
check_exit "objective typo" 2 "$QTUNE" optimize --strategy sma_cross "${M[@]}" --objective sharpee \
  --study-name n1
contains "objective did you mean" "$TMP/err" "objective: unknown metric 'sharpee' (did you mean 'sharpe'?)"
check_exit "weight typo" 2 "$QTUNE" optimize --strategy sma_cross "${M[@]}" --weights sharp=1 \
  --study-name n2
contains "weight did you mean" "$TMP/err" "weights: unknown metric 'sharp' (did you mean 'sharpe'?)"
check_exit "constraint typo" 2 "$QTUNE" optimize --strategy sma_cross "${M[@]}" \
  --constraints 'sharp>=1' --study-name n3
contains "constraint did you mean" "$TMP/err" "constraints: unknown metric 'sharp' (did you mean 'sharpe'?)"

# an external command: its first trial's keys; the run stops there
cat >space.yaml <<'EOS'
x: {type: float, low: -2, high: 3}
EOS
cat >obj.sh <<'EOS'
#!/bin/sh
cat >/dev/null
echo '{"loss": 1.5, "sharpe": 2, "trades": 7}'
EOS
chmod +x obj.sh
check_exit "command key typo" 2 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective los --trials 10 --jobs 1 --storage "$DB" --quiet --study-name c1
contains "names the key and the printed keys" "$TMP/err" \
  "objective: unknown metric 'los' (did you mean 'loss'?); the objective printed: loss, sharpe, trades"
check_exit "analyze the stopped study" 0 "$QTUNE" analyze --study-name c1 --storage "$DB" --export-csv c1.csv
n=$(tail -n +2 c1.csv | wc -l)
if [ "$n" = 1 ]; then ok "one trial, then stopped"; else bad "$n trials ran"; fi

# the tuning guide's config, as written, with a market
cat >cfg.yaml <<'EOS'
strategy: sma_cross
catalog: cat
symbol: SYN
study_name: guide_study
n_trials: 20
n_jobs: 2
sampler: {seed: 42}
objective: {sharpe_ratio: 0.30, total_profit: 0.25, calmar_ratio: 0.25, max_drawdown: -0.20}
constraints: {min_sharpe_ratio: 1.0, max_drawdown_pct: 20.0, min_trades: 50, min_win_rate_pct: 45.0}
EOS
check_exit "guide config runs" 0 "$QTUNE" optimize --config cfg.yaml --storage "$DB" --quiet
cp "$TMP/out" guide.txt
contains "study_name" guide.txt "study:    guide_study (new"
contains "sampler seed" guide.txt "sampler:  tpe, seed 42"
contains "n_trials, n_jobs" guide.txt "trials:   20, workers: 2"
contains "objective map: the weights" guide.txt \
  "weights:  sharpe=0.3,total_profit=0.25,calmar=0.25,max_drawdown=-0.2"
contains "min_/max_/_pct constraints" guide.txt \
  "constraints: sharpe>=1,max_drawdown<=0.2,trades>=50,win_rate>=0.45"
contains "20 trials ran" guide.txt "ran 20 trials"
check_exit "studies" 0 "$QTUNE" studies --storage "$DB"
contains "the guide's study is listed" "$TMP/out" "guide_study"
if grep -qE '(^| )n[123]( |$)' "$TMP/out"; then bad "a misspelt run created a study"; else ok "misspelt runs created no study"; fi
# a nested sampler map with a name and an option
cat >cfg2.yaml <<'EOS'
strategy: sma_cross
catalog: cat
symbol: SYN
study_name: guide2
n_trials: 3
sampler: {name: random, seed: 7}
EOS
check_exit "sampler {name, seed}" 0 "$QTUNE" optimize --config cfg2.yaml --storage "$DB" --quiet
contains "sampler named" "$TMP/out" "sampler:  random, seed 7"
printf 'strategy: sma_cross\ncatalog: cat\nsymbol: SYN\n\nstudy_name: x\nn_trails: 5\n' >bad.yaml
check_exit "config typo" 2 "$QTUNE" optimize --config bad.yaml --storage "$DB"
contains "config error names file and line" "$TMP/err" \
  "bad.yaml:6: key 'n_trails': unknown (did you mean 'n_trials'?)"
printf 'strategy: sma_cross\nconstraints: {min_sharpe_pct: 50}\n' >bad2.yaml
check_exit "_pct on a non-fraction" 2 "$QTUNE" optimize --config bad2.yaml --storage "$DB"
contains "_pct refused" "$TMP/err" "'sharpe' is not a fraction"

# strict constraints: rejected trials score -inf, with the reason shown
strict() { # URL NAME
  check_exit "strict study ($1)" 0 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
    --objective loss --constraints 'sharpe>=3' --trials 4 --jobs 1 \
    --storage "$1" --quiet --study-name "$2"
  check_exit "analyze strict ($1)" 0 "$QTUNE" analyze --study-name "$2" --storage "$1"
  contains "rejected: -inf ($1)" "$TMP/out" "-inf  no"
  contains "reason shown ($1)" "$TMP/out" "infeasible: sharpe 2 < 3"
  check_exit "export strict ($1)" 0 "$QTUNE" analyze --study-name "$2" --storage "$1" --export-csv s.csv
  contains "reason in csv ($1)" s.csv ",-inf,0,sharpe:1,infeasible: sharpe 2 < 3,"
  check_exit "analyze json ($1)" 0 "$QTUNE" analyze --study-name "$2" --storage "$1" --json
  contains "json has no inf: a string ($1)" "$TMP/out" '"objective": "-inf"'
  # the storage holds the infinite score: it deletes what cleanup counts
  check_exit "cleanup ($1)" 0 "$QTUNE" cleanup --study-name "$2" --storage "$1" --min-score 1e300
  contains "all four counted ($1)" "$TMP/out" "4 of 4 trials have a score below"
  contains "all four deleted ($1)" "$TMP/out" "deleted 4 trials"
}
strict "$DB" strict1
# minimizing, the rejected trials are +inf: the worst in that direction too
check_exit "strict minimize" 0 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective loss --direction minimize --constraints 'sharpe>=3' --trials 2 --jobs 1 \
  --storage "$DB" --quiet --study-name strict_min
check_exit "analyze strict minimize" 0 "$QTUNE" analyze --study-name strict_min --storage "$DB"
contains "minimized: +inf" "$TMP/out" " inf  no"
# PostgreSQL: a database of its own (the storage suite shares the server's
# default one and leaves it at a future schema version on purpose)
if [ -n "${QTUNE_PG_URL:-}" ] && command -v psql >/dev/null; then
  pgdb="qtune_names_$$_$RANDOM"
  if psql -q "$QTUNE_PG_URL" -c "CREATE DATABASE $pgdb" >/dev/null 2>&1; then
    strict "${QTUNE_PG_URL%/*}/$pgdb" strict_pg
    psql -q "$QTUNE_PG_URL" -c "DROP DATABASE $pgdb" >/dev/null 2>&1
  else
    bad "could not create database $pgdb on $QTUNE_PG_URL"
  fi
else
  echo "skip PostgreSQL (QTUNE_PG_URL not set or no psql)"
fi

# --search: a grid over a space file's 3 params x 3 values is 27 runs
cat >hg.yaml <<'EOS'
grid_step_bps: {type: int, low: 20, high: 60, step: 20}
tp_steps: {type: int, low: 1, high: 3}
ema_fast: {low: 8, high: 16, step: 4}
EOS
check_exit "grid listed (default)" 0 "$QTUNE" optimize --strategy hedge_grid "${M[@]}" --space hg.yaml \
  --sampler grid --trials 100 --jobs 2 --study-name g1 --constraints none
contains "27 runs" "$TMP/out" "ran 27 trials"
check_exit "grid --search all" 0 "$QTUNE" optimize --strategy hedge_grid "${M[@]}" --space hg.yaml \
  --sampler grid --search all --trials 40 --jobs 2 --study-name g2 --constraints none
contains "all params searched" "$TMP/out" "ran 40 trials"
check_exit "bad --search" 2 "$QTUNE" optimize --strategy hedge_grid "${M[@]}" --space hg.yaml \
  --search some --study-name g3
contains "bad --search named" "$TMP/err" "--search 'some': use listed or all"

# the sampler names come from the registry
check_exit "help" 0 "$QTUNE" optimize --help
contains "help lists samplers" "$TMP/out" "samplers: grid, random, tpe, qmc, cmaes"
check_exit "sampler typo" 2 "$QTUNE" optimize --strategy sma_cross "${M[@]}" --sampler tpee
contains "sampler did you mean" "$TMP/err" "--sampler 'tpee': unknown (did you mean 'tpe'?) (samplers: grid, random, tpe, qmc, cmaes, nsgaii, motpe)"
finish
