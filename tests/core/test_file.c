/* The output-file writer (qt_file_*): regular files replaced atomically,
 * symlinks written through to their target, FIFOs written in place (never
 * replaced by a rename), directories refused; and file-name sanitizing.
 * Everything happens in a temp folder; no device is ever written. */
#include "qt_test.h"
#include "qtune/core.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];

static void make_dir(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/qtune_test_file_XXXXXX");
  ASSERT_TRUE(mkdtemp(g_dir) != NULL);
}

static void rm_dir(void) {
  DIR *d = opendir(g_dir);
  struct dirent *e;
  char p[600];
  while (d && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
    unlink(p);
  }
  if (d) closedir(d);
  rmdir(g_dir);
}

/* Entries of the temp folder, so no temp file is left behind. */
static int n_entries(void) {
  DIR *d = opendir(g_dir);
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  if (d) closedir(d);
  return n;
}

static void read_all(const char *path, char *buf, size_t cap) {
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f) return;
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

static void regular_file_replaced(void) {
  make_dir();
  char p[300], buf[64];
  snprintf(p, sizeof p, "%s/out.yaml", g_dir);
  qt_err e = {0};
  EXPECT_EQ(qt_file_write_atomic(p, "one\n", 4, &e), 0); /* a new path */
  read_all(p, buf, sizeof buf);
  EXPECT_STREQ(buf, "one\n");
  ASSERT_TRUE(chmod(p, 0640) == 0);
  struct stat before, after;
  ASSERT_TRUE(stat(p, &before) == 0);
  EXPECT_EQ(qt_file_write_atomic(p, "two\n", 4, &e), 0);
  ASSERT_TRUE(stat(p, &after) == 0);
  read_all(p, buf, sizeof buf);
  EXPECT_STREQ(buf, "two\n");
  EXPECT_TRUE(before.st_ino != after.st_ino); /* replaced by rename, not rewritten */
  EXPECT_EQ(after.st_mode & 0777, 0640);      /* keeping its mode */
  EXPECT_EQ(n_entries(), 1);                  /* no temp file left */
  /* a failed write leaves the old content and no temp file */
  char tmp[400];
  FILE *f;
  ASSERT_TRUE(qt_file_open_tmp(p, tmp, sizeof tmp, &f, &e) == 0);
  fputs("half", f);
  EXPECT_EQ(qt_file_commit(f, tmp, p, 0, &e), QT_EIO);
  read_all(p, buf, sizeof buf);
  EXPECT_STREQ(buf, "two\n");
  EXPECT_EQ(n_entries(), 1);
  rm_dir();
}

static void symlink_written_through(void) {
  make_dir();
  char target[300], link[300], buf[64];
  snprintf(target, sizeof target, "%s/real.yaml", g_dir);
  snprintf(link, sizeof link, "%s/link.yaml", g_dir);
  qt_err e = {0};
  EXPECT_EQ(qt_file_write_atomic(target, "old\n", 4, &e), 0);
  ASSERT_TRUE(symlink("real.yaml", link) == 0); /* relative, like most links */
  EXPECT_EQ(qt_file_write_atomic(link, "new\n", 4, &e), 0);
  struct stat st;
  ASSERT_TRUE(lstat(link, &st) == 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)); /* the link stays a link */
  read_all(target, buf, sizeof buf);
  EXPECT_STREQ(buf, "new\n");
  EXPECT_EQ(n_entries(), 2);
  /* a dangling link: its target is created */
  unlink(target);
  EXPECT_EQ(qt_file_write_atomic(link, "born\n", 5, &e), 0);
  ASSERT_TRUE(lstat(link, &st) == 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  read_all(target, buf, sizeof buf);
  EXPECT_STREQ(buf, "born\n");
  rm_dir();
}

static void fifo_written_in_place(void) {
  make_dir();
  char fifo[300], got[300], buf[64];
  snprintf(fifo, sizeof fifo, "%s/pipe", g_dir);
  snprintf(got, sizeof got, "%s/got", g_dir);
  ASSERT_TRUE(mkfifo(fifo, 0600) == 0);
  pid_t pid = fork();
  ASSERT_TRUE(pid >= 0);
  if (pid == 0) { /* the reader: copies what comes through the FIFO */
    FILE *in = fopen(fifo, "rb"), *out = fopen(got, "wb");
    int c;
    while (in && out && (c = fgetc(in)) != EOF) fputc(c, out);
    if (out) fclose(out);
    _exit(0);
  }
  qt_err e = {0};
  EXPECT_EQ(qt_file_write_atomic(fifo, "through\n", 8, &e), 0);
  int status;
  waitpid(pid, &status, 0);
  read_all(got, buf, sizeof buf);
  EXPECT_STREQ(buf, "through\n");
  struct stat st;
  ASSERT_TRUE(lstat(fifo, &st) == 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)); /* still the FIFO, not a file renamed over it */
  EXPECT_EQ(n_entries(), 2);
  /* a directory is refused, naming it */
  EXPECT_EQ(qt_file_write_atomic(g_dir, "x", 1, &e), QT_EIO);
  EXPECT_CONTAINS(e.msg, "is a directory");
  EXPECT_CONTAINS(e.msg, g_dir);
  rm_dir();
}

static void names_sanitized(void) {
  char b[64];
  EXPECT_STREQ(qt_file_name_sanitize("sma1", b, sizeof b), "sma1");
  EXPECT_STREQ(qt_file_name_sanitize("../../../x", b, sizeof b), "_________x");
  EXPECT_STREQ(qt_file_name_sanitize("a/b\\c", b, sizeof b), "a_b_c");
  EXPECT_STREQ(qt_file_name_sanitize("s\nfast: 999", b, sizeof b), "s_fast: 999");
  EXPECT_STREQ(qt_file_name_sanitize(".hidden", b, sizeof b), "_hidden");
  EXPECT_STREQ(qt_file_name_sanitize("v1.2", b, sizeof b), "v1.2");
  EXPECT_STREQ(qt_file_name_sanitize("a..b", b, sizeof b), "a__b");
  EXPECT_STREQ(qt_file_name_sanitize("", b, sizeof b), "_");
  EXPECT_STREQ(qt_file_name_sanitize("abcdef", b, 4), "abc");
}

QT_TESTS(T(regular_file_replaced), T(symlink_written_through), T(fifo_written_in_place),
         T(names_sanitized))
