#!/usr/bin/env bash
# Storage URLs end to end: the default sqlite:///qtune.db is ./qtune.db in
# the working directory (SQLAlchemy's convention), $QTUNE_STORAGE is the
# default of every command that takes --storage, and a PostgreSQL password
# never reaches stdout or stderr (the server of tests/run.sh, QTUNE_PG_URL).
source "$(dirname "$0")/lib.sh"
cd "$TMP"
unset QTUNE_STORAGE
printf 'x: {type: float, low: -2, high: 3}\n' >space.yaml
# A tiny study on a benchmark function: no market, no external command.
opt() {
  "$QTUNE" optimize --function sphere --space "$TMP/space.yaml" --objective value \
    --direction minimize --constraints none --trials 3 --jobs 1 --seed 1 --quiet "$@"
}

# 1. The default URL writes ./qtune.db where the command runs.
mkdir wd && cd wd
check_exit "optimize, default storage" 0 opt --study-name d --best-out d.yaml
check "default storage is ./qtune.db" test -f "$TMP/wd/qtune.db"
contains "header shows the default URL" "$TMP/out" "in sqlite:///qtune.db"
check_exit "studies, default storage" 0 "$QTUNE" studies --json
contains "studies reads ./qtune.db" "$TMP/out" '"d"'
check_exit "best, default storage" 0 "$QTUNE" best --study-name d -o "$TMP/d2.yaml"
cd "$TMP"
# Three slashes: relative to the working directory; four: absolute.
mkdir -p sub/rel
(cd sub && opt --study-name r --storage sqlite:///rel/r.db --best-out r.yaml) >/dev/null 2>&1
check "sqlite:///rel/r.db is relative" test -f "$TMP/sub/rel/r.db"
(cd sub && opt --study-name a --storage "sqlite:///$TMP/abs.db" --best-out a.yaml) >/dev/null 2>&1
check "sqlite:////abs.db is absolute" test -f "$TMP/abs.db"
# The older sqlite://rel form keeps working (relative).
(cd sub && opt --study-name o --storage sqlite://old.db --best-out o.yaml) >/dev/null 2>&1
check "sqlite://old.db is relative" test -f "$TMP/sub/old.db"
check_exit "studies of a missing relative file" 2 "$QTUNE" studies --storage sqlite:///none.db
contains "missing file named" "$TMP/err" "none.db: no such database"

# 2. $QTUNE_STORAGE is the default of optimize, studies, analyze, best, cleanup.
mkdir env && cd env
export QTUNE_STORAGE=sqlite:///env.db
check_exit "optimize, QTUNE_STORAGE" 0 opt --study-name e --best-out e.yaml
check "QTUNE_STORAGE names the file" test -f "$TMP/env/env.db"
check "no ./qtune.db under QTUNE_STORAGE" test ! -e "$TMP/env/qtune.db"
check_exit "studies, QTUNE_STORAGE" 0 "$QTUNE" studies --json
contains "studies reads env.db" "$TMP/out" '"e"'
check_exit "analyze, QTUNE_STORAGE" 0 "$QTUNE" analyze --study-name e
check_exit "best, QTUNE_STORAGE" 0 "$QTUNE" best --study-name e -o "$TMP/e2.yaml"
check_exit "cleanup, QTUNE_STORAGE" 0 "$QTUNE" cleanup --study-name e --worse-than -1 --dry-run
check_exit "--storage beats QTUNE_STORAGE" 0 "$QTUNE" studies --storage "sqlite:///$TMP/abs.db" --json
contains "--storage read abs.db" "$TMP/out" '"a"'
for c in optimize studies analyze best cleanup; do
  check_exit "$c --help" 0 "$QTUNE" $c --help
  contains "$c --help shows QTUNE_STORAGE" "$TMP/out" "sqlite:///env.db"
done
export QTUNE_STORAGE=postgresql://who:helpsecret@127.0.0.1:1/none
check_exit "optimize --help, QTUNE_STORAGE with a password" 0 "$QTUNE" optimize --help
contains "help masks the password" "$TMP/out" "postgresql://who:***@127.0.0.1:1/none"
check "help hides the password" bash -c "! grep -q helpsecret '$TMP/out'"
unset QTUNE_STORAGE
cd "$TMP"

# 3. PostgreSQL: a role with a password; the password is shown nowhere.
if [ -z "${QTUNE_PG_URL:-}" ]; then
  bad "QTUNE_PG_URL is not set (tests/run.sh starts a server and sets it)"
  finish; exit
fi
hp=${QTUNE_PG_URL#*@}; hp=${hp%%/*}   # host:port of the test server
role=qt_pw_$$ db=qt_pw_$$ pw=s3cretPw$$
psql -q -v ON_ERROR_STOP=1 "$QTUNE_PG_URL" >/dev/null 2>"$TMP/psql.err" <<EOF
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db;
DROP ROLE IF EXISTS $role;
CREATE ROLE $role LOGIN PASSWORD '$pw';
CREATE DATABASE $db OWNER $role;
EOF
check "psql creates a role with a password" test ! -s "$TMP/psql.err"
cleanup_pg() {
  psql -q "$QTUNE_PG_URL" -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $role" \
    >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup_pg EXIT
url="postgresql://$role:$pw@$hp/$db"
no_secret() { # NAME: neither stdout nor stderr of the last check_exit holds the password
  if grep -q "$pw" "$TMP/out" "$TMP/err"; then bad "$1: password printed"; grep "$pw" "$TMP/out" "$TMP/err"
  else ok "$1: password hidden"; fi
}
check_exit "optimize on PostgreSQL with a password" 0 opt --study-name p --storage "$url" \
  --best-out p.yaml
no_secret "optimize"
contains "header masks the password" "$TMP/out" "in postgresql://$role:***@$hp/$db"
contains "footer masks the password" "$TMP/out" "database: postgresql://$role:***@$hp/$db (study p)"
contains "the study ran" "$TMP/out" "ran 3 trials"
check_exit "studies on PostgreSQL" 0 "$QTUNE" studies --storage "$url"
no_secret "studies"
check_exit "analyze on PostgreSQL" 0 "$QTUNE" analyze --study-name p --storage "$url"
no_secret "analyze"
check_exit "best on PostgreSQL" 0 "$QTUNE" best --study-name p --storage "$url" -o p2.yaml
no_secret "best"
# The password as a query parameter, and through QTUNE_STORAGE.
QTUNE_STORAGE="postgresql://$role@$hp/$db?password=$pw" check_exit "optimize, ?password=" 0 \
  opt --study-name p
no_secret "optimize ?password="
contains "query password masked" "$TMP/out" "?password=***"
# Failures: libpq's messages can quote the conninfo.
check_exit "bad percent-encoding in the password" 2 opt --study-name p \
  --storage "postgresql://$role:${pw}%zz@$hp/$db"
no_secret "a URL libpq cannot parse"
contains "the failure is reported" "$TMP/err" "invalid percent-encoded token"
check_exit "unterminated IPv6 host" 2 opt --study-name p --storage "postgresql://$role:$pw@[::1/$db"
no_secret "a URL libpq quotes whole"
check_exit "no server on the port" 2 opt --study-name p \
  --storage "postgresql://$role:$pw@127.0.0.1:1/$db?connect_timeout=2"
no_secret "a refused connection"
contains "refused connection reported" "$TMP/err" "cannot connect"
finish
