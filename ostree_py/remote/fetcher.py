"""The HTTP layer of ``ostree pull``: URIs, mirrors, retries, resumable downloads.

A ``Fetcher`` downloads a file named relative to a *mirror list* (one or more
base URIs): an HTTP error status moves on to the next mirror, and the last
mirror's error is the one reported, as the reference's fetcher does; network
failures end the request at once. ``fetch`` retries transient failures (HTTP
408, 429 and 5xx, timeouts, transfers cut short) ``retries`` times, resuming a
cut-short download with a Range request where the server allows it.

Requests go through httpx's transport layer (httpcore): HTTP/1.1 on kept-alive
connections, and HTTP/2 over TLS when the server offers it (ALPN) and the
remote does not set ``http2=false``. httpcore is imported on the first request,
so ``import ostree_py.remote.fetcher`` stays cheap. Requests are synchronous and
thread-safe: each thread keeps its own connection to each server (requests
through a proxy share a pool per proxy); a forked worker process calls
``after_fork`` and opens connections of its own. Bodies are streamed to the
caller's file as they arrive.

Error texts follow the reference (which uses libcurl): ``Server returned HTTP
404``, ``While fetching URL: [7] Couldn't connect to server``, ``URI URL
exceeded maximum size of N bytes``.
"""

import contextlib
import io
import os
import threading
import time
import urllib.parse

from ostree_py.errors import OstreeError

# What the reference sends as User-Agent: "libostree/VERSION", plus what the
# caller appends.
DEFAULT_MAX_CONNECTIONS = 8
CONNECT_TIMEOUT = 30.0
# A transfer slower than LOW_SPEED_LIMIT bytes/s over LOW_SPEED_TIME seconds
# (or silent that long) fails with a timeout, so a stalled server never hangs a
# pull; the timeout is retried like any transient error.
LOW_SPEED_LIMIT = 1000
LOW_SPEED_TIME = 30.0
# Idle kept-alive connections are closed after this many seconds.
KEEPALIVE_EXPIRY = 60.0
# A connection used less than this many seconds ago is reused without asking
# whether the server closed it (see Fetcher._connection).
_RECHECK_IDLE = 1.0
# A download cut short after making progress resumes without using up a retry,
# at most this many times (a server cutting every transfer short after a few
# bytes must not keep a pull going for ever).
MAX_FREE_RESUMES = 20


class FetchError(OstreeError):
    """A failed download. ``kind`` says how it failed (see ``TRANSIENT``)."""

    TRANSIENT = frozenset({"timed-out", "busy", "partial"})

    def __init__(self, message: str, kind: str = "failed", status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        # with fetch(requeue=True): the retries left when the server answered 408/429/5xx
        self.retries_left = 0

    @property
    def transient(self) -> bool:
        """Whether trying again may succeed (the reference's retry rule, plus 5xx)."""
        return self.kind in self.TRANSIENT

    @property
    def not_found(self) -> bool:
        return self.kind == "not-found"


class _LocalCertError(Exception):
    """The client certificate or key (tls-client-cert-path, tls-client-key-path) did not load."""


class _Restart(Exception):
    """A resumed download must start again from the beginning (HTTP 416)."""


def _status_kind(status: int) -> str:
    if status in (403, 404, 410):
        return "not-found"
    if status == 408:
        return "timed-out"
    if status == 429 or 500 <= status <= 599:
        return "busy"
    return "failed"


# ---------------------------------------------------------------- URIs

class URI:
    """An absolute http, https or file URI, as GUri parses it (kept encoded)."""

    __slots__ = ("text", "scheme", "username", "password", "host", "port", "path", "query", "_parts")

    def __init__(self, text: str):
        self.text = text
        try:
            parts = urllib.parse.urlsplit(text)
        except ValueError as e:
            if "IPv6" in str(e):
                host = text.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
                raise OstreeError(f"Invalid IPv6 address ‘{host}’ in URI") from None
            raise OstreeError(f"Invalid URI ‘{text}’") from None
        if not parts.scheme or (not parts.netloc and "//" not in text and parts.scheme != "file"):
            raise OstreeError("URI is not absolute, and no base URI was provided")
        self.scheme = parts.scheme.lower()
        try:
            self.port = parts.port
        except ValueError:
            port = parts.netloc.rsplit(":", 1)[-1]
            raise OstreeError(f"Port ‘{port}’ in URI is out of range") from None
        self.username = urllib.parse.unquote(parts.username) if parts.username else None
        self.password = urllib.parse.unquote(parts.password) if parts.password is not None else None
        self.host = parts.hostname or ""
        self.path = parts.path
        self.query = parts.query
        self._parts = parts

    @classmethod
    def parse(cls, text: str) -> "URI":
        """Parse ``text``; raise OstreeError with GLib's wording if it is not a URI."""
        return cls(text)

    def validate(self) -> "URI":
        """Only http, https and file: anything else is refused (as the reference does)."""
        if self.scheme not in ("http", "https", "file"):
            raise OstreeError(f"Invalid URI scheme in {self.display()}")
        return self

    def display(self) -> str:
        """The URI without its password (what messages show)."""
        if self.password is None:
            return self.text
        parts = urllib.parse.urlsplit(self.text)
        netloc = parts.netloc.rsplit("@", 1)
        userinfo = netloc[0].split(":", 1)[0]
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{netloc[1]}"))

    def request_url(self) -> str:
        """The URI to request: no userinfo (credentials go in a header)."""
        parts = self._parts
        if "@" not in parts.netloc:
            return urllib.parse.urlunsplit(parts)
        return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))

    def subpath(self, name: str | None) -> "URI":
        """This URI with ``name`` appended to its path (g_build_filename style)."""
        if not name:
            return self
        # once per object in a pull: the parts are copied, not parsed again
        path = self.path.rstrip("/") + "/" + name.lstrip("/")
        parts = self._parts._replace(path=path)
        u = URI.__new__(URI)
        u.text = urllib.parse.urlunsplit(parts)
        u.scheme, u.username, u.password, u.host, u.port = \
            self.scheme, self.username, self.password, self.host, self.port
        u.path, u.query, u._parts = path, self.query, parts
        return u

    def with_path(self, path: str) -> "URI":
        parts = urllib.parse.urlsplit(self.text)
        return URI(urllib.parse.urlunsplit(parts._replace(path=path)))

    def local_path(self) -> str:
        """The filesystem path of a file:// URI."""
        return urllib.parse.unquote(self.path)

    def __repr__(self):
        return f"URI({self.display()!r})"


def join_url(base: URI, name: str | None) -> str:
    """The URL string of ``name`` under ``base``, without credentials."""
    return base.subpath(name).request_url()


# ---------------------------------------------------------------- cookies

class _Cookie:
    __slots__ = ("domain", "subdomains", "path", "secure", "expires", "name", "value")


def load_cookie_jar(path: str) -> list:
    """Cookies of a Netscape-format jar file (what ``remote add-cookie`` writes)."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_"):]
        elif not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 7:
            continue
        c = _Cookie()
        c.domain = fields[0].lstrip(".").lower()
        c.subdomains = fields[1].upper() == "TRUE" or fields[0].startswith(".")
        c.path = fields[2] or "/"
        c.secure = fields[3].upper() == "TRUE"
        try:
            c.expires = int(fields[4])
        except ValueError:
            c.expires = 0
        c.name = fields[5]
        c.value = fields[6]
        out.append(c)
    return out


def _cookie_header(cookies: list, scheme: str, host: str, path: str) -> str | None:
    now = time.time()
    host = host.lower()
    chosen = []
    for c in cookies:
        if c.expires and c.expires < now:
            continue
        if c.secure and scheme != "https":
            continue
        if host != c.domain and not (c.subdomains and host.endswith("." + c.domain)):
            continue
        if not (path == c.path or path.startswith(c.path.rstrip("/") + "/") or c.path == "/"):
            continue
        chosen.append(f"{c.name}={c.value}")
    return "; ".join(chosen) if chosen else None


# ---------------------------------------------------------------- results

class FetchResult:
    """A completed download: ``data`` (in-memory requests) or the bytes written to ``out``."""

    __slots__ = ("data", "size", "not_modified", "etag", "_last_modified", "uri")

    def __init__(self):
        self.data = None
        self.size = 0
        self.not_modified = False
        self.etag = None
        self._last_modified = None
        self.uri = None

    @property
    def last_modified(self) -> int:
        """The Last-Modified date in seconds since the epoch, 0 if absent or unparsable
        (parsed when asked: only the summary's is used, not the objects')."""
        lm = self._last_modified
        return _parse_http_date(lm) if lm else 0


# ---------------------------------------------------------------- the fetcher

class Fetcher:
    """Downloads files from mirror lists over HTTP(S) (and file:// URIs)."""

    def __init__(self, *, tls_permissive: bool = False, tls_ca_path: str | None = None,
                 tls_client_cert_path: str | None = None, tls_client_key_path: str | None = None,
                 proxy: str | None = None, cookie_jar: str | None = None, extra_headers=(),
                 append_user_agent: str | None = None, http2: bool = True,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 low_speed_limit: int | None = None, low_speed_time: float | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT, retry_network_errors: bool = True):
        from ostree_py.features import VERSION
        self.tls_permissive = tls_permissive
        self.tls_ca_path = tls_ca_path
        self.tls_client_cert_path = tls_client_cert_path
        self.tls_client_key_path = tls_client_key_path
        self.proxy = proxy or None
        self.cookies = load_cookie_jar(cookie_jar) if cookie_jar else []
        self.extra_headers = list(extra_headers)
        ua = f"libostree/{VERSION}"
        if append_user_agent:
            ua += " " + append_user_agent
        self.user_agent = ua
        self.http2 = http2
        self.max_connections = max_connections
        self.low_speed_limit = low_speed_limit if low_speed_limit is not None else \
            int(_env_number("OSTREE_PY_LOW_SPEED_LIMIT", LOW_SPEED_LIMIT))
        self.low_speed_time = low_speed_time if low_speed_time is not None else \
            _env_number("OSTREE_PY_LOW_SPEED_TIME", LOW_SPEED_TIME)
        self.connect_timeout = connect_timeout
        # False (pull --disable-retry-on-network-errors): only HTTP 408 and 500 are retried
        self.retry_network_errors = retry_network_errors
        self._ua = ua.encode()
        self._ssl = None
        self._tls_ready = False
        self._pools_lock = threading.Lock()
        self._pools = {}
        self._local = threading.local()
        self._conns = []
        self._conn_options = None
        self._route = {}
        self._hosts = {}
        # a low-speed limit or time of 0 turns the check off (as curl's): no read timeout then
        self._low_speed_check = self.low_speed_limit > 0 and self.low_speed_time > 0
        read_to = max(self.low_speed_time, 1.0) if self._low_speed_check else None
        # a stalled transfer ends by the read timeout, a trickling one by the low-speed check
        self._extensions = {"timeout": {"connect": connect_timeout, "read": read_to,
                                        "write": read_to, "pool": None}}
        self._bytes_lock = threading.Lock()
        self.bytes_transferred = 0
        self.requests_made = 0

    # -- plumbing
    def close(self) -> None:
        with self._pools_lock:
            pools, self._pools = self._pools, {}
            conns, self._conns = self._conns, []
        for p in [*pools.values(), *conns]:
            with contextlib.suppress(Exception):
                p.close()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connections without closing them
        (their sockets are the parent's too: closing would end its TLS and HTTP/2
        sessions); the child opens connections of its own on first use."""
        self._pools = {}
        self._conns = []
        self._local = threading.local()
        self._pools_lock = threading.Lock()
        self._bytes_lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _count(self, n: int) -> None:
        with self._bytes_lock:
            self.bytes_transferred += n

    def _ssl_context(self):
        """The TLS context of every connection. The CA store is loaded on the first https
        request (_ensure_tls): loading it costs a few hundred milliseconds that plain-http
        pulls should not pay."""
        if self._ssl is None:
            with self._pools_lock:
                if self._ssl is None:
                    import ssl
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    if self.tls_permissive:
                        ctx.check_hostname = False
                        ctx.verify_mode = ssl.CERT_NONE
                    if self.tls_client_cert_path:
                        try:
                            ctx.load_cert_chain(self.tls_client_cert_path, self.tls_client_key_path)
                        except (OSError, ssl.SSLError) as e:
                            raise _LocalCertError(str(e)) from None
                    self._ssl = ctx
        return self._ssl

    def _ensure_tls(self) -> None:
        ctx = self._ssl_context()
        if self._tls_ready:
            return
        with self._pools_lock:
            if self._tls_ready:
                return
            if not self.tls_permissive:
                if self.tls_ca_path:
                    ctx.load_verify_locations(cafile=self.tls_ca_path)
                else:
                    ctx.load_default_certs()
            self._tls_ready = True

    def proxy_for(self, scheme: str, host: str) -> str | None:
        """The proxy URL requests to ``host`` go through: the remote's ``proxy``, else the
        environment's (``http_proxy``, ``https_proxy``, ``all_proxy``, ``no_proxy``, as curl
        reads them); None for a direct connection."""
        if self.proxy:
            return self.proxy
        key = (scheme, host)
        try:
            return self._route[key]
        except KeyError:
            v = self._route[key] = _env_proxy_url(scheme, host)
            return v

    def _options(self) -> dict:
        """What every httpcore connection is made with."""
        if self._conn_options is None:
            import socket
            http2 = False
            if self.http2:
                try:
                    import h2  # noqa: F401
                    http2 = True
                except ImportError:
                    pass
            self._conn_options = dict(
                keepalive_expiry=KEEPALIVE_EXPIRY, http1=True, http2=http2,
                # the request goes out in one write: no reason to wait for an ACK (Nagle)
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        return self._conn_options

    # httpx's transport layer (httpcore) is used directly: httpx.HTTPTransport would
    # build and parse an httpx Request and URL for each request, and its pool wraps
    # each response again (together a third of the CPU time of a small object's
    # request over loopback), for nothing the fetcher uses: redirects, cookies,
    # authentication and headers are this module's.

    def _connection(self, key: tuple, origin):
        """This thread's connection to ``origin`` (made on first use, HTTP/2 if TLS
        negotiates it) and whether it served a request before. One thread sends one
        request at a time, so a connection per thread needs no pool (a forked worker
        process has one thread: one connection)."""
        import httpcore
        conns = self._local.__dict__.get("conns")
        if conns is None:
            conns = self._local.conns = {}
        c = conns.get(key)
        if c is not None:
            # has_expired() polls the socket (a system call): only asked of a connection
            # idle for a while; one the server closed meanwhile fails its request at
            # once, and _send sends that again on a new connection
            now = time.monotonic()
            idle = now - self._local.used.get(key, 0.0) > _RECHECK_IDLE
            self._local.used[key] = now
            if c.is_available() and not (idle and (c.is_closed() or c.has_expired())):
                return c, True
            self._drop(key, c)
        else:
            self._local.__dict__.setdefault("used", {})[key] = time.monotonic()
        ctx = self._ssl_context() if key[0] == "https" else None
        c = conns[key] = httpcore.HTTPConnection(origin=origin, ssl_context=ctx, **self._options())
        with self._pools_lock:
            self._conns.append(c)
        return c, False

    def _drop(self, key: tuple, c) -> None:
        self._local.conns.pop(key, None)
        with contextlib.suppress(Exception):
            c.close()
        with self._pools_lock:
            with contextlib.suppress(ValueError):
                self._conns.remove(c)

    def _pool(self, proxy: str):
        """The connection pool of requests through ``proxy``, made on first use."""
        pool = self._pools.get(proxy)
        if pool is None:
            kw = dict(self._options(), ssl_context=self._ssl_context())
            with self._pools_lock:
                pool = self._pools.get(proxy)
                if pool is None:
                    pool = self._pools[proxy] = self._new_proxy_pool(proxy, kw)
        return pool

    def _new_proxy_pool(self, proxy: str, kw: dict):
        import httpcore
        kw = dict(kw, max_connections=self.max_connections, max_keepalive_connections=self.max_connections)
        if "://" not in proxy:
            proxy = "http://" + proxy   # as curl: a proxy without a scheme is an HTTP proxy
        parts = urllib.parse.urlsplit(proxy)
        scheme = parts.scheme.lower()
        hostport = parts.netloc.rsplit("@", 1)[-1]
        auth = None
        if parts.username is not None:
            auth = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        if scheme in ("http", "https"):
            return httpcore.HTTPProxy(proxy_url=f"{scheme}://{hostport}", proxy_auth=auth, **kw)
        if scheme in ("socks5", "socks5h"):
            return httpcore.SOCKSProxy(proxy_url=f"socks5://{hostport}", proxy_auth=auth, **kw)
        raise FetchError(f"Unsupported proxy scheme ‘{parts.scheme}’")

    # -- public API
    def fetch(self, mirrorlist, filename: str | None = None, *, optional: bool = False,
              max_size: int = 0, if_none_match: str | None = None, if_modified_since: int = 0,
              retries: int = 0, out=None, gzip: bool = False, requeue: bool = False) -> FetchResult | None:
        """Download ``filename`` below the first mirror that has it.

        Returns a FetchResult (``data`` holds the bytes unless ``out``, a
        seekable binary file, was given), or None when ``optional`` and no
        mirror has the file. Transient failures are retried ``retries`` times;
        an attempt that received bytes before failing resumes where it
        stopped; when the connection was cut short (not when the transfer was
        too slow) that does not use up a retry (MAX_FREE_RESUMES times at most).
        With ``requeue``, an HTTP answer that asks to try again (408, 429, 5xx)
        is raised at once with ``retries_left`` set, for a caller that tries
        again later, as the reference's pull puts such a request back in its
        queue (behind the requests waiting) instead of sending it again at once.
        """
        if isinstance(mirrorlist, URI):
            mirrorlist = [mirrorlist]
        if out is None:
            # in memory too, a download cut short resumes where it stopped
            buf = io.BytesIO()
            res = self.fetch(mirrorlist, filename, optional=optional, max_size=max_size,
                             if_none_match=if_none_match, if_modified_since=if_modified_since,
                             retries=retries, out=buf, requeue=requeue)
            if res is not None:
                res.data = b"" if res.not_modified else buf.getvalue()
            return res
        remaining = retries
        best = 0
        free = MAX_FREE_RESUMES
        while True:
            try:
                return self._fetch_once(mirrorlist, filename, max_size, if_none_match,
                                        if_modified_since, out, gzip)
            except FetchError as e:
                if optional and e.not_found:
                    return None
                if not e.transient:
                    raise
                if not self.retry_network_errors and e.status not in (408, 500):
                    raise
                if out is not None and e.kind in ("partial", "timed-out"):
                    pos = out.tell()
                    if pos > best:
                        best = pos  # made progress: the next attempt resumes from here
                        if e.kind == "partial" and free > 0:
                            free -= 1  # and a cut connection costs no retry
                            continue
                if remaining <= 0:
                    raise
                if requeue and e.status is not None:
                    e.retries_left = remaining
                    raise
                remaining -= 1

    def _fetch_once(self, mirrorlist, filename, max_size, if_none_match, if_modified_since, out, gzip):
        last = len(mirrorlist) - 1
        for idx, base in enumerate(mirrorlist):
            uri = base.subpath(filename)
            try:
                if uri.scheme == "file":
                    return self._fetch_file(uri, max_size, out)
                try:
                    return self._fetch_http(uri, max_size, if_none_match, if_modified_since, out, gzip)
                except _Restart:
                    out.seek(0)
                    out.truncate()
                    return self._fetch_http(uri, max_size, if_none_match, if_modified_since, out, gzip)
            except FetchError as e:
                if e.status is not None and idx < last:
                    if out is not None:
                        out.seek(0)
                        out.truncate()
                    continue
                raise
        raise FetchError("No mirrors")

    def _fetch_file(self, uri: URI, max_size: int, out) -> FetchResult:
        path = uri.local_path()
        try:
            f = open(path, "rb")
        except OSError:
            raise FetchError("Couldn't read a file:// file", "not-found") from None
        res = FetchResult()
        res.uri = uri
        with f:
            try:
                size = os.fstat(f.fileno()).st_size
                if max_size and size > max_size:
                    raise FetchError(f"URI {uri.display()} exceeded maximum size of {max_size} bytes")
                if out is None:
                    res.data = f.read()
                    res.size = len(res.data)
                else:
                    n = 0
                    while True:
                        b = f.read(1 << 20)
                        if not b:
                            break
                        out.write(b)
                        n += len(b)
                    res.size = n
            except IsADirectoryError:
                raise FetchError("Couldn't read a file:// file", "not-found") from None
        self._count(res.size)
        return res

    def _send(self, scheme: str, host: str, port: int | None, target: str, headers: list,
              auth: tuple | None, display: str) -> "_Response":
        """One GET of ``target`` (path and query) at (scheme, host, port), no redirects."""
        import httpcore
        try:
            if scheme == "https":
                self._ensure_tls()
            proxy = self.proxy_for(scheme, host)
            pool = self._pool(proxy) if proxy else None
        except FetchError:
            raise
        except Exception as e:  # noqa: BLE001 - a bad proxy URL, an unreadable certificate...
            raise _map_error(e, display) from None
        key = (scheme, host, port)
        try:
            scheme_b, host_b, host_header, origin = self._host_names(key)
            url = httpcore.URL(scheme=scheme_b, host=host_b, port=port, target=target.encode())
        except Exception as e:  # noqa: BLE001 - a host name IDNA cannot encode
            raise _map_error(e, display) from None
        hdrs = [(b"Host", host_header), (b"User-Agent", self._ua)]
        hdrs += headers
        if auth is not None:
            import base64
            hdrs.append((b"Authorization", b"Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode())))
        req = httpcore.Request(b"GET", url, headers=hdrs, extensions=self._extensions)
        for attempt in (0, 1):
            reused = False
            try:
                if pool is None:
                    conn, reused = self._connection(key, origin)
                else:
                    conn, reused = pool, _has_idle(pool, origin)
                r = conn.handle_request(req)
            except Exception as e:  # noqa: BLE001 - mapped to the reference's errors
                # a kept-alive connection the server closed meanwhile (or an HTTP/2 one
                # that takes no more streams): once more on a new one (no response began:
                # handle_request returns as the response's headers arrive)
                name = type(e).__name__
                if attempt == 0 and reused and (name in ("ConnectionNotAvailable", "ReadError", "WriteError") or (
                        name == "RemoteProtocolError" and _NO_RESPONSE in str(e))):
                    continue
                raise _map_error(e, display) from None
            return _Response(r, display)
        raise FetchError(f"While fetching {display}: [52] Server returned nothing (no headers, no data)",
                         "partial")

    def _host_names(self, key: tuple) -> tuple:
        """The scheme and host of ``key`` (scheme, host, port), its Host header (IDNA-encoded)
        and httpcore's Origin: made once per server."""
        v = self._hosts.get(key)
        if v is None:
            import httpcore
            scheme, host, port = key
            default = port is None or port == (443 if scheme == "https" else 80)
            h = f"[{host}]" if ":" in host else host
            host_b = host.encode("idna")
            origin = httpcore.URL(scheme=scheme.encode(), host=host_b, port=port, target=b"/").origin
            v = self._hosts[key] = (scheme.encode(), host_b,
                                    (h if default else f"{h}:{port}").encode("idna"), origin)
        return v

    def _open(self, uri: URI, headers: list) -> "_Response":
        """Send a GET, following redirects (at most 20); credentials only go to the original origin."""
        auth = (uri.username, uri.password or "") if uri.username is not None else None
        display = uri.display()
        scheme, host, port = uri.scheme, uri.host, uri.port
        target = (uri.path or "/") + ("?" + uri.query if uri.query else "")
        url = None
        for _ in range(21):
            same = (scheme, host, port) == (uri.scheme, uri.host, uri.port)
            r = self._send(scheme, host, port, target, headers, auth if same else None, display)
            loc = r.header("location")
            if r.status not in (301, 302, 303, 307, 308) or not loc:
                return r
            r.close(reuse=True)
            if url is None:
                url = uri.request_url()
            url = urllib.parse.urljoin(url, loc)
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https"):
                raise FetchError(f"While fetching {display}: [1] Protocol not supported or disabled in libcurl")
            scheme, host, port = parts.scheme, parts.hostname or "", parts.port
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        raise FetchError(f"While fetching {display}: [47] Number of redirects hit maximum amount")
    def _fetch_http(self, uri: URI, max_size, if_none_match, if_modified_since, out, gzip) -> FetchResult:
        headers = [(b"Accept-Encoding", b"identity")]
        if if_none_match:
            headers.append((b"If-None-Match", if_none_match.encode()))
        if if_modified_since > 0:
            headers.append((b"If-Modified-Since", time.strftime(
                "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(if_modified_since)).encode()))
        for k, v in self.extra_headers:
            headers.append((k.encode(), v.encode()))
        if self.cookies:
            ch = _cookie_header(self.cookies, uri.scheme, uri.host, uri.path)
            if ch:
                headers.append((b"Cookie", ch.encode()))
        resume_from = 0
        if out is not None:
            resume_from = out.tell()
            if resume_from:
                headers.append((b"Range", f"bytes={resume_from}-".encode()))
        display = uri.display()
        res = FetchResult()
        res.uri = uri
        chunks = []
        r = self._open(uri, headers)
        ok = False
        try:
            status = r.status
            res.etag = (r.header("etag") or "").strip() or None
            res._last_modified = r.header("last-modified")
            if status == 304 and (if_none_match or if_modified_since > 0):
                res.not_modified = True
                res.data = b"" if out is None else None
                r.drain()
                ok = True
                return res
            if status == 416 and resume_from:
                # nothing past the bytes we hold (their length was announced wrongly):
                # start again from the beginning
                r.drain()
                ok = True
                raise _Restart
            if not (200 <= status < 300) and status != 304:
                r.drain()
                ok = True
                raise FetchError(f"Server returned HTTP {status}", _status_kind(status), status)
            if out is not None and resume_from:
                if status != 206 or not (r.header("content-range") or "").startswith(f"bytes {resume_from}-"):
                    out.seek(0)
                    out.truncate()
                    resume_from = 0
            # The size limit applies to the bytes received, not to what Content-Length
            # announces (as the reference's): a lying length ends as a partial transfer.
            window_start = time.monotonic()
            window_bytes = 0
            total = resume_from
            for chunk in r.chunks():
                n = len(chunk)
                total += n
                if max_size and total > max_size:
                    raise FetchError(f"URI {display} exceeded maximum size of {max_size} bytes")
                if out is None:
                    chunks.append(chunk)
                else:
                    out.write(chunk)
                self._count(n)
                window_bytes += n
                now = time.monotonic()
                if self._low_speed_check and now - window_start >= self.low_speed_time:
                    if window_bytes / (now - window_start) < self.low_speed_limit:
                        raise FetchError(f"While fetching {display}: [28] Timeout was reached", "timed-out")
                    window_start, window_bytes = now, 0
            res.size = total
            ok = True
        finally:
            r.close(reuse=ok)
        if out is None:
            res.data = b"".join(chunks)
        return res


class _Response:
    """A response of httpcore's: its status, headers and body."""

    __slots__ = ("r", "status", "display", "_fields")

    def __init__(self, r, display):
        self.r = r
        self.status = r.status
        self.display = display
        self._fields = None

    def header(self, name: str):
        """The value of header ``name`` (lower case; repeated fields joined with ", "), or None."""
        fields = self._fields
        if fields is None:
            # (three lookups per response: keys are lowered once, only values asked for decoded)
            fields = self._fields = {}
            for k, v in self.r.headers:
                k = k.lower()
                fields[k] = fields[k] + b", " + v if k in fields else v
        v = fields.get(name.encode())
        return None if v is None else v.decode("latin-1")

    def chunks(self):
        """The body as it arrives: each piece is whatever one read got (at most 64 KiB),
        so that a trickle reaches the low-speed check."""
        try:
            yield from self.r.stream
        except Exception as e:  # noqa: BLE001
            raise _map_error(e, self.display) from None

    def drain(self) -> None:
        """Read (and drop) a small error body so the connection can be reused."""
        with contextlib.suppress(FetchError):
            for _ in self.chunks():
                pass

    def close(self, reuse: bool = True) -> None:
        # httpcore keeps the connection when the body was read to its end, else closes it
        with contextlib.suppress(Exception):
            self.r.close()


# What httpcore says when a connection ends before the response starts.
_NO_RESPONSE = "Server disconnected without sending a response"


def _has_idle(pool, origin) -> bool:
    """Whether ``pool`` holds an idle kept-alive connection to ``origin`` (which the next
    request will reuse)."""
    for c in pool.connections:
        if c.is_idle() and c.can_handle_request(origin):
            return True
    return False


def _map_error(e: BaseException, display: str) -> FetchError:
    """A network exception (httpcore's, ssl's or the socket's) as the reference words it (curl's)."""
    import socket
    import ssl
    if isinstance(e, FetchError):
        return e
    if isinstance(e, _LocalCertError):
        # (what the reference says: curl fails in the TLS handshake)
        return FetchError(f"While fetching {display}: [35] SSL connect error")
    name = type(e).__name__
    msg = str(e)
    if isinstance(e, (socket.timeout, TimeoutError)) or name.endswith("Timeout") or "timed out" in msg:
        return FetchError(f"While fetching {display}: [28] Timeout was reached", "timed-out")
    if isinstance(e, UnicodeError):
        # a host name IDNA cannot encode (an empty or too long label): curl's resolver refuses it
        return FetchError(f"While fetching {display}: [6] Couldn't resolve host name")
    if isinstance(e, socket.gaierror) or "Name or service not known" in msg or "getaddrinfo" in msg \
            or "Temporary failure in name resolution" in msg or "nodename" in msg \
            or "No address associated with hostname" in msg:
        return FetchError(f"While fetching {display}: [6] Couldn't resolve host name")
    if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in msg:
        return FetchError(f"While fetching {display}: [60] SSL peer certificate or SSH remote key was not OK")
    if isinstance(e, ssl.SSLError) or "SSL" in name or msg.startswith("[SSL"):
        return FetchError(f"While fetching {display}: [35] SSL connect error")
    if name == "RemoteProtocolError":
        if _NO_RESPONSE in msg:
            return FetchError(f"While fetching {display}: [52] Server returned nothing (no headers, no data)",
                              "partial")
        if "StreamReset" in msg:
            return FetchError(f"While fetching {display}: [92] Stream error in the HTTP/2 framing layer",
                              "partial")
        if "ConnectionTerminated" in msg or "GOAWAY" in msg:
            return FetchError(f"While fetching {display}: [16] Error in the HTTP2 framing layer", "partial")
        if "peer closed connection" in msg or "incomplete" in msg:
            return FetchError(f"While fetching {display}: [18] Transferred a partial file", "partial")
        return FetchError(f"While fetching {display}: [8] Weird server reply")
    if isinstance(e, ConnectionRefusedError) or "Connection refused" in msg:
        return FetchError(f"While fetching {display}: [7] Couldn't connect to server")
    if isinstance(e, (ConnectionResetError, BrokenPipeError)) or name in ("ReadError", "WriteError"):
        return FetchError(f"While fetching {display}: [56] Failure when receiving data from the peer", "partial")
    if name == "UnsupportedProtocol":
        return FetchError(f"While fetching {display}: [1] Unsupported protocol")
    if name == "ProxyError":
        return FetchError(f"While fetching {display}: [56] {msg or 'Failure when receiving data from the peer'}")
    if name == "LocalProtocolError":
        return FetchError(f"While fetching {display}: [43] A libcurl function was given a bad argument")
    if isinstance(e, OSError) or name == "ConnectError":
        return FetchError(f"While fetching {display}: [7] Couldn't connect to server")
    return FetchError(f"While fetching {display}: {msg or name}")


def _env_proxy_url(scheme: str, host: str) -> str | None:
    """The proxy the environment sets for ``scheme`` (``<scheme>_proxy`` or ``all_proxy``,
    lower case first, as curl and urllib read them), unless ``no_proxy`` lifts it for ``host``."""
    env = os.environ

    def get(name):
        return env.get(name) or env.get(name.upper())
    proxy = get(f"{scheme}_proxy") if scheme != "http" or "REQUEST_METHOD" not in env else env.get("http_proxy")
    proxy = proxy or get("all_proxy")
    if not proxy:
        return None
    no_proxy = get("no_proxy") or ""
    host = host.lower().rstrip(".")
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return None
        entry = entry.split(":", 1)[0] if entry.count(":") == 1 else entry
        entry = entry.lstrip(".")
        if host == entry or host.endswith("." + entry):
            return None
    return proxy


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment; ``default`` when unset or not one."""
    try:
        v = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return v if 0 < v < float("inf") else default


def _parse_http_date(text: str) -> int:
    """Seconds since the epoch of an RFC 2616 date, 0 if unparsable."""
    import email.utils
    try:
        dt = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return 0
    if dt is None:
        return 0
    try:
        return int(dt.timestamp())
    except (OverflowError, ValueError, OSError):
        return 0
