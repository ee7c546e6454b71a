# `make install` puts the binary, both libraries (the shared one versioned,
# with its SONAME and symlinks), the headers and a pkg-config file under
# PREFIX, and a program builds against them with pkg-config, shared and
# static, and runs.
source "$(dirname "$0")/lib.sh"
cd "$QT_ROOT"
B=${B:-build}
P=$TMP/prefix
ver=$(sed -n 's/^#define QT_VERSION "\(.*\)"/\1/p' include/qtune/core.h)
major=${ver%%.*}
check "make install into a prefix" make -s B="$B" install PREFIX="$P"
for f in bin/qtune lib/libqtune.a "lib/libqtune.so.$ver" include/qtune/qtune.h lib/pkgconfig/qtune.pc; do
  check "installed $f" test -f "$P/$f"
done
check "lib/libqtune.so.$major -> libqtune.so.$ver" sh -c "[ \"\$(readlink '$P/lib/libqtune.so.$major')\" = 'libqtune.so.$ver' ]"
check "lib/libqtune.so -> libqtune.so.$ver" sh -c "[ \"\$(readlink '$P/lib/libqtune.so')\" = 'libqtune.so.$ver' ]"
readelf -d "$P/lib/libqtune.so.$ver" >"$TMP/dyn" 2>&1
contains "SONAME is libqtune.so.$major" "$TMP/dyn" "Library soname: [libqtune.so.$major]"
contains "qtune.pc: Requires.private names the dependencies" "$P/lib/pkgconfig/qtune.pc" \
  "Requires.private: sqlite3 jansson yaml-0.1 zlib libzip libpq"
cat >"$TMP/v.c" <<'C'
#include <qtune/qtune.h>
#include <stdio.h>
#include <string.h>
int main(void) { puts(qt_version()); return strcmp(qt_version(), QT_VERSION) != 0; }
C
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
# Shared: only -lqtune; the library's own NEEDED entries bring its dependencies.
check "a program links against the installed shared library" \
  sh -c "cc -o '$TMP/v_shared' '$TMP/v.c' \$(pkg-config --cflags --libs qtune)"
readelf -d "$TMP/v_shared" >"$TMP/dyn_v" 2>&1
contains "and needs libqtune.so.$major (the SONAME)" "$TMP/dyn_v" "Shared library: [libqtune.so.$major]"
check "and runs" sh -c "LD_LIBRARY_PATH='$P/lib' '$TMP/v_shared' | grep -qx '$ver'"
# Static: libqtune.a plus everything --static lists (the Requires.private
# packages' own flags); -Bstatic picks the archive next to the .so.
static_libs=$(pkg-config --static --libs qtune)
for lib in sqlite3 jansson yaml z zip pq; do
  check "pkg-config --static lists -l$lib" sh -c "printf ' %s ' '$static_libs' | grep -q -- ' -l$lib '"
done
# Debian's libpq.pc lists static-only helpers (-lpgcommon -lpgport) and
# Kerberos for a static libpq that libpq-dev does not ship; a flag the
# linker cannot resolve on this machine is dropped and named.
flags=""
for w in $static_libs; do
  case "$w" in
    -lqtune) w="-Wl,-Bstatic -lqtune -Wl,-Bdynamic" ;;
    -l*) n=${w#-l}
      if [ "$(cc -print-file-name="lib$n.so")" = "lib$n.so" ] && [ "$(cc -print-file-name="lib$n.a")" = "lib$n.a" ]; then
        echo "note: $w (from pkg-config --static) is not installed here; left out"; continue
      fi ;;
  esac
  flags="$flags $w"
done
check "a program links against the installed static library (pkg-config --static)" \
  sh -c "cc -o '$TMP/v_static' '$TMP/v.c' \$(pkg-config --cflags qtune) $flags"
readelf -d "$TMP/v_static" >"$TMP/dyn_s" 2>&1
check "and does not need libqtune.so" sh -c "! grep -q 'libqtune' '$TMP/dyn_s'"
check "and runs" sh -c "'$TMP/v_static' | grep -qx '$ver'"
check "installed qtune runs" sh -c "'$P/bin/qtune' version | grep -q '^qtune '"
finish
