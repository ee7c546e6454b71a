/* Users' strategies: shared objects exporting `qt_strategy_entry`, loaded
 * with dlopen.  Plugins resolve qt_ctx_* from the host program, which is
 * linked with -rdynamic.  A vtable is validated before anything runs it. */
#include "qtune/strategies.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int lower_snake(const char *s) {
  if (!s || !(*s >= 'a' && *s <= 'z')) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

int qt_strategy_validate(const qt_strategy_vtbl *s, qt_err *err) {
  if (!s) return qt_err_set(err, QT_EINVAL, "strategy: NULL vtable");
  if (s->abi != QT_STRATEGY_ABI)
    return qt_err_set(err, QT_EINVAL, "strategy ABI mismatch: expected %d, found %d",
                      QT_STRATEGY_ABI, s->abi);
  if (!lower_snake(s->name))
    return qt_err_set(err, QT_EINVAL, "strategy name \"%s\": must be lower_snake_case",
                      s->name ? s->name : "(null)");
  const char *n = s->name;
  if (!s->lookback || !s->init || !s->on_bar)
    return qt_err_set(err, QT_EINVAL, "strategy '%s': callback %s is NULL", n,
                      !s->lookback ? "lookback" : !s->init ? "init" : "on_bar");
  if (s->n_instruments != 1 && s->n_instruments != 2)
    return qt_err_set(err, QT_EINVAL, "strategy '%s': n_instruments is %d, want 1 or 2", n,
                      s->n_instruments);
  if ((s->needs & QT_NEEDS_SECOND) && s->n_instruments != 2)
    return qt_err_set(err, QT_EINVAL, "strategy '%s': needs a second instrument but trades %d", n,
                      s->n_instruments);
  if (s->n_params > 0 && !s->params)
    return qt_err_set(err, QT_EINVAL, "strategy '%s': n_params %zu but params is NULL", n,
                      s->n_params);
  if (s->n_params > 256)
    return qt_err_set(err, QT_EINVAL, "strategy '%s': %zu parameters (at most 256)", n,
                      s->n_params);
  for (size_t k = 0; k < s->n_params; k++) {
    const qt_param_spec *ps = &s->params[k];
    if (!lower_snake(ps->name))
      return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter %zu name \"%s\": must be "
                        "lower_snake_case", n, k, ps->name ? ps->name : "(null)");
    for (size_t j = 0; j < k; j++)
      if (strcmp(s->params[j].name, ps->name) == 0)
        return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s' appears twice", n,
                          ps->name);
    if (ps->type < QT_PARAM_INT || ps->type > QT_PARAM_BOOL)
      return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s': unknown type %d", n,
                        ps->name, ps->type);
    if (ps->type == QT_PARAM_CAT) {
      if (ps->n_choices == 0 || !ps->choices)
        return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s': categorical without "
                          "choices", n, ps->name);
      for (size_t c = 0; c < ps->n_choices; c++)
        if (!ps->choices[c])
          return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s': choice %zu is NULL",
                            n, ps->name, c);
      continue; /* lo/hi are not used; the default is checked below */
    }
    if (!isfinite(ps->lo) || !isfinite(ps->hi) || ps->lo > ps->hi)
      return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s': bounds [%g, %g] are not "
                        "a range", n, ps->name, ps->lo, ps->hi);
    if (ps->log && !(ps->lo > 0))
      return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s': log scale needs lo > 0, "
                        "got %g", n, ps->name, ps->lo);
    if (!(ps->step >= 0) || (ps->type == QT_PARAM_INT && ps->step != 0 && ps->step < 1))
      return qt_err_set(err, QT_EINVAL, "strategy '%s': parameter '%s': bad step %g", n,
                        ps->name, ps->step);
  }
  double def[256];
  qt_strategy_defaults(s, def);
  int rc = qt_strategy_check_params(s, def, err);
  if (rc) qt_err_prefix(err, "default value");
  return rc;
}

int qt_strategy_load(const char *path, const qt_strategy_vtbl **out, void **out_handle,
                     qt_err *err) {
  int rc = QT_OK;
  void *h = NULL;
  if (out) *out = NULL;
  if (out_handle) *out_handle = NULL;
  if (!path || !out || !out_handle) return qt_err_set(err, QT_EINVAL, "qt_strategy_load: NULL argument");
  dlerror();
  h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *m = dlerror();
    rc = qt_err_set(err, QT_EIO, "%s: cannot load strategy: %s", path, m ? m : "dlopen failed");
    goto fail;
  }
  dlerror();
  const qt_strategy_vtbl *s = dlsym(h, "qt_strategy_entry");
  if (!s) {
    const char *m = dlerror();
    rc = qt_err_set(err, QT_EINVAL, "%s: no symbol 'qt_strategy_entry' (export `const "
                    "qt_strategy_vtbl qt_strategy_entry`): %s", path, m ? m : "NULL");
    goto fail;
  }
  rc = qt_strategy_validate(s, err);
  if (rc) {
    qt_err_prefix(err, "%s", path);
    goto fail;
  }
  *out = s;
  *out_handle = h;
  return QT_OK;
fail:
  if (h) dlclose(h);
  return rc;
}

void qt_strategy_unload(void *handle) {
  if (handle) dlclose(handle);
}

const qt_strategy_vtbl *qt_strategy_resolve(const char *name_or_path, void **out_handle,
                                            qt_err *err) {
  if (out_handle) *out_handle = NULL;
  if (!name_or_path || !out_handle) {
    qt_err_set(err, QT_EINVAL, "qt_strategy_resolve: NULL argument");
    return NULL;
  }
  size_t len = strlen(name_or_path);
  int is_so = len > 3 && strcmp(name_or_path + len - 3, ".so") == 0;
  if (strchr(name_or_path, '/') || is_so) {
    char path[4096];
    /* dlopen searches the library path for a bare name; a user means the file here. */
    int w = snprintf(path, sizeof path, "%s%s", strchr(name_or_path, '/') ? "" : "./",
                     name_or_path);
    if (w < 0 || (size_t)w >= sizeof path) {
      qt_err_set(err, QT_EINVAL, "strategy path too long (%zu bytes)", len);
      return NULL;
    }
    const qt_strategy_vtbl *s = NULL;
    return qt_strategy_load(path, &s, out_handle, err) == QT_OK ? s : NULL;
  }
  const qt_strategy_vtbl *s = qt_strategy_find(name_or_path);
  if (!s) {
    char names[200] = "";
    size_t n = 0, at = 0;
    const qt_strategy_vtbl *const *all = qt_strategies_builtin(&n);
    for (size_t k = 0; k < n && at < sizeof names; k++) {
      int w = snprintf(names + at, sizeof names - at, "%s%s", k ? ", " : "", all[k]->name);
      if (w < 0) break;
      at += (size_t)w;
    }
    qt_err_set(err, QT_ENOTFOUND, "unknown strategy '%s' (built-ins: %s; or a path to a .so)",
               name_or_path, names);
  }
  return s;
}
