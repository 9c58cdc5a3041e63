"""ostree 2023.1-2025.2 additions outside admin (issue 17): commit --sign-from-file and
--selinux-labeling-epoch, pull --low-speed-limit-bytes / --low-speed-time-seconds /
--max-outstanding-fetcher-requests / --disable-retry-on-network-errors, pull-local
--disable-static-deltas, hard links in export, summary.sig's mtime, delta pull statistics,
--version.

The reference on this machine is 2022.7, so the 2025 texts are asserted directly:
HELP_2025 is what ostree 2025.2 (Debian trixie) prints for ``--help``.
"""

import http.server
import os
import re
import tarfile
import threading
import time

import pytest
from test_ostree2025 import expected_help as _expected_help

HELP_2025 = {
    "commit": """\
Usage:
  ostree commit [OPTION…] [PATH]

Commit a new revision

Help Options:
  -h, --help                                       Show help options

Application Options:
  --repo=PATH                                      Path to OSTree repository (defaults to current directory or /sysroot/ostree/repo)
  --parent=COMMIT                                  Parent commit checksum, or "none"
  -s, --subject=SUBJECT                            One line subject
  -m, --body=BODY                                  Full description
  -F, --body-file=FILE                             Commit message from FILE path
  -e, --editor                                     Use an editor to write the commit message
  -b, --branch=BRANCH                              Branch
  --orphan                                         Create a commit without writing a ref
  --no-bindings                                    Do not write any ref bindings
  --bind-ref=BRANCH                                Add a ref to ref binding commit metadata
  --base=REV                                       Start from the given commit as a base (no modifiers apply)
  --tree=dir=PATH or tar=TARFILE or ref=COMMIT     Overlay the given argument as a tree
  --add-metadata-string=KEY=VALUE                  Add a key/value pair to metadata
  --add-metadata=KEY=VALUE                         Add a key/value pair to metadata, where the KEY is a string, and VALUE is in GVariant Text Format
  --keep-metadata=KEY                              Keep metadata KEY and its associated VALUE from parent
  --add-detached-metadata-string=KEY=VALUE         Add a key/value pair to detached metadata
  --owner-uid=UID                                  Set file ownership user id
  --owner-gid=GID                                  Set file ownership group id
  --canonical-permissions                          Canonicalize permissions in the same way bare-user does for hardlinked files
  --bootable                                       Flag this commit as a bootable OSTree (e.g. contains a Linux kernel)
  --mode-ro-executables                            Ensure executable files are not writable
  --no-xattrs                                      Do not import extended attributes
  --selinux-policy=PATH                            Set SELinux labels based on policy in root filesystem PATH (may be /)
  -P, --selinux-policy-from-base                   Set SELinux labels based on first --tree argument
  --selinux-labeling-epoch                         Configure the default SELinux labeling rules; 0 is the default, 1 enables labeling /usr/etc as /etc
  --link-checkout-speedup                          Optimize for commits of trees composed of hardlinks into the repository
  -I, --devino-canonical                           Assume hardlinked objects are unmodified.  Implies --link-checkout-speedup
  --tar-autocreate-parents                         When loading tar archives, automatically create parent directories as needed
  --tar-pathname-filter=REGEX,REPLACEMENT          When loading tar archives, use REGEX,REPLACEMENT against path names
  --skip-if-unchanged                              If the contents are unchanged from previous commit, do nothing
  --statoverride=PATH                              File containing list of modifications to make to permissions
  --skip-list=PATH                                 File containing list of files to skip
  --consume                                        Consume (delete) content after commit (for local directories)
  --table-output                                   Output more information in a KEY: VALUE format
  --gpg-sign=KEY-ID                                GPG Key ID to sign the commit with
  --gpg-homedir=HOMEDIR                            GPG Homedir to use when looking for keyrings
  --sign=KEY_ID                                    Sign the commit with
  --sign-from-file=PATH                            Sign the commit with key from the provided file
  --sign-type=NAME                                 Signature type to use (defaults to 'ed25519')
  --generate-sizes                                 Generate size information along with commit metadata
  --generate-composefs-metadata                    Generate composefs commit metadata
  --fsync=POLICY                                   Specify how to invoke fsync()
  --timestamp=TIMESTAMP                            Override the timestamp of the commit
  -v, --verbose                                    Print debug information during command processing
  --version                                        Print version information and exit

""",
    "pull": """\
Usage:
  ostree pull [OPTION…] REMOTE [BRANCH...]

Download data from remote repository

Help Options:
  -h, --help                               Show help options

Application Options:
  --repo=PATH                              Path to OSTree repository (defaults to current directory or /sysroot/ostree/repo)
  --commit-metadata-only                   Fetch only the commit metadata
  --cache-dir                              Use custom cache dir
  --disable-fsync                          Do not invoke fsync()
  --per-object-fsync                       Perform writes in such a way that avoids stalling concurrent processes
  --disable-static-deltas                  Do not use static deltas
  --require-static-deltas                  Require static deltas
  --disable-retry-on-network-errors        Do not retry when network issues happen, instead fail automatically. (Currently only affects libcurl)
  --mirror                                 Write refs suitable for a mirror and fetches all refs if none provided
  --subpath                                Only pull the provided subpath(s)
  --untrusted                              Verify checksums of local sources (always enabled for HTTP pulls)
  --http-trusted                           Do not verify checksums of HTTP sources (mostly useful when mirroring)
  --bareuseronly-files                     Reject regular files with mode outside of 0775 (world writable, suid, etc.)
  --dry-run                                Only print information on what will be downloaded (requires static deltas)
  --depth=DEPTH                            Traverse DEPTH parents (-1=infinite) (default: 0)
  --url=URL                                Pull objects from this URL instead of the one from the remote config
  --http-header=NAME=VALUE                 Add NAME=VALUE as HTTP header to all requests
  --update-frequency=FREQUENCY             Sets the update frequency, in milliseconds (0=1000ms) (default: 0)
  --network-retries=N                      Specifies how many times each download should be retried upon error (default: 5)
  --low-speed-limit-bytes=N                The average transfer speed per second of a transfer during the time set via 'low-speed-time-seconds' for libcurl to abort(default: 1000)
  --low-speed-time-seconds=N               The time in number seconds that the transfer speed should be below the 'low-speed-limit-bytes' setting for libcurl to abort (default: 30)
  --max-outstanding-fetcher-requests=N     The max amount of concurrent connections allowed. (default: 8)
  -L, --localcache-repo=REPO               Add REPO as local cache source for objects during this pull
  -T, --timestamp-check                    Require fetched commits to have newer timestamps
  --timestamp-check-from-rev               Require fetched commits to have newer timestamps than given rev
  --disable-verify-bindings                Do not verify commit bindings
  -v, --verbose                            Print debug information during command processing
  --version                                Print version information and exit

""",
    "pull-local": """\
Usage:
  ostree pull-local [OPTION…] SRC_REPO [REFS...]

Copy data from SRC_REPO

Help Options:
  -h, --help                    Show help options

Application Options:
  --repo=PATH                   Path to OSTree repository (defaults to current directory or /sysroot/ostree/repo)
  --commit-metadata-only        Fetch only the commit metadata
  --remote=REMOTE               Add REMOTE to refspec
  --disable-fsync               Do not invoke fsync()
  --per-object-fsync            Perform writes in such a way that avoids stalling concurrent processes
  --untrusted                   Verify checksums of local sources (always enabled for HTTP pulls)
  --bareuseronly-files          Reject regular files with mode outside of 0775 (world writable, suid, etc.)
  --require-static-deltas       Require static deltas
  --disable-static-deltas       Do not use static deltas
  --gpg-verify                  GPG verify commits (must specify --remote)
  --gpg-verify-summary          GPG verify summary (must specify --remote)
  --disable-verify-bindings     Do not verify commit bindings
  --depth=DEPTH                 Traverse DEPTH parents (-1=infinite) (default: 0)
  -v, --verbose                 Print debug information during command processing
  --version                     Print version information and exit

""",
}
# What ostree-py does not have yet of 2025.2 in these texts: composefs metadata.
NOT_YET = {
    "commit": [("  --generate-composefs-metadata                    Generate composefs commit metadata\n", "")],
}


def expected_help(path):
    return _expected_help(path, HELP_2025, NOT_YET)


@pytest.mark.parametrize("path", sorted(HELP_2025))
def test_help_is_2025s(path, cli):
    assert cli(path.split() + ["--help"], prog="ostree").as_tuple() == (0, expected_help(path), "")


def test_version_follows_2025_2_with_true_features(cli):
    r = cli(["--version"], prog="ostree")
    assert r.rc == 0 and r.err == ""
    assert r.out.startswith("libostree:\n Version: '2025.2'\n Features:\n  - inode64\n")
    listed = [line[4:] for line in r.out.splitlines() if line.startswith("  - ")]
    # in ostree 2025.2's order; nothing ostree-py lacks (no libcurl/libsoup backend, no
    # selinux labeling, no composefs, no spki signatures)
    assert listed == ["inode64", "initial-var", "gpgme", "libarchive", "sign-ed25519"]


# ------------------------------------------------------------------ helpers

def _tree(root, files):
    for rel, (text, mode) in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.chmod(p, mode)


@pytest.fixture
def keys():
    from ostree_py.signing.ed25519 import generate_keypair
    return generate_keypair()  # (secret, public), base64


def _rev(cli, repo, ref):
    r = cli([f"--repo={repo}", "rev-parse", ref])
    assert r.rc == 0, r
    return r.out.strip()


# ------------------------------------------------------------------ summary.sig mtime

def test_signed_summary_shares_its_signatures_mtime(cli, tmp_path, keys):
    repo, tree = tmp_path / "repo", tmp_path / "tree"
    _tree(tree, {"a": ("a\n", 0o644)})
    assert cli([f"--repo={repo}", "init", "--mode=archive"]).rc == 0
    assert cli([f"--repo={repo}", "commit", "-b", "main", f"--tree=dir={tree}"]).rc == 0
    r = cli([f"--repo={repo}", "summary", "-u", f"--sign={keys[0]}", "--sign-type=ed25519"])
    assert r.rc == 0, r
    summary, sig = os.stat(repo / "summary"), os.stat(repo / "summary.sig")
    assert summary.st_mtime_ns == sig.st_mtime_ns
    # an unsigned update removes the signature and leaves the summary's own time
    time.sleep(0.01)
    assert cli([f"--repo={repo}", "summary", "-u"]).rc == 0
    assert not (repo / "summary.sig").exists()
    assert os.stat(repo / "summary").st_mtime_ns > sig.st_mtime_ns


# ------------------------------------------------------------------ export hard links

@pytest.fixture
def dup_repo(cli, tmp_path):
    repo, tree = tmp_path / "repo", tmp_path / "tree"
    _tree(tree, {"baz/sub1/duplicate_a": ("SAME\n", 0o644), "baz/sub1/duplicate_b": ("SAME\n", 0o644),
                 "baz/sub2/duplicate_c": ("SAME\n", 0o644), "baz/sub2/other_mode": ("SAME\n", 0o755),
                 "baz/unique": ("other\n", 0o644)})
    os.symlink("duplicate_a", tree / "baz/sub1/l1")
    os.symlink("duplicate_a", tree / "baz/sub1/l2")
    assert cli([f"--repo={repo}", "init", "--mode=archive"]).rc == 0
    assert cli([f"--repo={repo}", "commit", "-b", "main", f"--tree=dir={tree}"]).rc == 0
    return repo


def _members(path):
    with tarfile.open(path) as t:
        return {m.name: m for m in t.getmembers()}


def test_export_writes_duplicate_files_as_hard_links(cli, dup_repo, tmp_path):
    out = tmp_path / "o.tar"
    assert cli([f"--repo={dup_repo}", "export", "main", f"--output={out}"]).as_tuple() == (0, "", "")
    m = _members(out)
    first = m["baz/sub1/duplicate_a"]
    assert first.isreg() and first.size == 5
    for name in ("baz/sub1/duplicate_b", "baz/sub2/duplicate_c"):
        assert m[name].islnk() and m[name].linkname == "baz/sub1/duplicate_a" and m[name].size == 0
        assert (m[name].mode, m[name].uid, m[name].gid) == (first.mode, first.uid, first.gid)
    # another mode is another content object; symlinks stay symlinks
    assert m["baz/sub2/other_mode"].isreg() and m["baz/sub2/other_mode"].mode == 0o755
    assert m["baz/sub1/l2"].issym() and m["baz/sub1/l2"].linkname == "duplicate_a"
    assert m["baz/unique"].isreg()
    with tarfile.open(out) as t:
        t.extractall(tmp_path / "x", filter="tar")
    assert os.path.samestat(os.stat(tmp_path / "x/baz/sub1/duplicate_a"), os.stat(tmp_path / "x/baz/sub2/duplicate_c"))


def test_export_hard_links_carry_the_prefix_and_import_back(cli, dup_repo, tmp_path):
    out = tmp_path / "p.tar"
    assert cli([f"--repo={dup_repo}", "export", "main", "--prefix=p/", "--subpath=/baz", f"--output={out}"]).rc == 0
    m = _members(out)
    assert m["p/sub2/duplicate_c"].islnk() and m["p/sub2/duplicate_c"].linkname == "p/sub1/duplicate_a"
    # a whole export commits back to the same tree
    full = tmp_path / "full.tar"
    assert cli([f"--repo={dup_repo}", "export", "main", f"--output={full}"]).rc == 0
    assert cli([f"--repo={dup_repo}", "commit", "-b", "back", f"--tree=tar={full}"]).rc == 0
    assert cli([f"--repo={dup_repo}", "diff", "main", "back"]).as_tuple() == (0, "", "")


# ------------------------------------------------------------------ commit

@pytest.fixture
def tree(tmp_path):
    t = tmp_path / "tree"
    _tree(t, {"f": ("x\n", 0o644)})
    return t


def _commitmeta(repo, rev):
    with open(os.path.join(repo, "objects", rev[:2], rev[2:] + ".commitmeta"), "rb") as f:
        return f.read()


def test_commit_sign_from_file_signs_as_sign_does(cli, tmp_path, tree, keys):
    secret, public = keys
    (tmp_path / "key").write_text(secret + "\n")
    revs = {}
    for how in ("inline", "file"):
        repo = tmp_path / how
        assert cli([f"--repo={repo}", "init", "--mode=archive"]).rc == 0
        opt = f"--sign={secret}" if how == "inline" else f"--sign-from-file={tmp_path / 'key'}"
        r = cli([f"--repo={repo}", "commit", "-b", "main", "--timestamp=2020-01-01", opt, f"--tree=dir={tree}"])
        assert r.rc == 0, r
        revs[how] = r.out.strip()
    assert revs["inline"] == revs["file"]
    # ed25519 signatures are deterministic: the same detached metadata
    assert _commitmeta(tmp_path / "file", revs["file"]) == _commitmeta(tmp_path / "inline", revs["inline"])
    r = cli([f"--repo={tmp_path / 'file'}", "sign", "--verify", "main", public])
    assert r.rc == 0 and "Signature verified successfully" in r.out


def test_commit_sign_from_file_errors(cli, tmp_path, tree, monkeypatch):
    repo = tmp_path / "repo"
    assert cli([f"--repo={repo}", "init", "--mode=archive"]).rc == 0
    monkeypatch.chdir(tmp_path)
    r = cli([f"--repo={repo}", "commit", "-b", "main", "--sign-from-file=nokey", f"--tree=dir={tree}"])
    assert (r.rc, r.out, r.err) == (1, "", f"error: Error opening file {tmp_path}/nokey: No such file or directory\n")
    (tmp_path / "short").write_text("c2hvcnQ=\n")
    r = cli([f"--repo={repo}", "commit", "-b", "main", "--sign-from-file=short", f"--tree=dir={tree}"])
    assert r.rc == 1 and r.err.startswith("error: ") and "ed25519 secret key" in r.err


def test_commit_selinux_labeling_epoch(cli, tmp_path, tree):
    repo = tmp_path / "repo"
    assert cli([f"--repo={repo}", "init", "--mode=archive"]).rc == 0
    for epoch in ("0", "1"):
        assert cli([f"--repo={repo}", "commit", "-b", "main", f"--selinux-labeling-epoch={epoch}",
                    f"--tree=dir={tree}"]).rc == 0
    assert cli([f"--repo={repo}", "commit", "-b", "main", "--selinux-labeling-epoch=2", f"--tree=dir={tree}"]).as_tuple() \
        == (1, "", "error: Unknown SELinux labeling epoch: 2\n")


# ------------------------------------------------------------------ pull-local and delta statistics

@pytest.fixture
def delta_repo(cli, tmp_path):
    repo, tree = tmp_path / "src", tmp_path / "files"
    _tree(tree, {"big": ("0123456789abcdef" * 4096, 0o755), "small": ("s\n", 0o644)})
    assert cli([f"--repo={repo}", "init", "--mode=archive"]).rc == 0
    assert cli([f"--repo={repo}", "commit", "-b", "test", f"--tree=dir={tree}"]).rc == 0
    rev = _rev(cli, repo, "test")
    assert cli([f"--repo={repo}", "static-delta", "generate", "--empty", f"--to={rev}"]).rc == 0
    assert cli([f"--repo={repo}", "summary", "-u"]).rc == 0
    return repo, rev


STATS = re.compile(r"^1 delta parts, 2 loose fetched; .* transferred in .* seconds; 0 bytes content written\n$")


def test_pull_by_delta_writes_no_counted_content(cli, tmp_path, delta_repo):
    # as ostree's (2022.7 and 2025.2): the delta's bare content is not counted as written
    src, rev = delta_repo
    dst = tmp_path / "dst"
    assert cli([f"--repo={dst}", "init", "--mode=bare-user"]).rc == 0
    r = cli([f"--repo={dst}", "pull-local", "--require-static-deltas", str(src), rev])
    assert r.rc == 0 and STATS.match(r.out), r
    assert cli([f"--repo={dst}", "fsck", "-q"]).rc == 0


def test_pull_local_disable_static_deltas(cli, tmp_path, delta_repo):
    src, rev = delta_repo
    dst = tmp_path / "dst"
    assert cli([f"--repo={dst}", "init", "--mode=bare-user"]).rc == 0
    r = cli([f"--repo={dst}", "pull-local", "--disable-static-deltas", "--commit-metadata-only", str(src), rev])
    assert r.as_tuple() == (0, "1 metadata, 0 content objects imported; 0 bytes content written\n", "")
    r = cli([f"--repo={dst}", "pull-local", "--disable-static-deltas", "--require-static-deltas", str(src), rev])
    assert r.as_tuple() == (1, "", "error: Cannot both disable and require static deltas\n")
    r = cli([f"--repo={dst}", "pull-local", "--disable-static-deltas", str(src), rev])
    assert r.as_tuple() == (0, "2 metadata, 2 content objects imported; 65.5\xa0kB content written\n", "")


# ------------------------------------------------------------------ pull's fetcher options

class _RepoHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a repository; objects fail with 503 ``fail`` times each, trickle, or wait."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        srv = self.server
        if not self.path.startswith("/objects/"):
            return super().do_GET()
        with srv.lock:
            srv.counts[self.path] = srv.counts.get(self.path, 0) + 1
            failing = srv.counts[self.path] <= srv.fail
            srv.inflight += 1
            srv.max_inflight = max(srv.max_inflight, srv.inflight)
        try:
            if failing:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            time.sleep(srv.delay)
            if srv.trickle and os.path.isfile(self.translate_path(self.path)):
                with open(self.translate_path(self.path), "rb") as f:
                    data = f.read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
                return
            return super().do_GET()
        finally:
            with srv.lock:
                srv.inflight -= 1


@pytest.fixture
def served(cli, tmp_path):
    """(server, client repo with remote ``origin``) for a repo of a few objects."""
    src, tree = tmp_path / "srv", tmp_path / "t"
    _tree(tree, {f"d/f{i}": (f"content {i}\n" * 50, 0o644) for i in range(6)})
    assert cli([f"--repo={src}", "init", "--mode=archive"]).rc == 0
    assert cli([f"--repo={src}", "commit", "-b", "main", f"--tree=dir={tree}"]).rc == 0
    assert cli([f"--repo={src}", "summary", "-u"]).rc == 0

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

    srv = Server(("127.0.0.1", 0), lambda *a: _RepoHandler(*a, directory=str(src)))
    srv.lock = threading.Lock()
    srv.counts, srv.fail, srv.delay, srv.trickle = {}, 0, 0.0, False
    srv.inflight = srv.max_inflight = 0
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    client = tmp_path / "client"
    assert cli([f"--repo={client}", "init", "--mode=archive"]).rc == 0
    assert cli([f"--repo={client}", "remote", "add", "--no-gpg-verify", "origin",
                f"http://127.0.0.1:{srv.server_address[1]}"]).rc == 0
    try:
        yield srv, client
    finally:
        srv.shutdown()
        srv.server_close()


def test_pull_retries_503_unless_disabled(cli_subprocess, served):
    srv, client = served
    srv.fail = 1
    r = cli_subprocess([f"--repo={client}", "pull", "--disable-retry-on-network-errors", "origin", "main"])
    assert r.rc == 1 and "Server returned HTTP 503" in r.err, r
    srv.counts.clear()
    r = cli_subprocess([f"--repo={client}", "pull", "origin", "main"])
    assert r.rc == 0, r


def test_pull_max_outstanding_fetcher_requests(cli_subprocess, served):
    srv, client = served
    srv.delay = 0.05
    r = cli_subprocess([f"--repo={client}", "pull", "--max-outstanding-fetcher-requests=1", "origin", "main"])
    assert r.rc == 0, r
    assert len(srv.counts) >= 8 and srv.max_inflight == 1


def test_pull_low_speed_limit(cli_subprocess, served):
    srv, client = served
    srv.trickle = True  # 20 bytes a second
    r = cli_subprocess([f"--repo={client}", "pull", "--low-speed-limit-bytes=1000", "--low-speed-time-seconds=1",
                        "--network-retries=0", "origin", "main"])
    assert r.rc == 1 and r.err.rstrip().endswith("[28] Timeout was reached"), r
