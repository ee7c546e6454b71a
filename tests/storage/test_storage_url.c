/* Storage URLs: the SQLite URL -> file mapping (SQLAlchemy's convention),
 * the default URL and $QTUNE_STORAGE, password redaction (also inside the
 * error messages of a failed open) and the trial state names.  No server is
 * needed: the PostgreSQL cases fail while libpq parses the URL. */
#include "qt_test.h"
#include "qtune/storage.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void sqlite_url_to_path(void) {
  static const struct { const char *url, *path; } ok[] = {
      {"sqlite:///qtune.db", "qtune.db"},            /* the default: ./qtune.db */
      {"sqlite:///rel/dir/q.db", "rel/dir/q.db"},    /* three slashes: relative */
      {"sqlite:////abs/dir/q.db", "/abs/dir/q.db"},  /* four: absolute */
      {"sqlite:////tmp/x.db", "/tmp/x.db"},
      {"sqlite://rel/q.db", "rel/q.db"},             /* older qtune form, relative */
      {"sqlite:rel/q.db", "rel/q.db"},
      {"plain/q.db", "plain/q.db"},                  /* a bare path is a path */
      {"/abs/q.db", "/abs/q.db"},
      {"sqlite:///:memory:", ":memory:"},
  };
  char buf[64];
  qt_err e;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    EXPECT_EQ(qt_storage_sqlite_path(ok[i].url, buf, sizeof buf, &e), QT_OK);
    EXPECT_STREQ(buf, ok[i].path);
  }
  static const char *const bad[] = {"sqlite://", "sqlite:///", "sqlite:", "",
                                    "postgresql://u@h/db"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    strcpy(buf, "stale");
    EXPECT_EQ(qt_storage_sqlite_path(bad[i], buf, sizeof buf, &e), QT_EINVAL);
    EXPECT_STREQ(buf, "");
  }
  EXPECT_CONTAINS(e.msg, "not a SQLite URL");
  EXPECT_EQ(qt_storage_sqlite_path("sqlite:///", buf, sizeof buf, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "names no file");
  /* A path that does not fit is refused, not truncated to another file. */
  char small[8];
  EXPECT_EQ(qt_storage_sqlite_path("sqlite:///12345678", small, sizeof small, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "longer than 7");
  EXPECT_EQ(qt_storage_sqlite_path("sqlite:///1234567", small, sizeof small, &e), QT_OK);
  EXPECT_STREQ(small, "1234567");
}

/* The default URL opens ./qtune.db in the working directory, not /qtune.db. */
static void default_url_is_in_the_working_directory(void) {
  char dir[] = "/tmp/qtune_test_url_XXXXXX", old[PATH_MAX];
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  ASSERT_TRUE(getcwd(old, sizeof old) != NULL);
  ASSERT_TRUE(chdir(dir) == 0);
  unsetenv("QTUNE_STORAGE");
  EXPECT_STREQ(qt_storage_default_url(), "sqlite:///qtune.db");
  qt_storage s;
  qt_err e;
  EXPECT_EQ(qt_storage_open(qt_storage_default_url(), &s, &e), QT_OK);
  qt_storage_close(&s);
  struct stat sb;
  EXPECT_EQ(stat("qtune.db", &sb), 0);
  ASSERT_TRUE(chdir(old) == 0);
  char p[PATH_MAX];
  static const char *const files[] = {"qtune.db", "qtune.db-wal", "qtune.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    unlink(p);
  }
  EXPECT_EQ(rmdir(dir), 0);
}

static void default_url_from_environment(void) {
  unsetenv("QTUNE_STORAGE");
  EXPECT_STREQ(qt_storage_default_url(), QT_STORAGE_DEFAULT_URL);
  setenv("QTUNE_STORAGE", "postgresql://u@h/db", 1);
  EXPECT_STREQ(qt_storage_default_url(), "postgresql://u@h/db");
  setenv("QTUNE_STORAGE", "", 1); /* set but empty: as if unset */
  EXPECT_STREQ(qt_storage_default_url(), QT_STORAGE_DEFAULT_URL);
  unsetenv("QTUNE_STORAGE");
}

static void redaction(void) {
  static const struct { const char *in, *out; } cases[] = {
      {"postgresql://user:secret@host:5432/db", "postgresql://user:***@host:5432/db"},
      {"postgres://user:secret@host/db", "postgres://user:***@host/db"},
      {"postgresql://user@host/db", "postgresql://user@host/db"},
      {"postgresql://host/db", "postgresql://host/db"},
      {"postgresql://user:@host/db", "postgresql://user:@host/db"},  /* empty: nothing to hide */
      {"postgresql://user:p@ss@host/db", "postgresql://user:***@host/db"}, /* stray '@' */
      {"postgresql://user:se%2Fcret@[::1]:5/db", "postgresql://user:***@[::1]:5/db"},
      {"postgresql://h/db?password=secret", "postgresql://h/db?password=***"},
      {"postgresql://h/db?sslmode=require&PASSWORD=secret&connect_timeout=2",
       "postgresql://h/db?sslmode=require&PASSWORD=***&connect_timeout=2"},
      {"postgresql://u:a@h?password=b#frag", "postgresql://u:***@h?password=***#frag"},
      {"postgresql://h?password=a@b", "postgresql://h?password=***"},
      {"postgresql://h/db?passwordx=1&xpassword=2", "postgresql://h/db?passwordx=1&xpassword=2"},
      {"host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"},
      {"password = 'se cr\\'et' host=h", "password = *** host=h"},
      {"host=h password=sec\\ ret", "host=h password=***"},
      {"sqlite:///rel/q.db", "sqlite:///rel/q.db"},
      {"/tmp/my dir/q.db", "/tmp/my dir/q.db"},
      {"", ""},
  };
  char buf[128];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    EXPECT_STREQ(qt_storage_url_redact(cases[i].in, buf, sizeof buf), cases[i].out);
  /* Truncation keeps the mask: a short buffer never shows part of a password. */
  char small[24];
  EXPECT_STREQ(qt_storage_url_redact("postgresql://u:secret@host/db", small, sizeof small),
               "postgresql://u:***@host");
  EXPECT_STREQ(qt_storage_url_redact(NULL, buf, sizeof buf), "");
}

/* libpq quotes parts of a malformed conninfo in its message; the storage's
 * error must not pass a password on. */
static void open_errors_hide_the_password(void) {
  static const char *const urls[] = {
      "postgresql://u:s3%zzcret@127.0.0.1:1/db",          /* bad percent-encoding */
      "postgresql://u:s3cret@[::1/db",                     /* libpq quotes the whole URI */
      "postgresql://u@127.0.0.1:1/db?password=s3%zzcret",  /* in the query */
      "mysql://u:s3cret@h/db",                             /* unknown scheme */
  };
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    qt_storage s;
    qt_err e;
    EXPECT_NE(qt_storage_open(urls[i], &s, &e), QT_OK);
    EXPECT_TRUE(e.msg[0] != '\0');
    EXPECT_TRUE(strstr(e.msg, "s3") == NULL);
    EXPECT_TRUE(strstr(e.msg, "cret") == NULL);
  }
}

static void trial_state_names(void) {
  EXPECT_STREQ(qt_trial_state_name(QT_TRIAL_RUNNING), "running");
  EXPECT_STREQ(qt_trial_state_name(QT_TRIAL_COMPLETE), "complete");
  EXPECT_STREQ(qt_trial_state_name(QT_TRIAL_PRUNED), "pruned");
  EXPECT_STREQ(qt_trial_state_name(QT_TRIAL_FAIL), "fail");
  EXPECT_STREQ(qt_trial_state_name(-1), "unknown");
  EXPECT_STREQ(qt_trial_state_name(QT_TRIAL_N_STATES), "unknown");
  for (int k = 0; k < QT_TRIAL_N_STATES; k++) {
    int got = -1;
    EXPECT_EQ(qt_trial_state_from_name(qt_trial_state_name(k), &got, NULL), QT_OK);
    EXPECT_EQ(got, k);
  }
  int got = -1;
  qt_err e;
  EXPECT_EQ(qt_trial_state_from_name("done", &got, &e), QT_EPARSE);
  EXPECT_EQ(got, (int)QT_TRIAL_FAIL);
  EXPECT_CONTAINS(e.msg, "'done'");
  EXPECT_EQ(qt_trial_state_from_name(NULL, &got, NULL), QT_EPARSE);
}

QT_TESTS(T(sqlite_url_to_path), T(default_url_is_in_the_working_directory),
         T(default_url_from_environment), T(redaction), T(open_errors_hide_the_password),
         T(trial_state_names))
