#!/usr/bin/env python3
"""A Pyroscope-like /ingest receiver for the upload tests, on loopback only.

usage: ingest-server.py DIR [CERT KEY]

With CERT and KEY it speaks HTTPS.

Writes its port to DIR/port. Each request takes the next line of DIR/plan
(consumed as it goes; an empty plan answers 200):
    200 | 500                  that status
    4xx [MESSAGE]              that status with a JSON {code, message} body
                               (401: "no org id", 400: "bad profile" unless
                               MESSAGE is given)
    429 SECS                   429 with Retry-After: SECS
    slow SECS                  wait SECS, then 200
DIR/always, when it exists, holds the step for requests when the plan is
empty.
Every request is logged to DIR/log (one JSON object a line: path, query,
headers, the tenant (X-Scope-OrgID, "" without), body size, the status
given) and its body kept as DIR/body-N.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DIR = sys.argv[1]
lock = threading.Lock()
count = [0]


def next_step():
    path = os.path.join(DIR, "plan")
    with lock:
        try:
            lines = open(path).read().splitlines()
        except FileNotFoundError:
            lines = []
        lines = [l for l in lines if l.strip()]
        if not lines:
            try:
                return open(os.path.join(DIR, "always")).read().split() or ["200"]
            except FileNotFoundError:
                return ["200"]
        with open(path + ".tmp", "w") as f:
            f.write("".join(l + "\n" for l in lines[1:]))
        os.rename(path + ".tmp", path)
        return lines[0].split()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        step = next_step()
        with lock:
            count[0] += 1
            n = count[0]
        with open(os.path.join(DIR, "body-%d" % n), "wb") as f:
            f.write(body)
        url = urlparse(self.path)
        status = 200
        headers = {}
        reply = b""
        if step[0] == "429":
            status = 429
            headers["Retry-After"] = step[1]
            reply = b'{"code":"resource_exhausted","message":"too many requests"}'
        elif step[0].startswith("4") and len(step[0]) == 3:
            status = int(step[0])
            message = " ".join(step[1:]) or ("no org id" if status == 401 else "bad profile")
            reply = json.dumps({"code": "unauthenticated" if status == 401 else "invalid_argument",
                                "message": message}).encode()
        elif step[0] == "500":
            status = 500
            reply = b"internal error\n"
        entry = {"n": n, "method": "POST", "path": url.path, "query": parse_qs(url.query),
                 "headers": {k: v for k, v in self.headers.items()},
                 "tenant": self.headers.get("X-Scope-OrgID", ""), "size": len(body),
                 "status": status}
        with lock:
            with open(os.path.join(DIR, "log"), "a") as f:
                f.write(json.dumps(entry) + "\n")
        if step[0] == "slow":
            time.sleep(float(step[1]))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) == 4:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
