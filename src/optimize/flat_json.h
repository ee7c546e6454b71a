/* qtune's own flat JSON objects read without building a JSON tree: the
 * shape the study stores metrics in and the space stores params in
 * ({"name": value, ...}, each value a number, null, true, false or a plain
 * string).  Only a fast path: any other text (nesting, escapes, non-ASCII,
 * a number jansson would refuse) is QT_DONE, and the caller reads it with
 * jansson, which stays the reference (fuzz/fuzz_text.c checks both agree). */
#ifndef QTUNE_OPTIMIZE_FLAT_JSON_H
#define QTUNE_OPTIMIZE_FLAT_JSON_H

#include "qtune/core.h"

#include <stddef.h>

/* QT__FLAT_OTHER: an array or object, for a caller that maps jansson's
 * values onto this type; the walk never gives it. */
enum { QT__FLAT_NUM, QT__FLAT_NULL, QT__FLAT_TRUE, QT__FLAT_FALSE, QT__FLAT_STR, QT__FLAT_OTHER };

/* One member; key, str and num_text point into the text (not
 * NUL-terminated) and are borrowed for the callback only.  A number is
 * converted only when asked (qt__flat_num): a caller that needs a few
 * members of many skips the others' conversion. */
typedef struct qt__flat_pair {
  const char *key;
  size_t key_len;
  int kind;              /* QT__FLAT_* */
  const char *num_text;  /* QT__FLAT_NUM: the token */
  int num_is_int;        /* ... an integer token (no fraction or exponent) */
  double num;            /* QT__FLAT_OTHER's caller may set it instead (flat_num reads it
                          * when num_text is NULL) */
  const char *str;       /* QT__FLAT_STR: the characters between the quotes */
  size_t str_len;
} qt__flat_pair;

/* The value of a QT__FLAT_NUM member as jansson's json_number_value gives
 * it (an integer token through int64, a real through strtod). */
double qt__flat_num(const qt__flat_pair *p);

/* Called for each member in text order (duplicates included).  Returns
 * QT_OK to go on; anything else stops the walk and is returned. */
typedef int (*qt__flat_fn)(void *ctx, const qt__flat_pair *p);

/* Checks the whole of js (NUL-terminated) is one flat object, then calls fn
 * for each member.  QT_DONE, with fn never called, when js is of another
 * shape; otherwise fn's first non-zero status, or QT_OK.  Allocates
 * nothing. */
int qt__flat_json_each(const char *js, qt__flat_fn fn, void *ctx);

#endif
