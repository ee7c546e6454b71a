#!/usr/bin/env bash
# tests/qt_test.h's typed asserts: EXPECT_EQ/EXPECT_NE refuse a floating
# operand at compile time (a double used to be truncated, so 0.5 == 0 passed),
# the same snippets with integers compile warning-free, and the comparisons
# that replaced the casts give the right verdicts when run.  Needs only the
# header and a C compiler, not the library.
. "$(dirname "$0")/lib.sh"
CC=${CC:-cc}
CFLAGS_T=(-std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror -I"$QT_ROOT/tests")

# snippet NAME BODY: a test file whose one test runs BODY
snippet() {
  printf '#include "qt_test.h"\n#include <stdint.h>\nstatic void t(void) {\n%s\n}\nQT_TESTS(T(t))\n' \
    "$2" >"$TMP/$1.c"
}
# refused NAME BODY: BODY must not compile, and the error must name the fix
refused() {
  snippet "$1" "$2"
  if "$CC" "${CFLAGS_T[@]}" -fsyntax-only "$TMP/$1.c" 2>"$TMP/$1.err"; then
    bad "$1: compiled, want a compile error"
  elif grep -qF "floating operand; use EXPECT_DBL_EQ (exact) or EXPECT_NEAR (tolerance)" "$TMP/$1.err"; then
    ok "$1"
  else
    bad "$1: error without the assert's message"; head -5 "$TMP/$1.err"
  fi
}
# accepted NAME BODY: BODY compiles with the build's warnings as errors
accepted() {
  snippet "$1" "$2"
  if "$CC" "${CFLAGS_T[@]}" -fsyntax-only "$TMP/$1.c" 2>"$TMP/$1.err"; then ok "$1"
  else bad "$1: does not compile"; head -5 "$TMP/$1.err"; fi
}

refused eq_double_literal 'double x = 0; EXPECT_EQ(0.5, x);'
refused eq_double_rhs 'int n = 0; EXPECT_EQ(n, 0.5);'
refused eq_float 'float f = 1; EXPECT_EQ(f, 1);'
refused ne_double 'double x = 0; EXPECT_NE(x, 1);'
refused u64_eq_double 'double x = 0; EXPECT_U64_EQ(x, 0);'
# a pointer has no integer arm: EXPECT_PTR_EQ is the pointer assert
snippet eq_pointer 'int a = 0, *p = &a; EXPECT_EQ(p, &a);'
if "$CC" "${CFLAGS_T[@]}" -fsyntax-only "$TMP/eq_pointer.c" 2>/dev/null; then
  bad "eq_pointer: EXPECT_EQ on pointers compiled"
else ok eq_pointer; fi
accepted eq_ints 'int x = 0; EXPECT_EQ(0, x); EXPECT_NE(1, x);'
accepted eq_mixed_sign 'size_t n = 3; int64_t s = -1; uint64_t u = 2; char c = 1; _Bool b = 1;
EXPECT_EQ(n, 3); EXPECT_NE(s, u); EXPECT_U64_EQ(u, 2); EXPECT_EQ(c, b);'
accepted dbl_and_ptr 'double x = 0.5; int *p = NULL; EXPECT_DBL_EQ(x, 0.5); EXPECT_NEAR(x, 0.5, 1e-12);
EXPECT_PTR_EQ(p, NULL); EXPECT_PTR_NE(&x, NULL);'

# verdicts NAME WANT BODY: BODY built and run must end "WANT passed/failed"
verdict() {
  snippet "$1" "$3"
  if ! "$CC" "${CFLAGS_T[@]}" -o "$TMP/$1" "$TMP/$1.c" -lm 2>"$TMP/$1.err"; then
    bad "$1: does not build"; head -5 "$TMP/$1.err"; return
  fi
  "$TMP/$1" >"$TMP/$1.out" 2>&1
  if grep -qx "$2" "$TMP/$1.out"; then ok "$1"; else bad "$1: want '$2'"; sed "s/^/  /" "$TMP/$1.out"; fi
}
verdict pass_sign_by_value '1 passed, 0 failed' \
  'EXPECT_NE((uint64_t)-1, -1); EXPECT_EQ(UINT64_MAX, UINT64_MAX); EXPECT_EQ(INT64_MIN, INT64_MIN);
EXPECT_EQ((unsigned char)200, 200); EXPECT_DBL_EQ(NAN, NAN); EXPECT_DBL_EQ(0.0, -0.0);'
verdict fail_u64_vs_minus1 '0 passed, 1 failed' 'EXPECT_EQ((uint64_t)-1, -1);'
verdict fail_dbl_half_vs_0 '0 passed, 1 failed' 'EXPECT_DBL_EQ(0.5, 0);'
verdict fail_dbl_nan_vs_1 '0 passed, 1 failed' 'EXPECT_DBL_EQ(NAN, 1.0);'
verdict fail_ptr '0 passed, 1 failed' 'int a = 0; EXPECT_PTR_EQ(&a, NULL);'
finish
