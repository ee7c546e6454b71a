#!/usr/bin/env bash
# The dashboard's auto-tuner page end to end, on SQLite and on PostgreSQL
# (QTUNE_PG_URL, from tests/run.sh).  Outcomes of the last day are imported
# and `qtune tune run` logs two pending adjustments; then in Debian's
# headless Chromium (tests/browser/dash_session.js): /tune loads with no
# console errors and shows both with their context, reason and evidence,
# the effective params and the 7-day outcome summary; a POST without the
# CSRF token is refused and changes nothing; an Approve click approves
# adjustment 1 (checked with `qtune tune review --json`), a second approve
# of it is refused with who approved it; while the page is open another
# reviewer reverts adjustment 2 with the CLI, and the page's stale Approve
# button then shows that refusal.  Screenshots: build-test/dashboard-screens/.
source "$(dirname "$0")/lib.sh"
SHOTS=$QT_ROOT/${BT:-build-test}/dashboard-screens
mkdir -p "$SHOTS"
DRIVER=$QT_ROOT/tests/browser/dash_session.js
export QTUNE_TELEGRAM_TOKEN= QTUNE_WEBHOOK_URL= QTUNE_TUNE_CONFIG=
cd "$TMP"; [ -n "${KEEP:-}" ] && trap - EXIT && echo "TMP=$TMP"

# outcomes of the last day (the page and `tune run` both look at the 7 days
# before now): strategy n wins win_pnl loss_pnl last_loss_pnl offset_min.
# They match the design's example report: 2 adjustments.
BASE=$(( ($(date +%s) - 86400) / 60 * 60000 ))
rows() {
  awk -v s="$1" -v n="$2" -v w="$3" -v wp="$4" -v lp="$5" -v last="$6" -v base="$BASE" -v off="$7" '
    BEGIN { for (k = 0; k < n; k++) {
      t = base + (off + k) * 60000
      pnl = k < w ? wp : (k == n - 1 ? last : lp)
      printf "%s,BTCUSDT,%.0f,long,%.0f,100,,,%s,%s,closed\n", s, t, t, pnl, (pnl > 0 ? 0.5 : -0.5)
    } }'
}
{
  echo "strategy,symbol,signal_time,side,entry_time,entry_price,exit_time,exit_price,pnl,pnl_pct,status"
  rows directional_momentum 25 7 10 -12 -11.20 0 # 28.0% WR, -$145.20
  rows grid_trading 12 7 15 -3 -3.50 100          # 58.3% WR, +$89.50
  rows funding_arbitrage 3 2 25 0 -7.90 200       # 66.7% WR, +$42.10
} >outcomes.csv

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
same() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: got '$2', want '$3'"; fi; }
# wait_url FILE PID: the URL line the server printed ("" if it died first)
wait_url() {
  local u=
  for _ in $(seq 1 600); do # bounded wait for the first line, not a speed check
    u=$(sed -n 's/^dashboard: //p' "$1")
    [ -n "$u" ] && break
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "$u"
}
# status FILE ID: "status reviewer" of adjustment ID in a `tune review/history --json` file
status_of() { node -e 'try { const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const x = a.find((r) => r.id === +process.argv[2]); console.log(x ? x.status + " " + (x.reviewed_by || "-") : "absent");
  } catch (e) { console.log("unreadable") }' "$1" "$2"; }

# session URL TAG: the whole check over one storage
session() {
  local db=$1 tag=$2 T=(--storage "$1")
  check_exit "$tag: import outcomes" 0 "$QTUNE" outcomes import outcomes.csv "${T[@]}"
  check_exit "$tag: tune run" 0 "$QTUNE" tune run --no-notify "${T[@]}"
  contains "$tag: tune run logs two" "$TMP/out" "2 adjustments logged as PENDING"
  "$QTUNE" dashboard --storage "$db" --port 0 --poll-ms 300 >"dash_$tag.out" 2>"dash_$tag.err" &
  local dpid=$!
  local url base tok
  url=$(wait_url "dash_$tag.out" "$dpid")
  base=${url%%/\?token=*}
  tok=${url##*token=}
  same "$tag: the dashboard serves" "${#tok}" 64

  # ---- curl: the token and the CSRF check on the review route ----
  same "$tag: no token, 401 on /tune" "$(code "$base/tune")" 401
  same "$tag: no token, 401 on POST /tune/review" "$(code -X POST -d 'id=1&action=approve' "$base/tune/review")" 401
  curl -s -o /dev/null -c "jar_$tag" "$base/tune?token=$tok"
  same "$tag: cookie, 200 on /tune" "$(code -b "jar_$tag" "$base/tune")" 200
  same "$tag: GET on the review route, 405" "$(code -b "jar_$tag" "$base/tune/review")" 405
  same "$tag: curl POST without CSRF, 403" \
    "$(code -b "jar_$tag" -X POST -d 'id=1&action=approve&reviewer=mallory' "$base/tune/review")" 403

  # ---- curl with the session's CSRF token: bad fields are refused by name ----
  local csrf
  csrf=$(curl -s -b "jar_$tag" "$base/tune" | sed -n 's/.*<meta name="qt-csrf" content="\([0-9a-f]*\)".*/\1/p' | head -1)
  post() { curl -s -o "post_$tag.html" -w '%{http_code}' -b "jar_$tag" -X POST --data "csrf=$csrf&$1" "$base/tune/review"; }
  same "$tag: id not a number, 400" "$(post 'id=abc&action=approve&reviewer=x')" 400
  contains "$tag: names the id field" "post_$tag.html" "the form needs field &#39;id&#39;"
  same "$tag: no such adjustment, 404" "$(post 'id=99&action=approve&reviewer=x')" 404
  contains "$tag: says it is not there" "post_$tag.html" "refused: no adjustment with id 99"
  same "$tag: unknown action, 400" "$(post 'id=1&action=delete&reviewer=x')" 400
  contains "$tag: names the action field" "post_$tag.html" "field &#39;action&#39; must be approve or revert"
  same "$tag: a 64-byte reviewer, 400" "$(post "id=1&action=approve&reviewer=$(printf 'r%.0s' $(seq 64))")" 400
  contains "$tag: names the reviewer field" "post_$tag.html" "field &#39;reviewer&#39; is over 63 bytes"
  check_exit "$tag: tune review --json" 0 "$QTUNE" tune review --json "${T[@]}"
  same "$tag: refused fields changed nothing" "$(status_of "$TMP/out" 1), $(status_of "$TMP/out" 2)" "pending -, pending -"

  # ---- the browser ----
  local A1="form.qt-approve[data-id='1']" A2="form.qt-approve[data-id='2']"
  cat >"plan_$tag.json" <<EOF
{"base": "$base", "steps": [
 {"visit": "/?token=$tok"},
 {"visit": "/tune", "shot": "$SHOTS/tune-$tag.png",
  "text": ["qt-n-pending", "qt-adj-1-status", "qt-adj-1-change", "qt-adj-1-reason", "qt-adj-1-context",
           "qt-adj-1-evidence", "qt-adj-1-clamped", "qt-adj-2-change", "qt-adj-2-reason",
           "qt-eff-directional_momentum-min_score", "qt-out-0", "qt-out-1", "qt-out-2"]},
 {"post": "/tune/review", "csrf": "none", "body": "id=1&action=approve&reviewer=mallory"},
 {"post": "/tune/review", "csrf": "wrong", "how": "form", "body": "id=1&action=approve&reviewer=mallory"},
 {"run": "'$QTUNE' tune review --json --storage '$db' >'$TMP/after_csrf_$tag.json'"},
 {"fill": "$A1 input[name=reviewer]", "value": "alice"},
 {"click": "$A1 button", "text": ["qt-tune-result"], "shot": "$SHOTS/tune-approved-$tag.png"},
 {"run": "'$QTUNE' tune review --json --storage '$db' >'$TMP/after_click_$tag.json'"},
 {"run": "'$QTUNE' tune history --json --storage '$db' >'$TMP/history1_$tag.json'"},
 {"visit": "/tune", "text": ["qt-n-pending", "qt-hist-1-status", "qt-hist-1-reviewer"]},
 {"post": "/tune/review", "csrf": "right", "how": "form", "body": "id=1&action=approve&reviewer=carol"},
 {"run": "'$QTUNE' tune revert 2 --reviewer bob --storage '$db'"},
 {"fill": "$A2 input[name=reviewer]", "value": "dave"},
 {"click": "$A2 button", "text": ["qt-tune-result"], "shot": "$SHOTS/tune-refused-$tag.png"},
 {"run": "'$QTUNE' tune history --json --storage '$db' >'$TMP/history2_$tag.json'"},
 {"visit": "/tune", "shot": "$SHOTS/tune-history-$tag.png",
  "text": ["qt-n-pending", "qt-hist-1-status", "qt-hist-1-reviewer", "qt-hist-2-status", "qt-hist-2-reviewer"]}
]}
EOF
  if node "$DRIVER" "plan_$tag.json" >"steps_$tag.json" 2>"steps_$tag.err"; then ok "$tag: browser ran the session"
  else bad "$tag: browser: $(tail -3 "steps_$tag.err")"; echo '{"steps":[]}' >"steps_$tag.json"; fi
  s() { node -e 'let v; try { const o=JSON.parse(require("fs").readFileSync(process.argv[3],"utf8"));
    v=(new Function("r","return ("+process.argv[2]+")"))(o.steps[+process.argv[1]]); } catch (e) { v=undefined; }
    console.log(v===undefined ? "(missing)" : typeof v==="object" ? JSON.stringify(v) : v)' "$1" "$2" "steps_$tag.json"; }
  same "$tag: signed in" "$(s 0 r.status)" 200
  same "$tag: /tune loads" "$(s 1 r.status)" 200
  same "$tag: no console errors" "$(s 1 'r.console_errors.length+r.page_errors.length')" 0
  same "$tag: nothing fetched elsewhere, no dialog" "$(s 1 'r.external_requests.length+r.dialogs.length')" 0
  same "$tag: both pending adjustments" "$(s 1 'r.text["qt-n-pending"]+","+r.rows["qt-tune-pending"]')" "2,2"
  same "$tag: adjustment 1 badge" "$(s 1 'r.text["qt-adj-1-status"]')" PENDING
  same "$tag: adjustment 1 change" "$(s 1 'r.text["qt-adj-1-change"]')" "50 -> 55"
  same "$tag: adjustment 1 reason" "$(s 1 'r.text["qt-adj-1-reason"]')" "Win rate 28.0% below threshold 30.0%"
  same "$tag: adjustment 1 context" "$(s 1 'r.text["qt-adj-1-context"]')" \
    "25 signals, 28.0% WR, -\$145.20 total P&L, -0.22% avg P&L"
  same "$tag: adjustment 1 evidence" "$(s 1 'r.text["qt-adj-1-evidence"]')" \
    "no backtest: no market data catalog configured"
  same "$tag: adjustment 1 not clamped" "$(s 1 'r.text["qt-adj-1-clamped"]')" no
  same "$tag: adjustment 2 change (shown in percent)" "$(s 1 'r.text["qt-adj-2-change"]')" "0.01 -> 0.009"
  same "$tag: adjustment 2 reason" "$(s 1 'r.text["qt-adj-2-reason"]')" \
    "Only 3 signals with 66.7% win rate - loosening filters"
  same "$tag: effective min_score before any apply" "$(s 1 'r.text["qt-eff-directional_momentum-min_score"]')" 50
  same "$tag: outcomes of directional_momentum" "$(s 1 'r.text["qt-out-0"]')" \
    "directional_momentum2528.0%-\$145.20-0.22%0.0%"
  same "$tag: outcomes of funding_arbitrage" "$(s 1 'r.text["qt-out-1"]')" \
    "funding_arbitrage366.7%+\$42.100.17%0.0%"
  same "$tag: outcomes of grid_trading" "$(s 1 'r.text["qt-out-2"]')" "grid_trading1258.3%+\$89.500.08%0.0%"
  same "$tag: browser POST without CSRF, 403" "$(s 2 r.status)" 403
  same "$tag: browser POST with a wrong CSRF field, 403" "$(s 3 r.status)" 403
  same "$tag: refused POSTs changed nothing" "$(status_of "after_csrf_$tag.json" 1)" "pending -"
  same "$tag: reviewer typed" "$(s 5 r.value)" alice
  same "$tag: Approve click answers" "$(s 6 r.status)" 200
  same "$tag: Approve click says" "$(s 6 'r.text["qt-tune-result"]')" "adjustment 1 approved by alice"
  same "$tag: no console errors after the click" "$(s 6 'r.console_errors.length+r.page_errors.length')" 0
  same "$tag: tune review --json: 1 is no longer pending" "$(status_of "after_click_$tag.json" 1)" absent
  same "$tag: tune history --json: 1 approved by alice" "$(status_of "history1_$tag.json" 1)" "approved alice"
  same "$tag: the page shows it approved" \
    "$(s 9 'r.text["qt-n-pending"]+" "+r.text["qt-hist-1-status"]+" "+r.text["qt-hist-1-reviewer"]')" \
    "1 APPROVED alice"
  same "$tag: a second approve of 1 is refused" "$(s 10 r.status)" 409
  if [[ "$(s 10 r.body)" == *"refused: adjustment 1 is already approved by alice at "*"nothing changed"* ]]; then
    ok "$tag: the refusal names who approved it"
  else bad "$tag: refusal text: $(s 10 r.body)"; fi
  same "$tag: another reviewer reverts 2 with the CLI" "$(s 11 r.exit)" 0
  same "$tag: the stale Approve of 2 is refused" "$(s 13 r.status)" 409
  if [[ "$(s 13 'r.text["qt-tune-result"]')" == "refused: adjustment 2 is already reverted by bob at "*"; nothing changed" ]]; then
    ok "$tag: the page says bob reverted it"
  else bad "$tag: refusal text: $(s 13 'r.text["qt-tune-result"]')"; fi
  # Chromium logs the 409 of the page itself as a console error; nothing else may be there
  same "$tag: the refusal page: no other console errors" \
    "$(s 13 'r.console_errors.filter(m => !/status of 409/.test(m)).length+r.page_errors.length')" 0
  same "$tag: the refusal page: the 409 logged once" "$(s 13 'r.console_errors.length')" 1
  same "$tag: tune history --json: 1 still alice's, 2 bob's" \
    "$(status_of "history2_$tag.json" 1), $(status_of "history2_$tag.json" 2)" "approved alice, reverted bob"
  same "$tag: the history on the page" \
    "$(s 15 'r.text["qt-n-pending"]+" "+r.text["qt-hist-1-status"]+" "+r.text["qt-hist-1-reviewer"]+" "+r.text["qt-hist-2-status"]+" "+r.text["qt-hist-2-reviewer"]')" \
    "0 APPROVED alice REVERTED bob"
  # applied: the effective params change on the page
  check_exit "$tag: tune apply" 0 "$QTUNE" tune apply "${T[@]}"
  local page
  page=$(curl -s -b "jar_$tag" "$base/tune")
  if [[ "$page" == *'id="qt-eff-directional_momentum-min_score">55<'* ]]; then ok "$tag: effective min_score 55 after apply"
  else bad "$tag: effective min_score after apply"; fi
  if [[ "$page" == *'id="qt-hist-1-status">APPLIED<'* ]]; then ok "$tag: 1 shows APPLIED"
  else bad "$tag: 1 not APPLIED"; fi
  kill -TERM "$dpid"
  wait "$dpid"
  same "$tag: SIGTERM stops the dashboard" "$?" 0
}

# validation URL TAG: a study's page shows its holdout, walk-forward windows
# and gate verdicts as the CLI computed them; a study without any shows no
# validation section.
"$QTUNE" data import --catalog "$TMP/avax" --symbol AVAXUSDT "$FIXTURES"/binance/AVAXUSDT-1m-2026-0*.csv >/dev/null
validation() {
  local db=$1 tag=$2 T=(--storage "$1")
  local M=(--strategy hedge_grid --catalog "$TMP/avax" --symbol AVAXUSDT --jobs 1 --deterministic
           --constraints none "${T[@]}")
  check_exit "$tag: holdout study" 0 "$QTUNE" optimize "${M[@]}" --trials 12 --seed 1 --quiet \
    --study-name g1 --best-out "$TMP/g1_$tag.yaml" --holdout 25%
  check_exit "$tag: plain study" 0 "$QTUNE" optimize "${M[@]}" --trials 3 --seed 2 --quiet \
    --study-name plain --best-out "$TMP/plain_$tag.yaml"
  check_exit "$tag: gate fails with the defaults" 1 "$QTUNE" gate --study-name g1 "${T[@]}"
  check_exit "$tag: walk-forward" 0 "$QTUNE" walk-forward "${M[@]}" --train 2d --test 1d --trials 4 --study-name wf
  "$QTUNE" analyze --study-name g1 "${T[@]}" >"analyze_$tag.txt" 2>&1
  local split best rho sharpe
  split=$(sed -n 's/^holdout: //p' "analyze_$tag.txt")
  best=$(sed -n 's/^best trial \([0-9]*\) in and out of sample:$/\1/p' "analyze_$tag.txt")
  rho=$(sed -n 's/^in\/out rank correlation (Spearman) of the top 10: //p' "analyze_$tag.txt")
  sharpe=$(awk '$1 == "sharpe" && NF == 4 {print $1 $2 $3 $4; exit}' "analyze_$tag.txt")
  "$QTUNE" dashboard --storage "$db" --port 0 --poll-ms 300 >"vdash_$tag.out" 2>"vdash_$tag.err" &
  local dpid=$! url
  url=$(wait_url "vdash_$tag.out" "$dpid")
  cat >"vplan_$tag.json" <<EOF
{"base": "${url%%/\?token=*}", "steps": [
 {"visit": "/?token=${url##*token=}"},
 {"visit": "/study?name=g1", "shot": "$SHOTS/study-validation-$tag.png",
  "text": ["qt-val-split", "qt-val-best", "qt-val-spearman", "qt-val-oos-ok", "qt-val-m-sharpe", "qt-val-stage", "qt-val-verdict"]},
 {"visit": "/study?name=wf%2Fw03", "shot": "$SHOTS/study-walkforward-$tag.png", "text": ["qt-validation"]},
 {"visit": "/study?name=plain", "text": ["qt-validation"]}
]}
EOF
  if node "$DRIVER" "vplan_$tag.json" >"vsteps_$tag.json" 2>"vsteps_$tag.err"; then ok "$tag: browser ran the validation pages"
  else bad "$tag: browser: $(tail -3 "vsteps_$tag.err")"; echo '{"steps":[]}' >"vsteps_$tag.json"; fi
  v() { node -e 'let v; try { const o=JSON.parse(require("fs").readFileSync(process.argv[3],"utf8"));
    v=(new Function("r","return ("+process.argv[2]+")"))(o.steps[+process.argv[1]]); } catch (e) { v=undefined; }
    console.log(v===undefined ? "(missing)" : typeof v==="object" ? JSON.stringify(v) : v)' "$1" "$2" "vsteps_$tag.json"; }
  same "$tag: study page loads" "$(v 1 r.status)" 200
  same "$tag: no console errors" "$(v 1 'r.console_errors.length+r.page_errors.length')" 0
  same "$tag: its charts still drawn" "$(v 1 'r.charts.length > 6 && r.charts.every(c => c.svg && c.elements > 5 && c.width > 100)')" true
  same "$tag: holdout split = qtune analyze" "$(v 1 'r.text["qt-val-split"]')" "$split"
  same "$tag: holdout best trial = qtune analyze" "$(v 1 'r.text["qt-val-best"]')" "$best"
  same "$tag: Spearman = qtune analyze" "$(v 1 'r.text["qt-val-spearman"]')" "$rho"
  same "$tag: best's Sharpe in/out/change = qtune analyze" "$(v 1 'r.text["qt-val-m-sharpe"]')" "$sharpe"
  same "$tag: top trials of the holdout" "$(v 1 'r.rows["qt-val-holdout-top"]')" 10
  same "$tag: the gate verdict" "$(v 1 'r.text["qt-val-verdict"]+" "+r.text["qt-val-stage"]')" "FAIL backtest"
  same "$tag: the gate's checks" "$(v 1 'r.rows["qt-val-checks"]')" 6
  same "$tag: a window study lists the 6 windows" "$(v 2 'r.rows["qt-val-windows"]')" 6
  same "$tag: window page: no console errors" "$(v 2 'r.console_errors.length+r.page_errors.length')" 0
  same "$tag: a study without validation: no section" "$(v 3 'r.text["qt-validation"]')" null
  kill -TERM "$dpid"
  wait "$dpid"
}

session "sqlite:///$TMP/t.db" sqlite
validation "sqlite:///$TMP/t.db" sqlite
if [ -z "${QTUNE_PG_URL:-}" ]; then
  bad "QTUNE_PG_URL is not set (tests/run.sh starts a server and sets it)"
elif ! psql -q "$QTUNE_PG_URL" -c "CREATE DATABASE qt_dtune_$$" >/dev/null 2>pg.err; then
  bad "could not create database qt_dtune_$$: $(cat pg.err)"
else
  trap 'psql -q "$QTUNE_PG_URL" -c "DROP DATABASE IF EXISTS qt_dtune_$$" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
  session "${QTUNE_PG_URL%/*}/qt_dtune_$$" pg
  validation "${QTUNE_PG_URL%/*}/qt_dtune_$$" pg
fi
finish
