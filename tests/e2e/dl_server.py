#!/usr/bin/env python3
"""A loopback HTTP server for `qtune data download` tests: serves ROOT like
the exchange's dump server, with scripted misbehaviour per path in
ROOT/behave.json ({"/data/...zip": ["429", "500", "trunc"], ...}: the first
requests of that path get those answers, in order, then the file).  Writes
its port to PORTFILE, logs every request to ROOT/requests.log.
usage: dl_server.py ROOT PORTFILE"""
import http.server, json, os, sys, threading

root, portfile = sys.argv[1], sys.argv[2]
lock = threading.Lock()

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        with lock:
            with open(os.path.join(root, "requests.log"), "a") as f:
                f.write(self.path + "\n")
            bpath = os.path.join(root, "behave.json")
            behave = json.load(open(bpath)) if os.path.exists(bpath) else {}
            todo = behave.get(self.path, [])
            act = todo.pop(0) if todo else None
            if todo or act:
                behave[self.path] = todo
                json.dump(behave, open(bpath, "w"))
        if act in ("429", "500", "503"):
            self.send_response(int(act))
            if act == "429":
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        p = os.path.join(root, self.path.lstrip("/"))
        if not os.path.isfile(p):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = open(p, "rb").read()
        if act == "trunc":
            data = data[: len(data) // 2]
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
