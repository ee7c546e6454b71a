#!/usr/bin/env bash
# qtune optimize / studies / analyze / best / cleanup end to end, with an
# external-command objective (no engine needed) and, when built, sma_cross on
# a synthetic catalog.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
DB="sqlite:///$TMP/q.db"

cat >space.yaml <<'EOF'
x: {type: float, low: -2, high: 3}
y: {type: int, low: 1, high: 10}
mode: {type: categorical, choices: [a, b]}
EOF
# params JSON on stdin -> metrics JSON on stdout (awk: cheap to start)
cat >obj.sh <<'EOF'
#!/bin/sh
awk '{
  match($0, /"x":[-0-9.eE+]+/); x = substr($0, RSTART+4, RLENGTH-4) + 0
  match($0, /"y":[-0-9]+/); y = substr($0, RSTART+4, RLENGTH-4) + 0
  v = (x-1)*(x-1) + 0.1*(y-4)*(y-4)
  printf "{\"loss\": %.10g, \"sharpe\": %.10g, \"trades\": %d}\n", v, 2-v, 100-y
}'
EOF
chmod +x obj.sh

check_exit "help" 0 "$QTUNE" optimize --help
contains "help lists --objective-cmd" "$TMP/out" "--objective-cmd"
check_exit "unknown option" 2 "$QTUNE" optimize --bogus
contains "unknown option named" "$TMP/err" "unknown option '--bogus'"
check_exit "cmd needs a space" 2 "$QTUNE" optimize --objective-cmd ./obj.sh --objective loss
contains "space required" "$TMP/err" "needs --space"
check_exit "bad constraint" 2 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective loss --constraints 'sharpe=>1' --storage "$DB"
contains "bad constraint named" "$TMP/err" "sharpe=>1"

# a study on a metric the command prints
check_exit "optimize cmd" 0 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective loss --direction minimize --trials 20 --jobs 2 --seed 1 \
  --study-name s1 --storage "$DB" --best-out best1.yaml
cp "$TMP/out" run1.txt
contains "header names the study" run1.txt "s1 (new, 0 trials stored)"
contains "header names sampler" run1.txt "sampler:  tpe, seed 1"
contains "header names workers" run1.txt "workers: 2"
contains "best trial printed" run1.txt "best trial: #"
contains "best file named" run1.txt "best parameters: best1.yaml"
contains "database named" run1.txt "database: $DB"
contains "best yaml has x" best1.yaml "x: "
contains "best yaml has the label" best1.yaml 'mode: "'

# resume: same name continues numbering
check_exit "resume" 0 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective loss --direction minimize --trials 10 --jobs 2 --seed 1 --study-name s1 \
  --storage "$DB" --best-out best1.yaml
contains "resumed" "$TMP/out" "s1 (resumed, 20 trials stored)"
check_exit "analyze csv" 0 "$QTUNE" analyze --study-name s1 --storage "$DB" --export-csv s1.csv
contains "csv: says where" "$TMP/out" "wrote s1.csv (30 trials of study s1)"
check "csv: no table" bash -c "! grep -q 'parameter importance' '$TMP/out'"
check_exit "analyze table" 0 "$QTUNE" analyze --study-name s1 --storage "$DB"
contains "importance printed" "$TMP/out" "parameter importance"
nums=$(tail -n +2 s1.csv | cut -d, -f1 | sort -n | uniq | tr '\n' ' ')
want=$(seq 0 29 | tr '\n' ' ')
if [ "$nums" = "$want" ]; then ok "30 unique trial numbers after resume"; else bad "numbers: $nums"; fi
contains "csv header" s1.csv "number,state,loss,feasible,violations,error,loss,sharpe,trades,x,y,mode"

# best written again by `qtune best`, same params as the study's best
check_exit "best" 0 "$QTUNE" best --study-name s1 --storage "$DB" -o best2.yaml
if diff <(grep -v '^#' best1.yaml) <(grep -v '^#' best2.yaml) >/dev/null; then
  ok "best matches optimize's file"; else bad "best differs"; fi
check_exit "best of a missing study" 2 "$QTUNE" best --study-name nope --storage "$DB"
check_exit "studies of a missing database" 2 "$QTUNE" studies --storage "sqlite:///$TMP/none.db"
contains "missing database named" "$TMP/err" "none.db: no such database"
[ ! -e "$TMP/none.db" ] && ok "no empty database created" || bad "none.db created"

# deterministic: same seed, --jobs 2, identical params sequences
for d in d1 d2; do
  check_exit "deterministic $d" 0 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
    --objective loss --direction minimize --trials 24 --jobs 2 --seed 5 --deterministic \
    --study-name det --storage "sqlite:///$TMP/$d.db" --quiet --best-out $d.yaml
  "$QTUNE" analyze --study-name det --storage "sqlite:///$TMP/$d.db" --export-csv $d.csv >/dev/null
done
if [ -s d1.csv ] && cmp -s <(cut -d, -f1,10- d1.csv) <(cut -d, -f1,10- d2.csv); then
  ok "deterministic runs give identical params"; else bad "deterministic runs differ"; fi

# score with constraints from a YAML config; violations are stored
cat >cfg.yaml <<EOF
objective_cmd: ./obj.sh
space: space.yaml
objective: score
weights: {sharpe: 1.0, trades: 0.1}
constraints: [sharpe>=1.5, "trades>=92"]
trials: 30
jobs: 2
study_name: cfg
storage: $DB
seed: 3
quiet: true
EOF
check_exit "config file" 0 "$QTUNE" optimize --config cfg.yaml --trials 25
contains "config: objective" "$TMP/out" "objective: score (maximize), external command, 2 constraint(s)"
"$QTUNE" analyze --study-name cfg --storage "$DB" --json >cfg.json
"$QTUNE" analyze --study-name cfg --storage "$DB" --export-csv cfg.csv >/dev/null
n=$(tail -n +2 cfg.csv | wc -l)
[ "$n" = 25 ] && ok "command line overrides config (25 trials)" || bad "trials: $n"
if grep -q ',0,sharpe:\|,0,trades:' cfg.csv; then ok "violations stored"; else bad "no violations in csv"; fi

# sampler options reach the sampler: with the same seed, multivariate TPE
# proposes other trials than the default; a config map gives the same as the
# flag; a misspelt key fails before any trial
so_run() { # NAME DBFILE ARGS...
  local n=$1 db=$2; shift 2
  check_exit "$n" 0 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
    --objective loss --direction minimize --trials 20 --jobs 1 --seed 9 --study-name so \
    --storage "sqlite:///$TMP/$db" --quiet --best-out so.yaml "$@"
}
so_run "sampler opts default" so0.db
so_run "sampler opts flag" so1.db --sampler-opts multivariate=1,n_ei_candidates=24
contains "header shows sampler opts" "$TMP/out" "multivariate=1,n_ei_candidates=24"
printf 'sampler_opts: {multivariate: 1, n_ei_candidates: 24}\n' >so.yaml.cfg
so_run "sampler opts config" so2.db --config so.yaml.cfg
for d in so0 so1 so2; do
  "$QTUNE" analyze --study-name so --storage "sqlite:///$TMP/$d.db" --export-csv $d.csv >/dev/null
done
cmp -s so1.csv so2.csv && ok "config map = flag" || bad "config sampler_opts differ from the flag"
cmp -s so0.csv so1.csv && bad "sampler opts changed nothing" || ok "sampler opts change the proposals"
check_exit "misspelt sampler option" 2 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective loss --trials 5 --study-name so3 --storage "sqlite:///$TMP/so3.db" \
  --sampler-opts n_ei_canddiates=8
contains "misspelt option named" "$TMP/err" "unknown option 'n_ei_canddiates'"
check_exit "sampler option without value" 2 "$QTUNE" optimize --objective-cmd ./obj.sh \
  --space space.yaml --objective loss --trials 5 --study-name so3 \
  --storage "sqlite:///$TMP/so3.db" --sampler-opts multivariate
contains "KEY=VALUE asked" "$TMP/err" "expected KEY=VALUE"
# resuming keeps the study's sampler and options unless given again
so_run "resume keeps sampler opts" so1.db --trials 5
contains "stored opts in the header" "$TMP/out" "sampler:  tpe, seed 9, multivariate=1,n_ei_candidates=24"
so_run "resume with other opts" so1.db --trials 5 --sampler-opts n_ei_candidates=4
contains "given opts win" "$TMP/out" "seed 9, n_ei_candidates=4"
check_exit "grid study" 0 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective loss --direction minimize --trials 6 --jobs 1 --sampler grid --sampler-opts n_points=3 \
  --study-name g --storage "sqlite:///$TMP/g.db" --quiet --best-out g.yaml
check_exit "grid study resumed without --sampler" 0 "$QTUNE" optimize --objective-cmd ./obj.sh \
  --space space.yaml --objective loss --direction minimize --trials 200 --jobs 1 --study-name g \
  --storage "sqlite:///$TMP/g.db" --quiet --best-out g.yaml
contains "resumed as grid" "$TMP/out" "sampler:  grid, seed 0, n_points=3"
"$QTUNE" analyze --study-name g --storage "sqlite:///$TMP/g.db" --export-csv g.csv >/dev/null
# 3 x values x 10 y values x 2 modes = 60 points, each once, then the grid is exhausted
n=$(tail -n +2 g.csv | wc -l); u=$(tail -n +2 g.csv | awk -F, '{print $(NF-2) "," $(NF-1) "," $NF}' | sort -u | wc -l)
[ "$n" = 60 ] && [ "$u" = 60 ] && ok "grid resumed to its 60 points" || bad "grid: $n trials, $u distinct"
if python3 -c 'import json,sys; d=json.load(open("cfg.json")); t=d["top"]; assert t and t[0]["feasible"]; assert abs(sum(d["importance"].values())-1)<1e-6' 2>/dev/null; then
  ok "analyze --json: feasible best first, importance sums to 1"; else bad "analyze --json"; fi

# failures: non-zero exit with retries, timeout, bad JSON
check_exit "failing command" 0 "$QTUNE" optimize --objective-cmd 'echo broken >&2; exit 3' \
  --space space.yaml --objective loss --trials 3 --retries 1 --jobs 1 --study-name f \
  --storage "$DB" --quiet
contains "no feasible" "$TMP/out" "no trial meets the constraints yet (0 complete, 6 failed)"
"$QTUNE" analyze --study-name f --storage "$DB" --export-csv f.csv >/dev/null
contains "error stored" f.csv "exit status 3: broken"
check_exit "timeout" 0 "$QTUNE" optimize --objective-cmd 'sleep 20' --trial-timeout 0.3 \
  --space space.yaml --objective loss --trials 2 --jobs 2 --study-name to --storage "$DB" --quiet
"$QTUNE" analyze --study-name to --storage "$DB" --export-csv to.csv >/dev/null
contains "timeout stored" to.csv "timed out after 0.3s"
check_exit "bad json" 0 "$QTUNE" optimize --objective-cmd 'echo nope' \
  --space space.yaml --objective loss --trials 1 --study-name bj --storage "$DB" --quiet
"$QTUNE" analyze --study-name bj --storage "$DB" --export-csv bj.csv >/dev/null
contains "bad json stored" bj.csv "not a JSON object"

# four processes, one SQLite file, one study
pids=()
for k in 1 2 3 4; do
  "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml --objective loss \
    --direction minimize --trials 12 --jobs 2 --seed 1 --study-name mp --storage "$DB" \
    --quiet --best-out mp$k.yaml >mp$k.out 2>mp$k.err &
  pids+=($!)
done
rcs=0
for p in "${pids[@]}"; do wait "$p" || rcs=1; done
[ $rcs = 0 ] && ok "4 processes exit 0" || { bad "a process failed"; cat mp*.err | head; }
if grep -qi "locked\|busy" mp*.err; then bad "lock errors"; grep -i "locked\|busy" mp*.err | head -3; else ok "no lock errors"; fi
"$QTUNE" analyze --study-name mp --storage "$DB" --export-csv mp.csv >/dev/null
nums=$(tail -n +2 mp.csv | cut -d, -f1 | sort -n | uniq | wc -l)
states=$(tail -n +2 mp.csv | cut -d, -f2 | sort | uniq -c | tr -s ' ')
[ "$nums" = 48 ] && ok "48 unique numbers" || bad "unique numbers: $nums"
[ "$states" = " 48 complete" ] && ok "all 48 complete" || bad "states: $states"

# Ctrl-C: running trials finish, nothing is left running, the study resumes
"$QTUNE" optimize --objective-cmd 'sleep 0.2; echo "{\"loss\": 1}"' --space space.yaml \
  --objective loss --trials 1000 --jobs 2 --study-name int --storage "$DB" >int.out 2>int.err &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid; rc=$?
[ $rc = 130 ] && ok "interrupted run exits 130" || bad "interrupted exit $rc"
contains "interrupted noted" int.out "(interrupted)"
check_exit "studies" 0 "$QTUNE" studies --storage "$DB"
if grep -E '^int +[0-9]+ +0 +0 ' "$TMP/out" >/dev/null; then ok "nothing left running"; else bad "int row"; grep '^int' "$TMP/out"; fi
check_exit "resume after interrupt" 0 "$QTUNE" optimize --objective-cmd 'echo "{\"loss\": 1}"' \
  --space space.yaml --objective loss --trials 2 --jobs 1 --study-name int --storage "$DB" --quiet
contains "resumed after interrupt" "$TMP/out" "int (resumed"

# cleanup prints how many and deletes them
check_exit "cleanup" 0 "$QTUNE" cleanup --study-name cfg --storage "$DB" --min-score 0.5
contains "cleanup count" "$TMP/out" "trials have a score below 0.5"
check_exit "cleanup needs min-score" 2 "$QTUNE" cleanup --study-name cfg --storage "$DB"


# the run summary agrees with the storage: a trial whose objective metric is
# missing fails (and is retried) instead of counting as infeasible.  The
# command omits it on every third call (--jobs 1: calls in order; the first
# call has it, else the name check stops the run), so each failed trial's
# retry is the next call and completes
cat >obj_some.sh <<'EOF2'
#!/bin/sh
n=$(cat calls 2>/dev/null || echo 0); n=$((n + 1)); echo $n >calls
awk -v n=$n '{
  match($0, /"x":[-0-9.eE+]+/); x = substr($0, RSTART+4, RLENGTH-4) + 0
  match($0, /"y":[-0-9]+/); y = substr($0, RSTART+4, RLENGTH-4) + 0
  v = (x-1)*(x-1) + 0.1*(y-4)*(y-4)
  if (n % 3) printf "{\"loss\": %.10g, \"sharpe\": %.10g}\n", v, 2-v
  else printf "{\"sharpe\": %.10g}\n", 2-v
}'
EOF2
chmod +x obj_some.sh
check_exit "optimize with a sometimes-missing metric" 0 "$QTUNE" optimize \
  --objective-cmd ./obj_some.sh --space space.yaml --objective loss --direction minimize \
  --constraints 'sharpe>=1.5' --trials 20 --retries 1 --jobs 1 --seed 4 --sampler random \
  --study-name some --storage "sqlite:///$TMP/some.db" --quiet --best-out some.yaml
summary=$(grep -E '^ran [0-9]+ trials' "$TMP/out")
"$QTUNE" analyze --study-name some --storage "sqlite:///$TMP/some.db" --export-csv some.csv >/dev/null
stored=$(python3 - some.csv <<'EOF2'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
st = [r["state"] for r in rows]
inf = sum(1 for r in rows if r["state"] == "complete" and r["feasible"] == "0")
miss = sum(1 for r in rows if r["state"] == "fail" and "objective metric 'loss' is missing" in r["error"])
print("ran %d trials: %d complete, %d failed, %d rejected, %d pruned, %d infeasible; missing %d"
      % (len(rows), st.count("complete"), st.count("fail"), st.count("rejected"), st.count("pruned"),
         inf, miss))
EOF2
)
got=$(printf '%s\n' "$summary" | sed -E 's/ in [0-9.]+s \([0-9.]+ trials\/s\)//')
if [ -n "$summary" ] && [ "$got" = "${stored%%;*}" ]; then ok "summary = storage ($got)"
else bad "summary '$summary' vs storage '$stored'"; fi
nf=$(printf '%s\n' "$stored" | sed -E 's/.* ([0-9]+) failed.*/\1/')
nall=$(printf '%s\n' "$stored" | sed -E 's/^ran ([0-9]+) .*/\1/')
nmiss=${stored##*missing }
if [ "$nf" -gt 0 ] && [ "$nmiss" = "$nf" ] && [ "$nall" = $((20 + nf)) ]; then
  ok "missing metric: $nf failed naming it, each retried once"
else bad "missing metric: $stored"; fi

# a set-up that fails leaves no empty study behind (each case its own
# database: absent, or `studies` lists nothing but its header)
no_study() { # NAME DBFILE
  if [ ! -e "$TMP/$2" ]; then ok "$1: no study"; return; fi
  "$QTUNE" studies --storage "sqlite:///$TMP/$2" >"$TMP/st.out" 2>&1
  if [ "$(wc -l <"$TMP/st.out")" = 1 ]; then ok "$1: no study"; else bad "$1: a study was left"; cat "$TMP/st.out"; fi
}
check_exit "misspelt sampler option (fresh db)" 2 "$QTUNE" optimize --objective-cmd ./obj.sh \
  --space space.yaml --objective loss --trials 2 --study-name e2 --storage "sqlite:///$TMP/e2.db" \
  --quiet --sampler-opts n_ei_canddiates=8
contains "misspelt option named (fresh db)" "$TMP/err" "n_ei_canddiates"
no_study "misspelt sampler option" e2.db

# a built-in strategy on a synthetic catalog (when the data tools are built)
if "$QTUNE" data synth --catalog cat --symbol SYN --days 3 --seed 1 >/dev/null 2>&1; then
  check_exit "optimize sma_cross" 0 "$QTUNE" optimize --strategy sma_cross --catalog cat \
    --symbol SYN --trials 16 --jobs 2 --seed 2 --study-name sma --storage "$DB" --quiet \
    --constraints 'trades>=1' --best-out sma.yaml
  contains "sma: score objective" "$TMP/out" "objective: score (maximize), 1 constraint(s)"
  contains "sma: best trial" "$TMP/out" "best trial: #"
  contains "sma: Sharpe printed" "$TMP/out" "Sharpe"
  check_exit "analyze sma" 0 "$QTUNE" analyze --study-name sma --storage "$DB" --top-n 3
  contains "sma importance" "$TMP/out" "parameter importance"
  check_exit "strategy clash on resume" 2 "$QTUNE" optimize --strategy sma_cross --catalog cat \
    --symbol SYN --trials 1 --study-name s1 --storage "$DB" --quiet
  contains "clash named" "$TMP/err" "study 's1' was created for an external objective"

  # the study pins its market, costs and settings: a resume on others is
  # refused with one line per difference, the same ones resume
  check_exit "pinned: resume with other fees" 2 "$QTUNE" optimize --strategy sma_cross \
    --catalog cat --symbol SYN --trials 1 --seed 2 --study-name sma --storage "$DB" --quiet \
    --constraints 'trades>=1' --fee-bps 0 --cash 500
  contains "pinned: fee named" "$TMP/err" "maker_bps: 2 -> 0"
  contains "pinned: taker fee named" "$TMP/err" "taker_bps: 5 -> 0"
  contains "pinned: cash named" "$TMP/err" "cash: 10000 -> 500"
  contains "pinned: how many" "$TMP/err" "study 'sma' was run on other settings (3 differences"
  "$QTUNE" data synth --catalog cat --symbol SYNTH --days 3 --seed 7 >/dev/null 2>&1
  check_exit "pinned: resume on another symbol" 2 "$QTUNE" optimize --strategy sma_cross \
    --catalog cat --symbol SYNTH --trials 1 --seed 2 --study-name sma --storage "$DB" --quiet \
    --constraints 'trades>=1'
  contains "pinned: symbol named" "$TMP/err" "symbol: SYN -> SYNTH"
  contains "pinned: data named" "$TMP/err" "data: 4320 rows "
  check_exit "pinned: resume with another range" 2 "$QTUNE" optimize --strategy sma_cross \
    --catalog cat --symbol SYN --from 2026-01-02 --trials 1 --seed 2 --study-name sma \
    --storage "$DB" --quiet --constraints 'trades>=1'
  contains "pinned: from named" "$TMP/err" "from: "
  check_exit "pinned: resume with other constraints" 2 "$QTUNE" optimize --strategy sma_cross \
    --catalog cat --symbol SYN --trials 1 --seed 2 --study-name sma --storage "$DB" --quiet \
    --constraints 'trades>=2'
  contains "pinned: constraints named" "$TMP/err" "constraints: trades>=1 -> trades>=2"
  check_exit "pinned: same settings resume" 0 "$QTUNE" optimize --strategy sma_cross \
    --catalog cat --symbol SYN --trials 2 --seed 2 --study-name sma --storage "$DB" --quiet \
    --constraints 'trades>=1' --best-out sma.yaml
  contains "pinned: resumed" "$TMP/out" "sma (resumed, 16 trials stored)"
  # a study from before pins: its config has no "pin"; it resumes with a warning
  python3 - "$TMP/q.db" <<'EOF2'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
c = json.loads(db.execute("SELECT config_json FROM studies WHERE name='sma'").fetchone()[0])
del c["pin"]
db.execute("UPDATE studies SET config_json=? WHERE name='sma'", (json.dumps(c),))
db.commit()
EOF2
  check_exit "unpinned study resumes" 0 "$QTUNE" optimize --strategy sma_cross \
    --catalog cat --symbol SYN --trials 1 --seed 2 --study-name sma --storage "$DB" --quiet \
    --constraints 'trades>=1' --fee-bps 0 --best-out sma.yaml
  contains "unpinned: warned" "$TMP/err" "warning: study 'sma' has no record of its market"
  # an unknown symbol fails before any study exists
  check_exit "unknown symbol" 2 "$QTUNE" optimize --strategy sma_cross --catalog cat \
    --symbol NOPE --trials 1 --study-name e4 --storage "sqlite:///$TMP/e4.db" --quiet
  contains "unknown symbol named" "$TMP/err" "no bars for 'NOPE'"
  no_study "unknown symbol" e4.db
else
  echo "skip sma_cross study: qtune data synth not available"
fi

finish
