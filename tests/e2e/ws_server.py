#!/usr/bin/env python3
"""A loopback websocket server for the paper runner's websocket feed: it
replays recorded messages (MSGS, one per line) by a plan of connections
(PLAN, JSON: a list, one item per connection, of steps: ["send", a, b] sends
lines [a, b); ["text", "..."] sends that text; ["bad_frame"] sends a frame
with the reserved bits set (malformed); ["drop"] closes the TCP connection
without a close frame; ["close"] sends a close frame).  Connections past
the plan get nothing.  Writes its port to PORTFILE.
usage: ws_server.py MSGS PLAN PORTFILE"""
import base64, hashlib, json, os, socket, struct, sys, threading, time

msgs = open(sys.argv[1]).read().split("\n")
plan = json.load(open(sys.argv[2]))
portfile = sys.argv[3]
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

def frame(payload, first=0x81):
    n = len(payload)
    if n < 126:
        h = bytes([first, n])
    elif n < 65536:
        h = bytes([first, 126]) + struct.pack(">H", n)
    else:
        h = bytes([first, 127]) + struct.pack(">Q", n)
    return h + payload

def serve(c, steps):
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            return
        req += d
    hdr = {}
    for line in req.decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
    acc = base64.b64encode(hashlib.sha1((hdr["sec-websocket-key"] + GUID).encode()).digest()).decode()
    resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
           f"Sec-WebSocket-Accept: {acc}\r\n"
    if "sec-websocket-protocol" in hdr:
        resp += f"Sec-WebSocket-Protocol: {hdr['sec-websocket-protocol'].split(',')[0].strip()}\r\n"
    c.sendall((resp + "\r\n").encode())
    for st in steps:
        if st[0] == "send":
            for i in range(st[1], st[2]):
                if msgs[i]:
                    c.sendall(frame(msgs[i].encode()))
        elif st[0] == "text":
            c.sendall(frame(st[1].encode()))
        elif st[0] == "bad_frame":
            c.sendall(frame(b'{"x": 1}', 0xF1))
        elif st[0] == "drop":
            time.sleep(0.2)
            c.close()
            return
        elif st[0] == "close":
            c.sendall(bytes([0x88, 2]) + struct.pack(">H", 1000))
    time.sleep(0.3)
    c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
k = 0
while True:
    c, _ = s.accept()
    steps = plan[k] if k < len(plan) else []
    k += 1
    threading.Thread(target=serve, args=(c, steps), daemon=True).start()
