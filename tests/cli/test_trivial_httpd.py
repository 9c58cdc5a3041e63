"""`trivial-httpd` as the upstream tests run it, against Debian's ostree-trivial-httpd."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

REF_HTTPD = "/usr/libexec/libostree/ostree-trivial-httpd"
OURS = [sys.executable, "-m", "ostree_py.commands", "trivial-httpd"]


def _options(help_text):
    lines = help_text.split("Application Options:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [" ".join(line.split()) for line in lines]


def test_options_are_the_reference_programs():
    if not os.path.exists(REF_HTTPD):
        pytest.fail("ostree-tests' trivial-httpd is missing: make install")
    ref = subprocess.run([REF_HTTPD, "--help"], capture_output=True, text=True).stdout
    ours = subprocess.run(OURS + ["--help"], capture_output=True, text=True).stdout
    assert _options(ours)[:-2] == _options(ref)  # ours adds -v/--verbose and --version


@pytest.mark.parametrize("args,setup", [
    (["/nonexistent"], None),
    (["--random-500s=100"], None),
    (["--random-408s=-1"], None),
    (["--log-file=log", "-p", "-"], "log"),
])
def test_errors_are_the_reference_programs(tmp_path, args, setup):
    if setup:
        (tmp_path / setup).write_text("")
    ref = subprocess.run([REF_HTTPD, *args], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    ours = subprocess.run(OURS + args, capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert (ours.returncode, ours.stderr) == (ref.returncode, ref.stderr)


def test_daemonize_usage_error(tmp_path):
    r = subprocess.run(OURS + ["-d", "--log-file=-"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.endswith("\nerror: Cannot use --log-file=- and --daemonize at the same time\n")


def test_daemonize_port_file_and_autoexit(tmp_path):
    srv = tmp_path / "httpd"
    srv.mkdir()
    (srv / "hello").write_text("hi\n")
    os.symlink(str(tmp_path / "elsewhere"), srv / "dangling")
    t0 = time.monotonic()
    r = subprocess.run(OURS + ["--autoexit", "--log-file", str(srv / "httpd.log"), "--daemonize",
                               "-p", str(tmp_path / "port")], cwd=srv, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    port = int((tmp_path / "port").read_text())      # written before the parent exited
    assert (tmp_path / "port").read_text() == f"{port}\n"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=10) as resp:
        assert resp.read() == b"hi\n"
    log = (srv / "httpd.log").read_text()
    assert " - serving at root .\n" in log and " - serving /hello\n" in log
    assert os.stat(srv / "httpd.log").st_mode & 0o777 == 0o600
    shutil.rmtree(srv)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=2)
        except OSError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the server did not exit after its directory was removed")
    assert time.monotonic() - t0 < 60


def test_foreground_port_to_stdout(tmp_path):
    (tmp_path / "f").write_text("x")
    p = subprocess.Popen(OURS + ["-p", "-", "--log-file=-"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/f", timeout=10) as resp:
            assert resp.read() == b"x"
        lines = [p.stdout.readline() for _ in range(3)]
        assert [line.split(" - ", 1)[1] for line in lines] == [
            "serving at root .\n", "serving /f\n", "  status: OK (200)\n"]
    finally:
        p.terminate()
        p.wait(10)


# ------------------------------------------------------------------ hostile requests, against the reference

def _serve(argv, root, port_file):
    p = subprocess.Popen(argv + ["-p", str(port_file), str(root)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(600):
        if port_file.exists() and port_file.read_text().strip():
            return p, int(port_file.read_text())
        time.sleep(0.05)
    p.kill()
    pytest.fail(f"{argv} did not start")


@pytest.fixture(scope="module")
def both_servers(tmp_path_factory):
    if not os.path.exists(REF_HTTPD):
        pytest.fail("ostree-tests' trivial-httpd is missing: make install")
    base = tmp_path_factory.mktemp("httpd")
    root = base / "www"
    (root / "sub").mkdir(parents=True)
    (root / "alpha").write_bytes(b"abcdefghijklmnopqrstuvwxyz")
    (root / "sub" / "a").write_bytes(b"hi\n")
    (root / "empty").write_bytes(b"")
    (base / "secret").write_text("outside\n")
    procs, ports = [], {}
    for name, argv in (("ref", [REF_HTTPD]), ("ours", OURS)):
        p, ports[name] = _serve(argv, root, base / f"port-{name}")
        procs.append(p)
    yield ports
    for p in procs:
        p.terminate()
        p.wait(10)


def _raw(port, request: bytes):
    """The reply's status line, the headers a client acts on, and the body (boundaries masked)."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        s.sendall(request)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except ConnectionResetError:
        pass
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    keep = {}
    for line in lines[1:]:
        k, _, v = line.partition(": ")
        if k in ("Content-Length", "Content-Range", "Content-Type", "Location"):
            keep[k] = v
    boundary = keep.get("Content-Type", "").partition("boundary=")[2]
    if boundary:
        keep["Content-Type"] = keep["Content-Type"].replace(boundary, "B")
        body = body.replace(boundary.encode(), b"B")
    return lines[0], keep, body


def _get_req(target, *headers, version="HTTP/1.1", host=True):
    lines = [f"GET {target} {version}"] + (["Host: x"] if host else []) + list(headers) + ["Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


HOSTILE = {
    # a NUL ends the path (the reference's handler takes it as a C string)
    "nul-after-name": _get_req("/sub/a%00"),
    "nul-inside-name": _get_req("/al%00pha"),
    "nul-then-dotdot": _get_req("/sub/a%00/../alpha"),
    "dotdot-nul": _get_req("/..%00"),
    "sub-dotdot-nul": _get_req("/sub/..%00/"),
    # traversal
    "dotdot": _get_req("/../secret"),
    "encoded-dots": _get_req("/%2e%2e/secret"),
    "encoded-slash": _get_req("/sub/..%2f..%2fsecret"),
    "dots-in-name": _get_req("/a..%2fb"),
    "relative-target": _get_req("sub/a"),
    "absolute-uri": _get_req("http://elsewhere/sub/a"),
    "asterisk": _get_req("*"),
    # the request itself
    "many-headers": _get_req("/alpha", *[f"X-{i}: v" for i in range(300)]),
    "no-host": _get_req("/alpha", host=False),
    "http-1.0-no-host": _get_req("/alpha", version="HTTP/1.0", host=False),
    "http-0.9": b"GET /alpha\r\n\r\n",
    "garbage": b"\x00\x01garbage\r\n\r\n",
    "space-in-target": _get_req("/al pha"),
    "unknown-expectation": _get_req("/alpha", "Expect: something"),
    "lowercase-method": b"get /alpha HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "post": b"POST /alpha HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
    "long-name": _get_req("/" + "a" * 10000),
    # ranges
    "overlapping-ranges": _get_req("/alpha", "Range: bytes=0-9,5-14"),
    "unsorted-ranges": _get_req("/alpha", "Range: bytes=20-22,0-2,1-3,10-10"),
    "adjacent-ranges": _get_req("/alpha", "Range: bytes=0-0,2-2,1-1"),
    "empty-items": _get_req("/alpha", "Range: bytes=,1-2,,3-4,"),
    "open-range": _get_req("/alpha", "Range: bytes=5"),
    "suffix": _get_req("/alpha", "Range: bytes=-5"),
    "suffix-zero": _get_req("/alpha", "Range: bytes=-0"),
    "past-the-end": _get_req("/alpha", "Range: bytes=26-"),
    "past-the-end-and-valid": _get_req("/alpha", "Range: bytes=100-,0-1"),
    "reversed": _get_req("/alpha", "Range: bytes=9-3"),
    "malformed": _get_req("/alpha", "Range: bytes=1-2;x"),
    "other-unit": _get_req("/alpha", "Range: items=0-1"),
    "spaces": _get_req("/alpha", "Range: bytes = 1-2 , 4-5"),
    "huge-start": _get_req("/alpha", "Range: bytes=99999999999999999999-"),
    "last-range-header-counts": _get_req("/alpha", "Range: bytes=0-1", "Range: bytes=3-4"),
    "range-on-empty-file": _get_req("/empty", "Range: bytes=0-1"),
    "range-on-listing": _get_req("/sub/", "Range: bytes=0-2"),
    "ranges-on-listing": _get_req("/sub/", "Range: bytes=0-2,5-6"),
    "range-on-redirect": _get_req("/sub", "Range: bytes=0-2"),
    "head-with-range": b"HEAD /alpha HTTP/1.1\r\nHost: x\r\nRange: bytes=0-2\r\nConnection: close\r\n\r\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_requests_are_answered_as_the_reference(both_servers, case):
    ref = _raw(both_servers["ref"], HOSTILE[case])
    ours = _raw(both_servers["ours"], HOSTILE[case])
    assert ours == ref


def test_overlapping_ranges_are_merged_into_one(both_servers):
    """Where libsoup 2.74 merges only some of a run of overlapping ranges (and so repeats
    bytes: a reply many times the file), all of them are merged."""
    status, headers, body = _raw(both_servers["ours"],
                                 _get_req("/alpha", "Range: bytes=" + ",".join(f"{i}-25" for i in range(20))))
    assert (status, headers, body) == ("HTTP/1.1 206 Partial Content",
                                       {"Content-Range": "bytes 0-25/26", "Content-Length": "26"},
                                       b"abcdefghijklmnopqrstuvwxyz")


def test_slow_client_does_not_block_others(both_servers):
    """A client that never finishes its request (slowloris) holds only its own connection."""
    import socket
    port = both_servers["ours"]
    slow = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(20)]
    try:
        for s in slow:
            s.sendall(b"GET /alpha HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert _raw(port, _get_req("/alpha"))[0] == "HTTP/1.1 200 OK"
    finally:
        for s in slow:
            s.close()
