"""Pulls over HTTPS from nginx, where both tools speak HTTP/2 (ALPN), with the
TLS set-up of the benchmark (bench/tls.py: a CA and certificates made with
openssl now, nginx's ``listen ... ssl http2`` block).

nginx logs the protocol of every request, so the tests see which HTTP version
ostree-py used: HTTP/2 by default, HTTP/1.1 with the remote's ``http2=false``.
What ostree-py stores is what the reference's pull of the same repository
stores; TLS failures read as the reference's.
"""

import os
import shutil
import sys

import pytest

from netutil import NGINX, Nginx, free_port, fsck_both, make_tree, object_names

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import tls  # noqa: E402

pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make install installs it)"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed"),
]


class NginxH2(Nginx):
    """nginx with two more loopback ports: HTTPS with HTTP/2, and the same asking for a
    client certificate signed by the test CA."""

    def __init__(self, root, tmp):
        self.tls_port, self.cert_port = free_port(), free_port()
        self.ca, cert, key = tls.make_test_ca(os.path.join(tmp, "tls"))
        self.client_cert, self.client_key = tls.make_client_cert(os.path.join(tmp, "tls"))
        blocks = tls.h2_server_block(self.tls_port, root, cert, key) + \
            tls.h2_server_block(self.cert_port, root, cert, key, client_ca=self.ca)
        super().__init__(root, tmp, extra=blocks)

    def https(self, path, port=None):
        return f"https://127.0.0.1:{port or self.tls_port}/{path}"

    def requests(self, since=0):
        """(connection, its request number, status, uri, protocol, port) of each request
        logged after ``since`` bytes of the log."""
        return [tuple(line.split()) for line in self.access_log()[since:].splitlines()]


@pytest.fixture(scope="module")
def h2(tmp_path_factory, ref):
    """nginx serving an archive repository the reference wrote (``src``), over HTTPS with
    HTTP/2; and what the reference's own pull of it over HTTP/2 stored."""
    base = tmp_path_factory.mktemp("h2")
    www = base / "www"
    www.mkdir()
    tree = make_tree(base / "tree", n_dirs=8, n_files=30, seed=3)
    src = www / "repo"
    ref(f"--repo={src}", "init", "--mode=archive")
    ref(f"--repo={src}", "commit", "-b", "main", "-s", "one", str(tree))
    ref(f"--repo={src}", "summary", "-u")
    n = NginxH2(str(www), str(base / "nginx"))
    n.start()
    try:
        ref_dst = base / "ref-pulled"
        ref(f"--repo={ref_dst}", "init", "--mode=archive")
        ref(f"--repo={ref_dst}", "remote", "add", "--no-gpg-verify", f"--set=tls-ca-path={n.ca}",
            "origin", n.https("repo"))
        since = len(n.access_log())
        ref(f"--repo={ref_dst}", "pull", "origin", "main")
        # the reference does speak HTTP/2 to this server (what the benchmark compares with)
        assert {r[4] for r in n.requests(since)} == {"HTTP/2.0"}
        n.src, n.ref_dst = src, ref_dst
        yield n
    finally:
        n.stop()


def remote_add(ref, dst, url, *options, mode="archive"):
    ref(f"--repo={dst}", "init", f"--mode={mode}")
    ref(f"--repo={dst}", "remote", "add", "--no-gpg-verify", *[f"--set={o}" for o in options], "origin", url)


def test_ostree_py_pulls_over_http2(tmp_path, h2, ref, ours):
    """Every request over HTTP/2, on a few connections (the pulling process's and one per
    worker process); the objects are the ones the reference's pull stored."""
    dst = tmp_path / "dst"
    remote_add(ref, dst, h2.https("repo"), f"tls-ca-path={h2.ca}")
    since = len(h2.access_log())
    ours(f"--repo={dst}", "pull", "origin", "main")
    reqs = h2.requests(since)
    assert reqs and {r[4] for r in reqs} == {"HTTP/2.0"}, reqs[:5]
    assert all(r[2] == "200" or (r[2] == "404" and r[3].endswith((".sig", ".commitmeta"))) for r in reqs)
    from ostree_py.remote.pull import MAX_OUTSTANDING_FETCHES, PULL_PROCESSES
    conns = {r[0] for r in reqs}
    assert len(conns) <= MAX_OUTSTANDING_FETCHES + PULL_PROCESSES + 1 and len(reqs) > 5 * len(conns), \
        (len(conns), len(reqs))
    fsck_both(ref, ours, dst)
    assert object_names(dst) == object_names(h2.ref_dst)
    assert ref(f"--repo={dst}", "rev-parse", "origin:main").stdout == \
        ref(f"--repo={h2.src}", "rev-parse", "main").stdout


def test_ostree_py_pulls_over_http2_into_bare_user(tmp_path, h2, ref, ours):
    dst = tmp_path / "dst"
    remote_add(ref, dst, h2.https("repo"), f"tls-ca-path={h2.ca}", mode="bare-user")
    ours(f"--repo={dst}", "pull", "origin", "main")
    fsck_both(ref, ours, dst)
    assert ref(f"--repo={dst}", "ls", "-R", "origin:main").stdout == \
        ref(f"--repo={h2.src}", "ls", "-R", "main").stdout


def test_http2_false_pulls_over_http11(tmp_path, h2, ref, ours):
    """The remote's ``http2=false``: the same pull, every request over HTTP/1.1."""
    dst = tmp_path / "dst"
    remote_add(ref, dst, h2.https("repo"), f"tls-ca-path={h2.ca}", "http2=false")
    since = len(h2.access_log())
    ours(f"--repo={dst}", "pull", "origin", "main")
    assert {r[4] for r in h2.requests(since)} == {"HTTP/1.1"}
    fsck_both(ref, ours, dst)
    assert object_names(dst) == object_names(h2.ref_dst)


def test_tls_permissive_pulls_without_the_ca(tmp_path, h2, ref, ours):
    dst = tmp_path / "dst"
    remote_add(ref, dst, h2.https("repo"), "tls-permissive=true")
    ours(f"--repo={dst}", "pull", "origin", "main")
    fsck_both(ref, ours, dst)


def test_an_unknown_ca_is_refused_as_the_reference_refuses_it(tmp_path, h2, ref, ours):
    errors = {}
    for name, tool in (("ours", ours), ("ref", ref)):
        dst = tmp_path / name
        remote_add(ref, dst, h2.https("repo"))
        p = tool(f"--repo={dst}", "pull", "origin", "main", check=False)
        assert p.returncode != 0 and "Traceback" not in p.stderr
        errors[name] = p.stderr
    assert "[60] SSL peer certificate or SSH remote key was not OK" in errors["ours"]
    assert errors["ours"] == errors["ref"]


def test_a_client_certificate_is_sent_over_http2(tmp_path, h2, ref, ours):
    """The server that asks for a client certificate: without one, nginx answers 400
    (the same error for both tools); with the remote's tls-client-cert-path and
    tls-client-key-path, the pull completes over HTTP/2."""
    url = h2.https("repo", port=h2.cert_port)
    errors = {}
    for name, tool in (("ours", ours), ("ref", ref)):
        dst = tmp_path / f"nocert-{name}"
        remote_add(ref, dst, url, f"tls-ca-path={h2.ca}")
        p = tool(f"--repo={dst}", "pull", "origin", "main", check=False)
        assert p.returncode != 0 and "Traceback" not in p.stderr
        errors[name] = p.stderr
    assert "Server returned HTTP 400" in errors["ours"] and errors["ours"] == errors["ref"]
    dst = tmp_path / "cert"
    remote_add(ref, dst, url, f"tls-ca-path={h2.ca}", f"tls-client-cert-path={h2.client_cert}",
               f"tls-client-key-path={h2.client_key}")
    since = len(h2.access_log())
    ours(f"--repo={dst}", "pull", "origin", "main")
    assert {r[4] for r in h2.requests(since)} == {"HTTP/2.0"}
    fsck_both(ref, ours, dst)
    assert object_names(dst) == object_names(h2.ref_dst)
