"""GPG signatures (ostree_py.signing.gpg): status parsing, descriptions, signing and verifying with gpg."""

import os
import shutil
import subprocess
import tempfile

import pytest

from ostree_py.core import gvariant
from ostree_py.errors import OstreeError
from ostree_py.signing.remote_gpg import GpgError
from ostree_py.repo import Repo
from ostree_py.signing import gpg

GPGHOME_SRC = "/usr/libexec/installed-tests/libostree/gpghome"
KEYID_1, FPR_1 = "7FCA23D8472CDAFA", "5E65DE75AB1C501862D476347FCA23D8472CDAFA"
KEYID_2 = "D8228CFECA950D41"
KEYID_3 = "0D15FAE7DF444D67"

GOOD = """[GNUPG:] NEWSIG
[GNUPG:] KEY_CONSIDERED 5E65DE75AB1C501862D476347FCA23D8472CDAFA 0
[GNUPG:] SIG_ID MDbcsghI5fTIhTaauQaSVCyJUFQ 2026-11-05 1793880000
[GNUPG:] GOODSIG 7FCA23D8472CDAFA Ostree Tester <test@test.com>
[GNUPG:] VALIDSIG 5E65DE75AB1C501862D476347FCA23D8472CDAFA 2026-11-05 1793880000 0 4 0 1 10 00 5E65DE75AB1C501862D476347FCA23D8472CDAFA
[GNUPG:] TRUST_UNDEFINED 0 pgp
"""
MISSING = """[GNUPG:] NEWSIG
[GNUPG:] ERRSIG 7FCA23D8472CDAFA 1 10 00 1793880000 9 5E65DE75AB1C501862D476347FCA23D8472CDAFA
[GNUPG:] NO_PUBKEY 7FCA23D8472CDAFA
"""
BAD = """[GNUPG:] NEWSIG
[GNUPG:] BADSIG 7FCA23D8472CDAFA Ostree Tester <test@test.com>
[GNUPG:] FAILURE gpg-exit 33554433
"""


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    import time
    time.tzset()
    yield
    time.tzset()


def test_parse_good_missing_and_bad():
    (good,) = gpg.parse_verify_status(GOOD)
    assert (good.valid, good.fingerprint, good.timestamp, good.pubkey_algo_name) == (True, FPR_1, 1793880000, "RSA")
    (missing,) = gpg.parse_verify_status(MISSING)
    assert missing.key_missing and not missing.valid and missing.timestamp == 1793880000
    (bad,) = gpg.parse_verify_status(BAD)
    assert not bad.valid and bad.fingerprint == KEYID_1 and bad.timestamp == 0
    assert [s.status for s in gpg.parse_verify_status(GOOD + MISSING)] == [gpg.ST_OK, gpg.ST_NO_PUBKEY]


def test_nodata_before_any_signature_is_an_error():
    with pytest.raises(GpgError, match="^GPG: Unable to complete signature verification: GPGME: No data$"):
        gpg.parse_verify_status("[GNUPG:] NODATA 3\n" + GOOD)


def test_describe_like_the_reference():
    (good,) = gpg.parse_verify_status(GOOD)
    good.user_name, good.user_email, good.fingerprint_primary = "Ostree Tester", "test@test.com", FPR_1
    assert gpg.describe_signature(good, "  ") == (
        "  Signature made Thu Nov \u20075 12:00:00 2026 using RSA key ID 7FCA23D8472CDAFA\n"
        '  Good signature from "Ostree Tester <test@test.com>"\n')
    (missing,) = gpg.parse_verify_status(MISSING)
    assert gpg.describe_signature(missing) == (
        "Signature made Thu Nov \u20075 12:00:00 2026 using RSA key ID 7FCA23D8472CDAFA\n"
        "Can't check signature: public key not found\n")
    (bad,) = gpg.parse_verify_status(BAD)
    bad.user_name, bad.user_email, bad.fingerprint_primary = "Ostree Tester", "test@test.com", FPR_1
    assert gpg.describe_signature(bad) == (
        "Signature made Thu Jan \u20071 00:00:00 1970 using [unknown name] key ID 7FCA23D8472CDAFA\n"
        'BAD signature from "Ostree Tester <test@test.com>"\n'
        "Primary key ID 7FCA23D8472CDAFA\n")


def test_expiry_lines():
    sig = gpg.GpgSignature()
    sig.status, sig.fingerprint, sig.timestamp, sig.pubkey_algo = gpg.ST_KEY_EXPIRED, "B" * 40, 100, 1
    sig.fingerprint_primary = "A" * 40
    sig.key_exp_timestamp, sig.key_exp_timestamp_primary = 86400 * 20, 86400 * 30
    assert gpg.describe_signature(sig).splitlines()[1:] == [
        'BAD signature from "[unknown name] <[unknown email]>"', "Primary key ID AAAAAAAAAAAAAAAA",
        "Key expired Wed Jan 21 00:00:00 1970", "Primary key expired Sat Jan 31 00:00:00 1970"]


def test_figure_space_only_in_utf8_locales(monkeypatch):
    assert gpg.format_time_c(86400 * 3) == "Sun Jan \u20074 00:00:00 1970"
    monkeypatch.setenv("LC_ALL", "C")
    assert gpg.format_time_c(86400 * 3) == "Sun Jan ?4 00:00:00 1970"
    assert gpg.format_time_c(86400 * 30) == "Sat Jan 31 00:00:00 1970"


def test_require_valid_signature_describes_newest_first():
    sigs = gpg.parse_verify_status(MISSING + MISSING.replace("7FCA23D8472CDAFA", "D8228CFECA950D41"))
    result = gpg.GpgVerifyResult(sigs, [])
    with pytest.raises(gpg.GpgVerifyError) as ei:
        result.require_valid_signature()
    assert ei.value.code == "missing-key"
    assert ei.value.message.splitlines()[0].endswith("key ID D8228CFECA950D41")
    assert not ei.value.message.endswith("\n")
    with pytest.raises(gpg.GpgVerifyError, match="^No GPG signatures found$"):
        gpg.GpgVerifyResult([], []).require_valid_signature()


# ---------------------------------------------------------------- with gpg

needs_gpg = pytest.mark.skipif(not (shutil.which("gpg") and os.path.isdir(GPGHOME_SRC)),
                               reason="needs gpg and the ostree-tests GPG keys")


@pytest.fixture(scope="module")
def gpghome():
    d = tempfile.mkdtemp(prefix="ostree-py-gpg-")
    home = os.path.join(d, "gpghome")
    shutil.copytree(GPGHOME_SRC, home)
    os.chmod(home, 0o700)
    yield home
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    from ostree_py.ops.commit import write_commit
    from ostree_py.core.objects import DirMeta, DirTree
    monkeypatch.delenv("OSTREE_GPG_HOME", raising=False)
    r = Repo.create(str(tmp_path / "repo"), "archive")
    with r.transaction():
        meta = r.write_metadata("dirmeta", DirMeta(0, 0, 0o40755).to_bytes())
        tree = r.write_metadata("dirtree", DirTree().to_bytes())
        csum = write_commit(r, tree, meta, None, "s", "", [], 1700000000)
    r.set_ref("main", csum)
    return r


@needs_gpg
def test_sign_verify_lookup_delete(repo, gpghome, monkeypatch):
    csum = repo.resolve_rev("main")
    with pytest.raises(gpg.GpgNoSignatureError):
        gpg.verify_commit_ext(repo, csum)
    gpg.sign_commit(repo, csum, KEYID_1, gpghome)
    gpg.sign_commit(repo, csum, KEYID_2, gpghome)
    # no trusted keys: both signatures are from missing keys
    result = gpg.verify_commit_ext(repo, csum)
    assert [s.key_missing for s in result.signatures] == [True, True]
    assert result.lookup(KEYID_1) is None
    # trusted through the homedir's keyrings or $OSTREE_GPG_HOME
    result = gpg.verify_commit_ext(repo, csum, keyringdir=gpghome)
    assert [s.valid for s in result.signatures] == [True, True]
    assert [s.user_email for s in result.signatures] == ["test@test.com", "test2@test.com"]
    assert (result.lookup(KEYID_2), result.lookup(FPR_1), result.lookup("Ostree Tester")) == (1, 0, None)
    with pytest.raises(OstreeError, match=f"^Commit is already signed with GPG key {KEYID_1}$"):
        gpg.sign_commit(repo, csum, KEYID_1, gpghome)
    monkeypatch.setenv("OSTREE_GPG_HOME", os.path.join(gpghome, "trusted"))
    text = gpg.commit_signatures_text(repo, csum)
    assert text.startswith("Found 2 signatures:\n\n  Signature made ")
    assert text.count("Good signature from") == 2
    assert gpg.delete_signatures(repo, csum, [KEYID_2, KEYID_2, KEYID_3]) == 1
    assert gpg.verify_commit_ext(repo, csum).count_all() == 1
    assert gpg.delete_signatures(repo, csum, [KEYID_1]) == 1
    # the key is gone, an empty detached metadata stays (as the reference leaves it)
    assert repo.load_commitmeta(csum) == {}
    assert gpg.commit_signatures_text(repo, csum) == ""
    assert gpg.delete_signatures(repo, csum, [KEYID_1]) == 0


@needs_gpg
def test_sign_errors(repo, gpghome):
    csum = repo.resolve_rev("main")
    with pytest.raises(OstreeError, match=f"^No gpg key found with ID DEADBEEF \\(homedir: {gpghome}\\)$"):
        gpg.sign_commit(repo, csum, "DEADBEEF", gpghome)
    with pytest.raises(OstreeError, match="ambiguous .* Try the fingerprint instead$"):
        gpg.sign_commit(repo, csum, "Tester II", gpghome)
    # without signatures the keyring directory is not even looked at
    assert gpg.commit_signatures_text(repo, csum, homedir="/nonexistent") == ""
    repo.write_commitmeta(csum, {"ostree.gpgsigs": gvariant.Variant("aay", [b"x"])})
    with pytest.raises(OstreeError, match=r"^opendir\(/nonexistent\): No such file or directory$"):
        gpg.verify_commit_ext(repo, csum, keyringdir="/nonexistent")


@needs_gpg
def test_garbage_signatures(repo):
    csum = repo.resolve_rev("main")
    for sigs in ([b"\x01\x02\x03"], [], [b""]):
        repo.write_commitmeta(csum, {"ostree.gpgsigs": gvariant.Variant("aay", sigs)})
        with pytest.raises(GpgError, match="^GPG: Unable to complete signature verification: GPGME: No data$"):
            gpg.verify_commit_ext(repo, csum)


@needs_gpg
def test_summary_signatures_for_a_remote(repo, gpghome):
    from ostree_py.repo import remotes
    from ostree_py import signing
    from ostree_py.repo.summary import regenerate_summary
    regenerate_summary(repo)
    gpg.add_signature_summary(repo, [KEYID_1], gpghome)
    with open(os.path.join(repo.path, "summary"), "rb") as f:
        summary = f.read()
    with open(os.path.join(repo.path, "summary.sig"), "rb") as f:
        sig = f.read()
    remotes.add_remote(repo, "o", "http://example.invalid", {"gpg-verify-summary": "true"})
    with pytest.raises(gpg.GpgVerifyError, match="public key not found"):
        signing.verify_summary(repo, "o", summary, sig)
    with open(os.path.join(gpghome, "trusted", "pubring.gpg"), "rb") as f:
        with open(os.path.join(repo.path, "o.trustedkeys.gpg"), "wb") as out:
            out.write(f.read())
    signing.verify_summary(repo, "o", summary, sig)
    with pytest.raises(gpg.GpgVerifyError, match="BAD signature"):
        signing.verify_summary(repo, "o", summary + b"\0", sig)
    with pytest.raises(gpg.GpgNoSignatureError, match="no summary signatures found"):
        signing.verify_summary(repo, "o", summary, None)
