# The include graph follows DESIGN.md's layer order: scripts/check-layers
# passes on the tree, and on a copy of it catches each kind of violation
# injected in turn (the copy is reset between them).
source "$(dirname "$0")/lib.sh"
cd "$QT_ROOT"
check "the tree passes check-layers" sh -c 'scripts/check-layers >"$0/clean.out" 2>&1 || { cat "$0/clean.out"; exit 1; }' "$TMP"

copy="$TMP/tree"
reset_copy() {
  rm -rf "$copy" && mkdir -p "$copy" &&
    cp -R Makefile scripts src include "$copy/"
}
# inject NAME FILE LINE WANT: adds LINE at the top of FILE (in the copy) and
# checks that check-layers fails and names FILE and the WANT text.
inject() {
  local name=$1 file=$2 line=$3 want=$4
  { reset_copy && ${SETUP:-true}; } || { bad "$name: could not copy the tree"; return; }
  { printf '%s\n' "$line"; cat "$QT_ROOT/$file"; } >"$copy/$file"
  "$copy/scripts/check-layers" >"$TMP/out" 2>&1; local rc=$?
  if [ $rc -eq 0 ]; then
    bad "$name: check-layers passed"; tail -3 "$TMP/out"
  elif ! grep -F -- "FAIL $file depends on" "$TMP/out" | grep -qF -- "$want"; then
    bad "$name: no 'FAIL $file depends on ... $want' line"; tail -5 "$TMP/out"
  else
    ok "$name"
  fi
}
inject "upward <qtune/...> include (data -> optimize)" \
  src/data/series.c '#include <qtune/optimize.h>' "layer data may not depend on optimize"
inject "a strategy includes the engine's private header" \
  src/strategies/sma_cross.c '#include "engine/engine_int.h"' "private header of layer engine"
inject "the CLI includes the optimizer's private header" \
  src/cli/cmd_optimize.c '#include "optimize/sampler_int.h"' "private header of layer optimize"
inject "upward include in a public header (data.h -> storage.h)" \
  include/qtune/data.h '#include "qtune/storage.h"' "layer data may not depend on storage"
# A new layer's public header is placed by its name, with no edit of the script.
add_report() {
  mkdir -p "$copy/src/report" && printf '#include "qtune/core.h"\n' >"$copy/include/qtune/report.h" &&
    printf '#include "qtune/report.h"\nint qt__report_x;\n' >"$copy/src/report/r.c"
}
reset_copy && add_report
check "a new layer (report) may include its own public header" sh -c '"$0" >/dev/null' "$copy/scripts/check-layers"
SETUP=add_report inject "and a layer above it may not (metrics -> report)" \
  src/metrics/metrics.c '#include "qtune/report.h"' "layer metrics may not depend on report"
finish
