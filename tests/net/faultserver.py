"""A fault-injecting HTTP/1.1 file server for the network tests.

``FaultServer(root, plan)`` serves the files under ``root`` (GET, keep-alive,
``Range: bytes=N-``, 416 past the end as nginx), and asks ``plan(path, n)`` how to answer the ``n``-th
request (0-based) of ``path``. A plan returns None (serve normally) or one of:

- ``"500"``, ``"408"``, ``"404"``: that status, no body;
- ``"drop"``: headers with the full Content-Length, half the body, then the
  connection is closed;
- ``"truncate"``: a Content-Length 1000 bytes larger than the body sent, then
  the connection is closed;
- ``"reset"``: the connection is reset (RST) before any answer;
- ``"stall"``: headers and half the body, then nothing more (until the server
  stops);
- ``"silent"``: the request is read and never answered;
- ``"trickle"``: headers, then one byte every 0.2 s;
- ``"wrong"``: the file with one byte changed (same length).

The server counts requests and faults and the most requests it had in flight
at once (``max_in_flight``); ``delay`` holds every answer back that long, so
that concurrent requests overlap measurably.
"""

import collections
import http.server
import os
import socket
import struct
import threading
import time
import urllib.parse


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):
        srv = self.server
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with srv.lock:
            n = srv.counts[path]
            srv.counts[path] += 1
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            fault = srv.plan(path, n)
            with srv.lock:
                srv.requests.append((path, n, fault, self.headers.get("Range")))
            if srv.delay:
                time.sleep(srv.delay)
            self._answer(path, fault)
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def _status(self, code, close=False):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _hangup(self, rst=False):
        self.close_connection = True
        if rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _answer(self, path, fault):
        srv = self.server
        if fault in ("500", "408", "404"):
            return self._status(int(fault), close=fault == "408")
        if fault == "reset":
            return self._hangup(rst=True)
        if fault == "silent":
            srv.stopping.wait(120)
            return self._hangup()
        fs = os.path.normpath(os.path.join(srv.root, path.lstrip("/")))
        if not fs.startswith(srv.root + os.sep) or not os.path.isfile(fs):
            return self._status(404)
        with open(fs, "rb") as f:
            data = f.read()
        if fault == "wrong" and data:
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1:]
        size = len(data)
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-") and rng[6:-1].isdigit():
            start = int(rng[6:-1])
        if start and start >= size:  # as nginx: nothing left to send
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if 0 < start < size:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            body = data[start:]
        else:
            self.send_response(200)
            body = data
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        length = len(body) + (1000 if fault == "truncate" else 0)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        try:
            if fault == "drop":
                self.wfile.write(body[:len(body) // 2])
                return self._hangup()
            if fault == "truncate":
                self.wfile.write(body)
                return self._hangup()
            if fault == "stall":
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                srv.stopping.wait(120)
                return self._hangup()
            if fault == "trickle":
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    if srv.stopping.wait(0.2):
                        break
                return self._hangup()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True


class FaultServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, root, plan=None, delay=0.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = os.path.realpath(str(root))
        self.plan = plan or (lambda path, n: None)
        self.delay = delay
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.requests = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.stopping = threading.Event()
        self._thread = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def faults(self):
        """(path, fault) of every request answered with a fault."""
        with self.lock:
            return [(p, f) for p, _n, f, _r in self.requests if f]

    def __enter__(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.shutdown()
        self.server_close()
