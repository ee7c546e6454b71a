#!/usr/bin/env bash
# Pruning over the data and the study attributes end to end: --pruner on an
# external command that prints intermediate values (the pruned ones are
# killed at once) and on a strategy backtest (checkpoints every 10% of the
# bars), rejected vs pruned states, qtune enqueue (order, resume), qtune
# trial (show, --note), --tag, and analyze's fANOVA importance.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
DB="sqlite:///$TMP/p.db"
Q=$QTUNE
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

cat >space.yaml <<'EOF'
x: {type: float, low: 0, high: 10}
EOF
# steps 1..5 with value x*k; a low x sleeps before its final object, so a
# trial the pruner stops never reaches the line that writes its marker
cat >obj.sh <<'EOF'
#!/bin/sh
x=$(sed 's/.*"x": *\([-0-9.eE+]*\).*/\1/')
for k in 1 2 3 4 5; do
  awk -v x="$x" -v k="$k" 'BEGIN{printf "{\"step\": %d, \"value\": %.10g}\n", k, x*k}'
done
if awk -v x="$x" 'BEGIN{exit !(x < 5)}'; then sleep 1; fi
echo "$x" >>"$MARKS"
awk -v x="$x" 'BEGIN{printf "{\"value\": %.10g}\n", 10*x}'
EOF
chmod +x obj.sh
export MARKS=$TMP/marks

check_exit "optimize --pruner median" 0 $Q optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective value --trials 16 --jobs 1 --seed 3 --sampler random --study-name m \
  --storage "$DB" --quiet --pruner median --pruner-opts n_startup_trials=3 --best-out m.yaml \
  --tag owner=alice --tag purpose=e2e
contains "pruner shown" "$TMP/out" "pruner:   median, n_startup_trials=3"
np=$(sed -n 's/.* \([0-9]*\) pruned,.*/\1/p' "$TMP/out")
if [ -n "$np" ] && [ "$np" -gt 0 ]; then ok "trials pruned ($np)"; else bad "no trial pruned: $(cat "$TMP/out")"; fi
"$Q" analyze --study-name m --storage "$DB" --export-csv m.csv >/dev/null
first_pruned=$(awk -F, '$2 == "pruned" {print $1; exit}' m.csv)
check_exit "trial show --json (pruned)" 0 $Q trial m "$first_pruned" --storage "$DB" --json
cp "$TMP/out" pr.json
if [ "$(jget pr.json 'd["state"]')" = pruned ] && [ "$(jget pr.json 'd["last_step"] < 5')" = True ] &&
   [ "$(jget pr.json 'len(d["intermediate_values"]) == d["last_step"]')" = True ]; then
  ok "pruned trial stored with its last step and intermediate values"
else bad "pruned trial: $(cat pr.json)"; fi
x=$(jget pr.json 'd["params"]["x"]')
if ! grep -qx "$x" marks 2>/dev/null; then ok "pruned command killed at once (no marker for x=$x)"
else bad "pruned command ran to its end (x=$x)"; fi
first_done=$(awk -F, 'NR > 1 && $2 == "complete" {print $1; exit}' m.csv)
check_exit "trial show (complete)" 0 $Q trial m "$first_done" --storage "$DB"
contains "text shows the state" "$TMP/out" "trial $first_done: complete"
contains "text shows intermediate values" "$TMP/out" "intermediate values (step: value):"
contains "text shows the params" "$TMP/out" "params:"
contains "text shows the worker" "$TMP/out" "worker"

# notes
check_exit "trial --note" 0 $Q trial m "$first_done" --storage "$DB" --note "keep this one" --json
contains "note stored" "$TMP/out" '"note": "keep this one"'
check_exit "note stays" 0 $Q trial m "$first_done" --storage "$DB" --json
contains "note read back" "$TMP/out" '"note": "keep this one"'
check_exit "no such trial" 2 $Q trial m 999 --storage "$DB"
contains "missing trial named" "$TMP/err" "has no trial 999"
check_exit "trial needs a number" 2 $Q trial m --storage "$DB"

# tags
check_exit "analyze --json" 0 $Q analyze --study-name m --storage "$DB" --json
cp "$TMP/out" an.json
if [ "$(jget an.json 'd["tags"]')" = "{'owner': 'alice', 'purpose': 'e2e'}" ]; then ok "tags stored"
else bad "tags: $(jget an.json 'd.get("tags")')"; fi
if [ "$(jget an.json 'd["importance_method"]')" = fanova ] &&
   [ "$(jget an.json 'd["trials"]["pruned"]')" = "$np" ]; then ok "analyze: fanova by default, pruned counted"
else bad "analyze json: $(head -c 400 an.json)"; fi
check_exit "analyze --importance binned" 0 $Q analyze --study-name m --storage "$DB" --importance binned
contains "binned importance" "$TMP/out" "across quantile bins"
check_exit "analyze --importance bogus" 2 $Q analyze --study-name m --storage "$DB" --importance x
check_exit "bad pruner" 2 $Q optimize --objective-cmd ./obj.sh --space space.yaml --objective value \
  --trials 1 --study-name m2 --storage "$DB" --pruner bogus
contains "bad pruner named" "$TMP/err" "pruner 'bogus': unknown"
check_exit "bad pruner option" 2 $Q optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective value --trials 1 --study-name m2 --storage "$DB" --pruner sha --pruner-opts eta=3
contains "bad option named" "$TMP/err" "unknown option 'eta'"

# enqueue: evaluated before any sampled trial, in order, also when resumed
E="sqlite:///$TMP/e.db"
check_exit "study for enqueue" 0 $Q optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective value --trials 2 --jobs 1 --seed 1 --sampler random --study-name q --storage "$E" \
  --quiet --best-out q.yaml
printf -- '- {x: 1.25}\n- x: 2.5\n' >two.yaml
check_exit "enqueue a file of two" 0 $Q enqueue --study-name q --storage "$E" --params-file two.yaml
contains "enqueued numbers" "$TMP/out" "enqueued 2 trials (2..3)"
check_exit "enqueue one" 0 $Q enqueue --study-name q --storage "$E" --params x=7.75
contains "enqueued one" "$TMP/out" "enqueued trial 4"
printf -- '- {x: 1}\n- {x: 11}\n' >bad.yaml
check_exit "enqueue out of range" 2 $Q enqueue --study-name q --storage "$E" --params-file bad.yaml
contains "file, line, field" "$TMP/err" "bad.yaml:2: field 'x': 11 is outside its range [0, 10]"
check_exit "enqueue unknown param" 2 $Q enqueue --study-name q --storage "$E" --params y=1
contains "unknown param named" "$TMP/err" "unknown parameter 'y'"
check_exit "enqueue no study" 2 $Q enqueue --study-name nope --storage "$E" --params x=1
check_exit "run with the queue" 0 $Q optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective value --trials 4 --jobs 1 --seed 1 --sampler random --study-name q --storage "$E" \
  --quiet --best-out q.yaml
for n in 2 3 4 5; do
  "$Q" trial q $n --storage "$E" --json >t$n.json || bad "trial $n"
done
got=$(for n in 2 3 4; do jget t$n.json 'd["params"]["x"]'; done | tr '\n' ' ')
if [ "$got" = "1.25 2.5 7.75 " ] && [ "$(jget t4.json 'd["state"]')" = complete ]; then
  ok "enqueued params ran first, in order ($got)"
else bad "enqueued: $got"; fi
if [ "$(python3 -c 'import json; a=json.load(open("t4.json")); b=json.load(open("t5.json")); print(a["started"] <= b["started"])')" = True ]; then
  ok "the sampled trial 5 started after the enqueued ones"
else bad "order of start times"; fi
check_exit "enqueue into the stored study" 0 $Q enqueue --study-name q --storage "$E" --params x=3.5
check_exit "resume runs it first" 0 $Q optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective value --trials 1 --jobs 1 --seed 1 --sampler random --study-name q --storage "$E" \
  --quiet --best-out q.yaml
check_exit "resumed trial" 0 $Q trial q 6 --storage "$E" --json
cp "$TMP/out" t6.json
if [ "$(jget t6.json 'd["params"]["x"]')" = 3.5 ] && [ "$(jget t6.json 'd["state"]')" = complete ]; then
  ok "resumed study ran the enqueued params"
else bad "resume: $(cat t6.json)"; fi

# a strategy backtest: checkpoints every 10% of the bars; rejected vs pruned
CAT=$TMP/cat
"$Q" data synth --catalog "$CAT" --symbol SYN --days 3 --seed 5 >/dev/null
S="sqlite:///$TMP/s.db"
check_exit "strategy with --pruner" 0 $Q optimize --strategy sma_cross --catalog "$CAT" \
  --symbol SYN --trials 30 --jobs 1 --seed 2 --sampler random --study-name sp --storage "$S" \
  --quiet --constraints none --objective total_profit --pruner median \
  --pruner-opts n_startup_trials=3 --best-out sp.yaml
"$Q" analyze --study-name sp --storage "$S" --export-csv sp.csv >/dev/null
nrej=$(awk -F, '$2 == "rejected"' sp.csv | wc -l)
nprn=$(awk -F, '$2 == "pruned"' sp.csv | wc -l)
if [ "$nrej" -gt 0 ] && [ "$nprn" -gt 0 ]; then ok "backtest study: $nrej rejected, $nprn pruned"
else bad "backtest study: $nrej rejected, $nprn pruned"; fi
rej=$(awk -F, '$2 == "rejected" {print $1; exit}' sp.csv)
"$Q" trial sp "$rej" --storage "$S" --json >rej.json
if [ "$(jget rej.json 'd["error"] is not None and d["intermediate_values"] is None')" = True ]; then
  ok "a rejected trial keeps the strategy's reason and has no intermediate values"
else bad "rejected: $(cat rej.json)"; fi
pr=$(awk -F, '$2 == "pruned" {print $1; exit}' sp.csv)
"$Q" trial sp "$pr" --storage "$S" --json >spr.json
done1=$(awk -F, 'NR > 1 && $2 == "complete" {print $1; exit}' sp.csv)
"$Q" trial sp "$done1" --storage "$S" --json >sdone.json
if [ "$(jget sdone.json 'd["last_step"]')" = 10 ] &&
   [ "$(jget sdone.json '[s for s, v in d["intermediate_values"]] == list(range(1, 11))')" = True ] &&
   [ "$(jget spr.json 'd["last_step"] < 10 and d["metrics"]["trades"] is not None')" = True ]; then
  ok "checkpoints at every 10% (steps 1..10); a pruned backtest stopped early with its metrics so far"
else bad "checkpoints: $(jget sdone.json 'd["intermediate_values"]') / $(jget spr.json 'd["last_step"]')"; fi

finish
