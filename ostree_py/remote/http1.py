"""A small HTTP/1.1 client: GET on keep-alive connections, nothing else.

The pull fetches thousands of small objects; http.client spent most of its
per-request time building and parsing headers through the email package
(py-spy --gil: a quarter of the fetch path). This client writes the request
in one go and parses the status line and headers with bytes operations.
Its errors are classes of its own named as http.client's (which is not
imported: with the email package it costs ~80 ms of a pull's start-up);
fetcher._map_error words them as the reference does.

Bodies are framed by Content-Length, chunked transfer coding, or the end of
the connection. ``Response.read1`` returns whatever has arrived (at most n
bytes) so that a trickling server reaches the caller's low-speed check.
"""

import socket

MAX_LINE = 65536
MAX_HEADERS = 100


class HTTPException(Exception):
    pass


class IncompleteRead(HTTPException):
    """The connection ended before the body did."""


class BadStatusLine(HTTPException):
    pass


class LineTooLong(HTTPException):
    pass


class RemoteDisconnected(ConnectionResetError, BadStatusLine):
    """The server closed the connection without answering (a kept-alive one it dropped)."""


class Connection:
    """One keep-alive connection to (scheme, host, port); opened on first use."""

    def __init__(self, scheme: str, host: str, port: int | None, timeout: float, ssl_context=None):
        self.scheme, self.host, self.timeout = scheme, host, timeout
        self.port = port or (443 if scheme == "https" else 80)
        self.ssl_context = ssl_context
        default = self.port == (443 if scheme == "https" else 80)
        h = f"[{host}]" if ":" in host else host
        self.host_header = h if default else f"{h}:{self.port}"
        self.sock = None
        self.fp = None

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.scheme == "https":
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.fp = sock.makefile("rb", buffering=65536)

    def close(self) -> None:
        fp, sock, self.fp, self.sock = self.fp, self.sock, None, None
        if fp is not None:
            fp.close()
        if sock is not None:
            sock.close()

    def get(self, path: str, headers: dict) -> "Response":
        """Send ``GET path`` and read the response head; the body is read from the Response."""
        if self.sock is None:
            self.connect()
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host_header}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append("\r\n")
        self.sock.sendall("\r\n".join(lines).encode("latin-1"))
        fp = self.fp
        while True:
            version, status, raw = read_head(fp)
            if status >= 200 or status == 101:
                break   # a 1xx interim response (100 Continue) is followed by the real one
        return Response(self, version, status, raw)


def read_head(fp):
    """The status line and header fields of a response from ``fp`` (a buffered binary file):
    (version, status, {lower-case name: value}); repeated fields are joined with ", "."""
    line = fp.readline(MAX_LINE + 1)
    if not line:
        raise RemoteDisconnected("Remote end closed connection without response")
    if len(line) > MAX_LINE:
        raise LineTooLong("status line")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise BadStatusLine(line.decode("latin-1", "replace"))
    version = parts[0].decode("latin-1")
    try:
        status = int(parts[1])
    except ValueError:
        raise BadStatusLine(line.decode("latin-1", "replace")) from None
    if not 100 <= status <= 999 or not version.startswith("HTTP/1."):
        raise BadStatusLine(line.decode("latin-1", "replace"))
    return version, status, parse_fields(fp)


def parse_fields(fp) -> dict:
    fields = {}
    n = 0
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return fields
        n += 1
        if n > MAX_HEADERS:
            raise HTTPException(f"got more than {MAX_HEADERS} headers")
        if line[:1] in (b" ", b"\t") and fields:
            continue   # obsolete line folding: nothing we read is ever folded
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = name.strip().lower().decode("latin-1")
        val = value.strip().decode("latin-1")
        fields[key] = f"{fields[key]}, {val}" if key in fields else val


class Response:
    """The head of a response and a reader of its body."""

    def __init__(self, conn: Connection, version: str, status: int, headers: dict):
        self.conn, self.status, self.headers = conn, status, headers
        tokens = headers.get("connection", "").lower()
        self.will_close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
        self.chunked = False
        self.left = None   # bytes left in the body (or in the current chunk); None: until close
        self.done = False
        if status in (204, 304) or status < 200:
            self.left = 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.chunked = True
            self.left = 0
        else:
            cl = headers.get("content-length")
            if cl is not None:
                try:
                    self.left = int(cl.split(",")[0])
                except ValueError:
                    self.left = None
                if self.left is not None and self.left < 0:
                    self.left = None
            if self.left is None:
                self.will_close = True
        if self.left == 0 and not self.chunked:
            self.done = True

    def header(self, name: str):
        return self.headers.get(name.lower())

    def read1(self, n: int) -> bytes:
        """At most ``n`` bytes of the body, as soon as some have arrived; b"" at its end.
        A connection that ends before the body does raises IncompleteRead."""
        if self.done:
            return b""
        fp = self.conn.fp
        if self.chunked and self.left == 0:
            self._next_chunk()
            if self.done:
                return b""
        if self.left is None:
            b = fp.read1(n)
            if not b:
                self.done = True
            return b
        b = fp.read1(min(n, self.left))
        if not b:
            raise IncompleteRead(b"", self.left)
        self.left -= len(b)
        if self.left == 0:
            if self.chunked:
                if fp.readline(MAX_LINE + 1) not in (b"\r\n", b"\n"):
                    raise IncompleteRead(b"")
            else:
                self.done = True
        return b

    def _next_chunk(self) -> None:
        line = self.conn.fp.readline(MAX_LINE + 1)
        if not line:
            raise IncompleteRead(b"")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise IncompleteRead(b"") from None
        if size < 0:
            raise IncompleteRead(b"")
        if size == 0:
            parse_fields(self.conn.fp)   # trailer fields, dropped
            self.done = True
        self.left = size

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry the next request (the body was read to its end)."""
        return self.done and not self.will_close
