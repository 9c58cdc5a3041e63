"""trivial-httpd: the small static web server ostree's tests pull from.

Serves a directory over HTTP/1.1 on 127.0.0.1 the way the reference's
``ostree-trivial-httpd`` (libsoup) does, as far as a client can tell:

- GET and HEAD only (anything else: 501); paths are relative to the served
  directory, dot segments removed; a path whose decoding brings back a ".."
  segment is refused (400), one containing "../" (403); a path ends at an
  encoded NUL, as in the reference's handler (C strings);
- only regular files with o+r and directories with o+rx are served (else 403;
  missing: 404; other errors: 500); a directory without a trailing slash is
  redirected (301), with one it serves index.html or an HTML listing;
- files carry Last-Modified and ETag (the quoted SHA-256 of the contents) and
  honour If-None-Match (exact match) and If-Modified-Since with 304;
- Range requests get 206, ranges sorted and overlaps merged (several ranges:
  a multipart/byteranges reply, streamed), none satisfiable 416, more than
  MAX_RANGES the whole file; with ``force_ranges`` a GET without Range of a
  path containing "/objects" announces the full length, sends only the first
  half and closes the connection (so clients must resume);
- test knobs: HTTP basic auth (foouser/barpw, realm "auth-test"), expected
  cookies and headers (else 403), random 500 and 408 answers up to a maximum;
- requests bounded as libsoup bounds them: request line and headers at most
  64 KiB together (any number of headers); HTTP/0.9, HTTP/1.1 without Host and
  unknown expectations refused;
- a log in the reference's format ("DATE TIME.USEC - serving /PATH" then
  "  status: REASON (CODE)").

The library part is ``TrivialHttpd``; forking (--daemonize), the port file and
exiting when the directory goes away are driven by the command.
"""

import base64
import datetime
import email.utils
import email.errors
import email.parser
import hashlib
import http.server
import io
import os
import random
import socket
import stat
import sys
import threading
import time
import urllib.parse

SERVER_HEADER = "ostree-httpd ostree-py"
REASONS = {
    200: "OK", 206: "Partial Content", 301: "Moved Permanently", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    414: "Request-URI Too Long", 416: "Requested Range Not Satisfiable", 417: "Expectation Failed",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
    505: "HTTP Version Not Supported",
}
MAX_HEADER_BYTES = 64 * 1024
"""The request line and headers together (libsoup's limit): a longer request is refused."""
BASIC_AUTH_USER = "foouser"
BASIC_AUTH_PASSWORD = "barpw"


class HttpdOptions:
    """What the server does besides serving files (the reference's test options)."""

    def __init__(self, force_ranges=False, require_basic_auth=False,
                 random_500s=0, random_500s_max=100, random_408s=0, random_408s_max=100,
                 expected_cookies=(), expected_headers=()):
        self.force_ranges = force_ranges
        self.require_basic_auth = require_basic_auth
        self.random_500s = random_500s
        self.random_500s_max = random_500s_max
        self.random_408s = random_408s
        self.random_408s_max = random_408s_max
        self.expected_cookies = list(expected_cookies)
        self.expected_headers = list(expected_headers)


class HttpdLog:
    """The request log: one unbuffered write per line, local time with microseconds."""

    def __init__(self, fd: int | None):
        self.fd = fd
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        if self.fd is None:
            return
        now = datetime.datetime.now()
        line = f"{now:%Y-%m-%d %H:%M:%S}.{now.microsecond:06d} - {text}"
        data = line.encode("utf-8", "surrogateescape")
        with self._lock:
            try:
                while data:
                    data = data[os.write(self.fd, data):]
            except OSError:
                pass


def remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, as libsoup normalizes request paths."""
    out = []
    segs = path.split("/")
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    res = "/".join(out)
    if path.startswith("/") and not res.startswith("/"):
        res = "/" + res
    return res


MAX_RANGES = 200
"""More byte ranges than this (after merging overlaps) and the Range header is
ignored: the whole file is sent with 200, as Apache's MaxRanges does."""

_DIGITS = frozenset("0123456789")


def _split_list(spec: str) -> list[str]:
    """The items of a comma-separated header list, trimmed, empty ones dropped."""
    return [item.strip(" \t") for item in spec.split(",") if item.strip(" \t")]


def _number(digits: str) -> int:
    # past 2**63 the exact value does not matter (and int() refuses thousands of digits)
    return int(digits) if len(digits) <= 19 else 1 << 63


def parse_ranges(header: str | None, size: int):
    """A Range header's byte ranges for a body of ``size`` bytes.

    Returns None when the header is absent or invalid, or asks for more than
    MAX_RANGES ranges (the whole body is sent); [] when no range is
    satisfiable (416); else the ranges as [(start, end_inclusive)], sorted,
    overlapping ones merged and ends clamped to the body (as libsoup's server:
    "bytes" then "=", a list of "A-B", "A-", "A" or "-N"; any malformed item or
    B < A voids the whole header; ranges starting past the end are dropped).
    A suffix longer than the body is the whole body (RFC 9110).
    """
    if not header or not header.startswith("bytes"):
        return None
    rest = header[5:].lstrip(" \t")
    if not rest.startswith("="):
        return None
    items = _split_list(rest[1:])
    if not items:
        return None
    out = []
    for item in items:
        first, dash, last = item.partition("-")
        if first == "":
            if not last or not _DIGITS.issuperset(last):
                return None
            start, end = max(size - _number(last), 0), size - 1
        else:
            if not _DIGITS.issuperset(first) or (last and not _DIGITS.issuperset(last)):
                return None
            start = _number(first)
            if last:
                end = _number(last)
                if end < start:
                    return None
                end = min(end, size - 1)
            else:
                end = size - 1
        if start >= size:
            continue
        out.append((start, end))
    out.sort()
    merged = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    if len(merged) > MAX_RANGES:
        return None
    return merged


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _decode_unreserved(path: str) -> str:
    """Percent-escapes of unreserved characters decoded, the others kept (URI normalization)."""
    parts = path.split("%")
    out = [parts[0]]
    for p in parts[1:]:
        c = chr(int(p[:2], 16)) if len(p) >= 2 and all(ch in "0123456789abcdefABCDEF" for ch in p[:2]) else ""
        if c and c in _UNRESERVED:
            out.append(c + p[2:])
        else:
            out.append("%" + p)
    return "".join(out)


def request_path(raw: str) -> str | None:
    """A request's path (without query) as the reference serves it, or None (400).

    As libsoup: escapes of unreserved characters are decoded and dot segments
    removed, then the path is decoded; a path whose decoding brings back a
    ".." segment (``/..%2f``) is refused. As the reference's handler, which
    takes the path as a C string, the path ends at a decoded NUL (``%00``).
    """
    path = urllib.parse.unquote(remove_dot_segments(_decode_unreserved(raw)), errors="surrogateescape")
    path = path.split("\0", 1)[0]
    if "/../" in path or path.endswith("/..") or path == "..":
        return None
    return path


def http_date(ts: float) -> str:
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def directory_listing(root_fd: int, path: str) -> bytes:
    """The reference's HTML index of a directory (``path`` relative, ends with '/')."""
    from html import escape
    try:
        names = _listdir_at(root_fd, path)
    except OSError:
        names = []
    shown = path[path.find("/"):] if "/" in path else ""
    title = escape(shown, quote=True)
    out = ["<html>\r\n", f"<head><title>Index of {title}</title></head>\r\n",
           f"<body><h1>Index of {title}</h1>\r\n<p>\r\n"]
    for n in names:
        e = escape(n, quote=True)
        out.append(f'<a href="{e}">{e}</a><br>\r\n')
    out.append("</body>\r\n</html>\r\n")
    return "".join(out).encode("utf-8", "surrogateescape")


def _listdir_at(root_fd: int, path: str) -> list[str]:
    fd = os.open(path or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=root_fd)
    try:
        return sorted(os.listdir(fd), key=lambda s: s.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_HEADER
    sys_version = ""

    # quiet: the server keeps its own log
    def log_message(self, format, *args):  # noqa: A002
        pass

    def version_string(self):
        return SERVER_HEADER

    def parse_request(self):
        """The request line (by http.server), then the headers, bounded in total size
        rather than in number (as libsoup); HTTP/0.9 requests, HTTP/1.1 requests
        without Host and unknown expectations are refused as the reference does."""
        self.command = None
        self.request_version = "HTTP/1.1"  # until parsed: errors get a status line
        if len(self.raw_requestline.split()) == 2:
            self.send_error(400)
            return False
        lines = []
        total = len(self.raw_requestline)
        while True:
            line = self.rfile.readline(MAX_HEADER_BYTES + 1 - total)
            total += len(line)
            if total > MAX_HEADER_BYTES:
                self.send_error(431)
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            lines.append(line)
        rfile = self.rfile
        self.rfile = io.BytesIO(b"\r\n")
        try:
            if not super().parse_request():
                return False
        finally:
            self.rfile = rfile
        # an HTTP/1.0 request gets an HTTP/1.0 reply, as from libsoup
        self.protocol_version = "HTTP/1.0" if self.request_version == "HTTP/1.0" else "HTTP/1.1"
        try:
            self.headers = email.parser.Parser(_class=self.MessageClass).parsestr(
                b"".join(lines).decode("iso-8859-1"))
        except email.errors.MessageError:
            self.send_error(400)
            return False
        conntype = self.headers.get("Connection", "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive":
            self.close_connection = False
        if self.request_version >= "HTTP/1.1" and self.headers.get("Host") is None:
            self.send_error(400)
            return False
        expect = self.headers.get("Expect", "")
        if expect.lower() == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        if expect:
            self.send_error(417)
            return False
        return True

    def send_error(self, code, message=None, explain=None):
        """Errors found before a request reaches the handler: a bare status and close (http.server
        would send an HTML page, the reference sends none)."""
        self.close_connection = True
        self._log_status = False
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # a status line all the same
        self.send_response_only(code, REASONS.get(code) or message)
        self.send_header("Server", SERVER_HEADER)
        self.send_header("Content-Length", "0")
        self.end_headers()

    @property
    def httpd(self) -> "TrivialHttpd":
        return self.server.httpd

    # ------------------------------------------------------------ plumbing
    def _start(self, code: int, headers=(), log_code: int | None = None):
        if self._log_status:
            # logged before the response goes out, as the reference's handler does
            self._log_status = False
            c = log_code or code
            self.httpd.log.write(f"  status: {REASONS.get(c, '')} ({c})\n")
        self.send_response_only(code, REASONS.get(code))
        self.send_header("Server", SERVER_HEADER)
        self.send_header("Date", self.date_time_string())
        for k, v in headers:
            self.send_header(k, v)

    def _simple(self, code: int, headers=(), body: bytes = b"", content_type: str | None = None):
        self._start(code, headers)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _check_auth(self) -> bool:
        if not self.httpd.options.require_basic_auth:
            return True
        auth = self.headers.get("Authorization", "")
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, pw = base64.b64decode(cred.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user = pw = None
            if user == BASIC_AUTH_USER and pw == BASIC_AUTH_PASSWORD:
                return True
        self._simple(401, [("WWW-Authenticate", 'Basic realm="auth-test"')])
        return False

    def _request_path(self) -> str | None:
        """The request's path as the reference's handler sees it, or None for a target the
        reference refuses (400)."""
        target = self.path
        if not target.startswith("/"):
            parts = urllib.parse.urlsplit(target)
            if not parts.scheme or not parts.netloc:
                return None
            target = parts.path or "/"
        return request_path(target.split("?", 1)[0].split("#", 1)[0])

    # ------------------------------------------------------------ methods
    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def _not_implemented(self):
        self._log_status = False
        self.close_connection = True
        if self._check_auth():
            self._simple(501)

    do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _not_implemented

    _log_status = False

    def _dispatch(self):
        self._log_status = False
        if self.path == "*":
            self._simple(404)
            return
        path = self._request_path()
        if path is None:
            self._simple(400)
            return
        if not self._check_auth():
            return
        self.httpd.log.write(f"serving {path}\n")
        self._log_status = True
        self._do_get(path)

    def _do_get(self, path: str) -> int:
        """Answer the request; returns the status the reference logs (200 even when 206 is sent)."""
        httpd = self.httpd
        opts = httpd.options
        if opts.expected_cookies:
            cookies = _request_cookies(self.headers.get_all("Cookie") or [])
            for kv in opts.expected_cookies:
                k, _, v = kv.partition("=")
                if not any(name.startswith(k) and value == v for name, value in cookies):
                    httpd.log.write(f"Expected cookie not found {kv}\n")
                    self._simple(403)
                    return 403
        for kv in opts.expected_headers:
            k, _, v = kv.partition("=")
            found = self.headers.get(k)
            if found is None:
                httpd.log.write(f"Expected header not found {k}\n")
                self._simple(403)
                return 403
            if found != v:
                httpd.log.write(f"Expected header {k}: {v} but found {found}\n")
                self._simple(403)
                return 403
        if "../" in path:
            self._simple(403)
            return 403
        code = httpd.random_failure()
        if code:
            self._simple(code)
            return code
        return self._serve(path.lstrip("/"))

    def _serve(self, rel: str) -> int:
        httpd = self.httpd
        try:
            st = os.stat(rel, dir_fd=httpd.root_fd) if rel else None
            if st is None:
                raise FileNotFoundError
        except PermissionError as e:
            code = 403 if e.errno == 1 else 500
            self._simple(code)
            return code
        except FileNotFoundError:
            self._simple(404)
            return 404
        except OSError:
            self._simple(500)
            return 500
        if not _is_safe_to_access(st):
            self._simple(403)
            return 403
        if stat.S_ISDIR(st.st_mode):
            if not rel.endswith("/"):
                host = self.headers.get("Host") or f"127.0.0.1:{httpd.port}"
                loc = f"http://{host}{urllib.parse.quote(self._request_path(), safe='/')}/"
                self._simple(301, [("Location", loc)])
                return 301
            index = rel + "/index.html"
            try:
                os.stat(index, dir_fd=httpd.root_fd)
            except OSError:
                return self._serve_listing(rel)
            httpd.log.write(f"serving {index}\n")
            code = self._serve(index)
            httpd.log.write(f"  status: {REASONS.get(code, '')} ({code})\n")  # the outer request's
            return code
        return self._serve_file(rel, st)

    def _serve_listing(self, rel: str) -> int:
        body = directory_listing(self.httpd.root_fd, rel)
        ranges = self._ranges(len(body)) if self.command == "GET" else None
        if ranges == []:
            self._simple(416)
            return 416
        if ranges is None:
            self._simple(200, body=body, content_type="text/html")
        else:
            self._send_ranges([], ranges, len(body), "text/html", lambda a, n: self.wfile.write(body[a:a + n]))
        return 200

    def _serve_file(self, rel: str, st) -> int:
        httpd = self.httpd
        try:
            fd = os.open(rel, os.O_RDONLY | os.O_CLOEXEC, dir_fd=httpd.root_fd)
        except OSError:
            self._simple(500)
            return 500
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            size = st.st_size
            headers = [("Last-Modified", http_date(st.st_mtime))]
            etag = httpd.etag(f, st)
            headers.append(("ETag", etag))
            # conditional requests
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            not_modified = False
            if inm is not None:
                not_modified = inm == etag
            elif ims is not None:
                try:
                    d = email.utils.parsedate_to_datetime(ims)
                    if d.tzinfo is None:
                        d = d.replace(tzinfo=datetime.timezone.utc)
                    not_modified = int(st.st_mtime) <= d.timestamp()
                except (TypeError, ValueError, IndexError, OverflowError):
                    not_modified = False
            if self.command == "HEAD":
                if not_modified:
                    self._simple(304, headers)
                    return 304
                self._start(200, headers)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                return 200
            ranges = self._ranges(size)
            if ranges == []:
                self._simple(416, headers)
                return 416
            if not_modified:
                self._simple(304, headers)
                return 304
            path_has_objects = "/objects" in rel
            if httpd.options.force_ranges and ranges is None and path_has_objects:
                self._start(200, headers)
                self.send_header("Content-Length", str(size))
                self.send_header("Connection", "close")
                self.end_headers()
                self._send_file(f, 0, size // 2)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return 200
            if ranges is None:
                self._start(200, headers)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self._send_file(f, 0, size)
                return 200
            self._send_ranges(headers, ranges, size, None, lambda a, n: self._send_file(f, a, n))
            return 200

    def _ranges(self, size: int):
        """The request's byte ranges (see parse_ranges); the last Range header counts, as in libsoup."""
        values = self.headers.get_all("Range")
        return parse_ranges(values[-1] if values else None, size)

    def _send_ranges(self, headers, ranges, size: int, content_type, write_range) -> None:
        """A 206 reply of ``ranges`` (sorted, disjoint) of a body of ``size`` bytes; the data of
        each range is sent by ``write_range(offset, count)`` as it goes, so a reply of many
        ranges costs no memory. Logged as 200, as the reference logs its handler's status."""
        if len(ranges) == 1:
            a, b = ranges[0]
            self._start(206, headers, log_code=200)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Range", f"bytes {a}-{b}/{size}")
            self.send_header("Content-Length", str(b - a + 1))
            self.end_headers()
            write_range(a, b - a + 1)
            return
        boundary = os.urandom(32).hex()
        part_type = f"Content-Type: {content_type}\r\n" if content_type else ""

        def part_head(a, b):
            return f"--{boundary}\r\n{part_type}Content-Range: bytes {a}-{b}/{size}\r\n\r\n".encode()
        tail = f"--{boundary}--\r\n".encode()
        length = len(tail) + sum(len(part_head(a, b)) + (b - a + 1) + 2 for a, b in ranges)
        self._start(206, headers + [("Content-Type", f"multipart/byteranges; boundary={boundary}")], log_code=200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        for a, b in ranges:
            self.wfile.write(part_head(a, b))
            if write_range(a, b - a + 1) is False:
                return
            self.wfile.write(b"\r\n")
        self.wfile.write(tail)

    def _send_file(self, f, offset: int, count: int) -> bool:
        """Send ``count`` bytes of ``f`` from ``offset``; False when the client went away."""
        if count <= 0:
            return True
        self.wfile.flush()
        try:
            self.connection.sendfile(f, offset, count)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return False
        return True


def _request_cookies(values) -> list:
    out = []
    for v in values:
        for part in v.split(";"):
            name, eq, value = part.strip().partition("=")
            if eq:
                out.append((name.strip(), value.strip().strip('"')))
    return out


def _is_safe_to_access(st) -> bool:
    """Only regular files with o+r and directories with o+rx (as the reference)."""
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return False
    if not st.st_mode & stat.S_IROTH:
        return False
    if stat.S_ISDIR(st.st_mode) and not st.st_mode & stat.S_IXOTH:
        return False
    return True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # a client that goes away mid-reply is no error of the server's
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class TrivialHttpd:
    """A server for ``directory`` on ``host``:``port`` (0: any free port), not yet running."""

    def __init__(self, directory: str, port: int = 0, host: str = "127.0.0.1",
                 options: HttpdOptions | None = None, log_fd: int | None = None):
        self.directory = directory
        self.root_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.options = options or HttpdOptions()
        self.log = HttpdLog(log_fd)
        self._lock = threading.Lock()
        self._n500 = self._n408 = 0
        self._etags: dict = {}
        self.server = _Server((host, port), _Handler)
        self.server.httpd = self
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def random_failure(self) -> int:
        """500 or 408 when the dice say so and the maximum is not reached, else 0."""
        o = self.options
        with self._lock:
            if o.random_500s > 0 and self._n500 < o.random_500s_max and random.randrange(100) < o.random_500s:
                self._n500 += 1
                return 500
            if o.random_408s > 0 and self._n408 < o.random_408s_max and random.randrange(100) < o.random_408s:
                self._n408 += 1
                return 408
        return 0

    def etag(self, f, st) -> str:
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with self._lock:
            tag = self._etags.get(key)
        if tag is None:
            h = hashlib.sha256()
            f.seek(0)
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
            f.seek(0)
            tag = f'"{h.hexdigest()}"'
            with self._lock:
                if len(self._etags) > 4096:
                    self._etags.clear()
                self._etags[key] = tag
        return tag

    def serve_forever(self) -> None:
        """Serve until ``shutdown()`` (from another thread)."""
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self._stopped.set()

    def start(self) -> threading.Thread:
        """Serve in a background thread (for tests and embedding)."""
        t = threading.Thread(target=self.serve_forever, name="trivial-httpd", daemon=True)
        t.start()
        return t

    def shutdown(self) -> None:
        self.server.shutdown()

    def close(self) -> None:
        self.server.server_close()
        try:
            os.close(self.root_fd)
        except OSError:
            pass

    def watch_for_removal(self, path: str, interval: float = 0.25) -> threading.Thread:
        """Stop serving once ``path`` (the served directory, or a symlink to it) is removed."""
        try:
            is_link = stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:
            is_link = False
        ref = os.lstat(path) if is_link else os.fstat(self.root_fd)
        abspath = os.path.abspath(path)

        def gone() -> bool:
            if is_link:
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    return True
                except OSError:
                    return False
                return (st.st_dev, st.st_ino) != (ref.st_dev, ref.st_ino)
            if os.fstat(self.root_fd).st_nlink == 0:
                return True
            # filesystems whose directories always count one link (btrfs): look it up
            try:
                st = os.stat(abspath)
            except FileNotFoundError:
                return True
            except OSError:
                return False
            return (st.st_dev, st.st_ino) != (ref.st_dev, ref.st_ino)

        def watch():
            while not self._stopped.is_set():
                if gone():
                    self.log.write("root directory removed, exiting\n")
                    self.shutdown()
                    return
                time.sleep(interval)

        t = threading.Thread(target=watch, name="trivial-httpd-autoexit", daemon=True)
        t.start()
        return t
