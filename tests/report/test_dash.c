/* The dashboard's server in-process, spoken to over raw sockets: bad
 * addresses and a taken port are refused, the URL carries a 64-hex token,
 * nothing is served without it, the token signs in (cookie, redirect
 * without it), POSTs need the session's CSRF token and a small body, and a
 * log-out ends the session. */
#include "qt_test.h"
#include "qtune/report.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static char g_url[256];

static const char *db(void) {
  if (!g_url[0]) {
    char dir[] = "/tmp/qt_dash_XXXXXX";
    if (!mkdtemp(dir)) abort();
    snprintf(g_url, sizeof g_url, "sqlite:///%s/d.db", dir);
  }
  return g_url;
}

/* Sends req to 127.0.0.1:port and reads the whole answer into buf. */
static int http(unsigned port, const char *req, char *buf, size_t cap) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) return -1;
  size_t len = strlen(req), n = 0;
  if (write(fd, req, len) != (ssize_t)len) return -1;
  ssize_t r;
  while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  buf[n] = 0;
  close(fd);
  return 0;
}

/* The value after "name" in text up to the next char of stop, into out. */
static void grab(const char *text, const char *name, const char *stop, char *out, size_t cap) {
  const char *p = strstr(text, name);
  out[0] = 0;
  if (!p) return;
  p += strlen(name);
  size_t n = strcspn(p, stop);
  if (n >= cap) n = cap - 1;
  memcpy(out, p, n);
  out[n] = 0;
}

static void test_refusals(void) {
  qt_dash_opts o = qt_dash_opts_default();
  EXPECT_EQ(o.port, 8080);
  EXPECT_STREQ(o.bind_addr, "127.0.0.1");
  o.storage_url = db();
  o.bind_addr = "localhost";
  qt_dash *d = NULL;
  qt_err e = {0};
  EXPECT_EQ(qt_dash_start(&o, &d, &e), QT_EINVAL);
  EXPECT_CONTAINS(e.msg, "--bind 'localhost': not a numeric IPv4 or IPv6 address");
  EXPECT_TRUE(d == NULL);
  o.bind_addr = "127.0.0.1";
  o.port = 0;
  EXPECT_EQ(qt_dash_start(&o, &d, &e), QT_OK);
  qt_dash *d2 = NULL;
  o.port = qt_dash_port(d);
  EXPECT_EQ(qt_dash_start(&o, &d2, &e), QT_EIO);
  EXPECT_CONTAINS(e.msg, "cannot listen on 127.0.0.1 port");
  char url[64];
  EXPECT_EQ(qt_dash_url(d, url, sizeof url, &e), QT_EINVAL); /* too small */
  qt_dash_stop(d);
  qt_dash_stop(NULL);
}

static void test_session(void) {
  qt_dash_opts o = qt_dash_opts_default();
  o.storage_url = db();
  o.port = 0;
  qt_dash *d = NULL;
  qt_err e = {0};
  ASSERT_TRUE(qt_dash_start(&o, &d, &e) == QT_OK);
  unsigned port = qt_dash_port(d);
  EXPECT_TRUE(port > 0);
  char url[256], want[64], tok[80], req[1024], cookie[128], csrf[80];
  static char res[1 << 20];
  EXPECT_EQ(qt_dash_url(d, url, sizeof url, &e), QT_OK);
  snprintf(want, sizeof want, "http://127.0.0.1:%u/?token=", port);
  EXPECT_TRUE(!strncmp(url, want, strlen(want)));
  snprintf(tok, sizeof tok, "%s", url + strlen(want));
  EXPECT_EQ(strlen(tok), 64);
  EXPECT_EQ(strspn(tok, "0123456789abcdef"), 64);

  const char *paths[] = {"/", "/api/studies", "/study?name=x", "/assets/dash.js"};
  for (size_t i = 0; i < 4; i++) {
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", paths[i]);
    ASSERT_TRUE(http(port, req, res, sizeof res) == 0);
    EXPECT_CONTAINS(res, "HTTP/1.1 401");
  }
  /* the token: a session cookie and a redirect to the page without it */
  snprintf(req, sizeof req, "GET /compare?token=%s&a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tok);
  ASSERT_TRUE(http(port, req, res, sizeof res) == 0);
  EXPECT_CONTAINS(res, "HTTP/1.1 303");
  EXPECT_CONTAINS(res, "Location: /compare?a=1\r\n");
  EXPECT_CONTAINS(res, "; Path=/; HttpOnly; SameSite=Strict");
  grab(res, "Set-Cookie: ", ";", cookie, sizeof cookie);
  EXPECT_EQ(strlen(cookie), strlen("qt_session=") + 64);
  snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nConnection: close\r\n\r\n", cookie);
  ASSERT_TRUE(http(port, req, res, sizeof res) == 0);
  EXPECT_CONTAINS(res, "HTTP/1.1 200");
  EXPECT_CONTAINS(res, "Content-Security-Policy: default-src 'none'");
  grab(res, "<meta name=\"qt-csrf\" content=\"", "\"", csrf, sizeof csrf);
  EXPECT_EQ(strlen(csrf), 64);
  /* POSTs: no CSRF, a wrong one, a big body, then the right one */
  snprintf(req, sizeof req, "POST /logout HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n", cookie);
  ASSERT_TRUE(http(port, req, res, sizeof res) == 0);
  EXPECT_CONTAINS(res, "HTTP/1.1 403");
  snprintf(req, sizeof req, "POST /logout HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Length: 69\r\n"
                            "Connection: close\r\n\r\ncsrf=%s", cookie, tok);
  ASSERT_TRUE(http(port, req, res, sizeof res) == 0);
  EXPECT_CONTAINS(res, "HTTP/1.1 403");
  snprintf(req, sizeof req, "POST /logout HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nX-QT-CSRF: %s\r\n"
                            "Content-Length: 20000\r\nConnection: close\r\n\r\n", cookie, csrf);
  ASSERT_TRUE(http(port, req, res, sizeof res) == 0);
  EXPECT_CONTAINS(res, "HTTP/1.1 413");
  snprintf(req, sizeof req, "POST /logout HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Length: 69\r\n"
                            "Connection: close\r\n\r\ncsrf=%s", cookie, csrf);
  ASSERT_TRUE(http(port, req, res, sizeof res) == 0);
  EXPECT_CONTAINS(res, "HTTP/1.1 200");
  EXPECT_CONTAINS(res, "Set-Cookie: qt_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nConnection: close\r\n\r\n", cookie);
  ASSERT_TRUE(http(port, req, res, sizeof res) == 0);
  EXPECT_CONTAINS(res, "HTTP/1.1 401");
  qt_dash_stop(d);
}

QT_TESTS(T(test_refusals), T(test_session))
