#!/usr/bin/env bash
# qtune dashboard end to end: a real server on a free loopback port over a
# SQLite storage with two studies (one named <script>alert(1)</script>).
# With curl: every page refuses a request without the token (401), a wrong
# token or a big body; the token URL signs in (cookie, redirect without the
# token); POSTs without the session's CSRF token, with a wrong one or from
# another origin are refused.  In Debian's headless Chromium
# (tests/browser/dash_session.js): every page the dashboard serves loads with
# no console errors and its charts drawn, shows the storage's numbers,
# refuses a browser without the token, keeps the evil name as text, refuses
# POSTs without CSRF, and shows what the CLI writes while it is open (more
# trials of a study, a new study).  The same server over PostgreSQL
# (QTUNE_PG_URL, from tests/run.sh) shows a study and its new trials.
# Screenshots: build-test/dashboard-screens/.
source "$(dirname "$0")/lib.sh"
SHOTS=$QT_ROOT/${BT:-build-test}/dashboard-screens
mkdir -p "$SHOTS"
DRIVER=$QT_ROOT/tests/browser/dash_session.js
cd "$TMP"
DBF=$TMP/d.db
DB="sqlite:///$DBF"
cat >space.yaml <<'EOS'
x: {type: float, low: -2, high: 3}
y: {type: float, low: -2, high: 3}
EOS
evil='<script>alert(1)</script>'
check_exit "optimize a study" 0 "$QTUNE" optimize --function fake_strategy --space space.yaml \
  --study-name rep --storage "$DB" --trials 20 --jobs 1 --seed 7 --quiet --best-out rep_best.yaml \
  --constraints "sharpe>=1.0,trades>=50"
check_exit "optimize the evil-named study" 0 "$QTUNE" optimize --function fake_strategy \
  --space space.yaml --study-name "$evil" --storage "$DB" --trials 4 --jobs 1 --quiet \
  --best-out evil_best.yaml

# ---- refused at start ----
check_exit "no such database" 2 "$QTUNE" dashboard --storage "sqlite:///$TMP/none.db" --port 0
contains "names the file" "$TMP/err" "none.db: no such database"
check "no database created" test ! -e "$TMP/none.db"
check_exit "bad address" 2 "$QTUNE" dashboard --storage "$DB" --bind localhost.example --port 0
contains "names the address" "$TMP/err" "--bind 'localhost.example': not a numeric IPv4 or IPv6 address"
check_exit "bad port" 2 "$QTUNE" dashboard --storage "$DB" --port 70000
contains "names the port" "$TMP/err" "--port: expected 0..65535 (got 70000)"

# ---- the server ----
"$QTUNE" dashboard --storage "$DB" --port 0 --poll-ms 300 >dash.out 2>dash.err &
DPID=$!
trap 'kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; rm -rf "$TMP"' EXIT
URL=
for _ in $(seq 1 600); do # waits for the first line, bounded (not a speed check)
  URL=$(sed -n 's/^dashboard: //p' dash.out)
  [ -n "$URL" ] && break
  kill -0 "$DPID" 2>/dev/null || break
  sleep 0.1
done
if [[ $URL =~ ^http://127\.0\.0\.1:([0-9]+)/\?token=([0-9a-f]{64})$ ]]; then
  ok "prints a loopback URL with a 64-hex token"
else
  bad "URL line: '$URL' ($(cat dash.err))"
fi
PORT=${BASH_REMATCH[1]:-0}
TOK=${BASH_REMATCH[2]:-none}
BASE=http://127.0.0.1:$PORT
if command -v ss >/dev/null; then
  if ss -ltnH "sport = :$PORT" | awk '{print $4}' | grep -qx "127.0.0.1:$PORT"; then
    ok "listens on 127.0.0.1 only"
  else
    bad "listening sockets: $(ss -ltnH "sport = :$PORT")"
  fi
fi
check_exit "a second server on the same port" 2 "$QTUNE" dashboard --storage "$DB" --port "$PORT"
contains "says the port is taken" "$TMP/err" "cannot listen on 127.0.0.1 port $PORT"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
same() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: got '$2', want '$3'"; fi; }

# ---- the token ----
evil_q=$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$evil")
pages=(/ /api/studies "/study?name=rep" "/api/study?name=rep" "/trial?study=rep&number=0"
       "/compare?a=rep&b=$evil_q" /assets/echarts.min.js /assets/report.js /assets/dash.js)
for p in "${pages[@]}"; do
  same "no token: 401 on $p" "$(code "$BASE$p")" 401
done
same "no token: 401 on POST /logout" "$(code -X POST "$BASE/logout")" 401
same "wrong token: 401" "$(code "$BASE/?token=$(printf '0%.0s' $(seq 64))")" 401
same "short token: 401" "$(code "$BASE/?token=abc")" 401
same "bearer token: 200" "$(code -H "Authorization: Bearer $TOK" "$BASE/api/studies")" 200
curl -s -D hdr.txt -o /dev/null -c jar "$BASE/study?name=rep&token=$TOK"
contains "token URL redirects without the token" hdr.txt "Location: /study?name=rep"
contains "sets an HttpOnly SameSite=Strict cookie" hdr.txt "; Path=/; HttpOnly; SameSite=Strict"
contains "content security policy" hdr.txt "Content-Security-Policy: default-src 'none'; script-src 'self'"
contains "nosniff" hdr.txt "X-Content-Type-Options: nosniff"
for p in "${pages[@]}"; do
  same "cookie: 200 on $p" "$(code -b jar "$BASE$p")" 200
done
same "unknown page: 404" "$(code -b jar "$BASE/nope")" 404
same "GET on a POST route: 405" "$(code -b jar "$BASE/logout")" 405
same "unknown study: 404" "$(code -b jar "$BASE/study?name=nope")" 404
same "unknown trial: 404" "$(code -b jar "$BASE/trial?study=rep&number=999")" 404

# ---- CSRF and limits (curl) ----
curl -s -b jar -o rep.html "$BASE/study?name=rep"
CSRF=$(sed -n 's/.*<meta name="qt-csrf" content="\([0-9a-f]*\)".*/\1/p' rep.html | head -1)
same "the page carries a 64-hex CSRF token" "${#CSRF}" 64
same "POST without CSRF: 403" "$(code -b jar -X POST "$BASE/logout")" 403
same "POST with a wrong CSRF: 403" "$(code -b jar -X POST -H "X-QT-CSRF: ${CSRF//?/1}" "$BASE/logout")" 403
same "POST with the token but no session: 403" \
  "$(code -X POST -H "Authorization: Bearer $TOK" -H "X-QT-CSRF: $CSRF" "$BASE/logout")" 403
same "POST from another origin: 403" \
  "$(code -b jar -X POST -H "X-QT-CSRF: $CSRF" -H 'Origin: http://evil.example' "$BASE/logout")" 403
head -c 20000 /dev/zero | tr '\0' a >big.txt
same "a 20000-byte body: 413" "$(code -b jar -X POST -H "X-QT-CSRF: $CSRF" --data-binary @big.txt "$BASE/logout")" 413
same "a session survives refused POSTs" "$(code -b jar "$BASE/api/studies")" 200
same "the escaped name in the list" "$(curl -s -b jar "$BASE/" | grep -c '&lt;script&gt;alert(1)&lt;/script&gt;')" 1

# ---- in the browser ----
n_db=$(sqlite3 "$DBF" "select count(*) from trials t join studies s on s.id=t.study_id where s.name='rep'")
# the feasible trials, each a line of the parallel coordinates (before more are added)
n_ok=$(sqlite3 "$DBF" "select count(*) from trials t join studies s on s.id=t.study_id where s.name='rep' and t.state='complete' and t.constraint_ok=1")
"$QTUNE" best --study-name rep --storage "$DB" -o b.yaml >best.txt
best_no=$(sed -n 's/^best trial: #\([0-9]*\)$/\1/p' best.txt)
best_val=$(awk '$1 == "score" {print $2}' best.txt)
# what the CLI writes while the pages are open, as scripts (no quoting in the plan)
cat >more.sh <<EOF
"$QTUNE" optimize --function fake_strategy --space space.yaml --study-name rep --storage "$DB" \\
  --trials 10 --jobs 1 --quiet --best-out more.yaml --constraints 'sharpe>=1.0,trades>=50'
EOF
cat >new.sh <<EOF
"$QTUNE" optimize --function fake_strategy --space space.yaml --study-name live2 --storage "$DB" \\
  --trials 3 --jobs 1 --quiet --best-out new.yaml
EOF
cat >plan.json <<EOF
{"base": "$BASE", "steps": [
 {"visit": "/", "fresh": true},
 {"visit": "/study?name=rep", "fresh": true},
 {"visit": "/trial?study=rep&number=$best_no", "fresh": true},
 {"visit": "/compare", "fresh": true},
 {"visit": "/?token=$TOK", "shot": "$SHOTS/studies.png", "text": ["qt-n-studies"]},
 {"visit": "/study?name=rep", "shot": "$SHOTS/study.png",
  "text": ["qt-n-trials", "qt-best-number", "qt-best-value", "qt-study-name", "qt-parallel-note"]},
 {"visit": "/trial?study=rep&number=$best_no", "shot": "$SHOTS/trial.png",
  "text": ["qt-trial-number", "qt-trial-objective", "qt-trial-state"]},
 {"visit": "/compare?a=rep&b=$evil_q", "shot": "$SHOTS/compare.png"},
 {"visit": "/study?name=$evil_q", "shot": "$SHOTS/escaping.png", "text": ["qt-study-name"]},
 {"post": "/logout", "csrf": "none"},
 {"post": "/logout", "csrf": "wrong"},
 {"post": "/logout", "csrf": "wrong", "how": "form"},
 {"visit": "/study?name=rep", "text": ["qt-n-trials"]},
 {"run": "bash $TMP/more.sh"},
 {"wait_text": {"id": "qt-n-trials", "value": "$((n_db + 10))"}, "shot": "$SHOTS/study-live.png"},
 {"visit": "/", "text": ["qt-n-studies"]},
 {"run": "bash $TMP/new.sh"},
 {"wait_text": {"id": "qt-n-studies", "value": "3"}, "shot": "$SHOTS/studies-live.png"},
 {"post": "/logout", "csrf": "right"},
 {"visit": "/"},
 {"visit": "/?token=$TOK"},
 {"submit": "nav form"},
 {"visit": "/"}
]}
EOF
if node "$DRIVER" plan.json >steps.json 2>steps.err; then ok "browser ran the session"; else bad "browser: $(tail -3 steps.err)"; echo '{"steps":[]}' >steps.json; fi
# s N 'expr on step r': a field of step N's result
s() { node -e 'let v; try { const o=JSON.parse(require("fs").readFileSync("steps.json","utf8"));
  v=(new Function("r","return ("+process.argv[2]+")"))(o.steps[+process.argv[1]]); } catch (e) { v=undefined; }
  console.log(v===undefined ? "(missing)" : typeof v==="object" ? JSON.stringify(v) : v)' "$1" "$2"; }
for i in 0 1 2 3; do same "browser without token: 401 ($(s $i r.step.visit))" "$(s $i r.status)" 401; done
same "token URL: signed in" "$(s 4 r.status)" 200
same "token gone from the address bar" "$(s 4 r.url)" /
same "session cookie flags" "$(s 4 'r.cookie.httpOnly+","+r.cookie.sameSite')" "true,Strict"
same "studies page: both studies" "$(s 4 'r.text["qt-n-studies"]+","+r.rows["qt-studies"]')" "2,2"
for i in 4 5 6 7 8; do
  same "no console errors ($(s $i r.step.visit))" "$(s $i 'r.console_errors.length+r.page_errors.length')" 0
  same "nothing fetched elsewhere ($(s $i r.step.visit))" "$(s $i r.external_requests.length)" 0
  same "no dialog ($(s $i r.step.visit))" "$(s $i r.dialogs.length)" 0
done
# history, importance, 2 slices, heatmap, parallel, violations
same "study page: charts drawn" "$(s 5 'r.charts.filter(c => c.svg && c.elements > 10 && c.width > 100 && c.height > 100).length+"/"+r.charts.length')" 7/7
same "study page: trials = storage" "$(s 5 'r.text["qt-n-trials"]')" "$n_db"
same "study page: best = qtune best" "$(s 5 'r.text["qt-best-number"]+" "+r.text["qt-best-value"]')" "$best_no $best_val"
same "study page: parallel coordinates draw every trial" "$(s 5 'r.text["qt-parallel-note"]')" "All $n_ok trials above drawn."
same "study page: top rows link to trials" "$(s 5 'r.links.filter(h => /^\/trial\?study=rep&number=\d+$/.test(h)).length')" 10
same "trial page: the best trial" "$(s 6 'r.text["qt-trial-number"]+" "+r.text["qt-trial-objective"]+" "+r.text["qt-trial-state"]')" "$best_no $best_val complete"
same "trial page: params table" "$(s 6 'r.rows["qt-trial-params"]')" 2
same "compare page: chart drawn" "$(s 7 'r.charts.filter(c => c.svg && c.elements > 10).length')" 1
same "compare page: both studies" "$(s 7 'r.rows["qt-compare"]')" 2
same "evil name shown as text" "$(s 8 'r.text["qt-study-name"]')" "$evil"
same "evil page: only its own scripts" "$(s 8 r.scripts)" 4
same "POST without CSRF: 403" "$(s 9 r.status)" 403
same "POST with a wrong CSRF header: 403" "$(s 10 r.status)" 403
same "POST with a wrong CSRF field: 403" "$(s 11 r.status)" 403
same "CLI adds 10 trials" "$(s 13 r.exit)" 0
same "live: the open study page shows them" "$(s 14 r.text)" "$((n_db + 10))"
same "live: its charts redrawn" "$(s 14 'r.charts.filter(c => c.svg && c.elements > 10).length')" 7
same "CLI creates a study" "$(s 16 r.exit)" 0
same "live: the open studies page shows it" "$(s 17 'r.text+","+r.rows["qt-studies"]')" "3,3"
same "POST with the right CSRF: 200" "$(s 18 r.status)" 200
same "after log-out: 401" "$(s 19 r.status)" 401
same "sign in again" "$(s 20 r.status)" 200
same "log-out form (CSRF field): 200" "$(s 21 r.status)" 200
same "after the form: 401" "$(s 22 r.status)" 401

# ---- a running study shows as running, then idle ----
# the objective is a command that waits for a file, so the trial is running
# for as long as the test needs (no sleep sets the pace)
cat >slow.sh <<EOF
while [ ! -e "$TMP/go" ]; do sleep 0.1; done
echo '{"sharpe": 1.5}'
EOF
"$QTUNE" optimize --objective-cmd "bash $TMP/slow.sh" --space space.yaml --objective sharpe \
  --study-name slow --storage "$DB" --trials 1 --jobs 1 --quiet --best-out slow.yaml >slow.out 2>&1 &
SPID=$!
state() { curl -s -b jar "$BASE/api/studies" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
  try { const r=JSON.parse(s).studies.find(x=>x.name==="slow"); console.log(r ? r.cells[9] : "absent") } catch (e) { console.log("?") } })'; }
st=
for _ in $(seq 1 300); do st=$(state); [ "$st" = running ] && break; sleep 0.2; done # bounded wait
same "a study with a running trial: running" "$st" running
touch "$TMP/go"
wait "$SPID"
same "the slow study finished" "$?" 0
for _ in $(seq 1 300); do st=$(state); [ "$st" = idle ] && break; sleep 0.2; done
same "then idle" "$st" idle

kill -TERM "$DPID"
wait "$DPID"
same "SIGTERM stops it with status 0" "$?" 0
contains "says so" dash.out "dashboard: stopped (SIGTERM)"

# ---- PostgreSQL: the same server over the other backend ----
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
if [ -z "${QTUNE_PG_URL:-}" ]; then
  bad "QTUNE_PG_URL is not set (tests/run.sh starts a server and sets it)"
elif ! psql -q "$QTUNE_PG_URL" -c "CREATE DATABASE qt_dash_$$" >/dev/null 2>pg.err; then
  bad "could not create database qt_dash_$$: $(cat pg.err)"
else
  PG="${QTUNE_PG_URL%/*}/qt_dash_$$"
  pgopt() { "$QTUNE" optimize --function fake_strategy --space space.yaml --study-name pgs \
    --storage "$PG" --jobs 1 --quiet --best-out pg_best.yaml "$@"; }
  check_exit "optimize on PostgreSQL" 0 pgopt --trials 5
  "$QTUNE" dashboard --storage "$PG" --port 0 --poll-ms 300 >pgdash.out 2>pgdash.err &
  PGPID=$!
  trap 'kill "$PGPID" 2>/dev/null; wait "$PGPID" 2>/dev/null; psql -q "$QTUNE_PG_URL" -c "DROP DATABASE IF EXISTS qt_dash_$$" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
  PURL=$(wait_url pgdash.out "$PGPID")
  PBASE=${PURL%%/\?token=*}
  PTOK=${PURL##*token=}
  same "PostgreSQL: serves" "$(code -H "Authorization: Bearer $PTOK" "$PBASE/")" 200
  same "PostgreSQL: no token, 401" "$(code "$PBASE/api/studies")" 401
  ntr() { curl -s -H "Authorization: Bearer $PTOK" "$PBASE/api/study?name=pgs" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).n_trials)}catch(e){console.log("?")}})'; }
  same "PostgreSQL: the study's trials" "$(ntr)" 5
  check_exit "PostgreSQL: 3 more trials" 0 pgopt --trials 3
  got=
  for _ in $(seq 1 100); do # the 1 s answer cache expires; bounded, not a speed check
    got=$(ntr); [ "$got" = 8 ] && break; sleep 0.2
  done
  same "PostgreSQL: the new trials show" "$got" 8
  kill -TERM "$PGPID"
  wait "$PGPID"
  same "PostgreSQL: SIGTERM stops it" "$?" 0
fi
finish
