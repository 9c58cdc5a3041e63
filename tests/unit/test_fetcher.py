"""ostree_py.remote.fetcher: mirrors, retries, resumed downloads, limits, errors.

A small scripted HTTP server plays the misbehaving peers: failing with a
status a number of times, cutting a body short (with or without Range
support), stalling, redirecting.
"""

import http.server
import io
import os
import socket
import threading
import time

import pytest

from ostree_py.errors import OstreeError
from ostree_py.remote.fetcher import URI, FetchError, Fetcher, load_cookie_jar

BODY = bytes(range(256)) * 64  # 16 KiB


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, dict(self.headers)))
        srv.clients.append(self.client_address)
        path = self.path
        self.served = getattr(self, "served", 0) + 1
        if path == "/first-on-connection":
            if self.served > 1:
                # a kept-alive connection the server drops as the next request arrives
                self.close_connection = True
                return
            return self._reply(200, BODY)
        if path == "/then-close":
            # answered, then the connection closes without a word (no "Connection: close")
            self._reply(200, BODY)
            self.close_connection = True
            return
        if path.startswith("/fail/"):
            # /fail/CODE/N/name: answer CODE the first N times
            _, _, code, n, name = path.split("/", 4)
            key = path
            srv.counts[key] = srv.counts.get(key, 0) + 1
            if srv.counts[key] <= int(n):
                return self._reply(int(code), b"nope")
            return self._reply(200, BODY)
        if path == "/cut-ranged":
            return self._cut(ranged=True)
        if path == "/cut-always":
            return self._cut(ranged=False)
        if path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[:100])
            self.wfile.flush()
            time.sleep(3)
            return
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/mirror2/file")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Last-Modified", "Thu, 01 Jan 2015 00:00:10 GMT")
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")
            return
        if path.startswith("/mirror2/"):
            return self._reply(200, BODY)
        if path == "/big":
            return self._reply(200, BODY * 4)
        if path == "/echo":
            text = "\n".join(f"{k}: {v}" for k, v in self.headers.items()).encode()
            return self._reply(200, text)
        return self._reply(404, b"not found")

    def _reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _cut(self, ranged):
        rng = self.headers.get("Range")
        if ranged and rng:
            start = int(rng.split("=")[1].rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
            self.send_header("Content-Length", str(len(BODY) - start))
            self.end_headers()
            self.wfile.write(BODY[start:])
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(BODY[:len(BODY) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.requests = []
    srv.clients = []
    srv.counts = {}
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    srv.base = URI(f"http://127.0.0.1:{srv.server_address[1]}")
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def fetcher():
    f = Fetcher(low_speed_time=1.0)
    yield f
    f.close()


def test_fetch_into_memory_and_count_bytes(server, fetcher):
    r = fetcher.fetch([server.base], "mirror2/x")
    assert r.data == BODY and fetcher.bytes_transferred == len(BODY)


def test_not_found_optional_and_required(server, fetcher):
    assert fetcher.fetch([server.base], "nosuch", optional=True) is None
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], "nosuch")
    assert e.value.message == "Server returned HTTP 404" and e.value.not_found


@pytest.mark.parametrize("code", [500, 503, 408])
def test_transient_status_is_retried(server, fetcher, code):
    assert fetcher.fetch([server.base], f"fail/{code}/2/a", retries=2).data == BODY
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], f"fail/{code}/3/b", retries=2)
    assert e.value.message == f"Server returned HTTP {code}"


def test_no_retries_means_one_attempt(server, fetcher):
    with pytest.raises(FetchError):
        fetcher.fetch([server.base], "fail/500/1/c", retries=0)
    assert server.counts["/fail/500/1/c"] == 1


def test_permanent_status_is_not_retried(server, fetcher):
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], "fail/403/1/d", retries=5)
    assert e.value.message == "Server returned HTTP 403" and server.counts["/fail/403/1/d"] == 1


def test_cut_short_download_resumes_with_range(server, fetcher):
    out = io.BytesIO()
    r = fetcher.fetch([server.base], "cut-ranged", out=out, retries=0)
    assert out.getvalue() == BODY and r.size == len(BODY)
    ranges = [h.get("Range") for p, h in server.requests if p == "/cut-ranged"]
    assert ranges == [None, f"bytes={len(BODY) // 2}-"]


def test_cut_short_without_progress_fails_after_retries(server, fetcher):
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], "cut-always", out=io.BytesIO(), retries=2)
    assert "Transferred a partial file" in e.value.message or "Failure when receiving" in e.value.message
    # the first cut counts as progress, then each of the 2 retries is used up
    assert len([p for p, _ in server.requests if p == "/cut-always"]) == 4


def test_stalled_server_times_out(server, fetcher):
    t = time.monotonic()
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], "stall", retries=0)
    assert "[28] Timeout was reached" in e.value.message and e.value.kind == "timed-out"
    assert time.monotonic() - t < 3


def test_max_size(server, fetcher):
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], "big", max_size=1000)
    url = server.base.subpath("big").display()
    assert e.value.message == f"URI {url} exceeded maximum size of 1000 bytes"


def test_mirror_fallback_on_http_errors(server, fetcher):
    first = server.base.subpath("nothere")
    second = server.base.subpath("mirror2")
    assert fetcher.fetch([first, second], "file").data == BODY
    assert [p for p, _ in server.requests] == ["/nothere/file", "/mirror2/file"]


def test_redirect_followed(server, fetcher):
    assert fetcher.fetch([server.base], "redirect").data == BODY


def test_conditional_request(server, fetcher):
    r = fetcher.fetch([server.base], "etag")
    assert r.data == b"hello" and r.etag == '"v1"' and r.last_modified == 1420070410
    r = fetcher.fetch([server.base], "etag", if_none_match='"v1"', if_modified_since=1420070410)
    assert r.not_modified
    headers = server.requests[-1][1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Thu, 01 Jan 2015 00:00:10 GMT"


def test_headers_user_agent_auth_and_cookies(server, tmp_path):
    jar = tmp_path / "jar.txt"
    jar.write_text("# Netscape HTTP Cookie File\n"
                   "127.0.0.1\tFALSE\t/\tFALSE\t0\tfoo\tbar\n"
                   "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tbaz\tbadger\n"
                   "other.example\tFALSE\t/\tFALSE\t0\tno\tpe\n"
                   "127.0.0.1\tFALSE\t/\tTRUE\t0\tsecure\tonly\n")
    f = Fetcher(extra_headers=[("X-Test", "1")], append_user_agent="dodo/2.15", cookie_jar=str(jar))
    try:
        port = server.server_address[1]
        f.fetch([URI(f"http://user:pass%40word@127.0.0.1:{port}")], "echo")
    finally:
        f.close()
    h = server.requests[-1][1]
    assert h["User-Agent"] == "libostree/2025.2 dodo/2.15"
    assert h["X-Test"] == "1"
    assert h["Cookie"] == "foo=bar; baz=badger"
    import base64
    assert h["Authorization"] == "Basic " + base64.b64encode(b"user:pass@word").decode()


def test_cookie_jar_parsing(tmp_path):
    jar = tmp_path / "j"
    jar.write_text("# comment\n\n.example.com\tTRUE\t/x\tFALSE\t99\tn\tv\nbroken line\n")
    (c,) = load_cookie_jar(str(jar))
    assert (c.domain, c.subdomains, c.path, c.expires, c.name, c.value) == ("example.com", True, "/x", 99, "n", "v")
    assert load_cookie_jar(str(tmp_path / "missing")) == []


def test_file_uris(tmp_path, fetcher):
    (tmp_path / "a").write_bytes(b"data")
    base = URI(f"file://{tmp_path}")
    assert fetcher.fetch([base], "a").data == b"data"
    assert fetcher.fetch([base], "b", optional=True) is None
    with pytest.raises(FetchError) as e:
        fetcher.fetch([base], "b")
    assert e.value.message == "Couldn't read a file:// file"


def test_connection_refused(fetcher):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(FetchError) as e:
        fetcher.fetch([URI(f"http://127.0.0.1:{port}/x")], "summary")
    assert e.value.message == f"While fetching http://127.0.0.1:{port}/x/summary: [7] Couldn't connect to server"


@pytest.mark.parametrize("text,message", [
    ("foo", "URI is not absolute, and no base URI was provided"),
    ("http://h:99999/x", "Port ‘99999’ in URI is out of range"),
    ("http://[bad/", "Invalid IPv6 address ‘[bad’ in URI"),
])
def test_uri_errors(text, message):
    with pytest.raises(OstreeError) as e:
        URI.parse(text)
    assert e.value.message == message


def test_uri_scheme_validation_and_display():
    with pytest.raises(OstreeError) as e:
        URI.parse("badscheme://something").validate()
    assert e.value.message == "Invalid URI scheme in badscheme://something"
    u = URI.parse("http://user:secret@host:8080/base/")
    assert u.display() == "http://user@host:8080/base/"
    assert u.subpath("/objects/ab").request_url() == "http://host:8080/base/objects/ab"
    assert u.with_path("/other").display() == "http://user@host:8080/other"


@pytest.mark.parametrize("env,scheme,host,expected", [
    ({}, "http", "example.org", False),
    ({"http_proxy": "http://p:3128"}, "http", "example.org", True),
    ({"HTTP_PROXY": "http://p:3128"}, "http", "example.org", True),
    ({"http_proxy": "http://p:3128"}, "https", "example.org", False),
    ({"https_proxy": "http://p:3128"}, "https", "example.org", True),
    ({"all_proxy": "http://p:3128"}, "https", "example.org", True),
    ({"http_proxy": "http://p:3128", "no_proxy": "example.org"}, "http", "example.org", False),
    ({"http_proxy": "http://p:3128", "no_proxy": ".org"}, "http", "www.example.org", False),
    ({"http_proxy": "http://p:3128", "NO_PROXY": "localhost, example.org:8080"}, "http", "example.org", False),
    ({"http_proxy": "http://p:3128", "no_proxy": "*"}, "http", "anything", False),
    ({"http_proxy": "http://p:3128", "no_proxy": "ample.org"}, "http", "example.org", True),
    ({"http_proxy": "http://p:3128", "REQUEST_METHOD": "GET"}, "http", "example.org", True),
    ({"HTTP_PROXY": "http://p:3128", "REQUEST_METHOD": "GET"}, "http", "example.org", False),
])
def test_env_proxy(monkeypatch, env, scheme, host, expected):
    from ostree_py.remote.fetcher import _env_proxy_url
    for k in list(os.environ):
        if k.lower().endswith("_proxy") or k == "REQUEST_METHOD":
            monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert _env_proxy_url(scheme, host) == ("http://p:3128" if expected else None)


@pytest.mark.parametrize("code", [500, 408])
def test_requeue_raises_at_once_with_the_retries_left(server, fetcher, code):
    """requeue=True (the pull's object requests): an answer asking to try again is not
    retried on the spot but raised with the retries left, for the pull to queue again."""
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], f"fail/{code}/1/rq", retries=3, requeue=True)
    assert e.value.retries_left == 3 and server.counts[f"/fail/{code}/1/rq"] == 1
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], f"fail/{code}/1/rq0", retries=0, requeue=True)
    assert e.value.retries_left == 0
    assert fetcher.fetch([server.base], f"fail/{code}/1/rq", retries=3, requeue=True).data == BODY


def test_requeue_leaves_other_errors_as_they_were(server, fetcher):
    with pytest.raises(FetchError) as e:
        fetcher.fetch([server.base], "fail/404/1/nf", retries=3, requeue=True)
    assert e.value.retries_left == 0 and e.value.not_found


def test_requests_share_one_kept_alive_connection(server, fetcher):
    for name in ("a", "b", "c", "d"):
        assert fetcher.fetch([server.base], f"mirror2/{name}").data == BODY
    assert len(server.clients) == 4 and len(set(server.clients)) == 1


def test_a_kept_alive_connection_dropped_by_the_server_is_replaced_once(server, fetcher):
    """The server closes a kept-alive connection without answering the request it got
    (as one closing idle connections may): the request goes once more on a new
    connection, without using up a retry."""
    assert fetcher.fetch([server.base], "mirror2/x", retries=0).data == BODY
    assert fetcher.fetch([server.base], "first-on-connection", retries=0).data == BODY
    assert [p for p, _ in server.requests] == ["/mirror2/x", "/first-on-connection", "/first-on-connection"]
    assert server.clients[0] == server.clients[1] != server.clients[2]


def test_a_connection_the_server_closed_after_its_answer_is_not_reused(server, fetcher):
    """The server closes a kept-alive connection right after an answer, without saying so:
    the next request, sent at once, still succeeds on a new connection without using up
    a retry (whether it sees the close before sending, or its request meets a closed or
    reset socket)."""
    for _ in range(20):
        assert fetcher.fetch([server.base], "then-close", retries=0).data == BODY
        assert fetcher.fetch([server.base], "mirror2/x", retries=0).data == BODY
    assert len(set(server.clients)) == 21


def test_an_unreadable_client_certificate(server, tmp_path):
    """tls-client-cert-path naming no certificate: an https request fails as the reference's
    does; plain http requests do not load it."""
    missing = str(tmp_path / "missing.pem")
    with Fetcher(tls_client_cert_path=missing, tls_client_key_path=missing) as f:
        assert f.fetch([server.base], "mirror2/x").data == BODY
        with pytest.raises(FetchError) as e:
            f.fetch([URI("https://127.0.0.1:1/repo")], "config")
    assert e.value.message == \
        "While fetching https://127.0.0.1:1/repo/config: [35] SSL connect error"


@pytest.mark.parametrize("host", ["a..b", "x" * 70 + ".org"])
def test_a_host_name_idna_cannot_encode_is_not_resolved(fetcher, host):
    """As curl's resolver: an empty or over-long label is a name that does not resolve."""
    with pytest.raises(FetchError) as e:
        fetcher.fetch([URI(f"http://{host}:1/repo")], "config")
    assert e.value.message == f"While fetching http://{host}:1/repo/config: [6] Couldn't resolve host name"
