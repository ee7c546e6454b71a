#!/usr/bin/env bash
# One study, three machines: network namespaces made (and removed) by this
# test, one for a PostgreSQL server and two for workers, on a bridge.  A
# worker is killed with -9 mid-trial and started again, the other's link is
# cut for longer than the lease and restored, and the server is restarted.
# At the end every trial is complete or failed with a reason, no number is
# used twice or skipped, and each trial lost with a worker ran again.
# Needs root and iproute2 (scripts/bootstrap); without them it fails.
source "$(dirname "$0")/lib.sh"
if ! ip netns add "qtprobe$$" 2>"$TMP/ns.err"; then
  bad "network namespaces: $(cat "$TMP/ns.err")"; finish; exit 1
fi
ip netns del "qtprobe$$"
id=$$
sub=$(( (id % 200) + 20 ))
net=10.231.$sub
br=qtbr$id
ns=(qtdb$id qtwa$id qtwb$id)
addr=($net.1 $net.11 $net.12)
pgdir=$(mktemp -d /tmp/qtune-netns-pg.XXXXXX); chmod 755 "$pgdir"; chown postgres:postgres "$pgdir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  (cd / && ip netns exec "${ns[0]}" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1)
  for n in "${ns[@]}"; do ip netns del "$n" 2>/dev/null; done
  ip link del "$br" 2>/dev/null
  rm -rf "$pgdir" "$TMP"
}
trap cleanup EXIT
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
ip link add "$br" type bridge && ip link set "$br" up
for k in 0 1 2; do
  n=${ns[$k]}
  ip netns add "$n"
  ip link add "v$n" type veth peer name "e$n"
  ip link set "v$n" master "$br" up
  ip link set "e$n" netns "$n"
  ip -n "$n" addr add "${addr[$k]}/24" dev "e$n"
  ip -n "$n" link set "e$n" up
  ip -n "$n" link set lo up
done
# the server, on its own machine
mkdir -p "$pgdir/data" && chown postgres:postgres "$pgdir/data"
(cd / && runuser -u postgres -- "$PGBIN/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync) >"$TMP/initdb.log" 2>&1
echo "host all all $net.0/24 trust" >>"$pgdir/data/pg_hba.conf"
pgstart() {
  (cd / && ip netns exec "${ns[0]}" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdir/data" -w -t 30 \
    -l "$pgdir/server.log" -o "-p 5432 -k $pgdir -c listen_addresses=${addr[0]} -c fsync=off" start >/dev/null)
}
check "the server starts in its namespace" pgstart
URL="postgresql://postgres@${addr[0]}:5432/postgres"
check "machine B reaches the server across the bridge" ip netns exec "${ns[2]}" bash -c "echo >/dev/tcp/${addr[0]}/5432"
cd "$TMP" || exit 1
cat >slow.sh <<'SH'
#!/bin/sh
x=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["x"])')
sleep 0.4
echo "{\"v\": $x}"
SH
chmod +x slow.sh
printf 'x: {type: float, low: 0, high: 1}\n' >x.yaml
W="--objective-cmd ./slow.sh --lease 3 --quiet"
check_exit "the study is made from machine A" 0 ip netns exec "${ns[1]}" "$QTUNE" optimize \
  --objective-cmd ./slow.sh --space x.yaml --objective v --trials 2 --study-name net \
  --storage "$URL" --quiet
worker() { # worker MACHINE TRIALS LOG
  ip netns exec "${ns[$1]}" "$QTUNE" worker --study-name net --storage "$URL" $W --jobs 2 \
    --trials "$2" >"$3.out" 2>"$3.err" &
  pids+=($!)
}
worker 1 40 a; A=${pids[-1]}
worker 2 40 b; B=${pids[-1]}
sleep 2
kill -9 "$B"                       # machine B's worker dies mid-trial
worker 2 14 b2; B2=${pids[-1]}      # and is started again
sleep 2
ip -n "${ns[2]}" link set "e${ns[2]}" down   # machine B loses the network past the lease
sleep 5
ip -n "${ns[2]}" link set "e${ns[2]}" up
sleep 1
(cd / && ip netns exec "${ns[0]}" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null)
sleep 0.5
check "the server restarts" pgstart
wait "$A"; ra=$?
wait "$B2"; rb=$?
check "machine A's worker ends normally (exit $ra)" [ "$ra" = 0 ]
check "machine B's restarted worker ends normally (exit $rb)" [ "$rb" = 0 ]
[ "$ra" = 0 ] || tail -n 5 a.err
[ "$rb" = 0 ] || tail -n 5 b2.err
contains "machine A failed the lost trials and enqueued them again" a.err "stopped heartbeating"
cat a.err b2.err >both.err
contains "the workers reconnected after the server restart" both.err "reconnected after"
psqlq() { (cd / && ip netns exec "${ns[0]}" runuser -u postgres -- psql -h "$pgdir" -p 5432 -At -c "$1" postgres); }
psqlq "select number, state, coalesce(params_json::text,''), coalesce(error,''), coalesce(note,'') from trials order by number" >rows.txt
python3 - rows.txt >counts <<'PY'
import sys
rows = [l.rstrip('\n').split('|') for l in open(sys.argv[1]) if l.strip()]
nums = [int(r[0]) for r in rows]
state = {}
for r in rows: state[r[1]] = state.get(r[1], 0) + 1
stale = [r for r in rows if r[1] == 'fail' and 'stale' in r[3] and not r[4].startswith('retry of')]
retried = {r[4][len('retry of trial '):]: r for r in rows if r[4].startswith('retry of trial ')}
lost = [s for s in stale if s[0] not in retried or retried[s[0]][2] != s[2]]
print("trials", len(nums), "states", sorted(state.items()))
print("numbers", "ok" if nums == list(range(len(nums))) else "gaps or doubles")
print("stale", len(stale), "retried", len(retried), "lost", len(lost))
print("fail_without_reason", sum(1 for r in rows if r[1] == 'fail' and not r[3]))
print("left", state.get('running', 0) + state.get('waiting', 0))
PY
cat counts
contains "numbers without gaps or doubles" counts "numbers ok"
contains "no trial lost" counts "lost 0"
contains "every failure has a reason" counts "fail_without_reason 0"
contains "nothing left running or waiting" counts "left 0"
check "the killed worker's trials were recovered" bash -c "! grep -q 'stale 0 ' counts"
finish
