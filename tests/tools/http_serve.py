#!/usr/bin/env python3
"""Serves a directory on 127.0.0.1 for the tests of the read-only http store
(storage/http_store/): Python's own http.server file handler, as
`python3 -m http.server` runs it, with what that command cannot do:

   http_serve.py DIR PORT [--cert CERT --key KEY] [--ranges] [--log FILE]

--cert/--key  serve HTTPS (the tests' throwaway certificate)
--ranges      answer `Range: bytes=A-B` with 206 and Content-Range, as Apache
              and nginx do (http.server sends the whole file with 200)
--log FILE    append "METHOD PATH RANGE" for every request, flushed at once

and, always, a path /status/NNN[/...] answers with status NNN (and
`Retry-After: 0`, so that the client's retries do not wait), /redirect/...
with a 302 to another server, and /wrongpart/... with a 206 of bytes 0-3
whatever was asked. Standard library only."""
import argparse, http.server, os, re, ssl, sys

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("port", type=int)
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--ranges", action="store_true")
ap.add_argument("--log")
args = ap.parse_args()


class handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=args.dir, **kw)

    def log_message(self, *a):
        pass

    def note(self):
        if args.log:
            with open(args.log, "a") as f:
                f.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))

    def special(self):
        m = re.match(r"/status/(\d{3})", self.path)
        if m:
            self.send_response(int(m.group(1)))
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if self.path.startswith("/wrongpart/"):  # 206, but always the first 4 bytes
            self.send_response(206)
            self.send_header("Content-Range", "bytes 0-3/10")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"abcd")
            return True
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.example/repo?token=SECRET")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        return False

    def do_HEAD(self):
        self.note()
        if not self.special():
            super().do_HEAD()

    def do_GET(self):
        self.note()
        if self.special():
            return
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if not (args.ranges and m and os.path.isfile(path)):
            return super().do_GET()
        body = open(path, "rb").read()
        first = int(m.group(1))
        last = min(int(m.group(2)) if m.group(2) else len(body) - 1, len(body) - 1)
        if first >= len(body):
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % len(body))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206)
        self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, len(body)))
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        self.wfile.write(body[first:last + 1])


class server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # the readers open many connections at once; http.server listens with 5


srv = server(("127.0.0.1", args.port), handler)
if args.cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
