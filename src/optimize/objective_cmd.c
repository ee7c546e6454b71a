/* The external-command objective: any backtester in any language.  Each
 * trial runs `/bin/sh -c CMD` in its own process group with the params as a
 * JSON object on stdin and reads one JSON object of metrics from stdout.
 * fork/exec and pipes only (no temp files); a timeout kills the whole group
 * so a shell's children die with it.  The trial's seed is in the
 * environment as QTUNE_TRIAL_SEED.  Lines {"step": k, "value": v} before
 * the final object are intermediate values, read as they come: when the
 * pruner stops the trial the command's process group is killed at once. */
#include "qtune/optimize.h"
#include "optimize/study_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

#define CMD_OUT_MAX (16u << 20) /* a metrics object is small; more is a runaway */
#define CMD_ERR_TAIL 240

typedef struct cmd_shared {
  char *cmd;
  double timeout_s;
} cmd_shared;

typedef struct cmd_worker {
  const cmd_shared *sh;
  char **envp;   /* environ + QTUNE_TRIAL_SEED, built before fork */
  size_t env_cap;
  char seed_var[48];
  char tag_var[64]; /* QTUNE_TRIAL_TAG=...: marks every process of this trial */
  unsigned long runs;
  char *in;      /* params JSON */
  size_t in_cap;
  char *out;     /* child's stdout */
  size_t out_cap;
  const qt_reporter *rep; /* intermediate values (NULL: step lines are skipped) */
} cmd_worker;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void cmd_worker_free(void *wv) {
  cmd_worker *w = wv;
  if (!w) return;
  qt_free(w->in);
  qt_free(w->out);
  qt_free(w->envp);
  qt_free(w);
}

static int cmd_worker_new(const void *shared, void **out_w, qt_err *err) {
  *out_w = NULL;
  cmd_worker *w = qt_calloc(1, sizeof *w);
  if (!w) return qt_err_set(err, QT_ENOMEM, "objective command: out of memory");
  w->sh = shared;
  w->in_cap = 4096;
  w->out_cap = 4096;
  w->in = qt_malloc(w->in_cap);
  w->out = qt_malloc(w->out_cap);
  if (!w->in || !w->out) {
    cmd_worker_free(w);
    return qt_err_set(err, QT_ENOMEM, "objective command: out of memory");
  }
  *out_w = w;
  return QT_OK;
}

/* The params JSON, growing the buffer while it is too small. */
static int params_json(cmd_worker *w, const qt_space *sp, const double *x, qt_err *err) {
  for (;;) {
    qt_err e2;
    int r = qt_space_params_json(sp, x, w->in, w->in_cap, &e2);
    if (r == 0) return 0;
    if (w->in_cap >= (1u << 24)) {
      if (err) *err = e2;
      return r;
    }
    char *nb = qt_realloc(w->in, w->in_cap * 4);
    if (!nb) return qt_err_set(err, QT_ENOMEM, "objective command: out of memory");
    w->in = nb;
    w->in_cap *= 4;
  }
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Parses the metrics object; numbers kept, booleans as 1/0, null as NaN. */
int qt__cmd_parse_metrics(const char *s, size_t n, qt_metric_set *out, qt_err *err) {
  json_error_t je;
  json_t *o = json_loadb(s, n, JSON_DECODE_ANY, &je);
  if (!o || !json_is_object(o)) {
    int r = qt_err_set(err, QT_EPARSE, "objective command: stdout is not a JSON object%s%s%s",
                       o ? "" : " (", o ? "" : je.text, o ? "" : ")");
    json_decref(o);
    return r;
  }
  const char *key;
  json_t *v;
  int r = QT_OK;
  json_object_foreach(o, key, v) {
    double d;
    if (json_is_number(v)) d = json_number_value(v);
    else if (json_is_boolean(v)) d = json_is_true(v) ? 1.0 : 0.0;
    else if (json_is_null(v)) d = NAN;
    else continue;
    if ((r = qt_metric_set_put(out, key, d, err)) != 0) break;
  }
  json_decref(o);
  return r;
}

static void cmd_set_reporter(void *wv, const qt_reporter *rep) {
  cmd_worker *w = wv;
  w->rep = rep && rep->report ? rep : NULL;
}

/* Reads the complete lines of stdout from *scan on while they are step
 * lines ({"step": integer, "value": number or null}, nothing else) or
 * blank; *final_off is where the final object starts.  The first other line
 * ends the step lines (*steps_over).  Returns 1 when the reporter says to
 * stop. */
static int scan_steps(cmd_worker *w, size_t out_len, size_t *scan, size_t *final_off,
                      int *steps_over) {
  while (!*steps_over) {
    const char *line = w->out + *scan;
    const char *nl = memchr(line, '\n', out_len - *scan);
    if (!nl) return 0;
    size_t len = (size_t)(nl - line), k = 0;
    while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
    if (k < len) {
      json_t *o = json_loadb(line, len, 0, NULL);
      json_t *st = json_object_get(o, "step"), *v = json_object_get(o, "value");
      int is_step = json_is_object(o) && json_object_size(o) == 2 && json_is_integer(st) &&
                    (json_is_number(v) || json_is_null(v));
      int64_t step = is_step ? (int64_t)json_integer_value(st) : 0;
      double val = is_step && json_is_number(v) ? json_number_value(v) : NAN;
      json_decref(o);
      if (!is_step) {
        *steps_over = 1;
        return 0;
      }
      *scan += len + 1;
      *final_off = *scan;
      if (w->rep && w->rep->report(w->rep->ud, step, NULL, val, 0)) return 1;
      continue;
    }
    *scan += len + 1;
    *final_off = *scan;
  }
  return 0;
}

/* Ends the trial's command and everything it started: its process group,
 * and any process that left the group (setsid, a daemon) found by the tag in
 * its environment, which children inherit.  Repeats until a scan finds none,
 * so a process forked during the kill goes too. */
static void kill_tree(const cmd_worker *w, pid_t pid) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  const char *tag = w->tag_var;
  size_t tl = strlen(tag);
  for (int pass = 0; pass < 8; pass++) {
    DIR *d = opendir("/proc");
    if (!d) return;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      char *end;
      long n = strtol(e->d_name, &end, 10);
      if (*end || n <= 1 || n == (long)getpid()) continue;
      char path[64], buf[16384];
      snprintf(path, sizeof path, "/proc/%ld/environ", n);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t k = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (k > 0) buf[k] = 0;
      for (ssize_t i = 0; k > 0 && i + (ssize_t)tl <= k; i += (ssize_t)strlen(buf + i) + 1)
        if (!memcmp(buf + i, tag, tl) && (buf[i + tl] == 0 || i + (ssize_t)tl == k)) {
          kill((pid_t)n, SIGKILL);
          found = 1;
          break;
        }
    }
    closedir(d);
    if (!found) return;
  }
}

static int cmd_eval(void *wv, const qt_space *sp, const double *x, const double *u, uint64_t seed,
                    qt_metric_set *out, qt_err *err) {
  cmd_worker *w = wv;
  int in[2] = {-1, -1}, op[2] = {-1, -1}, ep[2] = {-1, -1};
  pid_t pid = -1;
  int r = params_json(w, sp, x, err);
  if (r) return r;
  /* the child's environment: ours plus the trial's seed, for commands
   * whose backtest is random */
  size_t n_env = 0;
  while (environ && environ[n_env]) n_env++;
  if (n_env + 3 > w->env_cap) {
    char **ne = qt_realloc(w->envp, (n_env + 3) * sizeof *ne);
    if (!ne) return qt_err_set(err, QT_ENOMEM, "objective command: out of memory");
    w->envp = ne;
    w->env_cap = n_env + 3;
  }
  size_t ke = 0;
  for (size_t i = 0; i < n_env; i++)
    if (strncmp(environ[i], "QTUNE_TRIAL_SEED=", 17) != 0 &&
        strncmp(environ[i], "QTUNE_TRIAL_TAG=", 16) != 0)
      w->envp[ke++] = environ[i];
  snprintf(w->seed_var, sizeof w->seed_var, "QTUNE_TRIAL_SEED=%llu", (unsigned long long)seed);
  w->envp[ke++] = w->seed_var;
  snprintf(w->tag_var, sizeof w->tag_var, "QTUNE_TRIAL_TAG=%d-%p-%lu", (int)getpid(), (void *)w,
           ++w->runs);
  w->envp[ke++] = w->tag_var;
  w->envp[ke] = NULL;
  size_t in_len = strlen(w->in), in_off = 0, out_len = 0;
  char tail[CMD_ERR_TAIL + 1];
  size_t tail_len = 0;
  int timed_out = 0, too_big = 0, status = 0, pruned = 0, steps_over = 0;
  size_t scan = 0, final_off = 0;
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  /* A child that exits without reading stdin must not kill us with SIGPIPE:
   * block it in this thread while we write, and drop a pending one after. */
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  if (pipe2(in, O_CLOEXEC) || pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
    r = qt_err_set(err, QT_EIO, "objective command: pipe: %s", strerror(errno));
    goto fail;
  }
  pid = fork();
  if (pid < 0) {
    r = qt_err_set(err, QT_EIO, "objective command: fork: %s", strerror(errno));
    goto fail;
  }
  if (pid == 0) {
    /* child: async-signal-safe calls only */
    setpgid(0, 0);
    sigprocmask(SIG_SETMASK, &old_set, NULL);
    signal(SIGPIPE, SIG_DFL);
    dup2(in[0], 0);
    dup2(op[1], 1);
    dup2(ep[1], 2);
    char *const args[] = {"sh", "-c", w->sh->cmd, NULL};
    execve("/bin/sh", args, w->envp);
    _exit(127);
  }
  setpgid(pid, pid); /* also here: no race with the kill below */
  close_fd(&in[0]);
  close_fd(&op[1]);
  close_fd(&ep[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(op[0], F_SETFL, O_NONBLOCK);
  fcntl(ep[0], F_SETFL, O_NONBLOCK);
  if (in_len == 0) close_fd(&in[1]);
  double deadline = w->sh->timeout_s > 0 ? mono_s() + w->sh->timeout_s : 0;
  while (op[0] >= 0 || ep[0] >= 0) {
    struct pollfd pf[3];
    int np = 0, ii = -1, io = -1, ie = -1;
    if (in[1] >= 0) pf[ii = np++] = (struct pollfd){in[1], POLLOUT, 0};
    if (op[0] >= 0) pf[io = np++] = (struct pollfd){op[0], POLLIN, 0};
    if (ep[0] >= 0) pf[ie = np++] = (struct pollfd){ep[0], POLLIN, 0};
    int wait_ms = -1;
    if (deadline > 0) {
      double left = deadline - mono_s();
      if (left <= 0) {
        timed_out = 1;
        break;
      }
      wait_ms = (int)(left * 1000) + 1;
    }
    int pr = poll(pf, (nfds_t)np, wait_ms);
    if (pr < 0) {
      if (errno == EINTR) continue;
      r = qt_err_set(err, QT_EIO, "objective command: poll: %s", strerror(errno));
      goto fail;
    }
    if (ii >= 0 && pf[ii].revents) {
      ssize_t k = write(in[1], w->in + in_off, in_len - in_off);
      if (k > 0) in_off += (size_t)k;
      if ((k < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len) close_fd(&in[1]);
    }
    if (io >= 0 && pf[io].revents) {
      if (out_len + 4096 > w->out_cap) {
        if (w->out_cap >= CMD_OUT_MAX) {
          too_big = 1;
          break;
        }
        char *nb = qt_realloc(w->out, w->out_cap * 2);
        if (!nb) {
          r = qt_err_set(err, QT_ENOMEM, "objective command: out of memory");
          goto fail;
        }
        w->out = nb;
        w->out_cap *= 2;
      }
      ssize_t k = read(op[0], w->out + out_len, w->out_cap - out_len - 1);
      if (k > 0) out_len += (size_t)k;
      else if (k == 0 || (errno != EAGAIN && errno != EINTR)) close_fd(&op[0]);
      if (k > 0 && scan_steps(w, out_len, &scan, &final_off, &steps_over)) {
        pruned = 1;
        break;
      }
    }
    if (ie >= 0 && pf[ie].revents) {
      char buf[1024];
      ssize_t k = read(ep[0], buf, sizeof buf);
      if (k > 0) {
        /* keep the last CMD_ERR_TAIL bytes: the end says why it failed */
        size_t kk = (size_t)k;
        if (kk >= CMD_ERR_TAIL) {
          memcpy(tail, buf + kk - CMD_ERR_TAIL, CMD_ERR_TAIL);
          tail_len = CMD_ERR_TAIL;
        } else {
          size_t keep = tail_len + kk > CMD_ERR_TAIL ? CMD_ERR_TAIL - kk : tail_len;
          memmove(tail, tail + tail_len - keep, keep);
          memcpy(tail + keep, buf, kk);
          tail_len = keep + kk;
        }
      } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(&ep[0]);
      }
    }
  }
  close_fd(&in[1]);
  close_fd(&op[0]);
  close_fd(&ep[0]);
  if (timed_out || too_big || pruned) {
    kill_tree(w, pid);
  } else {
    /* the pipes are closed, not the command: the deadline holds for its exit
     * too (`exec >&- 2>&-; sleep 30` with --trial-timeout 2 takes 2 s) */
    for (;;) {
      pid_t got = waitpid(pid, &status, WNOHANG);
      if (got == pid || (got < 0 && errno != EINTR)) break;
      if (deadline > 0 && mono_s() >= deadline) {
        timed_out = 1;
        kill_tree(w, pid);
        break;
      }
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
    if (!timed_out) pid = -1;
  }
  if (pid > 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
  }
  tail[tail_len] = 0;
  for (size_t i = 0; i < tail_len; i++)
    if (tail[i] == '\n' || tail[i] == '\r') tail[i] = ' ';
  while (tail_len && tail[tail_len - 1] == ' ') tail[--tail_len] = 0;
  if (pruned) {
    r = QT_PRUNED; /* killed on the pruner's word: no final metrics */
  } else if (timed_out) {
    r = qt_err_set(err, QT_ETIMEOUT, "objective command: timed out after %gs (killed)",
                   w->sh->timeout_s);
  } else if (too_big) {
    r = qt_err_set(err, QT_EIO, "objective command: more than %u bytes on stdout",
                   CMD_OUT_MAX);
  } else if (WIFSIGNALED(status)) {
    r = qt_err_set(err, QT_EIO, "objective command: killed by signal %d%s%s", WTERMSIG(status),
                   tail_len ? ": " : "", tail);
  } else if (WEXITSTATUS(status) != 0) {
    r = qt_err_set(err, QT_EIO, "objective command: exit status %d%s%s", WEXITSTATUS(status),
                   tail_len ? ": " : "", tail);
  } else {
    w->out[out_len] = 0;
    r = qt__cmd_parse_metrics(w->out + final_off, out_len - final_off, out, err);
  }
fail:
  if (pid > 0) {
    kill_tree(w, pid);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  close_fd(&in[0]);
  close_fd(&in[1]);
  close_fd(&op[0]);
  close_fd(&op[1]);
  close_fd(&ep[0]);
  close_fd(&ep[1]);
  {
    sigset_t pend;
    struct timespec zero = {0, 0};
    sigpending(&pend);
    if (sigismember(&pend, SIGPIPE)) sigtimedwait(&pipe_set, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_set, NULL);
  return r;
}

static void cmd_destroy(void *shared) {
  cmd_shared *sh = shared;
  if (!sh) return;
  qt_free(sh->cmd);
  qt_free(sh);
}

static const qt_objective_vtbl k_cmd_vtbl = {"command", cmd_worker_new, cmd_eval,
                                             cmd_worker_free, cmd_destroy, cmd_set_reporter};

int qt_objective_command(const char *cmd, double timeout_s, qt_objective *out, qt_err *err) {
  memset(out, 0, sizeof *out);
  if (!cmd || !*cmd) return qt_err_set(err, QT_EINVAL, "objective command: empty");
  cmd_shared *sh = qt_calloc(1, sizeof *sh);
  if (!sh) return qt_err_set(err, QT_ENOMEM, "objective command: out of memory");
  sh->cmd = qt_strdup(cmd);
  if (!sh->cmd) {
    qt_free(sh);
    return qt_err_set(err, QT_ENOMEM, "objective command: out of memory");
  }
  sh->timeout_s = timeout_s;
  out->vt = &k_cmd_vtbl;
  out->shared = sh;
  return QT_OK;
}
