"""Signatures across implementations: the reference shows and verifies what we sign and the
other way round, with the same output; detached metadata edits give the same bytes; our
ed25519 signatures are OpenSSL's."""

import os
import shutil
import subprocess
import tempfile

import pytest

GPGHOME_SRC = "/usr/libexec/installed-tests/libostree/gpghome"
KEYID_1, KEYID_2, KEYID_3 = "7FCA23D8472CDAFA", "D8228CFECA950D41", "0D15FAE7DF444D67"

pytestmark = pytest.mark.skipif(not (shutil.which("gpg") and os.path.isdir(GPGHOME_SRC)),
                                reason="needs gpg and the ostree-tests GPG keys")


@pytest.fixture(scope="module")
def gpghome():
    d = tempfile.mkdtemp(prefix="ostree-py-gpgi-")
    home = os.path.join(d, "gpghome")
    shutil.copytree(GPGHOME_SRC, home)
    os.chmod(home, 0o700)
    yield home
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.delenv("OSTREE_GPG_HOME", raising=False)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")


@pytest.fixture
def repo(tmp_path, ours):
    r = tmp_path / "repo"
    ours("init", f"--repo={r}", "--mode=archive")
    files = tmp_path / "files"
    files.mkdir()
    (files / "a").write_text("a\n")
    ours(f"--repo={r}", "commit", "-b", "main", "-s", "subject", f"--tree=dir={files}")
    return r


def commitmeta(repo, rev, ours):
    csum = ours(f"--repo={repo}", "rev-parse", rev).stdout.strip()
    p = repo / "objects" / csum[:2] / f"{csum[2:]}.commitmeta"
    return p.read_bytes() if p.exists() else None


def same_show(repo, ours, ref, *args, **kw):
    a = ours(f"--repo={repo}", "show", *args, "main", **kw)
    b = ref(f"--repo={repo}", "show", *args, "main", **kw)
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)
    return a


def test_reference_shows_our_signatures_as_we_do(repo, gpghome, ours, ref, monkeypatch):
    ours(f"--repo={repo}", "gpg-sign", f"--gpg-homedir={gpghome}", "main", KEYID_1, KEYID_2)
    out = same_show(repo, ours, ref).stdout
    assert "Found 2 signatures:" in out and out.count("public key not found") == 2
    out = same_show(repo, ours, ref, f"--gpg-homedir={gpghome}").stdout
    assert out.count("Good signature from") == 2
    same_show(repo, ours, ref, "--gpg-homedir=/nonexistent", check=False)
    monkeypatch.setenv("OSTREE_GPG_HOME", os.path.join(gpghome, "trusted"))
    assert same_show(repo, ours, ref).stdout.count("Good signature from") == 2
    # a remote's own keyring (and no global one) with --gpg-verify-remote
    ours(f"--repo={repo}", "remote", "add", "origin", "http://example.invalid")
    ref(f"--repo={repo}", "remote", "gpg-import", "origin", "-k", os.path.join(gpghome, "key1.asc"))
    out = same_show(repo, ours, ref, "--gpg-verify-remote=origin").stdout
    assert out.count("Good signature from") == 1 and out.count("public key not found") == 1
    same_show(repo, ours, ref, "--gpg-verify-remote=nosuchremote", check=False)


def test_we_show_reference_signatures_as_it_does(repo, gpghome, ours, ref, monkeypatch):
    ref(f"--repo={repo}", "gpg-sign", f"--gpg-homedir={gpghome}", "main", KEYID_3)
    monkeypatch.setenv("OSTREE_GPG_HOME", os.path.join(gpghome, "trusted"))
    assert "Good signature from" in same_show(repo, ours, ref).stdout
    # signing again with the same key is refused by both
    for run in (ours, ref):
        p = run(f"--repo={repo}", "gpg-sign", f"--gpg-homedir={gpghome}", "main", KEYID_3, check=False)
        assert (p.returncode, p.stderr) == (1, f"error: Commit is already signed with GPG key {KEYID_3}\n")


def test_delete_gives_the_same_bytes(repo, gpghome, ours, ref, tmp_path, monkeypatch):
    ours(f"--repo={repo}", "gpg-sign", f"--gpg-homedir={gpghome}", "main", KEYID_1, KEYID_2, KEYID_3)
    monkeypatch.setenv("OSTREE_DUMMY_SIGN_ENABLED", "1")
    ref(f"--repo={repo}", "sign", "--sign-type=dummy", "main", "dummy-key")
    monkeypatch.setenv("OSTREE_GPG_HOME", os.path.join(gpghome, "trusted"))
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy, symlinks=True)
    a = ours(f"--repo={repo}", "gpg-sign", "--delete", "main", KEYID_2, KEYID_2, "DEADBEEF")
    b = ref(f"--repo={copy}", "gpg-sign", "--delete", "main", KEYID_2, KEYID_2, "DEADBEEF")
    assert a.stdout == b.stdout == "Signatures deleted: 1\n"
    assert commitmeta(repo, "main", ours) == commitmeta(copy, "main", ours)
    # deleting every GPG signature leaves the other entries
    ours(f"--repo={repo}", "gpg-sign", "-d", "main", KEYID_1, KEYID_3)
    ref(f"--repo={copy}", "gpg-sign", "-d", "main", KEYID_1, KEYID_3)
    assert commitmeta(repo, "main", ours) == commitmeta(copy, "main", ours)


def test_dummy_signatures_are_byte_identical(repo, gpghome, ours, ref, tmp_path, monkeypatch):
    # a GPG signature first, so both must merge a new key into existing detached metadata
    ours(f"--repo={repo}", "gpg-sign", f"--gpg-homedir={gpghome}", "main", KEYID_1)
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy, symlinks=True)
    monkeypatch.setenv("OSTREE_DUMMY_SIGN_ENABLED", "1")
    for key in ("k1", "k2"):
        ours(f"--repo={repo}", "sign", "--sign-type=dummy", "main", key)
        ref(f"--repo={copy}", "sign", "--sign-type=dummy", "main", key)
    assert commitmeta(repo, "main", ours) == commitmeta(copy, "main", ours)
    for run in (ours, ref):
        assert run(f"--repo={repo}", "sign", "--sign-type=dummy", "--verify", "main", "nope", "k2").stdout == \
            "dummy: Signature verified\n"
    monkeypatch.delenv("OSTREE_DUMMY_SIGN_ENABLED")
    for run in (ours, ref):
        p = run(f"--repo={repo}", "sign", "--sign-type=dummy", "--verify", "main", "k2", check=False)
        assert (p.returncode, p.stderr) == (1, "error: No valid signatures found\n")


def test_summary_signatures(repo, gpghome, ours, ref, tmp_path, monkeypatch):
    ours(f"--repo={repo}", "summary", "-u", f"--gpg-sign={KEYID_1}", f"--gpg-homedir={gpghome}")
    client = tmp_path / "client"
    ref("init", f"--repo={client}", "--mode=archive")
    ref(f"--repo={client}", "remote", "add", "--set=gpg-verify-summary=true", "--set=gpg-verify=false",
        "origin", f"file://{repo}")
    p = ref(f"--repo={client}", "remote", "summary", "origin", check=False)
    assert p.returncode == 1 and "public key not found" in p.stderr
    ref(f"--repo={client}", "remote", "gpg-import", "origin", "-k", os.path.join(gpghome, "key1.asc"))
    a = ref(f"--repo={client}", "remote", "summary", "origin")
    assert "GPG: Verification enabled, found 1 signature:" in a.stdout and "Good signature" in a.stdout
    b = ours(f"--repo={client}", "remote", "summary", "origin")
    assert a.stdout == b.stdout
    ref(f"--repo={client}", "pull", "origin", "main")
    # and a summary signed by the reference, read by us
    ref(f"--repo={repo}", "summary", "-u", f"--gpg-sign={KEYID_1}", f"--gpg-homedir={gpghome}")
    a = ref(f"--repo={client}", "remote", "summary", "origin")
    b = ours(f"--repo={client}", "remote", "summary", "origin")
    assert a.stdout == b.stdout


def test_ed25519_signatures_are_openssls(repo, ours, tmp_path):
    """libtest.sh makes its keys with OpenSSL; Ed25519 is deterministic, so the bytes must match."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs openssl")
    import base64
    pem = tmp_path / "key.pem"
    subprocess.run([openssl, "genpkey", "-algorithm", "ed25519", "-outform", "PEM", "-out", str(pem)], check=True)
    pub = subprocess.run([openssl, "pkey", "-outform", "DER", "-pubout", "-in", str(pem)], capture_output=True,
                         check=True).stdout[-32:]
    seed = subprocess.run([openssl, "pkey", "-outform", "DER", "-in", str(pem)], capture_output=True,
                          check=True).stdout[-32:]
    secret = base64.b64encode(seed + pub).decode()
    ours(f"--repo={repo}", "sign", "main", secret)
    csum = ours(f"--repo={repo}", "rev-parse", "main").stdout.strip()
    data = (repo / "objects" / csum[:2] / f"{csum[2:]}.commit").read_bytes()
    (tmp_path / "commit").write_bytes(data)
    sig = subprocess.run([openssl, "pkeyutl", "-sign", "-rawin", "-inkey", str(pem), "-in",
                          str(tmp_path / "commit")], capture_output=True, check=True).stdout
    from ostree_py.core import gvariant
    md = gvariant.deserialize("a{sv}", commitmeta(repo, "main", ours))
    assert md["ostree.sign.ed25519"].value == [sig]
    assert ours(f"--repo={repo}", "sign", "--verify", "main", base64.b64encode(pub).decode()).stdout == \
        f"ed25519: Signature verified successfully with key '{pub.hex()}'\n"
