#!/usr/bin/env bash
# Leases: a worker paused past its lease (SIGSTOP: a suspended laptop, a
# paused VM) has its running trial failed by another worker, whose sweep
# during its run enqueues the same params again; the paused worker's late
# result is dropped with a message, never fatal; every trial number is used
# once and nothing stays running.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
cat >slow.sh <<'SH'
#!/bin/sh
x=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["x"])')
sleep 2
echo "{\"v\": $x}"
SH
chmod +x slow.sh
printf 'x: {type: float, low: 0, high: 1}\n' >x.yaml
S=sqlite:///l.db
"$QTUNE" optimize --objective-cmd ./slow.sh --space x.yaml --objective v --trials 3 --jobs 1 \
  --lease 3 --study-name L --storage "$S" --quiet >a.out 2>a.err &
A=$!
sleep 1
kill -STOP "$A"
check_exit "another worker runs while the first is paused" 0 "$QTUNE" worker --study-name L --storage "$S" \
  --objective-cmd ./slow.sh --trials 3 --jobs 1 --lease 3 --quiet
contains "the paused worker's trial was failed and enqueued again" "$TMP/err" "stopped heartbeating"
kill -CONT "$A"
wait "$A"; rc=$?
check "the paused worker ends normally (exit $rc)" [ "$rc" = 0 ]
contains "its late result is dropped with a message" a.err "already"
python3 - l.db >counts <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("select number, state, params_json, coalesce(error,''), coalesce(note,'') from trials order by number").fetchall()
nums = [r[0] for r in rows]
stale = [r for r in rows if r[1] == 'fail' and 'stale' in r[3]]
retried = [r for r in rows if r[4].startswith('retry of trial ')]
same = all(any(s[2] == t[2] and t[4] == 'retry of trial %d' % s[0] for t in retried) for s in stale)
print("unique", len(nums) == len(set(nums)) and nums == list(range(len(nums))))
print("stale", len(stale), "retried", len(retried), "same_params", same)
print("retries_complete", all(t[1] == 'complete' for t in retried))
print("running", sum(1 for r in rows if r[1] in ('running', 'waiting')))
PY
contains "numbers 0..N-1, each once" counts "unique True"
contains "the stale trial's params ran again" counts "stale 1 retried 1 same_params True"
contains "the retry completed" counts "retries_complete True"
contains "nothing left running or waiting" counts "running 0"
check_exit "a lease under 3 s is refused" 2 "$QTUNE" optimize --objective-cmd ./slow.sh --space x.yaml \
  --objective v --trials 1 --lease 1 --study-name L2 --storage "$S"
contains "the lease limit is named" "$TMP/err" "--lease: must be >= 3 seconds"
finish
