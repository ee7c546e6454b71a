#!/usr/bin/env bash
# CLI consistency end to end: every command's --help has an example and its
# exit codes, `qtune --help` names only subcommands that exist, `best` and
# `optimize` spell the params file --best-out (best keeps -o), `best --json`
# is the best trial as JSON, `analyze --export-csv` only writes the file,
# and the analyze table shows params readable, one column each.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

# 1. --help of every command and data subcommand: usage, one example, exit codes
cmds=$("$QTUNE" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}')
[ -n "$cmds" ] && ok "commands listed" || bad "no commands in qtune --help"
for c in $cmds; do
  check_exit "$c --help" 0 "$QTUNE" $c --help
  contains "$c: usage" "$TMP/out" "usage: qtune $c"
  contains "$c: example" "$TMP/out" "Example:"
  check "$c: example line runs qtune $c" grep -qE "^  qtune $c( |$)" "$TMP/out"
  contains "$c: exit codes" "$TMP/out" "Exit status: 0"
  contains "$c: exit 2" "$TMP/out" "2 error"
done
subs=$("$QTUNE" data --help | awk '/^Example:/{exit} /^  [a-z]+ /{print $1}')
[ "$(echo $subs)" = "import info verify synth resample download" ] && ok "data subcommands" || bad "data subs: $subs"
for s in $subs; do
  check_exit "data $s --help" 0 "$QTUNE" data $s --help
  contains "data $s: example" "$TMP/out" "Example:"
  check "data $s: example line" grep -qE "^  qtune data $s " "$TMP/out"
  contains "data $s: exit codes" "$TMP/out" "Exit status: 0"
done
check_exit "qtune --help" 0 "$QTUNE" --help
contains "main: example" "$TMP/out" "Example:"
contains "main: exit codes" "$TMP/out" "Exit status: 0 ok, 1 findings"
# every subcommand the data summary names must exist
line=$(grep -E '^  data ' "$TMP/out")
for w in import verify resample synth info list; do
  if echo "$line" | grep -qw "$w"; then
    check_exit "summary names '$w': it exists" 0 "$QTUNE" data $w --help
  fi
done
check_exit "no data list" 2 "$QTUNE" data list
"$QTUNE" --help | grep -E '^  data ' | grep -qw list && bad "qtune --help names data list" || ok "qtune --help: no data list"

# 2. a study with an int, a stepped float, a continuous float and a label
cat >space.yaml <<'EOT'
n: {type: int, low: 1, high: 10}
r: {type: float, low: 0, high: 1, step: 0.05}
x: {type: float, low: -2, high: 3}
mode: {type: categorical, choices: [a, b]}
EOT
cat >obj.sh <<'EOT'
#!/bin/sh
awk '{
  match($0, /"x":[-0-9.eE+]+/); x = substr($0, RSTART+4, RLENGTH-4) + 0
  match($0, /"n":[-0-9]+/); n = substr($0, RSTART+4, RLENGTH-4) + 0
  v = (x-1)*(x-1) + 0.1*(n-4)*(n-4)
  printf "{\"loss\": %.10g, \"sharpe\": %.10g, \"trades\": %d}\n", v, 2-v, 100-n
}'
EOT
chmod +x obj.sh
DB="sqlite:///$TMP/q.db"
check_exit "optimize --best-out" 0 "$QTUNE" optimize --objective-cmd ./obj.sh --space space.yaml \
  --objective loss --direction minimize --trials 12 --jobs 1 --seed 3 --study-name c \
  --storage "$DB" --quiet --best-out opt.yaml

# best: --best-out (the spelling of optimize), -o kept as an alias
check_exit "best --best-out" 0 "$QTUNE" best --study-name c --storage "$DB" --best-out b1.yaml
contains "best names the file" "$TMP/out" "best parameters: b1.yaml"
check_exit "best -o" 0 "$QTUNE" best --study-name c --storage "$DB" -o b2.yaml
check "-o writes the same file" cmp -s b1.yaml b2.yaml
check "same params as optimize's" cmp -s <(grep -v '^#' opt.yaml) <(grep -v '^#' b1.yaml)
check "best's summary shows params readable, not JSON" bash -c "! grep -q '{\"' '$TMP/out'"
contains "best's summary: one line per param" "$TMP/out" "    mode "
check_exit "best --help" 0 "$QTUNE" best --help
contains "best help: --best-out" "$TMP/out" "--best-out FILE"

# best --json: one JSON object of params, score, metrics (stdout is only JSON)
check_exit "best --json" 0 "$QTUNE" best --study-name c --storage "$DB" --json --best-out b3.yaml
cp "$TMP/out" best.json
check "best --json is the best trial" python3 - best.json b1.yaml <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["study"] == "c" and d["objective"] == "loss" and d["direction"] == "minimize", d
assert d["feasible"] is True and isinstance(d["score"], float)
assert abs(d["metrics"]["loss"] - d["score"]) < 1e-12, d
assert d["metrics"]["loss"] == d["score"]
yaml = dict(l.split(": ", 1) for l in open(sys.argv[2]).read().splitlines() if not l.startswith("#"))
assert set(yaml) == {"n", "r", "x", "mode"} == set(d["params"]), (yaml, d["params"])
assert int(yaml["n"]) == d["params"]["n"] and float(yaml["x"]) == d["params"]["x"]
assert yaml["mode"].strip('"') == d["params"]["mode"]
EOP
check "--json still writes the params file" test -s b3.yaml

# analyze --export-csv: writes the file, says where, prints no table
check_exit "analyze --export-csv" 0 "$QTUNE" analyze --study-name c --storage "$DB" --export-csv c.csv
contains "says where" "$TMP/out" "wrote c.csv (12 trials of study c)"
check "only that line" test "$(wc -l <"$TMP/out")" -eq 1
check "csv has 12 rows" test "$(tail -n +2 c.csv | wc -l)" -eq 12
check_exit "--export-csv with --json" 2 "$QTUNE" analyze --study-name c --storage "$DB" \
  --export-csv c2.csv --json
contains "says why" "$TMP/err" "give one"
# the best of the CSV is the trial best --json names
best_csv=$(tail -n +2 c.csv | awk -F, '$2=="complete"' | sort -t, -k3,3g | head -1 | cut -d, -f1)
check "best trial = min loss of the CSV" test "$best_csv" = "$(python3 -c 'import json; print(json.load(open("best.json"))["trial"])')"

# analyze table: one column per param, readable values
check_exit "analyze table" 0 "$QTUNE" analyze --study-name c --storage "$DB" --top-n 12
head=$(grep -E '^rank ' "$TMP/out")
check "header has a column per param" bash -c "echo '$head' | grep -qE ' n +r +x +mode$'"
check "no JSON params in the table" bash -c "! grep -q '{\"' '$TMP/out'"
awk '/^ +[0-9]+ +[0-9]+ /' "$TMP/out" >rows.txt
check "12 rows" test "$(wc -l <rows.txt)" -eq 12
# n an integer, r (step 0.05) to 2 decimals, x (continuous) at most 6
# significant digits, mode its label: the last 4 columns
check "params readable" python3 - rows.txt <<'EOP'
import re, sys
for line in open(sys.argv[1]):
    n, r, x, mode = line.split()[-4:]
    assert re.fullmatch(r"\d+", n), line
    assert re.fullmatch(r"\d\.\d{2}", r), line
    sig = re.sub(r"^-?0?\.?0*", "", x).replace(".", "")
    assert 1 <= len(sig) <= 6 and "e" not in x, (x, line)
    assert mode in ("a", "b"), line
EOP
finish
