/* Output files: atomic replacement of regular files, in-place writes to
 * devices and FIFOs, symlinks followed to their target (see core.h).  A
 * rename over /dev/null (as root) once replaced the device with a file. */
#include "qtune/core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_TAG ".tmp."

/* The final target of path: symlinks followed one by one (a dangling link's
 * target is a new file).  QT_EIO on a loop or a name too long. */
static int resolve(const char *path, char *out, size_t cap, qt_err *err) {
  if (snprintf(out, cap, "%s", path) >= (int)cap)
    return qt_err_set(err, QT_EIO, "%s: path too long", path);
  for (int hops = 0;; hops++) {
    struct stat st;
    if (lstat(out, &st) != 0 || !S_ISLNK(st.st_mode)) return QT_OK;
    if (hops == 40) return qt_err_set(err, QT_EIO, "%s: too many levels of symbolic links", path);
    char link[PATH_MAX];
    ssize_t n = readlink(out, link, sizeof link - 1);
    if (n < 0) return qt_err_set(err, QT_EIO, "%s: cannot read link: %s", path, strerror(errno));
    link[n] = '\0';
    if (link[0] == '/') {
      if (snprintf(out, cap, "%s", link) >= (int)cap)
        return qt_err_set(err, QT_EIO, "%s: link target too long", path);
    } else {
      /* relative to the folder that holds the link */
      char *slash = strrchr(out, '/');
      size_t keep = slash ? (size_t)(slash - out) + 1 : 0;
      if (keep + strlen(link) + 1 > cap)
        return qt_err_set(err, QT_EIO, "%s: link target too long", path);
      memmove(out + keep, link, strlen(link) + 1);
    }
  }
}

int qt_file_open_tmp(const char *path, char *tmp, size_t cap, FILE **out_f, qt_err *err) {
  static atomic_uint seq; /* distinct temp names for threads of one process */
  *out_f = NULL;
  if (cap) tmp[0] = '\0';
  char target[PATH_MAX];
  int r = resolve(path, target, sizeof target, err);
  if (r) return r;
  struct stat st;
  int exists = stat(target, &st) == 0;
  if (exists && S_ISDIR(st.st_mode))
    return qt_err_set(err, QT_EIO, "%s: is a directory, not an output file", path);
  if (exists && !S_ISREG(st.st_mode)) {
    /* a device or FIFO: replacing it would break it (and block nobody) */
    FILE *f = fopen(target, "wb");
    if (!f) return qt_err_set(err, QT_EIO, "%s: cannot write: %s", path, strerror(errno));
    *out_f = f;
    return QT_OK;
  }
  if (snprintf(tmp, cap, "%s" TMP_TAG "%ld.%u", target, (long)getpid(),
               atomic_fetch_add(&seq, 1)) >= (int)cap) {
    tmp[0] = '\0';
    return qt_err_set(err, QT_EIO, "%s: path too long", path);
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    r = qt_err_set(err, QT_EIO, "%s: cannot write: %s", path, strerror(errno));
    tmp[0] = '\0';
    return r;
  }
  /* the replacement keeps the mode of the file it replaces */
  if (exists) (void)fchmod(fd, st.st_mode & 07777);
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    close(fd);
    unlink(tmp);
    tmp[0] = '\0';
    return qt_err_set(err, QT_ENOMEM, "%s: out of memory", path);
  }
  *out_f = f;
  return QT_OK;
}

/* fsync of the folder holding file, so the rename itself is durable. */
static void sync_dir(const char *file) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", file);
  char *slash = strrchr(dir, '/');
  if (slash == dir) slash[1] = '\0';
  else if (slash) *slash = '\0';
  else snprintf(dir, sizeof dir, ".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

int qt_file_commit(FILE *f, const char *tmp, const char *path, int ok, qt_err *err) {
  int in_place = !tmp || !tmp[0];
  int bad = fflush(f) != 0 || ferror(f);
  if (!bad && ok && !in_place && fsync(fileno(f)) != 0) bad = 1;
  int saved = errno;
  if (fclose(f) != 0) bad = 1, saved = errno;
  if (in_place) {
    if (ok && bad) return qt_err_set(err, QT_EIO, "%s: write failed: %s", path, strerror(saved));
    return ok ? QT_OK : QT_EIO;
  }
  if (!ok || bad) {
    unlink(tmp);
    return ok ? qt_err_set(err, QT_EIO, "%s: write failed: %s", path, strerror(saved)) : QT_EIO;
  }
  /* the target is the temp name without its tag: the temp sits beside it */
  char target[PATH_MAX];
  snprintf(target, sizeof target, "%s", tmp);
  char *tag = strstr(target, TMP_TAG), *next;
  while (tag && (next = strstr(tag + 1, TMP_TAG))) tag = next;
  if (tag) *tag = '\0';
  if (!tag || rename(tmp, target) != 0) {
    int e = errno;
    unlink(tmp);
    return qt_err_set(err, QT_EIO, "%s: cannot rename into place: %s", path, strerror(e));
  }
  sync_dir(target);
  return QT_OK;
}

int qt_file_write_atomic(const char *path, const void *data, size_t len, qt_err *err) {
  char tmp[PATH_MAX + 64];
  FILE *f;
  int r = qt_file_open_tmp(path, tmp, sizeof tmp, &f, err);
  if (r) return r;
  int ok = fwrite(data, 1, len, f) == len;
  return qt_file_commit(f, tmp, path, ok, err);
}

char *qt_file_name_sanitize(const char *name, char *buf, size_t cap) {
  if (!cap) return buf;
  size_t n = 0;
  for (size_t i = 0; name && name[i] && n + 1 < cap; i++) {
    unsigned char c = (unsigned char)name[i];
    int bad = c == '/' || c == '\\' || c < 0x20 || c == 0x7f || (n == 0 && c == '.');
    if (c == '.' && name[i + 1] == '.') bad = 1; /* ".." anywhere */
    if (c == '.' && i > 0 && name[i - 1] == '.') bad = 1;
    buf[n++] = bad ? '_' : (char)c;
  }
  if (n == 0 && cap > 1) buf[n++] = '_';
  buf[n] = '\0';
  return buf;
}
