"""Helpers and fixtures for the network tests: reference and ostree-py runners, a generated
tree, and HTTP servers (nginx, ostree-py trivial-httpd) on loopback ports.

Every subprocess runs with a timeout, so a pull that hangs fails the test
instead of hanging the suite.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

REF_OSTREE = shutil.which("ostree", path="/usr/bin:/bin") or "/usr/bin/ostree"
OURS = [sys.executable, "-m", "ostree_py.commands"]
NGINX = shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin:/bin")
TIMEOUT = 120


def run(argv, check=True, env=None, timeout=TIMEOUT, **kw):
    e = dict(os.environ)
    e.setdefault("LC_ALL", "C.UTF-8")
    e.pop("OSTREE_REPO", None)
    e.update(env or {})
    try:
        p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=e, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as te:
        pytest.fail(f"{' '.join(map(str, argv))} did not finish within {timeout}s (hung)\n"
                    f"stderr:\n{te.stderr}")
    if check and p.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def ref():
    if not os.path.exists(REF_OSTREE):
        pytest.fail("reference ostree is not installed (make install installs it)")
    return lambda *args, **kw: run([REF_OSTREE, *args], **kw)


@pytest.fixture(scope="session")
def ours():
    return lambda *args, **kw: run([*OURS, *args], **kw)


def make_tree(root, n_dirs=12, n_files=25, seed=7):
    """A tree of a few hundred files: varied sizes (empty to 300 KiB, some
    compressible), executables, nested directories and symlinks; no xattrs."""
    import random
    rnd = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for d in range(n_dirs):
        sub = root / f"dir{d:02d}" / ("nested" if d % 3 == 0 else "")
        sub.mkdir(parents=True, exist_ok=True)
        for i in range(n_files):
            p = sub / f"file{i:03d}.txt"
            kind = i % 5
            if kind == 0:
                p.write_bytes(b"")
            elif kind == 1:
                p.write_bytes(rnd.randbytes(rnd.randrange(1, 4096)))
            elif kind == 2:
                p.write_text(f"line {d} {i}\n" * rnd.randrange(1, 2000))
            elif kind == 3:
                p.write_bytes(rnd.randbytes(rnd.randrange(16 << 10, 300 << 10)))
            else:
                p.write_text(f"#!/bin/sh\necho {d} {i}\n")
                os.chmod(p, 0o755)
        (sub / "link-rel").symlink_to("file001.txt")
        (sub / "link-dangling").symlink_to("../nowhere")
        (sub / "link-abs").symlink_to(f"/usr/share/dir{d}")
    (root / "top").write_text("top\n")
    (root / "toplink").symlink_to("dir00/nested")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc=None, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 2;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format conn '$connection $connection_requests $status $request_uri $server_protocol $server_port';
    access_log {tmp}/access.log conn;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ }}
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 10000;
{extra}    server {{
        listen 127.0.0.1:{port};
        root {root};
        autoindex on;
    }}
}}
"""


class Nginx:
    """nginx serving ``root`` on a free loopback port; its files live in ``tmp``.
    ``extra``: more ``server`` blocks for the ``http`` block."""

    def __init__(self, root, tmp, extra=""):
        self.root, self.tmp = str(root), str(tmp)
        self.extra = extra
        self.proc = None
        self.port = None

    def start(self):
        os.makedirs(self.tmp, exist_ok=True)
        for _ in range(5):
            self.port = free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(tmp=self.tmp, port=self.port, root=self.root, extra=self.extra))
            self.proc = subprocess.Popen([NGINX, "-p", self.tmp, "-e", os.path.join(self.tmp, "error.log"),
                                          "-c", conf], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if wait_listening(self.port, self.proc):
                return self
            self.stop()  # port taken meanwhile, most likely: try another
        with open(os.path.join(self.tmp, "error.log")) as f:
            pytest.fail(f"nginx did not start:\n{f.read()}")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def access_log(self) -> str:
        with open(os.path.join(self.tmp, "access.log")) as f:
            return f.read()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown: workers end too
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    """nginx serving a fresh directory (``.root``) for the module."""
    if NGINX is None:
        pytest.skip("nginx is not installed (make install installs it)")
    base = tmp_path_factory.mktemp("nginx")
    (base / "www").mkdir()
    n = Nginx(base / "www", base / "nginx").start()
    yield n
    n.stop()


class OursHttpd:
    """``ostree-py trivial-httpd`` serving ``root`` (a subprocess, on a free port)."""

    argv = [*OURS, "trivial-httpd"]

    def __init__(self, root, *args):
        self.root = str(root)
        self.args = list(args)

    def start(self):
        portfile = os.path.join(self.root, ".port")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(portfile)  # a previous server's
        self.proc = subprocess.Popen([*self.argv, "-p", portfile, *self.args, self.root],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                with open(portfile) as f:
                    text = f.read()
                if text.endswith("\n"):
                    self.port = int(text)
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"{self.argv[-1]} did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RefHttpd(OursHttpd):
    """The reference's ``ostree-trivial-httpd`` (what ``ostree trivial-httpd`` runs)."""

    argv = ["/usr/libexec/libostree/ostree-trivial-httpd"]


def object_names(repo) -> set:
    """The objects a repository stores, as 'xx/yyy.type' names."""
    out = set()
    objdir = os.path.join(str(repo), "objects")
    for d in os.listdir(objdir):
        if len(d) == 2:
            for n in os.listdir(os.path.join(objdir, d)):
                out.add(f"{d}/{n}")
    return out


def fsck_both(ref, ours, repo):
    """Both tools' fsck pass on ``repo``."""
    r = ref(f"--repo={repo}", "fsck", check=False)
    assert r.returncode == 0, f"reference fsck failed:\n{r.stdout}\n{r.stderr}"
    o = ours(f"--repo={repo}", "fsck", check=False)
    assert o.returncode == 0, f"ostree-py fsck failed:\n{o.stdout}\n{o.stderr}"
