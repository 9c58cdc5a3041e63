"""Every path that brings a commit into a repository or a deployment checks its
signatures as the remote's configuration asks (issue 12), whatever the caller
passed: pull over HTTP and from a ``file://`` remote, ``pull-local --remote
--gpg-verify``, ``--localcache-repo``, static deltas (the commit travels in
the superblock), ``--depth`` (a signed commit whose parent is not), ``admin
upgrade`` (with and without ``--override-commit``), ``admin switch``, and
rpm-ostree-py ``upgrade`` / ``rebase`` / ``deploy``.

For GPG (``gpg-verify=true``, key1 imported) and ed25519 (``sign-verify=true``
with ``verification-ed25519-key`` or ``-file``) alike, a correctly signed
commit goes through, and an unsigned commit, one signed with another key, a
forged one (the detached signatures of another commit) and one whose signature
bytes are corrupted are refused: exit 1 with ``error: ...``, no object of the
refused commit (``show`` fails), no partial marker, refs unchanged, and for
the sysroot paths the same boot entries and deployments as before. Each test
refuses the bad commits one after the other on the same repository or sysroot,
then accepts the good one there, so a leftover of a refusal would show.

The GPG keys are the upstream test keys (a copy of the installed gpghome).
"""

import os
import shutil
import subprocess
import sys

import pytest

import reliability_harness as H

from reliability_harness import GPGHOME, KEYID_1, KEYID_2, PUB1, SK1, SK2

OS = "testos"
BAD = ("unsigned", "otherkey", "forged", "corrupt")
KINDS = ("gpg", "ed25519")
RPMOSTREE = [sys.executable, "-m", "ostree_py.commands.rpmostree"]

pytestmark = pytest.mark.skipif(not (os.path.isdir(GPGHOME) and shutil.which("gpg")),
                                reason="needs the upstream test gpghome and gpg")


def _objpath(repo, csum, ext):
    return os.path.join(repo, "objects", csum[:2], f"{csum[2:]}.{ext}")


def _corrupt_signatures(repo, csum, key):
    """Flip a byte in the middle of each signature under ``key`` in the commit's detached metadata."""
    from ostree_py.core import gvariant
    p = _objpath(repo, csum, "commitmeta")
    with open(p, "rb") as f:
        md = gvariant.deserialize("a{sv}", f.read())
    sigs = []
    for s in md[key].value:
        s = bytearray(s)
        s[len(s) // 2] ^= 0x55
        sigs.append(bytes(s))
    md[key] = gvariant.Variant("aay", sigs)
    os.chmod(p, 0o644)
    with open(p, "wb") as f:
        f.write(gvariant.serialize("a{sv}", md))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A source repo with, per kind, a good commit and the four bad ones (each v1's child,
    on branch KIND-CASE), a signed child of each (branch KIND-depth-CASE) for --depth, and
    v1 signed both ways; a template sysroot with v1 deployed; an HTTP server for copies."""
    base = tmp_path_factory.mktemp("verifypaths")
    home = str(base / "gpghome")
    shutil.copytree(GPGHOME, home)
    os.chmod(home, 0o700)
    src = str(base / "src")
    H.ok(["init", f"--repo={src}", "--mode=archive"])
    H.make_os_tree(str(base / "t1"), 1)
    H.make_os_tree(str(base / "t2"), 2)
    gpg1 = [f"--gpg-sign={KEYID_1}", f"--gpg-homedir={home}"]
    sign = {"gpg": (gpg1, [f"--gpg-sign={KEYID_2}", f"--gpg-homedir={home}"], "ostree.gpgsigs"),
            "ed25519": ([f"--sign={SK1}", "--sign-type=ed25519"], [f"--sign={SK2}", "--sign-type=ed25519"],
                        "ostree.sign.ed25519")}

    def commit(branch, tree, *extra):
        # no ref binding: the same commit is pulled through several refs
        csum = H.ok(["commit", f"--repo={src}", "--orphan", "--no-bindings", f"--tree=dir={tree}", "-s", branch,
                     *extra]).out.strip()
        H.ok(["refs", f"--repo={src}", f"--create={branch}", csum])
        return csum
    c = {"v1": commit("v1", base / "t1", *gpg1, f"--sign={SK1}", "--sign-type=ed25519",
                      "--add-metadata-string=version=1")}
    for kind, (good, other, key) in sign.items():
        v2 = ["--add-metadata-string=version=2", f"--parent={c['v1']}"]
        c[f"{kind}-good"] = commit(f"{kind}-good", base / "t2", *v2, *good)
        c[f"{kind}-unsigned"] = commit(f"{kind}-unsigned", base / "t2", *v2)
        c[f"{kind}-otherkey"] = commit(f"{kind}-otherkey", base / "t2", *v2, *other)
        c[f"{kind}-forged"] = forged = commit(f"{kind}-forged", base / "t2", *v2)
        shutil.copy(_objpath(src, c[f"{kind}-good"], "commitmeta"), _objpath(src, forged, "commitmeta"))
        c[f"{kind}-corrupt"] = commit(f"{kind}-corrupt", base / "t2", *v2, *good)
        _corrupt_signatures(src, c[f"{kind}-corrupt"], key)
        for case in BAD + ("good",):
            c[f"{kind}-depth-{case}"] = commit(f"{kind}-depth-{case}", base / "t2", f"--parent={c[f'{kind}-{case}']}",
                                               "--add-metadata-string=version=3", *good)
    # the bad commits really are bad, by the reference's own checks
    r = H.ref_run(["show", f"--repo={src}", f"--gpg-homedir={home}", c["gpg-forged"]])
    assert "BAD signature" in r.out + r.err, r
    H.ok(["refs", f"--repo={src}", f"--create={OS}/stable", c["v1"]])

    tpl = str(base / "tpl")
    os.makedirs(tpl)
    H.ok(["admin", "init-fs", tpl])
    H.ok(["admin", "os-init", f"--sysroot={tpl}", OS])
    os.makedirs(os.path.join(tpl, "boot/loader.0"))
    os.makedirs(os.path.join(tpl, "boot/syslinux"))
    os.symlink("loader.0", os.path.join(tpl, "boot/loader"))
    open(os.path.join(tpl, "boot/loader/syslinux.cfg"), "w").close()
    os.symlink("../loader/syslinux.cfg", os.path.join(tpl, "boot/syslinux/syslinux.cfg"))
    trepo = os.path.join(tpl, "ostree/repo")
    H.ok(["remote", "add", f"--repo={trepo}", "--no-gpg-verify", "origin", f"file://{src}"])
    H.ok(["pull", f"--repo={trepo}", "origin", f"{OS}/stable"])
    H.ok(["admin", "deploy", f"--sysroot={tpl}", f"--os={OS}", "--karg=root=LABEL=test", f"origin:{OS}/stable"])
    www = base / "www"
    www.mkdir()
    httpd = H.Httpd(str(www), str(base))
    with open(base / "ed1.pub", "w") as f:
        f.write(PUB1 + "\n")
    yield {"src": src, "home": home, "c": c, "tpl": tpl, "www": str(www), "httpd": httpd, "base": base}
    httpd.stop()


class Served:
    """A copy of the source repo under the HTTP server's root, whose refs a test moves."""

    def __init__(self, world, name):
        self.path = os.path.join(world["www"], name)
        H.copy_tree(world["src"], self.path)
        self.url = f"{world['httpd'].url}/{name}"
        self.file_url = f"file://{self.path}"

    def set_ref(self, ref, csum, deltas=()):
        p = os.path.join(self.path, "refs/heads", ref)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(csum + "\n")
        for frm in deltas:
            H.ok(["static-delta", "generate", f"--repo={self.path}", f"--from={frm}", f"--to={csum}"])
        H.ok(["summary", "-u", f"--repo={self.path}"])


def _remote_opts(world, kind):
    if kind == "gpg":
        return ["--set=gpg-verify=true"]
    # ed25519: the key inline or in a file, both ways are the remote's configuration
    return ["--no-gpg-verify", "--set=sign-verify=true", f"--set=verification-ed25519-key={PUB1}"]


def _add_remote(world, repo, kind, url, name="origin"):
    H.ok(["remote", "add", f"--repo={repo}", *_remote_opts(world, kind), name, url])
    if kind == "gpg":
        H.ok(["remote", "gpg-import", f"--repo={repo}", f"--keyring={os.path.join(world['home'], 'key1.asc')}",
              name])


def _set_remote(world, repo, kind, url):
    H.ok(["remote", "delete", f"--repo={repo}", "origin"])
    _add_remote(world, repo, kind, url)


def _commit_files(repo):
    out = []
    for _root, _dirs, files in os.walk(os.path.join(repo, "objects")):
        out.extend(f for f in files if f.endswith((".commit", ".commitmeta")))
    return sorted(out)


def _partials(repo):
    d = os.path.join(repo, "state")
    return [n for n in os.listdir(d) if n.endswith(".commitpartial")] if os.path.isdir(d) else []


def _assert_refused(r, repo, csums, kind):
    assert r.rc == 1 and r.err.startswith("error: ") and "Traceback" not in r.err, r
    if kind == "ed25519":
        assert "sign-verify=false" not in r.err, r
    for csum in csums:
        assert not os.path.exists(_objpath(repo, csum, "commit")), f"refused commit {csum} stored: {r}"
        assert not os.path.exists(_objpath(repo, csum, "commitmeta")), f"refused commit {csum}'s signatures stored"
        assert H.run(["show", f"--repo={repo}", csum]).rc == 1
    assert _partials(repo) == [], _partials(repo)


# ---------------------------------------------------------------- pulls into a repository

PULL_PATHS = ("http", "file", "pull-local", "localcache", "delta", "depth")


# (pull-local verifies GPG only, with --gpg-verify: the reference disables sign-verify for local pulls)
@pytest.mark.parametrize("kind,path", [(k, p) for k in KINDS for p in PULL_PATHS
                                       if not (k == "ed25519" and p == "pull-local")])
def test_pull_paths(tmp_path, world, kind, path):
    c = world["c"]
    srv = Served(world, f"{kind}-{path}")
    repo = str(tmp_path / "client")
    # static deltas are not applied into archive repos
    H.ok(["init", f"--repo={repo}", "--mode=" + ("bare-user" if path == "delta" else "archive")])
    url = srv.file_url if path == "file" else srv.url
    _add_remote(world, repo, kind, url)
    base_commits = []
    if path == "delta":
        # v1 (signed) is there, the update comes as a v1 -> target delta
        H.ok(["pull", f"--repo={repo}", "origin", f"{OS}/stable"])
        base_commits = _commit_files(repo)
    cache = None
    if path == "localcache":
        cache = str(tmp_path / "cache")
        H.ok(["init", f"--repo={cache}", "--mode=archive"])
        H.ok(["pull-local", f"--repo={cache}", world["src"], *[f"{kind}-{x}" for x in BAD + ("good",)]])
    for case in BAD + ("good",):
        branch = f"{kind}-depth-{case}" if path == "depth" else f"{kind}-{case}"
        target = c[branch]
        srv.set_ref(branch, target, deltas=[c["v1"]] if path == "delta" else ())
        if path == "pull-local":
            args = ["pull-local", f"--repo={repo}", "--remote=origin", "--gpg-verify", srv.path, branch]
        else:
            args = ["pull", f"--repo={repo}", "origin", branch]
            if path == "localcache":
                args.insert(2, f"--localcache-repo={cache}")
            if path == "depth":
                args.insert(2, "--depth=1")
        n_requests = len(world["httpd"].requests())
        r = H.run(args)
        if path == "delta":
            got = world["httpd"].requests()[n_requests:]
            assert any("/deltas/" in p and p.endswith("/superblock") for p in got), got
        if case != "good":
            refused = [target, c[f"{kind}-{case}"]]
            _assert_refused(r, repo, refused, kind)
            assert _commit_files(repo) == base_commits, "a refused pull left commits"
            assert H.ok(["refs", f"--repo={repo}"]).out.split() == \
                ([f"origin:{OS}/stable"] if path == "delta" else [])
            H.check_repo(repo)
        else:
            assert r.rc == 0 and "Traceback" not in r.err, r
            assert H.check_repo(repo)[f"origin:{branch}"] == target
            if path == "depth":
                assert os.path.exists(_objpath(repo, c[f"{kind}-good"], "commit"))


def test_pull_local_gpg_verify_summary(tmp_path, world):
    """pull-local --remote --gpg-verify-summary: an unsigned summary and one signed by
    another key are refused with nothing stored; one signed by the remote's key pulls."""
    srv = Served(world, "pull-local-summary")
    srv.set_ref("gpg-unsigned", world["c"]["gpg-unsigned"])
    repo = str(tmp_path / "client")
    H.ok(["init", f"--repo={repo}", "--mode=archive"])
    _add_remote(world, repo, "gpg", "file:///nonexistent")
    args = ["pull-local", f"--repo={repo}", "--remote=origin", "--gpg-verify-summary", srv.path, "gpg-unsigned"]
    for key in (None, KEYID_2, KEYID_1):
        if key:
            H.ok(["summary", "-u", f"--repo={srv.path}", f"--gpg-sign={key}", f"--gpg-homedir={world['home']}"])
        r = H.run(args)
        if key != KEYID_1:
            _assert_refused(r, repo, [world["c"]["gpg-unsigned"]], "gpg")
            assert _commit_files(repo) == [] and H.ok(["refs", f"--repo={repo}"]).out == ""
        else:
            assert r.rc == 0, r
            assert H.check_repo(repo)["origin:gpg-unsigned"] == world["c"]["gpg-unsigned"]


def test_pull_local_without_gpg_verify_is_the_reference(tmp_path, world):
    """pull-local --remote without --gpg-verify verifies nothing, as the reference (documented)."""
    repo = str(tmp_path / "client")
    H.ok(["init", f"--repo={repo}", "--mode=archive"])
    _add_remote(world, repo, "gpg", "file:///nonexistent")
    H.ok(["pull-local", f"--repo={repo}", "--remote=origin", world["src"], "gpg-unsigned"])
    ref = str(tmp_path / "ref")
    H.ref_run(["init", f"--repo={ref}", "--mode=archive"])
    assert H.ref_run(["pull-local", f"--repo={ref}", "--remote=origin", world["src"], "gpg-unsigned"]).rc == 0


@pytest.mark.parametrize("kind", KINDS)
def test_remote_summary_verified_before_cached(tmp_path, world, kind):
    """remote refs/summary: gpg-verify-summary / sign-verify-summary refuse an unsigned
    summary and cache nothing; a signed one is listed."""
    srv = Served(world, f"{kind}-summary")
    srv.set_ref(f"{kind}-good", world["c"][f"{kind}-good"])
    repo = str(tmp_path / "client")
    H.ok(["init", f"--repo={repo}", "--mode=archive"])
    opt = "gpg-verify-summary" if kind == "gpg" else "sign-verify-summary"
    _add_remote(world, repo, kind, srv.url)
    H.ok(["config", f"--repo={repo}", "set", 'remote "origin".' + opt, "true"])
    def sign_summary(key):
        if kind == "gpg":
            H.ok(["summary", "-u", f"--repo={srv.path}", f"--gpg-sign={key}", f"--gpg-homedir={world['home']}"])
        else:
            H.ok(["summary", "-u", f"--repo={srv.path}", f"--sign={key}", "--sign-type=ed25519"])
    for signed_by in (None, KEYID_2 if kind == "gpg" else SK2):
        if signed_by:
            sign_summary(signed_by)
        for cmd in (["remote", "refs", f"--repo={repo}", "origin"],
                    ["remote", "summary", f"--repo={repo}", "origin"]):
            r = H.run(cmd)
            assert r.rc == 1 and r.err.startswith("error: ") and "Traceback" not in r.err, r
            cache = os.path.join(repo, "tmp/cache/summaries")
            assert not os.path.isdir(cache) or not os.listdir(cache), os.listdir(cache)
    os.unlink(os.path.join(srv.path, "summary.sig"))
    sign_summary(KEYID_1 if kind == "gpg" else SK1)
    assert f"{kind}-good" in H.ok(["remote", "refs", f"--repo={repo}", "origin"]).out


# ---------------------------------------------------------------- deployments

def _deployments(sr):
    d = os.path.join(sr, "ostree/deploy", OS, "deploy")
    return sorted(n for n in os.listdir(d) if not n.endswith(".origin"))


def _default_commit(sr):
    e = max(H.boot_entries(sr), key=lambda e: int(e["version"]))
    link = e["options"].split("ostree=")[1].split()[0]
    return os.path.basename(os.path.realpath(os.path.join(sr, link.lstrip("/")))).split(".")[0]


def _rpmostree(args):
    p = subprocess.run(RPMOSTREE + args, capture_output=True, env=H._env({"LC_ALL": "C.UTF-8"}), check=False)
    return H.Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def _deploy_args(how, sr, target, branch):
    sysroot = f"--sysroot={sr}"
    return {
        "upgrade": lambda: H.run(["admin", "upgrade", sysroot, f"--os={OS}"]),
        "override-commit": lambda: H.run(["admin", "upgrade", sysroot, f"--os={OS}", f"--override-commit={target}"]),
        "switch": lambda: H.run(["admin", "switch", sysroot, f"--os={OS}", f"origin:{branch}"]),
        "rpm-ostree-upgrade": lambda: _rpmostree(["upgrade", sysroot, f"--os={OS}"]),
        "rpm-ostree-rebase": lambda: _rpmostree(["rebase", sysroot, f"--os={OS}", f"origin:{branch}"]),
        "rpm-ostree-deploy": lambda: _rpmostree(["deploy", sysroot, f"--os={OS}", "--skip-branch-check", target]),
    }[how]


DEPLOY_PATHS = ("upgrade", "override-commit", "switch", "rpm-ostree-upgrade", "rpm-ostree-rebase",
                "rpm-ostree-deploy")


@pytest.mark.parametrize("how", DEPLOY_PATHS)
@pytest.mark.parametrize("kind", KINDS)
def test_deploy_paths(tmp_path, world, kind, how):
    c = world["c"]
    srv = Served(world, f"{kind}-{how}")
    sr = str(tmp_path / "sysroot")
    H.copy_tree(world["tpl"], sr)
    repo = os.path.join(sr, "ostree/repo")
    _set_remote(world, repo, kind, srv.url)
    if kind == "ed25519" and how.startswith("rpm-ostree"):
        # the key from a file this time (verification-ed25519-file)
        H.ok(["config", f"--repo={repo}", "unset", 'remote "origin".verification-ed25519-key'])
        H.ok(["config", f"--repo={repo}", "set", 'remote "origin".verification-ed25519-file',
              str(world["base"] / "ed1.pub")])
    follows_ref = how in ("upgrade", "switch", "rpm-ostree-upgrade", "rpm-ostree-rebase")
    for case in BAD + ("good",):
        branch = f"{kind}-{case}"
        target = c[branch]
        if how in ("upgrade", "rpm-ostree-upgrade"):
            srv.set_ref(f"{OS}/stable", target)
        elif follows_ref:
            srv.set_ref(branch, target)
        entries, deployments = H.boot_entries(sr), _deployments(sr)
        refs = H.ok(["refs", f"--repo={repo}"]).out
        r = _deploy_args(how, sr, target, branch)()
        if case != "good":
            _assert_refused(r, repo, [target], kind)
            assert H.boot_entries(sr) == entries, "a refused commit changed the boot entries"
            assert _deployments(sr) == deployments
            assert H.ok(["refs", f"--repo={repo}"]).out == refs
            assert _default_commit(sr) == c["v1"]
            H.check_sysroot(sr)
        else:
            assert r.rc == 0 and "Traceback" not in r.err, r
            assert len(_deployments(sr)) == len(deployments) + 1
            assert _default_commit(sr) == target
            H.check_sysroot(sr)
