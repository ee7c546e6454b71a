/* qtune core: status codes and error messages, logging, the allocator hook,
 * the seeded splittable RNG, time parsing and small key/value options.
 * Nothing here knows about markets; every other layer builds on it. */
#ifndef QTUNE_QTUNE_CORE_H
#define QTUNE_QTUNE_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define QT_API __attribute__((visibility("default")))
#define QT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define QT_API
#define QT_PRINTF(a, b)
#endif

#define QT_VERSION_MAJOR 0
#define QT_VERSION_MINOR 1
#define QT_VERSION_PATCH 0
#define QT_VERSION "0.1.0"

/* The version string compiled into the library (tests compare it with QT_VERSION). */
QT_API const char *qt_version(void);

/* ---- status codes: one list makes the enum, the names and the texts ---- */
#define QT_STATUS_LIST(X)                        \
  X(OK,         0, "ok")                         \
  X(EINVAL,    -1, "invalid argument")           \
  X(ENOMEM,    -2, "out of memory")              \
  X(EIO,       -3, "i/o failure")                \
  X(EPARSE,    -4, "malformed input")            \
  X(ESTORE,    -5, "storage backend failure")    \
  X(ESTATE,    -6, "not allowed in this state")  \
  X(ENOTFOUND, -7, "not found")                  \
  X(ETIMEOUT,  -8, "timed out")                  \
  X(EPARAM,    -9, "parameters rejected")

enum qt_status {
#define QT__STATUS_ENUM(name, val, text) QT_##name = (val),
  QT_STATUS_LIST(QT__STATUS_ENUM)
#undef QT__STATUS_ENUM
  QT_DONE = 1,  /* not an error: a sampler is exhausted, an iterator ended */
  QT_PRUNED = 2 /* not an error: a pruner stopped the trial on its intermediate values */
};

typedef struct qt_err {
  int code;
  char msg[256];
} qt_err; /* caller-owned */

/* Static text for a status code; never NULL ("unknown status" for strangers). */
QT_API const char *qt_status_str(int code);
/* Symbolic name ("EPARSE") of a status code; static, never NULL. */
QT_API const char *qt_status_name(int code);
/* Sets e (if not NULL) to code and the formatted message; returns code. */
QT_API int qt_err_set(qt_err *e, int code, const char *fmt, ...) QT_PRINTF(3, 4);
/* Resets e to QT_OK with an empty message; NULL is a no-op. */
QT_API void qt_err_clear(qt_err *e);
/* Prefixes e->msg with "prefix: " keeping the code (used to add a file name). */
QT_API void qt_err_prefix(qt_err *e, const char *fmt, ...) QT_PRINTF(2, 3);

/* ---- logging: the library never prints; a process-wide sink does ---- */
typedef enum qt_log_level {
  QT_LOG_DEBUG = 0,
  QT_LOG_INFO = 1,
  QT_LOG_WARN = 2,
  QT_LOG_ERROR = 3,
  QT_LOG_OFF = 4
} qt_log_level;

typedef void (*qt_log_fn)(void *ud, qt_log_level lvl, const char *msg);

/* Installs the sink (NULL: logs are dropped) and the minimum level.  Set once at
 * start-up by the program, before threads start. */
QT_API void qt_log_set(qt_log_fn fn, void *ud, qt_log_level min_level);
/* Parses "debug|info|warn|error|off"; returns QT_EINVAL for anything else. */
QT_API int qt_log_level_parse(const char *s, qt_log_level *out);
/* True when lvl would reach the sink (lets callers skip formatting). */
QT_API int qt_log_enabled(qt_log_level lvl);
QT_API void qt_log(qt_log_level lvl, const char *fmt, ...) QT_PRINTF(2, 3);
/* A ready-made sink writing "qtune: level: msg" lines to stderr (for programs). */
QT_API void qt_log_stderr(void *ud, qt_log_level lvl, const char *msg);

/* ---- allocation: every library allocation goes through these, so tests can
 * fail the Nth one and check that QT_ENOMEM comes back cleanly ---- */
QT_API void *qt_malloc(size_t n);
QT_API void *qt_calloc(size_t n, size_t size);
QT_API void *qt_realloc(void *p, size_t n);
QT_API void qt_free(void *p);
/* Test hook: the nth allocation from now (1 = the next) fails, and every one
 * after it too while `sticky`; n = 0 switches the hook off.  Not thread-safe. */
QT_API void qt_alloc_fail_at(long n, int sticky);
/* Duplicates a string with qt_malloc; NULL on OOM. */
QT_API char *qt_strdup(const char *s);

/* ---- RNG: xoshiro256** seeded with splitmix64; splittable by stream ---- */
typedef struct qt_rng {
  uint64_t s[4];
} qt_rng;

/* Seeds from one 64-bit value (any value, 0 included). */
QT_API void qt_rng_seed(qt_rng *r, uint64_t seed);
/* An independent stream `stream` of the generator seeded with `seed`: the
 * same (seed, stream) always gives the same numbers; different streams do not
 * overlap in practice (each is seeded through splitmix64 of seed and stream). */
QT_API void qt_rng_stream(qt_rng *r, uint64_t seed, uint64_t stream);
/* Advances 2^128 steps: for non-overlapping sub-sequences of one stream. */
QT_API void qt_rng_jump(qt_rng *r);
QT_API uint64_t qt_rng_u64(qt_rng *r);
/* Uniform in [0, 1), 53 random bits. */
QT_API double qt_rng_uniform(qt_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
QT_API uint64_t qt_rng_below(qt_rng *r, uint64_t n);
/* Standard normal (Box-Muller, no cached spare so the state is the whole state). */
QT_API double qt_rng_normal(qt_rng *r);

/* ---- time: int64 milliseconds since the Unix epoch, UTC, everywhere ---- */
/* Parses an epoch number (seconds, ms, us or ns, chosen by magnitude: a 2025
 * exchange file in microseconds reads the same as one in milliseconds), an
 * ISO-8601 stamp ("2026-06-01T00:00:00Z", "...T00:00:00.123+02:00") or
 * "YYYY-MM-DD[ HH:MM[:SS[.fff]]]" in UTC, or the compact date
 * "YYYYMMDD[THHMM[SS]]" ("20260701", "20260701T1230", "20260701 123000").
 * Exactly 8 leading digits are always a date, never an epoch (8-digit epoch
 * seconds would fall in 1970-1973).  `len` bytes of s (no NUL needed). */
QT_API int qt_time_parse(const char *s, size_t len, int64_t *out_ms, qt_err *err);
/* Parses freqtrade's --timerange "START-END", "START-" or "-END": each half a
 * compact date or an epoch (qt_time_parse), split at the only '-'.  An open
 * start gives INT64_MIN, an open end INT64_MAX.  QT_EPARSE for a malformed
 * half or separator, QT_EINVAL when START >= END; both outputs are then
 * INT64_MIN/INT64_MAX. */
QT_API int qt_time_parse_range(const char *s, size_t len, int64_t *out_from_ms,
                               int64_t *out_to_ms, qt_err *err);
/* Parses an epoch number only; fractional seconds are not accepted. */
QT_API int qt_time_parse_epoch(const char *s, size_t len, int64_t *out_ms, qt_err *err);
/* Parses `len` bytes of s with a strptime-like format, in UTC unless %z:
 * %Y %y %m %d %H %I %M %S (1-2 digits where a number may be short), %f
 * (fraction of a second), %b/%B (English month name or abbreviation, any
 * case), %p (AM/PM), %z (Z, +hh, +hhmm, +hh:mm), %s (epoch number), %%;
 * a space matches any run of spaces.  QT_EINVAL for an unknown directive. */
QT_API int qt_time_parse_fmt(const char *s, size_t len, const char *fmt, int64_t *out_ms,
                             qt_err *err);
/* Formats as "YYYY-MM-DDTHH:MM:SS[.mmm]Z" into buf; returns buf. */
QT_API char *qt_time_format(int64_t ts_ms, char *buf, size_t cap);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
QT_API int64_t qt_time_days_from_civil(int64_t y, int m, int d);
QT_API void qt_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Parses a duration "1m", "15m", "1h", "4h", "1d", "1w", "500ms", "30s". */
QT_API int qt_duration_parse(const char *s, int64_t *out_ms, qt_err *err);
/* Formats a duration in the shortest of those forms into buf; returns buf. */
QT_API char *qt_duration_format(int64_t ms, char *buf, size_t cap);

/* ---- key/value options (sampler options, CLI pass-through) ---- */
typedef struct qt_kv {
  const char *key;
  const char *val;
} qt_kv; /* arrays end with {NULL, NULL} */

/* The value of key in a NULL-terminated kv array, or NULL. */
QT_API const char *qt_kv_get(const qt_kv *kv, const char *key);

/* ---- numbers ---- */
/* Parses a whole decimal number of `len` bytes strictly (no trailing junk). */
QT_API int qt_parse_double(const char *s, size_t len, double *out);
QT_API int qt_parse_i64(const char *s, size_t len, int64_t *out);

/* ---- files qtune writes ---- */
/* Output files: a regular file (or a new path) is replaced atomically: a
 * temp file beside it, fsync of the file and of its folder, then rename.  A
 * symlink is followed to its final target, which is replaced that way (the
 * link stays a link).  Anything else that exists (a character device such
 * as /dev/null or /dev/stdout, a FIFO) is written in place, never replaced;
 * a directory is refused.  The library writes every output file this way. */

/* Opens path for writing as above.  tmp (cap >= strlen(path) + 64, better
 * PATH_MAX + 64) receives the temp file's name, or "" when writing in place;
 * pass it to qt_file_commit.  QT_EIO naming the path and the reason. */
QT_API int qt_file_open_tmp(const char *path, char *tmp, size_t cap, FILE **out_f, qt_err *err);
/* Closes f; when ok and no write failed, fsyncs and renames tmp over its
 * target (and fsyncs the folder); else removes tmp.  Returns QT_EIO when
 * anything failed (a message only when ok: the caller's own error stands). */
QT_API int qt_file_commit(FILE *f, const char *tmp, const char *path, int ok, qt_err *err);
/* qt_file_open_tmp + fwrite + qt_file_commit of len bytes. */
QT_API int qt_file_write_atomic(const char *path, const void *data, size_t len, qt_err *err);
/* A file name made from a name (a study name): '/', '\\', control
 * characters and ".." become '_', a leading '.' too (no hidden files, no
 * "." or ".."), so the result names a file in the current folder.  Always
 * NUL-terminates buf (cap > 0); returns buf. */
QT_API char *qt_file_name_sanitize(const char *name, char *buf, size_t cap);

/* ---- YAML documents (src/core/yaml.c, over libyaml) ----
 * The one loader of every YAML file qtune reads (space, params, config,
 * thresholds).  Limits, each refused with a message naming it: at most
 * QT_YAML_MAX_BYTES of text, flow or block nesting at most QT_YAML_MAX_DEPTH
 * levels (checked on the text before libyaml, whose cost grows with the
 * square of the depth), one document.  Errors are "FILE:LINE: why". */
#define QT_YAML_MAX_BYTES ((size_t)4 << 20)
#define QT_YAML_MAX_DEPTH 64
struct yaml_document_s;
/* Loads text[0..len) into *doc (yaml_document_t; the caller deletes it with
 * yaml_document_delete on QT_OK, nothing to free otherwise). */
QT_API int qt_yaml_load(const char *text, size_t len, const char *file,
                        struct yaml_document_s *doc, qt_err *err);

#endif
