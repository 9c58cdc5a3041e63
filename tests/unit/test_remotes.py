"""Remotes (ostree_py.repo.remotes): where they are stored, their options and defaults."""

import os

import pytest

from ostree_py.repo import remotes
from ostree_py.errors import OstreeError
from ostree_py.remote.pull import list_remote_refs
from ostree_py.repo import Repo
from ostree_py.sysroot import open_sysroot_repo


@pytest.fixture
def repo(tmp_path):
    return Repo.create(str(tmp_path / "repo"), "archive")


def config_text(repo):
    with open(os.path.join(repo.path, "config")) as f:
        return f.read()


def test_add_writes_a_group_in_order(repo):
    remotes.add_remote(repo, "o", "http://example.com/r",
                       {"branches": ["b1", "b;2"], "contenturl": "http://c", "x": " lead\\ing",
                        "gpg-verify": False, "branches2": []})
    assert config_text(repo).endswith(
        '\n[remote "o"]\nurl=http://example.com/r\nbranches=b1;b\\;2;\ncontenturl=http://c\n'
        'x=\\slead\\\\ing\ngpg-verify=false\nbranches2=\n')
    r = remotes.get_remote(Repo.open(repo.path), "o")
    assert r.branches == ["b1", "b;2"]
    assert r.get_option("x") == " lead\\ing"
    assert r.options["contenturl"] == "http://c"


def test_later_option_replaces_earlier_in_place(repo):
    remotes.add_remote(repo, "o", "http://u", {"branches": ["a"], "contenturl": "c", "url": "http://v"})
    assert config_text(repo).endswith('[remote "o"]\nurl=http://v\nbranches=a;\ncontenturl=c\n')


def test_metalink_and_mirrorlist_urls(repo):
    remotes.add_remote(repo, "m", "metalink=http://m/ml.xml")
    remotes.add_remote(repo, "l", "mirrorlist=http://m/list")
    m = remotes.get_remote(repo, "m")
    assert m.metalink == "http://m/ml.xml" and m.get_option("url") is None
    with pytest.raises(OstreeError, match='^No "url" option in remote "m"$'):
        m.url
    assert remotes.get_url(repo, "l") == "mirrorlist=http://m/list"


def test_defaults(repo):
    remotes.add_remote(repo, "o", "http://u")
    r = remotes.get_remote(repo, "o")
    assert (r.gpg_verify, r.gpg_verify_summary, r.sign_verify, r.sign_verify_summary) == (True, False, None, None)
    assert (r.contenturl, r.collection_id, r.branches, r.proxy, r.unconfigured_state) == (None, None, [], None, None)
    assert (r.tls_permissive, r.tls_ca_path, r.tls_client_cert_path, r.tls_client_key_path) == (False, None, None, None)
    assert r.get_bool("nosuch", True) is True and r.get_option("nosuch", "d") == "d"


def test_typed_options(repo):
    remotes.add_remote(repo, "o", "http://u", {
        "gpg-verify": "false", "gpg-verify-summary": "true", "sign-verify": "dummy,ed25519",
        "sign-verify-summary": "1", "tls-permissive": "true", "proxy": "http://p:3128",
        "collection-id": "org.example.Os", "unconfigured-state": "Use the vendor tool",
        "gpgkeypath": "/a.asc,/b.asc"})
    r = remotes.get_remote(repo, "o")
    assert r.gpg_verify is False and r.gpg_verify_summary is True
    assert r.sign_verify == ["dummy,ed25519"] and r.sign_verify_summary is True
    assert r.tls_permissive and r.proxy == "http://p:3128"
    assert r.collection_id == "org.example.Os" and r.unconfigured_state == "Use the vendor tool"
    assert r.gpgkeypath == ["/a.asc", "/b.asc"]


def test_sign_verify_list_and_false(repo):
    remotes.add_remote(repo, "a", "http://u", {"sign-verify": "dummy;ed25519;"})
    remotes.add_remote(repo, "b", "http://u", {"sign-verify": False, "sign-verify-summary": ""})
    assert remotes.get_remote(repo, "a").sign_verify == ["dummy", "ed25519"]
    b = remotes.get_remote(repo, "b")
    assert b.sign_verify is False and b.sign_verify_summary is None


def test_bad_boolean_is_an_error(repo):
    remotes.add_remote(repo, "o", "http://u", {"gpg-verify": "yes"})
    with pytest.raises(OstreeError, match="Key file contains key “gpg-verify” which has a value that cannot"):
        remotes.get_remote(repo, "o").gpg_verify


def test_file_url_stands_for_itself(repo):
    r = remotes.get_remote(repo, "file:///srv/repo")
    assert r.url == "file:///srv/repo" and r.gpg_verify is False and r.get_option("contenturl") is None
    with pytest.raises(OstreeError, match='^Remote "nope" not found$'):
        remotes.get_remote(repo, "nope")


def test_add_existing(repo):
    remotes.add_remote(repo, "o", "http://u")
    with pytest.raises(OstreeError, match=r'^Remote configuration for "o" already exists: \(in config\)$'):
        remotes.add_remote(repo, "o", "http://v")
    remotes.add_remote(repo, "o", "http://v", if_not_exists=True)
    assert remotes.get_url(repo, "o") == "http://u"


def test_force_replaces_and_moves_to_end(repo):
    remotes.add_remote(repo, "a", "http://a", {"k": "1"})
    remotes.add_remote(repo, "b", "http://b")
    remotes.add_remote(repo, "a", "http://a2", force=True)
    assert config_text(repo).endswith('[remote "b"]\nurl=http://b\n\n[remote "a"]\nurl=http://a2\n')
    remotes.add_remote(repo, "c", "http://c", force=True)
    assert remotes.list_remotes(repo) == ["a", "b", "c"]


def test_invalid_names(repo):
    for bad in ("", "a/b", "-x", "a b"):
        with pytest.raises(OstreeError, match="^Invalid remote name "):
            remotes.add_remote(repo, bad, "http://u")
        with pytest.raises(OstreeError, match="^Invalid remote name "):
            remotes.delete_remote(repo, bad, if_exists=True)


def test_delete_keeps_refs_and_cookies_removes_keyring(repo):
    remotes.add_remote(repo, "o", "http://u")
    repo.set_ref("main", "a" * 64, remote="o")
    for f in ("o.trustedkeys.gpg", "o.cookies.txt"):
        open(os.path.join(repo.path, f), "w").close()
    assert remotes.delete_remote(repo, "o") is True
    assert not os.path.exists(os.path.join(repo.path, "o.trustedkeys.gpg"))
    assert os.path.exists(os.path.join(repo.path, "o.cookies.txt"))
    assert os.path.exists(os.path.join(repo.path, "refs/remotes/o/main"))
    assert '[remote "o"]' not in config_text(repo)
    with pytest.raises(OstreeError, match='^Remote "o" not found$'):
        remotes.delete_remote(repo, "o")
    assert remotes.delete_remote(repo, "o", if_exists=True) is False


def test_parent_remotes_and_option_fallback(tmp_path, repo):
    parent = Repo.create(str(tmp_path / "parent"), "archive")
    remotes.add_remote(parent, "p", "http://parent", {"contenturl": "http://pc"})
    remotes.add_remote(parent, "shared", "http://parent-shared", {"gpg-verify": False, "proxy": "px"})
    repo.config.set("core", "parent", parent.path)
    repo.save_config()
    remotes.add_remote(Repo.open(repo.path), "shared", "http://child-shared")
    child = Repo.open(repo.path)
    assert remotes.list_remotes(child) == ["p", "shared"]
    s = remotes.get_remote(child, "shared")
    assert s.url == "http://child-shared" and s.gpg_verify is False and s.proxy == "px"
    assert remotes.get_remote(child, "p").contenturl == "http://pc"
    # a parent's remote cannot be deleted through the child
    with pytest.raises(OstreeError, match='^Remote "p" not found$'):
        remotes.delete_remote(child, "p")


def make_sysroot(tmp_path, deployment: bool):
    root = tmp_path / "sysroot"
    (root / "ostree" / "deploy").mkdir(parents=True)
    Repo.create(str(root / "ostree" / "repo"), "bare")
    if deployment:
        (root / "sysroot").mkdir()
    return str(root)


def test_sysroot_deployment_uses_remotes_d(tmp_path):
    root = make_sysroot(tmp_path, deployment=True)
    repo = open_sysroot_repo(root)
    remotes.add_remote(repo, "r", "file:///x", {"gpg-verify": "false"})
    conf = os.path.join(root, "etc/ostree/remotes.d/r.conf")
    with open(conf) as f:
        assert f.read() == '[remote "r"]\nurl=file:///x\ngpg-verify=false\n'
    assert '[remote "r"]' not in config_text(repo)
    again = open_sysroot_repo(root)
    r = remotes.get_remote(again, "r")
    assert r.file == conf and r.gpg_verify is False
    with pytest.raises(OstreeError, match=f'already exists: {conf}$'):
        remotes.add_remote(again, "r", "file:///y")
    remotes.add_remote(again, "r", "file:///y", force=True)
    with open(conf) as f:
        assert f.read() == '[remote "r"]\nurl=file:///y\n'
    # opened as a plain repo, the remotes.d file is not seen
    assert remotes.list_remotes(Repo.open(again.path)) == []
    remotes.delete_remote(again, "r")
    assert not os.path.exists(conf)


def test_sysroot_physical_and_config_dir_off(tmp_path):
    root = make_sysroot(tmp_path, deployment=False)
    repo = open_sysroot_repo(root)
    remotes.add_remote(repo, "phys", "http://u")
    assert not os.path.exists(os.path.join(root, "etc"))
    assert '[remote "phys"]' in config_text(repo)

    os.mkdir(os.path.join(root, "sysroot"))
    repo = open_sysroot_repo(root)
    repo.config.set("core", "add-remotes-config-dir", "false")
    repo.save_config()
    remotes.add_remote(repo, "cfg", "http://u")
    assert '[remote "cfg"]' in config_text(repo)
    assert not os.path.exists(os.path.join(root, "etc/ostree/remotes.d/cfg.conf"))


def test_duplicate_remote_in_remotes_d(tmp_path):
    root = make_sysroot(tmp_path, deployment=True)
    repo = open_sysroot_repo(root)
    remotes.add_remote(repo, "dup", "http://u")
    repo.config.add_group('remote "dup"')
    repo.config.set('remote "dup"', "url", "http://v")
    repo.save_config()
    with pytest.raises(OstreeError, match='^Multiple specifications found for remote "dup"$'):
        remotes.list_remotes(open_sysroot_repo(root))


@pytest.mark.parametrize("setup,msg", [
    (lambda r: None, "opendir({root}): No such file or directory"),
    (lambda r: os.makedirs(r), "opendir(ostree/repo): No such file or directory"),
    (lambda r: (os.makedirs(r), Repo.create(os.path.join(r, "ostree/repo"))),
     "fstatat(ostree/deploy): No such file or directory"),
    (lambda r: (os.makedirs(os.path.join(r, "ostree/deploy")), Repo.create(os.path.join(r, "ostree/repo")),
                os.makedirs(os.path.join(r, "boot/loader"))), "Not a symbolic link: boot/loader"),
])
def test_sysroot_errors(tmp_path, setup, msg):
    root = str(tmp_path / "s")
    setup(root)
    with pytest.raises(OstreeError, match="^loading sysroot: " + msg.format(root=root).replace("(", r"\(")
                       .replace(")", r"\)") + "$"):
        open_sysroot_repo(root)


def test_keyring_lookup_order(tmp_path, repo):
    remotes.add_remote(repo, "o", "http://u")
    r = remotes.get_remote(repo, "o")
    assert remotes.find_keyring(repo, r) is None
    p = remotes.remote_keyring_path(repo, "o")
    assert p == os.path.join(repo.path, "o.trustedkeys.gpg")
    open(p, "wb").close()
    assert remotes.find_keyring(repo, r) == p


def test_remote_refs_from_file_summary(tmp_path, repo):
    import subprocess
    src = tmp_path / "src"
    subprocess.run(["ostree", "init", f"--repo={src}", "--mode=archive"], check=True)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f").write_text("x")
    out = subprocess.run(["ostree", f"--repo={src}", "commit", "-b", "a/b", f"--tree=dir={tmp_path / 't'}"],
                         check=True, capture_output=True, text=True).stdout.strip()
    remotes.add_remote(repo, "o", f"file://{src}")
    with pytest.raises(OstreeError, match="^Remote refs not available; server has no summary file$"):
        list_remote_refs(repo, "o")
    subprocess.run(["ostree", f"--repo={src}", "summary", "-u"], check=True)
    assert list_remote_refs(repo, "o") == {"a/b": out}
