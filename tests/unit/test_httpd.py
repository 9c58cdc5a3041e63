"""The trivial-httpd server (ostree_py.remote.httpd), spoken to with http.client."""

import base64
import hashlib
import http.client
import os
import re
import socket

import pytest

from ostree_py.remote import httpd as H


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "srv"
    (root / "sub").mkdir(parents=True)
    (root / "repo" / "objects" / "ab").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"hello\n")
    (root / "sub" / "x").write_bytes(b"x")
    (root / "repo" / "objects" / "ab" / "cd.file").write_bytes(bytes(range(256)) * 4)
    return root


@pytest.fixture
def server(served, tmp_path):
    started = []

    def start(**opts):
        log_fd = os.open(str(tmp_path / f"log{len(started)}"), os.O_WRONLY | os.O_CREAT, 0o600)
        s = H.TrivialHttpd(str(served), options=H.HttpdOptions(**opts), log_fd=log_fd)
        s.start()
        started.append((s, log_fd))
        return s
    yield start
    for s, fd in started:
        s.shutdown()
        s.close()
        os.close(fd)


def get(srv, path, method="GET", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict(r.getheaders()), body


def log_lines(path, n):
    """The log's lines once it has ``n`` of them (the status line follows the response)."""
    import time
    for _ in range(100):
        lines = path.read_text().splitlines()
        if len(lines) >= n:
            return lines
        time.sleep(0.05)
    return lines


def test_get_file(server, served):
    s = server()
    status, h, body = get(s, "/a.txt")
    assert (status, body) == (200, b"hello\n")
    assert h["Content-Length"] == "6"
    assert h["ETag"] == '"%s"' % hashlib.sha256(b"hello\n").hexdigest()
    assert h["Last-Modified"] == H.http_date(os.stat(served / "a.txt").st_mtime)
    assert h["Server"].startswith("ostree-httpd")


def test_head(server):
    s = server()
    status, h, body = get(s, "/a.txt", "HEAD")
    assert (status, body, h["Content-Length"]) == (200, b"", "6")


def test_missing_forbidden_and_methods(server, served):
    s = server()
    assert get(s, "/nope")[0] == 404
    assert get(s, "/")[0] == 404          # as the reference: the empty path is not served
    os.chmod(served / "a.txt", 0o640)
    assert get(s, "/a.txt")[0] == 403
    os.symlink("/dev/null", served / "dev")
    assert get(s, "/dev")[0] == 403
    assert get(s, "/sub/x", "POST")[0] == 501
    assert get(s, "/a.txt/x")[0] == 500   # ENOTDIR


def test_dot_segments_are_resolved(server):
    s = server()
    assert get(s, "/sub/../a.txt")[2] == b"hello\n"
    assert get(s, "/a%2etxt")[2] == b"hello\n"


def test_directories(server):
    s = server()
    status, h, _ = get(s, "/sub")
    assert status == 301 and h["Location"].endswith("/sub/")
    status, h, body = get(s, "/sub/")
    assert status == 200 and h["Content-Type"] == "text/html"
    assert body == (b'<html>\r\n<head><title>Index of /</title></head>\r\n<body><h1>Index of /</h1>\r\n'
                    b'<p>\r\n<a href="x">x</a><br>\r\n</body>\r\n</html>\r\n')


def test_index_html(server, served):
    (served / "sub" / "index.html").write_text("<p>hi</p>")
    s = server()
    assert get(s, "/sub/")[2] == b"<p>hi</p>"


def test_ranges(server):
    s = server()
    status, h, body = get(s, "/a.txt", headers={"Range": "bytes=2-3"})
    assert (status, body, h["Content-Range"]) == (206, b"ll", "bytes 2-3/6")
    assert get(s, "/a.txt", headers={"Range": "bytes=4-"})[2] == b"o\n"
    assert get(s, "/a.txt", headers={"Range": "bytes=-2"})[2] == b"o\n"
    assert get(s, "/a.txt", headers={"Range": "bytes=10-"})[0] == 416
    assert get(s, "/a.txt", headers={"Range": "garbage"})[:3:2] == (200, b"hello\n")
    status, h, body = get(s, "/a.txt", headers={"Range": "bytes=0-1,4-5"})
    assert status == 206
    boundary = re.match(r"multipart/byteranges; boundary=(\w+)$", h["Content-Type"]).group(1)
    assert body == (f"--{boundary}\r\nContent-Range: bytes 0-1/6\r\n\r\nhe\r\n"
                    f"--{boundary}\r\nContent-Range: bytes 4-5/6\r\n\r\no\n\r\n--{boundary}--\r\n").encode()


def test_conditional_requests(server):
    s = server()
    _, h, _ = get(s, "/a.txt")
    status, h2, body = get(s, "/a.txt", headers={"If-None-Match": h["ETag"]})
    assert (status, body, h2["ETag"]) == (304, b"", h["ETag"])
    assert get(s, "/a.txt", headers={"If-None-Match": '"other"'})[0] == 200
    assert get(s, "/a.txt", headers={"If-Modified-Since": h["Last-Modified"]})[0] == 304
    assert get(s, "/a.txt", headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})[0] == 200
    # If-None-Match wins over If-Modified-Since
    assert get(s, "/a.txt", headers={"If-None-Match": '"x"', "If-Modified-Since": h["Last-Modified"]})[0] == 200
    assert get(s, "/a.txt", "HEAD", headers={"If-None-Match": h["ETag"]})[0] == 304


def test_etag_follows_content(server, served):
    s = server()
    e1 = get(s, "/a.txt")[1]["ETag"]
    (served / "a.txt").write_bytes(b"changed")
    e2 = get(s, "/a.txt")[1]["ETag"]
    assert e2 == '"%s"' % hashlib.sha256(b"changed").hexdigest() != e1


def test_keep_alive(server):
    s = server()
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    for _ in range(3):
        c.request("GET", "/a.txt")
        assert c.getresponse().read() == b"hello\n"
    c.close()


def test_basic_auth(server):
    s = server(require_basic_auth=True)
    status, h, _ = get(s, "/a.txt")
    assert status == 401 and h["WWW-Authenticate"] == 'Basic realm="auth-test"'
    bad = base64.b64encode(b"foouser:nope").decode()
    assert get(s, "/a.txt", headers={"Authorization": f"Basic {bad}"})[0] == 401
    good = base64.b64encode(b"foouser:barpw").decode()
    assert get(s, "/a.txt", headers={"Authorization": f"Basic {good}"})[0] == 200


def test_expected_cookies_and_headers(server, tmp_path):
    s = server(expected_cookies=["foo=bar", "baz=badger"], expected_headers=["X-A=1"])
    assert get(s, "/a.txt", headers={"Cookie": "foo=bar", "X-A": "1"})[0] == 403
    assert get(s, "/a.txt", headers={"Cookie": "foo=bar; baz=badger"})[0] == 403
    assert get(s, "/a.txt", headers={"Cookie": "foo=bar; baz=badger", "X-A": "2"})[0] == 403
    assert get(s, "/a.txt", headers={"Cookie": "foo=bar; baz=badger", "X-A": "1"})[0] == 200
    log = "\n".join(log_lines(tmp_path / "log0", 11)) + "\n"
    assert "Expected cookie not found baz=badger\n" in log
    assert "Expected header not found X-A\n" in log
    assert "Expected header X-A: 1 but found 2\n" in log


def test_random_errors_are_capped(server):
    s = server(random_500s=99, random_500s_max=3)
    codes = [get(s, "/a.txt")[0] for _ in range(40)]
    assert codes.count(500) == 3 and codes.count(200) == 37
    s = server(random_408s=99, random_408s_max=2)
    codes = [get(s, "/a.txt")[0] for _ in range(10)]
    assert codes.count(408) == 2


def test_force_range_requests(server):
    s = server(force_ranges=True)
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall(b"GET /repo/objects/ab/cd.file HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        b = sock.recv(65536)
        if not b:
            break
        data += b
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Length: 1024" in head and b"Connection: close" in head
    assert body == (bytes(range(256)) * 4)[:512]
    # with a Range, and outside /objects, files are served whole
    assert get(s, "/repo/objects/ab/cd.file", headers={"Range": "bytes=512-"})[2] == (bytes(range(256)) * 4)[512:]
    assert get(s, "/a.txt")[2] == b"hello\n"


def test_log_format(server, tmp_path):
    s = server()
    get(s, "/a.txt")
    get(s, "/nope")
    lines = log_lines(tmp_path / "log0", 4)
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} - "
    assert [re.sub(stamp, "", x) for x in lines] == [
        "serving /a.txt", "  status: OK (200)", "serving /nope", "  status: Not Found (404)"]
    assert all(re.match(stamp, x) for x in lines)


def test_autoexit_when_directory_removed(served, tmp_path):
    import shutil
    import threading
    s = H.TrivialHttpd(str(served))
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    s.watch_for_removal(str(served), interval=0.05)
    assert get(s, "/a.txt")[0] == 200
    shutil.rmtree(served)
    t.join(5)
    assert not t.is_alive()
    s.close()


def test_parse_ranges():
    assert H.parse_ranges("bytes=0-0", 5) == [(0, 0)]
    assert H.parse_ranges("bytes=3-100", 5) == [(3, 4)]
    assert H.parse_ranges("bytes=-100", 5) == [(0, 4)]
    assert H.parse_ranges("bytes=4-2", 5) is None
    assert H.parse_ranges("items=0-1", 5) is None
    assert H.parse_ranges(None, 5) is None


def test_remove_dot_segments():
    assert H.remove_dot_segments("/a/b/../c/./d") == "/a/c/d"
    assert H.remove_dot_segments("/../x") == "/x"
    assert H.remove_dot_segments("/a/..") == "/"
