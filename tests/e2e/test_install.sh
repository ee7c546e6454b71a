# `make install` puts the binary, both libraries, the headers and a pkg-config
# file under PREFIX, and a program builds against them with pkg-config.
source "$(dirname "$0")/lib.sh"
cd "$QT_ROOT"
B=${B:-build}
check "make install into a staging dir" make -s B="$B" install DESTDIR="$TMP/stage" PREFIX=/usr/local
for f in bin/qtune lib/libqtune.a lib/libqtune.so include/qtune/qtune.h lib/pkgconfig/qtune.pc; do
  check "installed $f" test -e "$TMP/stage/usr/local/$f"
done
cat >"$TMP/v.c" <<'C'
#include <qtune/qtune.h>
#include <stdio.h>
#include <string.h>
int main(void) { puts(qt_version()); return strcmp(qt_version(), QT_VERSION) != 0; }
C
export PKG_CONFIG_PATH="$TMP/stage/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$TMP/stage"
check "a program compiles against the installed static library" \
  sh -c "cc -o '$TMP/v' '$TMP/v.c' \$(pkg-config --cflags qtune) '$TMP/stage/usr/local/lib/libqtune.a' \$(pkg-config --libs-only-other --libs-only-l --static qtune | sed 's/-lqtune//')"
check "and runs" sh -c "'$TMP/v' | grep -qx '$(sed -n 's/^#define QT_VERSION "\(.*\)"/\1/p' include/qtune/core.h)'"
check "installed qtune runs" sh -c "'$TMP/stage/usr/local/bin/qtune' version | grep -q '^qtune '"
finish
