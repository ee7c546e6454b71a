#!/usr/bin/env bash
# Several objectives end to end: sma_cross on the AVAXUSDT June klines of
# tests/fixtures with --objective sharpe,max_drawdown --direction
# maximize,minimize (nsgaii and motpe), every value stored, the Pareto front
# and its hypervolume in analyze and best, best --pick N writing that
# member's params, and the refusals (a single-objective sampler, bad
# directions, score in a list, a bad reference point, --pick out of range).
source "$(dirname "$0")/lib.sh"
cd "$TMP"
DB="sqlite:///$TMP/q.db"
D=$FIXTURES/binance/AVAXUSDT-1m-2026-06.csv
MO=(--data "$D" --strategy sma_cross --objective sharpe,max_drawdown
    --direction maximize,minimize --constraints none --storage "$DB" --quiet)

check_exit "nsgaii study" 0 "$QTUNE" optimize "${MO[@]}" --sampler nsgaii \
  --sampler-opts population_size=10 --trials 60 --jobs 1 --seed 5 --study-name mo
cp "$TMP/out" run1.txt
contains "objectives in the header" run1.txt "objectives: sharpe (maximize), max_drawdown (minimize)"
contains "sampler in the header" run1.txt "sampler:  nsgaii, seed 5"
contains "front printed" run1.txt "Pareto front: "
contains "hypervolume printed" run1.txt "hypervolume "
contains "best file named" run1.txt "best parameters: mo_best.yaml (the front member best in the first objective"

# every objective value is stored: values_json holds two numbers
if command -v sqlite3 >/dev/null; then
  n2=$(sqlite3 "$TMP/q.db" "SELECT count(*) FROM trials WHERE state='complete' AND values_json LIKE '[%,%]'")
  nc=$(sqlite3 "$TMP/q.db" "SELECT count(*) FROM trials WHERE state='complete'")
  if [ "$nc" -gt 0 ] && [ "$n2" = "$nc" ]; then ok "two values per complete trial ($n2)"; else bad "values_json: $n2 of $nc"; fi
  dirs=$(sqlite3 "$TMP/q.db" "SELECT directions FROM studies WHERE name='mo'")
  if [ "$dirs" = '["maximize","minimize"]' ]; then ok "directions stored"; else bad "directions: $dirs"; fi
fi

# analyze --json: the front is non-dominated, has several members (seed 5
# of this deterministic run), and its hypervolume matches a recomputation
# from the printed values against the default and a given reference point
check_exit "analyze json" 0 "$QTUNE" analyze --study-name mo --storage "$DB" --json
cp "$TMP/out" an.json
# a given point: the default one moved further out (sharpe 1 lower, drawdown 0.1 higher)
rp=$(python3 -c "import json; r=json.load(open('an.json'))['pareto']['reference_point']; print('%r,%r' % (r[0] - 1, r[1] + 0.1))")
check_exit "analyze json, reference given" 0 "$QTUNE" analyze --study-name mo --storage "$DB" \
  --json --ref-point "$rp"
cp "$TMP/out" an_ref.json
cat >hv.py <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))["pareto"]
pts = [(-f["values"][0], f["values"][1]) for f in d["front"]]  # both minimized
assert len(pts) >= int(sys.argv[2]), ("front", len(pts))
for a in pts:
    for b in pts:
        assert not (b[0] <= a[0] and b[1] <= a[1] and b != a), ("dominated", a, b)
r = d["reference_point"]
ref = (-r[0], r[1])
inside = sorted(p for p in pts if p[0] < ref[0] and p[1] < ref[1])
hv, ymin = 0.0, ref[1]
for x, y in inside:
    if y < ymin:
        hv += (ref[0] - x) * (ymin - y)
        ymin = y
assert hv > 0, "zero hypervolume"
assert abs(hv - d["hypervolume"]) <= 1e-9 * max(1.0, hv), (hv, d["hypervolume"])
assert d["reference_point_given"] == (sys.argv[3] == "given")
print("front", len(pts), "hv", hv)
EOF
if python3 hv.py an.json 3 default; then ok "front non-dominated, hypervolume recomputed"; else bad "front or hypervolume"; fi
if python3 hv.py an_ref.json 1 given; then ok "given reference point used"; else bad "given reference point"; fi

check_exit "analyze table" 0 "$QTUNE" analyze --study-name mo --storage "$DB"
contains "analyze front" "$TMP/out" "Pareto front: "
contains "analyze default reference" "$TMP/out" "moved out by 10% of its range"

# best --pick 2 (or 1 when the front has one member) writes that member
nf=$(python3 -c "import json; print(len(json.load(open('an.json'))['pareto']['front']))")
pk=$([ "$nf" -ge 2 ] && echo 2 || echo 1)
check_exit "best --pick" 0 "$QTUNE" best --study-name mo --storage "$DB" --pick "$pk" --best-out pick.yaml
contains "picked member named" "$TMP/out" "picked front member $pk:"
want=$(python3 -c "import json; f=json.load(open('an.json'))['pareto']['front'][$pk-1]; print(f['number'])")
contains "params file is that trial" pick.yaml "trial #$want,"
fast=$(python3 -c "import json; f=json.load(open('an.json'))['pareto']['front'][$pk-1]; print(f['params']['fast'])")
contains "params file has its fast" pick.yaml "fast: $fast"
check_exit "pick out of range" 2 "$QTUNE" best --study-name mo --storage "$DB" --pick 999
contains "pick range named" "$TMP/err" "--pick 999: the front has $nf member(s)"
check_exit "bad reference point" 2 "$QTUNE" best --study-name mo --storage "$DB" --ref-point 1
contains "reference count named" "$TMP/err" "2 objectives need 2 values"

# resume keeps the objectives and the sampler; motpe runs as well
check_exit "resume" 0 "$QTUNE" optimize "${MO[@]}" --trials 10 --jobs 1 --study-name mo
contains "resumed nsgaii" "$TMP/out" "sampler:  nsgaii"
# a worker joins by name: both objectives come back from the stored pin
check_exit "worker joins" 0 "$QTUNE" worker --study-name mo --storage "$DB" --trials 5 --jobs 1 --quiet
contains "worker runs both objectives" "$TMP/out" "objectives: sharpe (maximize), max_drawdown (minimize)"
# a resume with another second objective is refused by the pin, naming it
check_exit "other objectives refused" 2 "$QTUNE" optimize --data "$D" --strategy sma_cross \
  --objective sharpe,calmar --direction maximize,maximize --constraints none --storage "$DB" \
  --trials 5 --study-name mo --quiet
contains "pin names the objectives" "$TMP/err" "objective: sharpe,max_drawdown -> sharpe,calmar"
check_exit "motpe study" 0 "$QTUNE" optimize "${MO[@]}" --sampler motpe --trials 25 --jobs 2 \
  --seed 4 --study-name mt
contains "motpe front" "$TMP/out" "Pareto front: "

# refusals
check_exit "tpe refused" 2 "$QTUNE" optimize "${MO[@]}" --sampler tpe --trials 5 --study-name t1
contains "tpe refusal names the samplers" "$TMP/err" "sampler tpe optimizes one objective and this study has 2; use one of: "
contains "refusal lists nsgaii" "$TMP/err" "nsgaii"
check_exit "no study left by the refusal" 2 "$QTUNE" best --study-name t1 --storage "$DB"
check_exit "directions count" 2 "$QTUNE" optimize --data "$D" --strategy sma_cross \
  --objective sharpe,max_drawdown,calmar --direction maximize,minimize --storage "$DB" --study-name t2
contains "directions count named" "$TMP/err" "2 directions for 3 objectives"
check_exit "score in a list" 2 "$QTUNE" optimize --data "$D" --strategy sma_cross \
  --objective score,max_drawdown --storage "$DB" --study-name t3
contains "score refusal" "$TMP/err" "'score' is a weighted sum"
check_exit "unknown metric" 2 "$QTUNE" optimize --data "$D" --strategy sma_cross \
  --objective sharpe,max_drawdwn --storage "$DB" --study-name t4
contains "unknown metric named" "$TMP/err" "max_drawdwn"
check_exit "one-objective study" 0 "$QTUNE" optimize --data "$D" --strategy sma_cross \
  --objective sharpe --constraints none --trials 5 --jobs 1 --storage "$DB" --study-name one --quiet
check_exit "pick refused on one objective" 2 "$QTUNE" best --study-name one --storage "$DB" --pick 1
contains "pick refusal" "$TMP/err" "need a study with several objectives"
finish
