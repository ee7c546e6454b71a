#!/usr/bin/env bash
# --trial-timeout holds whatever the command does with its pipes, and ends
# the command's whole process tree: a command that closes its output and
# keeps running is timed out (it used to run to its end and fail with "not a
# JSON object"), and a child that left the process group (setsid) is killed
# with it (it used to survive every trial).
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
printf 'x: {type: float, low: 0, high: 1}\n' >x.yaml
S=sqlite:///t.db
check_exit "closed pipes, still running" 0 "$QTUNE" optimize --objective-cmd 'exec >&- 2>&-; sleep 20' \
  --space x.yaml --objective v --trials 1 --trial-timeout 1 --study-name t1 --storage "$S" --quiet
python3 -c "import sqlite3; print(sqlite3.connect('t.db').execute(\"select error from trials where study_id=(select id from studies where name='t1')\").fetchone()[0])" >why1
contains "it is timed out, not run to its end" why1 "timed out after 1s (killed)"
mark=$((40000 + $$ % 9999))
check_exit "a setsid child" 0 "$QTUNE" optimize --objective-cmd "setsid sleep $mark & sleep 20" \
  --space x.yaml --objective v --trials 1 --trial-timeout 1 --study-name t2 --storage "$S" --quiet
sleep 0.5
check "the child that left the group is gone too" bash -c "! pgrep -f '[s]leep $mark' >/dev/null"
pkill -f "sleep $mark" 2>/dev/null
check_exit "a command that ends in time is untouched" 0 "$QTUNE" optimize \
  --objective-cmd 'read l; echo "{\"v\": 1}"' --space x.yaml --objective v --trials 2 \
  --trial-timeout 5 --study-name t3 --storage "$S" --quiet
contains "both complete" "$TMP/out" "2 complete"
finish
