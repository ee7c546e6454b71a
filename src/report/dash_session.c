/* POST /logout: ends the caller's session (the server drops it and clears
 * the cookie); the CSRF check in dash.c runs before, like on every POST. */
#include "report/dash_int.h"

static void serve(const qt__dash_req *rq, qt__dash_reply *rp) {
  rp->end_session = 1;
  rp->status = 200;
  rp->type = "text/plain; charset=utf-8";
  fprintf(rp->f, "logged out: open the URL qtune dashboard printed to sign in again\n");
}

const qt__dash_page qt__dash_logout = {"POST", "/logout", serve};
