"""rpm-ostree-py's rpm-md cache and refresh-md: an unchanged repo is not downloaded
again (metadata_expire, conditional requests, repomd.xml comparison), rpm-ostree's
"(cached)" lines, and hostile repos (oversized, compression bombs, truncated,
wrong checksums) that end in ``error: ...`` with bounded memory and the previous
cache kept. The repo is served by a logging HTTP server; the sysroot and RPMs
come from test_rpmostree's fixtures.
"""

import gzip
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

from test_rpmostree import (OS, REF_OSTREE, RPMOSTREE, deploy_dir, rpmostree, rpms, sh, status_json,  # noqa: F401
                            sysroot)


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    log = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.log.append((self.path, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")))
        return super().do_GET()

    def copyfile(self, source, outputfile):
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the client stopped reading an oversized file: what the test wants


@pytest.fixture
def served(tmp_path, rpms):
    """A copy of the test repo served over HTTP with a request log; the merge deployment's
    test.repo points at it."""
    root = tmp_path / "www"
    shutil.copytree(rpms["repo"], root / "repo")
    # files an hour old: a Last-Modified within a second of the reply's Date is not a
    # validator (as libdnf treats it), and a quick run would otherwise send none
    old = time.time() - 3600
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            os.utime(os.path.join(dirpath, f), (old, old))
    log = []
    handler = type("H", (_LoggingHandler,), {"log": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"root": root, "repo": root / "repo", "log": log, "n": len(list((root / "repo").glob("*.rpm"))),
           "url": f"http://127.0.0.1:{server.server_address[1]}/repo/"}
    server.shutdown()


def set_repo(sysroot_path, text):
    merge = deploy_dir(sysroot_path, status_json(sysroot_path)[0])
    (merge / "etc/yum.repos.d/test.repo").write_text(text)


def paths(log):
    return [p.rsplit("/", 1)[-1].split("-")[-1] for p, _inm, _ims in log]


def test_refresh_md_cache(sysroot, served):
    s = sysroot["path"]
    rpmostree(s, "cleanup", "-m")
    set_repo(s, f"[test]\nbaseurl={served['url']}\ngpgcheck=0\n")
    p = rpmostree(s, "refresh-md")
    assert re.fullmatch(r"Enabled rpm-md repositories: test\nUpdating metadata for 'test'\.\.\. done\n"
                        r"Importing rpm-md\.\.\. done\n"
                        rf"rpm-md repo 'test'; generated: \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ solvables: {served['n']}\n",
                        p.stdout), p.stdout
    assert paths(served["log"]) == ["repomd.xml", "primary.xml.gz"]
    # within metadata_expire: the cache as it is, no request at all
    served["log"].clear()
    p = rpmostree(s, "refresh-md")
    assert "Updating metadata" not in p.stdout and "rpm-md repo 'test' (cached); generated: " in p.stdout
    assert served["log"] == []
    # --force: repomd.xml again (unconditionally), primary not (repomd.xml did not change)
    p = rpmostree(s, "refresh-md", "-f")
    assert "Updating metadata for 'test'... done\n" in p.stdout and "(cached)" not in p.stdout
    assert [(x[0].rsplit("/", 1)[-1], x[1], x[2]) for x in served["log"]] == [("repomd.xml", None, None)]
    # expired (metadata_expire=0): a conditional request, answered 304
    set_repo(s, f"[test]\nbaseurl={served['url']}\ngpgcheck=0\nmetadata_expire=0\n")
    served["log"].clear()
    p = rpmostree(s, "refresh-md")
    assert "Updating metadata for 'test'... done\n" in p.stdout and "rpm-md repo 'test'; generated" in p.stdout
    assert len(served["log"]) == 1 and served["log"][0][2] is not None, served["log"]
    # the repo changes: the new primary is downloaded and used
    shutil.copy(sysroot_rpms(served)["qux"], served["repo"])
    sh("createrepo_c", "-q", "--update", served["repo"])
    served["log"].clear()
    p = rpmostree(s, "refresh-md")
    assert paths(served["log"]) == ["repomd.xml", "primary.xml.gz"] and f"solvables: {served['n'] + 1}\n" in p.stdout
    # --stateroot, and --os as its hidden alias
    assert rpmostree(s, "refresh-md", f"--stateroot={OS}").returncode == 0
    assert rpmostree(s, "refresh-md", f"--os={OS}").returncode == 0
    p = rpmostree(s, "refresh-md", "--stateroot=nosuch", check=False)
    assert (p.returncode, p.stderr) == (1, "error: No such stateroot: nosuch\n")
    p = rpmostree(s, "refresh-md", "extra", check=False)
    assert p.returncode == 1 and p.stderr.endswith("error: Too few or too many arguments\n")
    # the layering commands use the same cache and lines
    p = rpmostree(s, "install", "--dry-run", "foo")
    assert "Importing rpm-md... done\n" in p.stdout and "Updating metadata for 'test'" in p.stdout
    set_repo(s, f"[test]\nbaseurl={served['url']}\ngpgcheck=0\n")
    p = rpmostree(s, "install", "--dry-run", "foo")
    assert "rpm-md repo 'test' (cached); generated: " in p.stdout and "Updating metadata" not in p.stdout


_RPMS = {}


def sysroot_rpms(served):
    return _RPMS


@pytest.fixture(autouse=True)
def _remember_rpms(rpms):
    _RPMS.update(rpms)


def _hostile(repo_dir, primary_name, primary_bytes, size=None, open_size=None, checksum=None,
             open_checksum=None):
    """A repodata/ with one primary file and a repomd.xml declaring what is given."""
    rd = repo_dir / "repodata"
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir(parents=True)
    (rd / primary_name).write_bytes(primary_bytes)
    csum = checksum or hashlib.sha256(primary_bytes).hexdigest()
    extra = f"<size>{size}</size>" if size is not None else ""
    if open_size is not None:
        extra += f"<open-size>{open_size}</open-size>"
    if open_checksum is not None:
        extra += f'<open-checksum type="sha256">{open_checksum}</open-checksum>'
    (rd / "repomd.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">'
        f'<revision>1</revision><data type="primary"><checksum type="sha256">{csum}</checksum>'
        f'<location href="repodata/{primary_name}"/><timestamp>1700000000</timestamp>{extra}</data></repomd>\n')


def _bomb(n):
    """gzip of a primary.xml whose one element holds ``n`` bytes of text (libsolv keeps it all)."""
    z = __import__("zlib").compressobj(9, wbits=31)
    out = [z.compress(b'<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" '
                      b'packages="1"><package type="rpm"><name>')]
    chunk = b"a" * (1 << 20)
    for _ in range(n >> 20):
        out.append(z.compress(chunk))
    out.append(z.compress(b"</name></package></metadata>"))
    out.append(z.flush())
    return b"".join(out)


def _zstd_bomb(n):
    import zstandard
    c = zstandard.ZstdCompressor(level=19).compressobj()
    out = [c.compress(b'<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" '
                      b'packages="1"><package type="rpm"><name>')]
    chunk = b"a" * (1 << 20)
    for _ in range(n >> 20):
        out.append(c.compress(chunk))
    out.append(c.compress(b"</name></package></metadata>"))
    out.append(c.flush())
    return b"".join(out)


def test_zstd_and_xz_primary(sysroot, served):
    """createrepo_c here writes gzip; a repo whose primary is zstd or xz (as newer createrepo_c
    writes) is read the same."""
    import lzma

    import zstandard
    s = sysroot["path"]
    set_repo(s, f"[test]\nbaseurl={served['url']}\ngpgcheck=0\nmetadata_expire=0\n")
    rd = served["repo"] / "repodata"
    primary = next(rd.glob("*-primary.xml.gz"))
    plain = gzip.decompress(primary.read_bytes())
    for suffix, data in (("zst", zstandard.ZstdCompressor().compress(plain)), ("xz", lzma.compress(plain))):
        new = rd / f"primary.xml.{suffix}"
        new.write_bytes(data)
        text = (rd / "repomd.xml").read_text()
        text = re.sub(r'(<data type="primary">\s*<checksum type="sha256">)[0-9a-f]+',
                      lambda m: m.group(1) + hashlib.sha256(data).hexdigest(), text)
        text = re.sub(r'(<data type="primary">.*?<location href=")[^"]+', lambda m: m.group(1) + f"repodata/{new.name}",
                      text, flags=re.S)
        text = re.sub(r'(<data type="primary">.*?<size>)\d+', lambda m: m.group(1) + str(len(data)), text, flags=re.S)
        (rd / "repomd.xml").write_text(text)
        p = rpmostree(s, "refresh-md")
        assert "rpm-md repo 'test'; generated: " in p.stdout and f" solvables: {served['n']}\n" in p.stdout, p.stdout
        assert paths(served["log"])[-1] == f"primary.xml.{suffix}"


def _run_measured(args):
    """rpm-ostree-py in a child of a child; (CompletedProcess, the grandchild's peak RSS in kB)."""
    code = ("import resource, subprocess, sys, json\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "print(json.dumps([p.returncode, p.stdout, p.stderr, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n")
    import json
    out = subprocess.run([sys.executable, "-c", code, *RPMOSTREE, *map(str, args)], capture_output=True,
                         text=True, env=dict(os.environ, LC_ALL="C.UTF-8"), check=True).stdout
    rc, so, se, rss = json.loads(out)
    return subprocess.CompletedProcess(args, rc, so, se), rss


def test_hostile_repos(sysroot, served, tmp_path):
    s = sysroot["path"]
    rpmostree(s, "cleanup", "-m")
    set_repo(s, f"[test]\nbaseurl={served['url']}\ngpgcheck=0\nmetadata_expire=0\n")
    rpmostree(s, "refresh-md")       # a good cache, which every failure below must leave alone
    cachedir = s / "ostree/deploy" / OS / "var/cache/rpm-ostree/repomd"
    cache = next(cachedir.glob("test-*"))
    good = {n: (cache / n).read_bytes() for n in os.listdir(cache)}
    plain = (b'<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" packages="0">'
             b'</metadata>')
    packed = gzip.compress(plain)
    repo = served["repo"]
    bomb = _bomb(512 << 20)
    cases = [
        # a compression bomb: 512 MiB of text in one element, declared as 4 kB
        (lambda: _hostile(repo, "primary.xml.gz", bomb, size=len(bomb), open_size=4096),
         "primary.xml.gz: decompresses to more than its declared open-size of 4096 bytes"),
        # bigger than declared, smaller than declared (truncated)
        (lambda: _hostile(repo, "primary.xml.gz", packed, size=len(packed) - 1),
         f"primary.xml.gz is larger than {len(packed) - 1} bytes"),
        (lambda: _hostile(repo, "primary.xml.gz", packed[:-8], size=len(packed),
                          checksum=hashlib.sha256(packed).hexdigest()),
         f"primary.xml.gz: downloaded {len(packed) - 8} bytes, repomd.xml declares {len(packed)}"),
        # truncated, sizes undeclared: the checksum catches it
        (lambda: _hostile(repo, "primary.xml.gz", packed[:-8], checksum=hashlib.sha256(packed).hexdigest()),
         "checksum mismatch for repodata/primary.xml.gz"),
        # a truncated stream whose checksum matches (the repo itself is broken)
        (lambda: _hostile(repo, "primary.xml.xz", __import__("lzma").compress(plain)[:-12]),
         "primary.xml.xz: decompressing: Compressed file ended before the end-of-stream marker was reached"),
        (lambda: _hostile(repo, "primary.xml.gz", packed, open_checksum="0" * 64),
         "primary.xml.gz: open-checksum mismatch"),
        (lambda: _hostile(repo, "primary.xml.gz", packed, open_size=len(plain) + 1),
         f"primary.xml.gz: decompressed size {len(plain)} is not the declared open-size {len(plain) + 1}"),
        # zstd: the same bomb, and a truncated frame
        (lambda: _hostile(repo, "primary.xml.zst", _zstd_bomb(512 << 20), open_size=4096),
         "primary.xml.zst: decompresses to more than its declared open-size of 4096 bytes"),
        (lambda: _hostile(repo, "primary.xml.zst", __import__("zstandard").ZstdCompressor().compress(plain)[:-6]),
         "primary.xml.zst: decompressing: zstd decompress error: incomplete frame"),
        (lambda: (repo / "repodata/repomd.xml").write_bytes(b"<repomd>" + b" " * (9 << 20)),
         "Cannot download repomd.xml: repomd.xml is larger than 8388608 bytes"),
        (lambda: (repo / "repodata/repomd.xml").write_bytes(b'<?xml version="1.0"?><repomd xmlns="http://li'),
         "repomd.xml: unclosed token: line 1, column 21"),
        (lambda: (repo / "repodata/repomd.xml").write_text(
            '<!DOCTYPE r [<!ENTITY a "aaaa">]><repomd xmlns="http://linux.duke.edu/metadata/repo"/>'),
         "repomd.xml: document type declarations are not allowed"),
    ]
    for i, (make, message) in enumerate(cases):
        make()
        p, rss = _run_measured(["refresh-md", f"--sysroot={s}"])
        assert p.returncode == 1, (i, p.stdout, p.stderr)
        assert p.stderr == f"error: Updating rpm-md repo 'test': {message}\n", (i, p.stderr)
        assert "Updating metadata for 'test'... failed\n" in p.stdout
        assert rss < 150 * 1024, (i, rss)
        assert {n: (cache / n).read_bytes() for n in os.listdir(cache)} == good, i
        assert not [n for n in os.listdir(cache.parent) if n.startswith(".")], i
    # primary that libsolv cannot load (checksums right): an error, and the cache is not
    # used as "(cached)" next time
    set_repo(s, f"[test]\nbaseurl={served['url']}\ngpgcheck=0\n")
    _hostile(repo, "primary.xml", b"<metadata>not rpm-md")
    p = rpmostree(s, "refresh-md", "-f", check=False)
    assert p.returncode == 1 and p.stderr.startswith("error: Loading rpm-md repo 'test': "), p.stderr
    p = rpmostree(s, "refresh-md", check=False)
    assert "Updating metadata for 'test'... done\n" in p.stdout and "(cached)" not in p.stdout
    set_repo(s, f"[test]\nbaseurl={served['url']}\ngpgcheck=0\nmetadata_expire=0\n")
    # a location outside the repo is refused
    _hostile(repo, "primary.xml.gz", packed)
    rd = repo / "repodata"
    (rd / "repomd.xml").write_text((rd / "repomd.xml").read_text().replace(
        'href="repodata/primary.xml.gz"', 'href="../../../etc/passwd"'))
    p = rpmostree(s, "refresh-md", check=False)
    assert p.stderr == "error: Updating rpm-md repo 'test': repomd.xml: invalid location of primary\n"
    # a repo id that is a path
    set_repo(s, f"[../x]\nbaseurl={served['url']}\n")
    p = rpmostree(s, "refresh-md", check=False)
    assert (p.returncode, p.stderr) == (1, "error: Bad id for repo: ../x\n")


def test_package_download_bounded(sysroot, served):
    """A package bigger than the size the repo metadata declares is refused as it arrives
    (a server streaming without end fills no disk), and a wrong one is refused by its checksum;
    neither is left in the package cache, and the deployment stays as it was."""
    s = sysroot["path"]
    rpmostree(s, "cleanup", "-m")
    set_repo(s, f"[test]\nbaseurl={served['url']}\ngpgcheck=0\nmetadata_expire=0\n")
    before = status_json(s)[0]["checksum"]
    foo = next(served["repo"].glob("foo-1.0-*.rpm"))
    good = foo.read_bytes()
    # larger than declared (the metadata still describes the good file)
    foo.write_bytes(good + b"\0" * (1 << 20))
    p = rpmostree(s, "install", "foo", check=False)
    assert p.returncode == 1 and p.stderr == (f"error: Downloading from 'test': {foo.name} "
                                              f"is larger than {len(good)} bytes\n"), p.stderr
    # the same size, other bytes
    foo.write_bytes(bytes(len(good)))
    p = rpmostree(s, "install", "foo", check=False)
    assert p.returncode == 1 and p.stderr.startswith("error: Downloading from 'test': checksum mismatch for "), \
        p.stderr
    assert status_json(s)[0]["checksum"] == before
    out = sh(REF_OSTREE, f"--repo={s}/ostree/repo", "refs", "--list").stdout
    assert "rpmostree/pkg/foo/" not in out, out
    foo.write_bytes(good)
    rpmostree(s, "install", "foo")
    assert "foo" in status_json(s)[0]["packages"]
    rpmostree(s, "uninstall", "foo")
