"""Remotes that verify signatures (gpg-verify, gpg-verify-summary, sign-verify,
sign-verify-summary with ed25519) reject unsigned, wrongly signed and
revoked-key commits and summaries over HTTP, and store nothing from them:
no object of the rejected commit, no ref, no partial marker. A correctly
signed commit pulls (so the rejections are not an artefact of the setup).

The GPG keys are the upstream test keys (a copy of the installed gpghome;
key1 trusted, key2 not, key1 revoked through its revocation certificate).
ed25519 has no revocation list for remotes (the reference loads only
``verification-ed25519-file``/``-key``); a key rotated out of the remote's
trusted keys is the "wrongly signed" case.
"""

import os
import shutil
import subprocess

import pytest

import reliability_harness as H

from reliability_harness import GPGHOME, KEYID_1, KEYID_2, PUB1, SK1, SK2

pytestmark = pytest.mark.skipif(not (os.path.isdir(GPGHOME) and shutil.which("gpg")),
                                reason="needs the upstream test gpghome and gpg")


def _gpg(home, *args):
    subprocess.run(["gpg", "--batch", "--homedir", home, *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("sigsrv")
    home = str(base / "gpghome")
    shutil.copytree(GPGHOME, home)
    os.chmod(home, 0o700)
    # key1 revoked: the revocation certificate imported into a second copy, key1 exported from it
    rhome = str(base / "gpghome-revoked")
    shutil.copytree(GPGHOME, rhome)
    os.chmod(rhome, 0o700)
    _gpg(rhome, "--import", os.path.join(rhome, "revocations/key1.rev"))
    _gpg(rhome, "--armor", "--output", str(base / "key1-revoked.asc"), "--export", KEYID_1)
    repo = str(base / "www" / "repo")
    os.makedirs(os.path.dirname(repo))
    H.ok(["init", f"--repo={repo}", "--mode=archive"])
    commits = {}
    specs = {
        "unsigned": [],
        "gpg1": [f"--gpg-sign={KEYID_1}", f"--gpg-homedir={home}"],
        "gpg2": [f"--gpg-sign={KEYID_2}", f"--gpg-homedir={home}"],
        "ed1": [f"--sign={SK1}", "--sign-type=ed25519"],
        "ed2": [f"--sign={SK2}", "--sign-type=ed25519"],
    }
    for i, (branch, extra) in enumerate(specs.items()):
        tree = base / f"tree-{branch}"
        H.make_plain_tree(str(tree), 300 + i, nfiles=12, size=2000)
        H.ok(["commit", f"--repo={repo}", "-b", branch, f"--tree=dir={tree}", *extra])
        commits[branch] = H.ok(["rev-parse", f"--repo={repo}", branch]).out.strip()
    httpd = H.Httpd(str(base / "www"), str(base))
    yield {"repo": repo, "home": home, "base": base, "commits": commits, "url": f"{httpd.url}/repo",
           "key1": os.path.join(home, "key1.asc"), "key1_revoked": str(base / "key1-revoked.asc")}
    httpd.stop()


def _client(tmp_path, server, name, *remote_opts, gpg_import=None):
    repo = str(tmp_path / name)
    H.ok(["init", f"--repo={repo}", "--mode=archive"])
    H.ok(["remote", "add", f"--repo={repo}", *remote_opts, "origin", server["url"]])
    if gpg_import:
        H.ok(["remote", "gpg-import", f"--repo={repo}", f"--keyring={gpg_import}", "origin"])
    return repo


def _stored_objects(repo):
    out = []
    for root, _dirs, files in os.walk(os.path.join(repo, "objects")):
        out.extend(files)
    return out


def _assert_rejected(repo, branch, server, *pull_opts, expect=None):
    r = H.run(["pull", f"--repo={repo}", *pull_opts, "origin", branch])
    assert r.rc == 1 and r.err.startswith("error: ") and "Traceback" not in r.err, r
    if expect:
        assert expect in r.err, r
    assert _stored_objects(repo) == [], f"a rejected pull of {branch} stored {_stored_objects(repo)[:5]}"
    assert H.ok(["refs", f"--repo={repo}"]).out.strip() == ""
    assert not os.listdir(os.path.join(repo, "state"))
    cache = os.path.join(repo, "tmp/cache/summaries")
    assert not os.path.isdir(cache) or not os.listdir(cache), "a rejected summary was cached"
    H.check_repo(repo)
    return r


def _summary(server, *sign):
    H.ok(["summary", "-u", f"--repo={server['repo']}", *sign])
    if not sign:
        for n in ("summary.sig",):
            p = os.path.join(server["repo"], n)
            if os.path.exists(p):
                os.unlink(p)


def test_gpg_verify_commits(tmp_path, server):
    _summary(server)
    opts = ["--set=gpg-verify=true", "--set=gpg-verify-summary=false"]
    repo = _client(tmp_path, server, "c", *opts, gpg_import=server["key1"])
    _assert_rejected(repo, "unsigned", server)
    _assert_rejected(repo, "gpg2", server, expect="public key not found")
    _assert_rejected(repo, "ed1", server)
    revoked = _client(tmp_path, server, "rev", *opts, gpg_import=server["key1_revoked"])
    _assert_rejected(revoked, "gpg1", server, expect="Key revoked")
    # the trusted key pulls
    H.ok(["pull", f"--repo={repo}", "origin", "gpg1"])
    assert H.check_repo(repo)["origin:gpg1"] == server["commits"]["gpg1"]


def test_gpg_verify_summary(tmp_path, server):
    opts = ["--set=gpg-verify=false", "--set=gpg-verify-summary=true"]
    home = ["--gpg-homedir=" + server["home"]]
    _summary(server)
    repo = _client(tmp_path, server, "unsigned", *opts, gpg_import=server["key1"])
    _assert_rejected(repo, "unsigned", server)
    _summary(server, f"--gpg-sign={KEYID_2}", *home)
    repo = _client(tmp_path, server, "key2", *opts, gpg_import=server["key1"])
    _assert_rejected(repo, "unsigned", server)
    _summary(server, f"--gpg-sign={KEYID_1}", *home)
    repo = _client(tmp_path, server, "revoked", *opts, gpg_import=server["key1_revoked"])
    _assert_rejected(repo, "unsigned", server, expect="Key revoked")
    repo = _client(tmp_path, server, "key1", *opts, gpg_import=server["key1"])
    H.ok(["pull", f"--repo={repo}", "origin", "unsigned"])
    H.check_repo(repo)


def test_ed25519_sign_verify_commits(tmp_path, server):
    _summary(server)
    opts = ["--no-gpg-verify", f"--sign-verify=ed25519=inline:{PUB1}", "--set=sign-verify-summary=false"]
    repo = _client(tmp_path, server, "c", *opts)
    _assert_rejected(repo, "unsigned", server)
    _assert_rejected(repo, "ed2", server)
    _assert_rejected(repo, "gpg1", server)
    H.ok(["pull", f"--repo={repo}", "origin", "ed1"])
    assert H.check_repo(repo)["origin:ed1"] == server["commits"]["ed1"]


def test_ed25519_sign_verify_summary(tmp_path, server):
    opts = ["--no-gpg-verify", f"--set=verification-ed25519-key={PUB1}", "--set=sign-verify=false",
            "--set=sign-verify-summary=true"]
    _summary(server)
    repo = _client(tmp_path, server, "unsigned", *opts)
    _assert_rejected(repo, "unsigned", server)
    _summary(server, f"--sign={SK2}", "--sign-type=ed25519")
    repo = _client(tmp_path, server, "key2", *opts)
    _assert_rejected(repo, "unsigned", server)
    _summary(server, f"--sign={SK1}", "--sign-type=ed25519")
    repo = _client(tmp_path, server, "key1", *opts)
    H.ok(["pull", f"--repo={repo}", "origin", "unsigned"])
    H.check_repo(repo)
