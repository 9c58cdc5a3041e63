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
