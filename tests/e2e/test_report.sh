#!/usr/bin/env bash
# qtune report end to end: a real 40-trial study (the fake_strategy benchmark
# objective, with constraints so some trials violate them) written as
# Markdown and as HTML, the HTML opened in Debian's headless Chromium
# (tests/browser/inspect_page.js): no console errors, every chart drawn, the
# numbers on the page equal the storage's and `qtune best`'s, nothing fetched,
# down-sampling announced, and a study named </script><script>alert(1)</script> shown
# as text.  Screenshots go to build-test/report-screens/.
source "$(dirname "$0")/lib.sh"
SHOTS=$QT_ROOT/${BT:-build-test}/report-screens
mkdir -p "$SHOTS"
INSPECT=$QT_ROOT/tests/browser/inspect_page.js
cd "$TMP"
DBF=$TMP/r.db
DB="sqlite:///$DBF"
cat >space.yaml <<'EOS'
x: {type: float, low: -2, high: 3}
y: {type: float, low: -2, high: 3}
z: {type: int, low: 0, high: 5}
EOS
check_exit "optimize a study" 0 "$QTUNE" optimize --function fake_strategy --space space.yaml \
  --study-name rep --storage "$DB" --trials 40 --jobs 1 --seed 7 --quiet \
  --constraints 'sharpe>=1.0,trades>=50'
# a JSON field of the inspector's output: jget FILE 'expr on o'
# ("(missing)" when the page did not report it)
jget() { node -e 'let v; try { const o=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  v=(new Function("o","return ("+process.argv[2]+")"))(o); } catch (e) { v=undefined; }
  console.log(v===undefined ? "(missing)" : typeof v==="object" ? JSON.stringify(v) : v)' "$1" "$2"; }
# same NAME GOT WANT
same() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: page '$2', want '$3'"; fi; }

# ---- errors: exit 2, naming what is wrong ----
check_exit "no study name" 2 "$QTUNE" report --storage "$DB" --format md -o x.md
contains "names the flag" "$TMP/err" "--study-name is required"
check_exit "bad format" 2 "$QTUNE" report --study-name rep --storage "$DB" --format pdf -o x.pdf
contains "names the format" "$TMP/err" "--format 'pdf': expected md or html"
check_exit "unknown study" 2 "$QTUNE" report --study-name nope --storage "$DB" --format md -o x.md
check "no file for a failed report" test ! -e x.md

# ---- Markdown ----
check_exit "md report" 0 "$QTUNE" report --study-name rep --storage "$DB" --format md -o rep.md
n_db=$(sqlite3 "$DBF" "select count(*) from trials t join studies s on s.id=t.study_id where s.name='rep'")
n_bad=$(sqlite3 "$DBF" "select count(*) from trials t join studies s on s.id=t.study_id where s.name='rep' and t.constraint_ok=0")
contains "md: total trials" rep.md "| total | $n_db |"
contains "md: one column per param" rep.md "| rank | trial | score | feasible | x | y | z |"
contains "md: constraints" rep.md "| constraints | sharpe >= 1, trades >= 50 |"
contains "md: sampler" rep.md "| sampler | tpe |"
contains "md: seed" rep.md "| seed | 7 |"
contains "md: violations" rep.md "$n_bad of $n_db complete trials violated at least one constraint."
"$QTUNE" best --study-name rep --storage "$DB" -o best.yaml >best.txt
best_no=$(sed -n 's/^best trial: #\([0-9]*\)$/\1/p' best.txt)
best_val=$(awk '$1 == "score" {print $2}' best.txt)
contains "md: rank 1 is the best trial" rep.md "| 1 | $best_no | $best_val | yes |"
if grep -q '{"x"' rep.md; then bad "md: params as JSON"; else ok "md: params not JSON"; fi
check "no temp file left" bash -c '[ "$(ls -A "$0" | grep -c tmp)" = 0 ]' "$TMP"

# ---- HTML in the browser ----
check_exit "html report" 0 "$QTUNE" report --study-name rep --storage "$DB" --format html -o rep.html
if grep -qiE '<script[^>]+src=|<link[^>]+href=' rep.html; then bad "html: external script or link"; else ok "html: no external script or link"; fi
ids=qt-n-trials,qt-best-value,qt-best-number,qt-study-name,qt-sampling-note,qt-violations-note,qt-parallel-note
if node "$INSPECT" rep.html --screenshot "$SHOTS/study.png" --text "$ids" >page.json 2>page.err; then
  ok "browser opened the page"
else
  bad "browser: $(tail -3 page.err)"; echo '{}' >page.json
fi
same "page ready" "$(jget page.json o.ready)" true
same "no console errors" "$(jget page.json 'o.console_errors.length+o.page_errors.length')" 0
same "nothing fetched" "$(jget page.json o.external_requests.length)" 0
# history, importance, 3 slices, heatmap, parallel, violations
same "charts on the page" "$(jget page.json o.charts.length)" 8
same "every chart drawn" "$(jget page.json 'o.charts.filter(c => c.svg && c.elements > 10 && c.width > 100 && c.height > 100).length')" 8
same "slice per param" "$(jget page.json 'o.charts.filter(c => /^qt-chart-slice-/.test(c.id)).length')" 3
same "trial count = storage" "$(jget page.json 'o.text["qt-n-trials"]')" "$n_db"
same "best trial = qtune best" "$(jget page.json 'o.text["qt-best-number"]')" "$best_no"
same "best score = qtune best" "$(jget page.json 'o.text["qt-best-value"]')" "$best_val"
same "violations = storage" "$(jget page.json 'o.text["qt-violations-note"].split(" ")[0]')" "$n_bad"
same "top-10 rows" "$(jget page.json o.top_rows)" 10
# the trials the charts show are feasible ones here: each gets its line
n_ok=$(sqlite3 "$DBF" "select count(*) from trials t join studies s on s.id=t.study_id where s.name='rep' and t.state='complete' and t.constraint_ok=1")
same "parallel coordinates: every line" "$(jget page.json 'o.text["qt-parallel-note"]')" "All $n_ok trials above drawn."

# ---- a large history is down-sampled and the page says so ----
check_exit "html, 10 points" 0 "$QTUNE" report --study-name rep --storage "$DB" --format html \
  --max-points 10 -o small.html
node "$INSPECT" small.html --screenshot "$SHOTS/downsampled.png" --text qt-sampling-note,qt-parallel-note >small.json 2>small.err || echo '{}' >small.json
contains_note=$(jget small.json '/^Down-sampled for display: the charts show \d+ of 40 complete trials/.test(o.text["qt-sampling-note"])')
same "down-sampling announced" "$contains_note" true
# a quarter of --max-points (3) lines: every stride-th of the shown trials, and the best
same "parallel coordinates: down-sampling announced" \
  "$(jget small.json '/^Down-sampled for display: [1-4] of the \d+ trials above drawn \(every [2-9]\d*-th, and the best\)/.test(o.text["qt-parallel-note"])')" true
same "down-sampled page has no errors" "$(jget small.json 'o.console_errors.length+o.page_errors.length')" 0

# ---- escaping: the name is text, not markup or script ----
# the brief's <script>alert(1)</script>, after a </script> that would end the data element
evil='</script><script>alert(1)</script>'
check_exit "optimize the evil-named study" 0 "$QTUNE" optimize --function fake_strategy --space space.yaml \
  --study-name "$evil" --storage "$DB" --trials 8 --jobs 1 --quiet --best-out evil_best.yaml
check_exit "html of it" 0 "$QTUNE" report --study-name "$evil" --storage "$DB" --format html -o evil.html
check_exit "md of it" 0 "$QTUNE" report --study-name "$evil" --storage "$DB" --format md -o evil.md
node "$INSPECT" evil.html --screenshot "$SHOTS/escaping.png" --text qt-study-name >evil.json 2>/dev/null || echo '{}' >evil.json
same "no alert ran" "$(jget evil.json 'o.dialogs.length')" 0
same "name shown as text" "$(jget evil.json 'o.text["qt-study-name"]')" "$evil"
same "no script added" "$(jget evil.json o.scripts)" 3
same "escaped page has no errors" "$(jget evil.json 'o.console_errors.length+o.page_errors.length')" 0
finish
