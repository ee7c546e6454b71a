#!/usr/bin/env bash
# Studies that survive: SIGTERM/SIGHUP stop a run resumably, cleanup follows
# the study's direction and never frees trial numbers, output files that are
# symlinks or FIFOs are not replaced by a regular file, and a study name
# cannot write outside the folder or add keys to the best-params YAML.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
DB="sqlite:///$TMP/r.db"
cat >space.yaml <<'YAML'
x: {type: float, low: -2, high: 3}
YAML
cat >loss.sh <<'SH'
#!/bin/sh
# params JSON on stdin -> loss = x (minimize: the best trials have low x)
awk '{ if (match($0, /"x": *-?[0-9.eE+-]+/)) { v = substr($0, RSTART, RLENGTH); sub(/"x": */, "", v); printf "{\"loss\": %s}\n", v } }'
SH
chmod +x loss.sh
# the number of trials of study $1 in state $2
count() { sqlite3 "$TMP/r.db" "SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = '$1' AND t.state = '$2'"; }

# ---- SIGTERM and SIGHUP: running trials finish, exit 128+sig, resumable ----
# (--preserve-status: timeout passes on qtune's own status, not its 124)
for sig in TERM HUP; do
  timeout --preserve-status -s $sig 2 "$QTUNE" optimize --objective-cmd 'sleep 1.5; echo "{\"loss\": 1}"' \
    --space space.yaml --objective loss --direction minimize --trials 1000 --jobs 2 \
    --study-name sig$sig --storage "$DB" --quiet >sig$sig.out 2>sig$sig.err
  rc=$?
  want=$([ $sig = TERM ] && echo 143 || echo 129)
  [ $rc = "$want" ] && ok "SIG$sig: exit $want" || { bad "SIG$sig: exit $rc, want $want"; tail -3 sig$sig.err; }
  contains "SIG$sig: said so" sig$sig.err "SIG$sig: finishing the running trials"
  run=$(count sig$sig running)
  [ "$run" = 0 ] && ok "SIG$sig: no trial left running" || bad "SIG$sig: $run trials left running"
  done_n=$(count sig$sig complete)
  [ "$done_n" -ge 1 ] && ok "SIG$sig: the running trials finished ($done_n)" || bad "SIG$sig: none complete"
  check_exit "SIG$sig: resume completes" 0 "$QTUNE" optimize --objective-cmd 'echo "{\"loss\": 1}"' \
    --space space.yaml --objective loss --direction minimize --trials 2 --jobs 1 \
    --study-name sig$sig --storage "$DB" --quiet --best-out sig$sig.yaml
  contains "SIG$sig: resumed" "$TMP/out" "resumed"
done

# ---- one stop delivered twice (timeout signals the process, then its group) ----
# waits until study $1 has a running trial (the run is past its set-up)
wait_running() { for _ in $(seq 1 200); do [ "$(count "$1" running 2>/dev/null)" -ge 1 ] 2>/dev/null && return 0; sleep 0.1; done; return 1; }
"$QTUNE" optimize --objective-cmd 'sleep 1.5; echo "{\"loss\": 1}"' --space space.yaml \
  --objective loss --direction minimize --trials 1000 --jobs 2 --study-name twice \
  --storage "$DB" --quiet >twice.out 2>twice.err &
pid=$!
wait_running twice || bad "twice: no trial started"
kill -TERM $pid; sleep 0.2; kill -TERM $pid
wait $pid; rc=$?
[ $rc = 143 ] && ok "SIGTERM twice within a second: exit 143" || bad "SIGTERM twice: exit $rc"
run=$(count twice running)
[ "$run" = 0 ] && ok "SIGTERM twice within a second: the trials finished" || bad "SIGTERM twice: $run trials left running"
# a second signal a second or more later aborts (the trials are left to the lease sweep)
"$QTUNE" optimize --objective-cmd 'sleep 6; echo "{\"loss\": 1}"' --space space.yaml \
  --objective loss --direction minimize --trials 1000 --jobs 2 --study-name abort2 \
  --storage "$DB" --quiet >abort2.out 2>abort2.err &
pid=$!
wait_running abort2 || bad "abort2: no trial started"
kill -TERM $pid; sleep 1.3; kill -TERM $pid
wait $pid; rc=$?
run=$(count abort2 running)
[ $rc = 143 ] && [ "$run" -ge 1 ] && ok "a second SIGTERM after a second aborts ($run left running)" \
  || bad "second SIGTERM: exit $rc, $run running"

# ---- cleanup follows the direction; numbers never reused ----
check_exit "minimize study" 0 "$QTUNE" optimize --objective-cmd ./loss.sh --space space.yaml \
  --objective loss --direction minimize --trials 10 --jobs 1 --seed 3 --study-name cmin \
  --storage "$DB" --quiet --best-out cmin.yaml
best_before=$(sqlite3 "$TMP/r.db" "SELECT min(score) FROM trials WHERE state = 'complete'
  AND study_id = (SELECT id FROM studies WHERE name = 'cmin')")
check_exit "--min-score on a minimize study is refused" 2 "$QTUNE" cleanup --study-name cmin \
  --storage "$DB" --min-score 0.5
contains "refusal names the way" "$TMP/err" "use --worse-than 0.5 (deletes scores above 0.5)"
check_exit "cleanup --worse-than" 0 "$QTUNE" cleanup --study-name cmin --storage "$DB" --worse-than 0.5
contains "cleanup says which end" "$TMP/out" "(minimize)"
contains "cleanup: above" "$TMP/out" "score above 0.5 (the worse end)"
left_max=$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM trials WHERE score > 0.5
  AND study_id = (SELECT id FROM studies WHERE name = 'cmin')")
best_after=$(sqlite3 "$TMP/r.db" "SELECT min(score) FROM trials WHERE state = 'complete'
  AND study_id = (SELECT id FROM studies WHERE name = 'cmin')")
[ "$left_max" = 0 ] && ok "no trial worse than 0.5 left" || bad "$left_max trials above 0.5 left"
[ "$best_after" = "$best_before" ] && ok "the best trial kept ($best_after)" || bad "best was $best_before, now $best_after"
"$QTUNE" cleanup --study-name cmin --storage "$DB" --worse-than -10 >/dev/null # keep them all
check_exit "resume after cleanup" 0 "$QTUNE" optimize --objective-cmd ./loss.sh --space space.yaml \
  --objective loss --direction minimize --trials 3 --jobs 1 --seed 3 --study-name cmin \
  --storage "$DB" --quiet --best-out cmin.yaml
nums=$(sqlite3 "$TMP/r.db" "SELECT group_concat(number) FROM (SELECT number FROM trials
  WHERE study_id = (SELECT id FROM studies WHERE name = 'cmin') AND number >= 10 ORDER BY number)")
[ "$nums" = "10,11,12" ] && ok "new trials numbered after the old ones: $nums" || bad "new numbers: $nums"
dups=$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM (SELECT params_json FROM trials WHERE study_id =
  (SELECT id FROM studies WHERE name = 'cmin') GROUP BY params_json HAVING count(*) > 1)")
[ "$dups" = 0 ] && ok "no replayed proposals" || bad "$dups params replayed"

# ---- --best-out to a symlink and to a FIFO ----
echo old >real.yaml
ln -s real.yaml link.yaml
check_exit "best-out to a symlink" 0 "$QTUNE" optimize --objective-cmd ./loss.sh --space space.yaml \
  --objective loss --direction minimize --trials 2 --jobs 1 --study-name links --storage "$DB" \
  --quiet --best-out link.yaml
[ -L link.yaml ] && ok "the link stays a link" || bad "link.yaml replaced by a file"
contains "the target got the params" real.yaml "x: "
mkfifo pipe.yaml
cat pipe.yaml >from_fifo.txt &
reader=$!
check_exit "best-out to a FIFO" 0 "$QTUNE" optimize --objective-cmd ./loss.sh --space space.yaml \
  --objective loss --direction minimize --trials 2 --jobs 1 --study-name fifo --storage "$DB" \
  --quiet --best-out pipe.yaml
# the reader must end whatever qtune did: still a FIFO, a read-write open
# (which never blocks) gives it a writer and then EOF; a FIFO renamed away
# leaves it blocked on the lost one, so it is ended
if [ -p pipe.yaml ]; then exec 3<>pipe.yaml; exec 3>&-; ok "the FIFO stays a FIFO"
else kill $reader 2>/dev/null; bad "pipe.yaml replaced by a file"; fi
wait $reader 2>/dev/null
contains "the reader got the params" from_fifo.txt "x: "
ls pipe.yaml.tmp.* real.yaml.tmp.* >/dev/null 2>&1 && bad "temp files left" || ok "no temp files left"

# ---- a study name cannot escape the folder or inject keys ----
mkdir -p work/a/b && cd work/a/b || exit 1
name=$'../../evil\nfast: 999'
check_exit "study named with ../ and a newline" 0 "$QTUNE" optimize --objective-cmd ../../../loss.sh \
  --space ../../../space.yaml --objective loss --direction minimize --trials 2 --jobs 1 \
  --study-name "$name" --storage "$DB" --quiet
cd "$TMP" || exit 1
[ -e work/evil_best.yaml ] || [ -e "work/evil"* ] && bad "wrote outside the folder" || ok "nothing written outside the folder"
f=$(ls work/a/b/*_best.yaml 2>/dev/null | head -1)
[ -n "$f" ] && ok "best file in the folder: ${f##*/}" || bad "no best file in the folder"
if [ -n "$f" ] && grep -q '^fast:' "$f"; then bad "the name injected a key"; cat "$f"; else ok "no injected key"; fi
[ -n "$f" ] && [ "$(grep -vc '^#' "$f")" = 1 ] && ok "one key: x" || bad "keys: $(grep -v '^#' "$f" 2>/dev/null)"
finish
