"""Signing engines (ostree_py.signing): ed25519, dummy, key loading, commit and summary signatures."""

import base64
import json
import os
import subprocess

import pytest

from ostree_py.core import gvariant
from ostree_py import signing
from ostree_py.errors import OstreeError
from ostree_py.repo import Repo
from ostree_py.signing import SignError, glib_base64_decode
from ostree_py.signing.ed25519 import Ed25519Sign

GLIB_PYTHON = "/usr/bin/python3"

# RFC 8032, 7.1, TEST 1 (empty message) and TEST 2 (one byte)
SEED1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PK1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
SIG1 = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
                     "39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
SEED2 = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
PK2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
SIG2 = bytes.fromhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
                     "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


SK1 = b64(SEED1 + PK1)
SK2 = b64(SEED2 + PK2)


def glib_available():
    if not os.path.exists(GLIB_PYTHON):
        return False
    return subprocess.run([GLIB_PYTHON, "-c", "import gi; gi.require_version('GLib', '2.0')"],
                          capture_output=True).returncode == 0


# ---------------------------------------------------------------- base64

@pytest.mark.parametrize("text,expected", [
    ("", b""), ("QQ==", b"A"), ("QUI=", b"AB"), ("QUJD", b"ABC"), ("QU\nJD", b"ABC"),
    ("QUJDR", b"ABC"), ("Q*U J\tD", b"ABC"), ("QUJDRA==\n", b"ABCD"), ("=", b""),
])
def test_glib_base64_decode_cases(text, expected):
    assert glib_base64_decode(text) == expected


@pytest.mark.skipif(not glib_available(), reason="needs PyGObject's GLib in /usr/bin/python3")
def test_glib_base64_decode_matches_glib():
    import random
    rnd = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n *-"
    cases = ["".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 24))) for _ in range(300)]
    cases += [b64(os.urandom(n)) for n in range(0, 70, 3)]
    code = ("import json,sys\nfrom gi.repository import GLib\n"
            "print(json.dumps([bytes(GLib.base64_decode(s)).hex() for s in json.load(sys.stdin)]))")
    p = subprocess.run([GLIB_PYTHON, "-c", code], input=json.dumps(cases), capture_output=True, text=True,
                       check=True)
    expected = json.loads(p.stdout)
    assert [glib_base64_decode(s).hex() for s in cases] == expected


# ---------------------------------------------------------------- ed25519

def test_ed25519_signatures_are_libsodiums():
    e = Ed25519Sign()
    e.set_sk(SK1)
    assert e.sign(b"") == SIG1
    e.set_sk(SK2)
    assert e.sign(b"\x72") == SIG2


def test_ed25519_verify_and_messages():
    e = Ed25519Sign()
    e.set_pk(b64(PK1))
    assert e.verify(b"", [SIG1]) == f"ed25519: Signature verified successfully with key '{PK1.hex()}'"
    # keys are tried most recently added first; at most three are named
    e.add_pk(b64(PK2))
    with pytest.raises(SignError) as ei:
        e.verify(b"x", [SIG1])
    assert ei.value.message == (f"ed25519: Signature couldn't be verified with: key '{PK2.hex()}'; "
                                f"key '{PK1.hex()}'")
    for i in range(3):
        e.add_pk(b64(bytes([i]) * 32))
    with pytest.raises(SignError, match=r"^ed25519: Signature couldn't be verified; tried 5 keys$"):
        e.verify(b"x", [SIG1])
    with pytest.raises(SignError, match="^Invalid signature length of 3 bytes, expected 64$"):
        e.verify(b"", [b"abc"])
    with pytest.raises(SignError, match="^ed25519: no signatures found$"):
        e.verify(b"", [])
    with pytest.raises(SignError, match="^ed25519: commit have no signatures of my type$"):
        e.verify(b"", None)


def test_ed25519_key_validation():
    e = Ed25519Sign()
    with pytest.raises(SignError, match="^Incorrect ed25519 secret key$"):
        e.set_sk(b64(PK1))
    with pytest.raises(SignError, match="^Incorrect ed25519 public key$"):
        e.set_pk(SK1)
    with pytest.raises(SignError, match="^Not able to sign: secret key is not set$"):
        Ed25519Sign().sign(b"")
    # adding a key twice keeps one copy
    e.add_pk(b64(PK1))
    e.add_pk(b64(PK1))
    assert e.public_keys == [PK1]


def test_ed25519_keys_file(tmp_path):
    e = Ed25519Sign()
    f = tmp_path / "keys"
    f.write_text("")
    with pytest.raises(SignError, match=f"^signature: ed25519: no valid keys in file '{f}'$"):
        e.load_pk(filename=str(f))
    f.write_text("garbage\n")
    with pytest.raises(SignError, match="^Incorrect ed25519 public key$"):
        e.load_pk(filename=str(f))
    with pytest.raises(SignError, match=f"^File object '{tmp_path}' is not a regular file$"):
        e.load_pk(filename=str(tmp_path))
    f.write_text(f"garbage\n{b64(PK1)}\n{b64(PK2)}")
    e.load_pk(filename=str(f))
    assert e.public_keys == [PK2, PK1]


def test_ed25519_keys_dir_with_revocation(tmp_path):
    e = Ed25519Sign()
    with pytest.raises(SignError, match="^signature: ed25519: no keys loaded$"):
        e.load_pk(basedir=str(tmp_path))
    (tmp_path / "trusted.ed25519").write_text(b64(PK2) + "\n")
    (tmp_path / "trusted.ed25519.d").mkdir()
    (tmp_path / "trusted.ed25519.d" / "k").write_text(b64(PK1) + "\n")
    e.load_pk(basedir=str(tmp_path))
    assert e.verify(b"", [SIG1]).endswith(PK1.hex() + "'")
    (tmp_path / "revoked.ed25519.d").mkdir()
    (tmp_path / "revoked.ed25519.d" / "k").write_text(b64(PK1) + "\n")
    e = Ed25519Sign()
    e.load_pk(basedir=str(tmp_path))
    with pytest.raises(SignError, match=f"^ed25519: Signature couldn't be verified with: key '{PK2.hex()}'$"):
        e.verify(b"", [SIG1])


def test_get_by_name():
    assert signing.get_by_name("ed25519").name == "ed25519"
    assert [s.name for s in signing.get_all()] == ["ed25519", "dummy"]
    with pytest.raises(SignError, match="^Requested signature type is not implemented$"):
        signing.get_by_name("rsa")


# ---------------------------------------------------------------- dummy

def test_dummy_needs_the_environment(monkeypatch):
    d = signing.get_by_name("dummy")
    monkeypatch.delenv("OSTREE_DUMMY_SIGN_ENABLED", raising=False)
    with pytest.raises(SignError, match="^dummy signature type is only for ostree testing$"):
        d.set_sk("x")
    d.set_pk("x")  # setting a public key needs no permission
    with pytest.raises(SignError, match="only for ostree testing"):
        d.verify(b"", [b"x"])
    monkeypatch.setenv("OSTREE_DUMMY_SIGN_ENABLED", "1")
    d.set_sk("secret")
    assert d.sign(b"anything") == b"secret"
    d.set_pk("secret")
    assert d.verify(b"", [b"other", b"secret"]) == "dummy: Signature verified"
    with pytest.raises(SignError, match="^signature: dummy: incorrect signatures found: 1$"):
        d.verify(b"", [b"other"])
    with pytest.raises(SignError, match="^signature: dummy: no signatures$"):
        d.verify(b"", [])


# ---------------------------------------------------------------- commits and summaries

@pytest.fixture
def repo(tmp_path):
    from ostree_py.ops.commit import write_commit
    from ostree_py.core.objects import DirMeta, DirTree
    r = Repo.create(str(tmp_path / "repo"), "archive")
    with r.transaction():
        meta = r.write_metadata("dirmeta", DirMeta(0, 0, 0o40755).to_bytes())
        tree = r.write_metadata("dirtree", DirTree().to_bytes())
        csum = write_commit(r, tree, meta, None, "s", "", [], 1700000000)
    r.set_ref("main", csum)
    return r


def test_sign_commit_and_verify(repo):
    csum = repo.resolve_rev("main")
    e = signing.get_by_name("ed25519")
    e.set_sk(SK1)
    signing.sign_commit(repo, e, csum)
    e.set_sk(SK2)
    signing.sign_commit(repo, e, csum)
    md = repo.load_commitmeta(csum)
    data = repo.load_metadata_bytes("commit", csum)
    assert md["ostree.sign.ed25519"].value == [Ed25519Sign.sign_with(SK1, data), Ed25519Sign.sign_with(SK2, data)]
    v = signing.get_by_name("ed25519")
    v.set_pk(b64(PK2))
    assert signing.commit_verify(repo, v, csum).endswith(PK2.hex() + "'")
    v.set_pk(b64(bytes(32)))
    with pytest.raises(SignError):
        signing.commit_verify(repo, v, csum)


def test_sign_summary(repo, monkeypatch):
    from ostree_py.repo.summary import regenerate_summary
    regenerate_summary(repo)
    monkeypatch.setenv("OSTREE_DUMMY_SIGN_ENABLED", "1")
    signing.sign_summary(repo, signing.get_by_name("ed25519"), [SK1])
    signing.sign_summary(repo, signing.get_by_name("dummy"), ["d1", "d2"])
    with open(os.path.join(repo.path, "summary.sig"), "rb") as f:
        sig = gvariant.deserialize("a{sv}", f.read())
    with open(os.path.join(repo.path, "summary"), "rb") as f:
        summary = f.read()
    assert sig["ostree.sign.ed25519"].value == [Ed25519Sign.sign_with(SK1, summary)]
    assert sig["ostree.sign.dummy"].value == [b"d1", b"d2"]
    with pytest.raises(SignError, match="^No keys passed for signing summary$"):
        signing.sign_summary(repo, signing.get_by_name("ed25519"), [])


@pytest.mark.skipif(not glib_available(), reason="needs PyGObject's GLib in /usr/bin/python3")
def test_appended_signatures_keep_glib_dict_order():
    """Detached metadata is rebuilt with GVariantDict, whose order is GLib's hash table order."""
    keys = ["xa", "ostree.gpgsigs", "b", "ostree.sign.ed25519", "zzz", "ostree.sign.dummy", "k1", "k2"]
    md = {k: gvariant.Variant("s", k * 2) for k in keys[:5]}
    ours = signing.append_signature(md, "ostree.sign.dummy", b"sig")
    ours = signing.append_signature(ours, "ostree.gpgsigs", b"g")
    code = ("import sys\nfrom gi.repository import GLib\n"
            "md = GLib.Variant.new_from_bytes(GLib.VariantType('a{sv}'), GLib.Bytes(sys.stdin.buffer.read()), False)\n"
            "for key, sig in ((b'ostree.sign.dummy', b'sig'), (b'ostree.gpgsigs', b'g')):\n"
            "    d = GLib.VariantDict.new(md)\n"
            "    old = d.lookup_value(key.decode(), GLib.VariantType('aay'))\n"
            "    sigs = [bytes(old.get_child_value(i).get_data_as_bytes().get_data()) for i in range(old.n_children())] if old else []\n"
            "    sigs.append(sig)\n"
            "    d.insert_value(key.decode(), GLib.Variant('aay', sigs))\n"
            "    md = d.end()\n"
            "sys.stdout.buffer.write(md.get_data_as_bytes().get_data())\n")
    p = subprocess.run([GLIB_PYTHON, "-c", code], input=gvariant.serialize("a{sv}", md), capture_output=True,
                       check=True)
    assert gvariant.serialize("a{sv}", ours) == p.stdout


# ---------------------------------------------------------------- remote policy

def test_remote_sign_verify_policy(repo, tmp_path, monkeypatch):
    from ostree_py.repo import remotes
    csum = repo.resolve_rev("main")
    data = repo.load_metadata_bytes("commit", csum)
    md = {"ostree.sign.ed25519": gvariant.Variant("aay", [Ed25519Sign.sign_with(SK1, data)])}
    remotes.add_remote(repo, "o", "http://example.invalid", {"sign-verify": "ed25519", "gpg-verify": "false"})
    with pytest.raises(OstreeError, match="^No keys found for required signapi type ed25519$"):
        signing.verify_commit(repo, "o", csum, data, md)
    keys = tmp_path / "keys"
    keys.write_text(b64(PK2) + "\n")
    repo.config.set("remote \"o\"", "verification-ed25519-file", str(keys))
    repo.save_config()
    with pytest.raises(OstreeError, match="^Can't verify commit: ed25519: Signature couldn't be verified with: key"):
        signing.verify_commit(repo, "o", csum, data, md)
    repo.config.set("remote \"o\"", "verification-ed25519-key", b64(PK1))
    repo.save_config()
    assert signing.verify_commit(repo, "o", csum, data, md).endswith(PK1.hex() + "'")
    with pytest.raises(OstreeError, match="^Can't verify commit without detached metadata$"):
        signing.verify_commit(repo, "o", csum, data, None)
    with pytest.raises(OstreeError, match="^Can't verify commit: No signatures found$"):
        signing.verify_commit(repo, "o", csum, data, {})
    repo.config.set("remote \"o\"", "sign-verify", "rsa")
    repo.save_config()
    with pytest.raises(OstreeError, match="^Requested signature type is not implemented$"):
        signing.verify_commit(repo, "o", csum, data, md)
    # "true": every engine, keys optional; the ed25519 keys configured verify
    repo.config.set("remote \"o\"", "sign-verify", "true")
    repo.save_config()
    assert "verified successfully" in signing.verify_commit(repo, "o", csum, data, md)
    repo.config.set("remote \"o\"", "sign-verify", "false")
    repo.save_config()
    assert signing.verifiers_from_config(repo, "o", "sign-verify") is None


def test_remote_summary_policy(repo):
    from ostree_py.repo import remotes
    summary = b"summary bytes"
    sig = gvariant.serialize("a{sv}", {"ostree.sign.ed25519": gvariant.Variant(
        "aay", [Ed25519Sign.sign_with(SK1, summary)])})
    remotes.add_remote(repo, "o", "http://example.invalid",
                       {"sign-verify-summary": "ed25519", "verification-ed25519-key": b64(PK1)})
    signing.verify_summary(repo, "o", summary, sig)
    with pytest.raises(OstreeError, match="^Signature verification enabled, but no summary signatures found"):
        signing.verify_summary(repo, "o", summary, None)
    with pytest.raises(OstreeError, match="couldn't be verified"):
        signing.verify_summary(repo, "o", summary + b"x", sig)


def test_signature_verify_commit_data(repo):
    """ostree_repo_signature_verify_commit_data (admin status --verify)."""
    from ostree_py.repo import remotes
    csum = repo.resolve_rev("main")
    data = repo.load_metadata_bytes("commit", csum)
    md = {"ostree.sign.ed25519": gvariant.Variant("aay", [Ed25519Sign.sign_with(SK1, data)])}
    remotes.add_remote(repo, "o", "http://example.invalid", {"gpg-verify": "false"})
    with pytest.raises(OstreeError, match="^Can't verify commit without detached metadata$"):
        signing.signature_verify_commit_data(repo, "o", data, None)
    with pytest.raises(OstreeError, match="^Cannot verify commit for remote o; GPG verification disabled, "
                                          "and no signapi verifiers configured$"):
        signing.signature_verify_commit_data(repo, "o", data, md)
    repo.config.set('remote "o"', "sign-verify", "ed25519")
    repo.config.set('remote "o"', "verification-ed25519-key", b64(PK1))
    repo.save_config()
    assert signing.signature_verify_commit_data(repo, "o", data, md) == \
        f"ed25519: Signature verified successfully with key '{PK1.hex()}'"
    with pytest.raises(OstreeError, match="^Can't verify commit: No signatures found$"):
        signing.signature_verify_commit_data(repo, "o", data, {})
